"""Bodies of the catalogue endpoints -> typed frames; pure, no I/O.

``GET /v2/organization/programs`` -> one row per program (:func:`parse_programs`); one page of
the api_gateway ``GET /api_gateway/loyalty/v1/programs/promotions/list`` -> its promotion
objects and ``pageDetails`` (:func:`parse_promotion_page`), and promotion objects -> one row per
promotion (:func:`promotion_list_frame`). Each promotion object has the shape of the
promotion-by-id answer, so :func:`capnb.api.promotion.parse_promotion` reads its restrictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capnb.api._coerce import (
    as_bool,
    as_epoch_ms,
    as_float,
    as_int,
    as_str,
    bad_value,
    keep_item,
    records,
    tag_request_id,
)
from capnb.api._frames import rows_frame
from capnb.api.envelope import raise_for_envelope
from capnb.errors import ApiError, ResponseFormatError
from capnb.schema import PROGRAM_COLUMNS, PROMOTION_LIST_COLUMNS

__all__ = ["PromotionPage", "parse_programs", "parse_promotion_page", "promotion_list_frame"]


@dataclass(frozen=True)
class PromotionPage:
    """One page of the promotions list: the promotion objects and ``pageDetails``.

    ``page_count`` and ``total_entries`` are None when the answer has no ``pageDetails``.
    """

    items: list[dict[str, Any]]
    page_number: int | None
    page_size: int | None
    page_count: int | None
    total_entries: int | None


def _body(payload: Any, request_id: str | None) -> dict[str, Any]:
    raise_for_envelope(payload, request_id=request_id)
    if not isinstance(payload, dict):
        bad_value("body: expected a JSON object", payload)
    return payload


def parse_programs(payload: Any, *, request_id: str | None = None) -> pd.DataFrame:
    """Parse ``/v2/organization/programs``.

    Returns
    -------
    DataFrame
        One row per program: ``program_id`` (Int64), ``name``, ``description`` (str),
        ``points_to_currency_ratio`` (float64), ``is_default`` (boolean), ``partner_programs``
        (object: the list as sent).

    Raises
    ------
    ApiError, ResponseFormatError
    """
    try:
        body = _body(payload, request_id)
        rows = [(as_int(p.get("programId", p.get("id")), "programId"),
                 as_str(p.get("programName", p.get("name")), "programName"),
                 as_str(p.get("programDescription", p.get("description")), "programDescription"),
                 as_float(p.get("pointsToCurrencyRatio"), "pointsToCurrencyRatio"),
                 as_bool(p.get("default", p.get("isDefault")), "default"),
                 list(records(p.get("partnerPrograms"), "partnerPrograms")))
                for p in records(body.get("data"), "data")
                if type(p) is dict or keep_item(p, "data")]
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return rows_frame(rows, PROGRAM_COLUMNS)


def parse_promotion_page(payload: Any, *, request_id: str | None = None) -> PromotionPage:
    """Parse one page of the promotions list (api_gateway envelope, ``data`` a list).

    Raises
    ------
    ApiError
        4054 (``BadRequest``: limit/offset missing), 2010 (``ProgramNotFound``) or another
        error the envelope describes.
    ResponseFormatError
        ``data`` or ``pageDetails`` of the wrong type.
    """
    try:
        body = _body(payload, request_id)
        items = [p for p in records(body.get("data"), "data")
                 if type(p) is dict or keep_item(p, "data")]
        details = body.get("pageDetails") or {}
        if not isinstance(details, dict):
            bad_value("pageDetails: expected an object", details)
        page = PromotionPage(items, as_int(details.get("pageNumber"), "pageNumber"),
                             as_int(details.get("pageSize"), "pageSize"),
                             as_int(details.get("pageCount"), "pageCount"),
                             as_int(details.get("totalEntries"), "totalEntries"))
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return page


def promotion_list_frame(items: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per promotion object (of the list or the promotion-by-id answer).

    Returns
    -------
    DataFrame
        ``promotion_id, program_id`` (Int64), ``name``, ``type`` (pointsOfferType: GENERIC,
        LOYALTY, LOYALTY_EARNING...), ``status`` (promotionStatus) (str), ``is_active``
        (boolean), ``start, end`` (datetime64[us, UTC]; NaT when missing or a sentinel),
        ``identifier`` (str).

    Raises
    ------
    ResponseFormatError
        A value of the wrong type.
    """
    rows = [(as_int(p.get("id", p.get("promotionId")), "id"),
             as_int(p.get("programId"), "programId"),
             as_str(p.get("name"), "name"), as_str(p.get("pointsOfferType"), "pointsOfferType"),
             as_str(p.get("promotionStatus"), "promotionStatus"),
             as_bool(p.get("isActive"), "isActive"),
             as_epoch_ms(p.get("startDate"), "startDate"),
             as_epoch_ms(p.get("endDate"), "endDate"),
             as_str(p.get("identifier"), "identifier")) for p in items]
    rows = [r[:6] + tuple(np.nan if v is None else v for v in r[6:8]) + r[8:] for r in rows]
    return rows_frame(rows, PROMOTION_LIST_COLUMNS)
