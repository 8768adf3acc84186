"""Answers of the api_gateway endpoints: the promotion by id (:func:`promotion`) and the paginated
promotions list (:func:`promotions_list`), both in the gateway envelope ``{"status",
"validationErrors", "data"}``. Errors come with ``error_status`` (404 by default) for unknown
programs and promotions (2010, 4029) and 400 when the list's ``limit``/``offset`` are missing
(4054)."""

from __future__ import annotations

import json

from capnb.sandbox.answer import Answer, digits
from capnb.sandbox.data import SandboxData

__all__ = ["GATEWAY_OK", "gateway_error", "promotion", "promotion_bodies", "promotions_list"]

GATEWAY_OK = {"code": 200, "message": "success"}
"""The ``status`` of a successful gateway answer."""


def gateway_error(status: int, code: int, message: str) -> Answer:
    """A gateway error body."""
    return status, {"status": {"code": code, "message": message}, "validationErrors": None,
                    "data": None}


def promotion_bodies(data: SandboxData) -> dict[int, bytes]:
    """The encoded promotion-by-id answer of every promotion (encoded once, served often)."""
    return {
        pid: json.dumps({"status": {"code": 200, "message": "success"},
                         "validationErrors": None, "data": [data.promotion_payload(pid)]},
                        separators=(",", ":")).encode()
        for pid in data.promotion_ids
    }


def promotion(data: SandboxData, bodies: dict[int, bytes], program_id: str, promotion_id: str,
              error_status: int = 404) -> tuple[int, dict | bytes]:
    """``GET /api_gateway/loyalty/v1/programs/{programId}/promotions/{promotionId}/get``: the
    encoded body from ``bodies`` (:func:`promotion_bodies`), or an error payload."""
    if digits(program_id) != data.program_id:
        return gateway_error(error_status, 2010, "Program ID is invalid.")
    body = bodies.get(digits(promotion_id) or -1)
    if body is None:
        return gateway_error(error_status, 4029, "Promotion ID is invalid.")
    return 200, body


def promotions_list(data: SandboxData, query: dict[str, str], error_status: int = 404
                    ) -> Answer:
    """``GET /api_gateway/loyalty/v1/programs/promotions/list``.

    ``limit`` (page size > 0) and ``offset`` (0-based page number) are required (4054);
    ``program`` defaults to the org's program (2010 when unknown); ``status`` filters on
    ``promotionStatus`` (comma-separated, any case).
    """
    limit, offset = digits(query.get("limit")), digits(query.get("offset"))
    if not limit or offset is None:
        return gateway_error(400, 4054, "limit and offset are required (offset is a page "
                                         "number, limit a positive page size)")
    program = query.get("program")
    if program and digits(program) != data.program_id:
        return gateway_error(error_status, 2010, "Program ID is invalid.")
    statuses = {s.strip().upper() for s in (query.get("status") or "").split(",") if s.strip()}
    items = [data.promotion_payload(pid) for pid in data.promotion_ids]
    if statuses:
        items = [p for p in items if p["promotionStatus"] in statuses]
    total = len(items)
    page = items[offset * limit:(offset + 1) * limit]
    return 200, {"status": dict(GATEWAY_OK), "validationErrors": None, "data": page,
                 "pageDetails": {"pageNumber": offset, "pageSize": limit,
                                 "totalEntries": total, "pageCount": -(-total // limit)}}
