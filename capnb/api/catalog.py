"""Bodies of the catalogue endpoints -> typed frames; pure, no I/O.

``GET /v2/organization/programs`` -> one row per program (:func:`parse_programs`); one page of
the api_gateway ``GET /api_gateway/loyalty/v1/programs/promotions/list`` -> its promotion
objects and ``pageDetails`` (:func:`parse_promotion_page`), and promotion objects -> one row per
promotion (:func:`promotion_list_frame`). Each promotion object has the shape of the
promotion-by-id answer, so :func:`capnb.api.parse.parse_promotion` reads its restrictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capnb.api.parse import (
    _bad,
    _bool,
    _float,
    _frame,
    _int,
    _item,
    _ms,
    _records,
    _str,
    _tag,
    raise_for_envelope,
)
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
        _bad("body: expected a JSON object", payload)
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
        rows = [(_int(p.get("programId", p.get("id")), "programId"),
                 _str(p.get("programName", p.get("name")), "programName"),
                 _str(p.get("programDescription", p.get("description")), "programDescription"),
                 _float(p.get("pointsToCurrencyRatio"), "pointsToCurrencyRatio"),
                 _bool(p.get("default", p.get("isDefault")), "default"),
                 list(_records(p.get("partnerPrograms"), "partnerPrograms")))
                for p in _records(body.get("data"), "data")
                if type(p) is dict or _item(p, "data")]
    except (ResponseFormatError, ApiError) as exc:
        _tag(exc, request_id)
        raise
    return _frame(rows, PROGRAM_COLUMNS)


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
        items = [p for p in _records(body.get("data"), "data")
                 if type(p) is dict or _item(p, "data")]
        details = body.get("pageDetails") or {}
        if not isinstance(details, dict):
            _bad("pageDetails: expected an object", details)
        page = PromotionPage(items, _int(details.get("pageNumber"), "pageNumber"),
                             _int(details.get("pageSize"), "pageSize"),
                             _int(details.get("pageCount"), "pageCount"),
                             _int(details.get("totalEntries"), "totalEntries"))
    except (ResponseFormatError, ApiError) as exc:
        _tag(exc, request_id)
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
    rows = [(_int(p.get("id", p.get("promotionId")), "id"), _int(p.get("programId"), "programId"),
             _str(p.get("name"), "name"), _str(p.get("pointsOfferType"), "pointsOfferType"),
             _str(p.get("promotionStatus"), "promotionStatus"),
             _bool(p.get("isActive"), "isActive"),
             _ms(p.get("startDate"), "startDate"), _ms(p.get("endDate"), "endDate"),
             _str(p.get("identifier"), "identifier")) for p in items]
    rows = [r[:6] + tuple(np.nan if v is None else v for v in r[6:8]) + r[8:] for r in rows]
    return _frame(rows, PROMOTION_LIST_COLUMNS)
