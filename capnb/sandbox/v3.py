"""Answers of the sandbox's new-UI promotion endpoints: ``GET /v3/promotions`` (paged list) and
``GET /v3/promotions/{id}`` (one promotion by its 24-hex string id).

Choices where the documentation is silent
-----------------------------------------
- The list envelope is not documented: the sandbox answers the interface hint
  ``{"data": {"content": [...], "totalPages", "totalElements"}, "errors": [], "warnings": []}``.
- Error codes of these endpoints are not documented: an unknown id answers ``error_status``
  (404 by default) with code 404, a malformed id or paging parameter 400 with code 400, in the
  v3 error envelope.
- ``searchText`` matches the name or description, ignoring case; ``status`` is a comma-separated
  list matched on ``metadata.status`` in any case; ``includeDraftDetails`` changes nothing (the
  sandbox has no drafts).
"""

from __future__ import annotations

import re
from typing import Any

from capnb.sandbox.answer import Answer, digits
from capnb.sandbox.data import SandboxData
from capnb.sandbox.newui import hex_id

__all__ = ["DEFAULT_SIZE", "promotion", "promotions"]

DEFAULT_SIZE = 10
"""The documented default page size of ``GET /v3/promotions``."""
_HEX = re.compile(r"[0-9a-f]{24}")


def _error(status: int, code: int, message: str) -> Answer:
    return status, {"data": None, "errors": [{"code": code, "message": message}],
                    "warnings": []}


def promotions(data: SandboxData, query: dict[str, str], error_status: int = 404) -> Answer:
    """``GET /v3/promotions``: ``page`` (from 0), ``size`` (default 10), ``status``,
    ``searchText``, ``includeDraftDetails``."""
    page = digits(query.get("page")) if query.get("page") else 0
    size = digits(query.get("size")) if query.get("size") else DEFAULT_SIZE
    if page is None or not size:
        return _error(400, 400, "page must be a number from 0 and size a positive number")
    statuses = {s.strip().upper() for s in (query.get("status") or "").split(",") if s.strip()}
    text = (query.get("searchText") or "").strip().lower()
    items = [data.v3_promotion(pid) for pid in data.new_ui_promotion_ids]
    if statuses:
        items = [p for p in items if p["metadata"]["status"] in statuses]
    if text:
        items = [p for p in items if text in p["metadata"]["name"].lower()
                 or text in p["metadata"]["description"].lower()]
    total = len(items)
    return 200, {"data": {"content": items[page * size:(page + 1) * size],
                          "totalPages": -(-total // size), "totalElements": total},
                 "errors": [], "warnings": []}


def promotion(data: SandboxData, promotion_id: str, error_status: int = 404) -> Answer:
    """``GET /v3/promotions/{promotionId}``: ``{"data": {...}, "errors": [], "warnings": []}``."""
    if not _HEX.fullmatch(promotion_id or ""):
        return _error(400, 400, "promotionId must be a 24-character hexadecimal id")
    found: dict[str, Any] | None = next(
        (data.v3_promotion(pid) for pid in data.new_ui_promotion_ids
         if hex_id(pid) == promotion_id), None)
    if found is None:
        return _error(error_status, 404, f"Promotion {promotion_id} not found")
    return 200, {"data": found, "errors": [], "warnings": []}
