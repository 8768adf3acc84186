"""Body of ``GET /v2/customers/lookup/promotionData`` -> exact limit usage; pure, no I/O.

Per customer and promotion the endpoint reports each restriction's ``maxLimit`` and
``currentCustomerUsage`` (period-based ones included), which the action summary can only bound.
:func:`parse_promotion_data` returns one row per restriction item and per configured legacy
limit. Values arrive as strings (``"410.000"``); ``"-1"`` means no limit; items limited per
``EVENT`` carry no usage (NA). The restriction ``name`` is recovered from the family, ``kpi``
and ``limitOn`` (:func:`capnb.restrictions.restriction_for_kpi`); unknown combinations keep
``name`` NA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from capnb.api._coerce import (
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
from capnb.restrictions import legacy_limit, restriction_for_kpi
from capnb.schema import PROMOTION_USAGE_COLUMNS

__all__ = ["parse_promotion_data", "promotion_data_rows", "usage_frame"]

_FAMILIES = ("issual", "earn", "redemption")


def _entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("data", "promotions", "promotionData"):
        if key in body:
            value = body[key]
            if isinstance(value, dict):  # {"data": {"customerId", "promotions": [...]}}
                return _entries(value)
            return [p for p in records(value, key) if type(p) is dict or keep_item(p, key)]
    return []


def _rows(entry: dict[str, Any], customer: int | None) -> list[tuple[Any, ...]]:
    program = as_int(entry.get("programId"), "programId")
    promotion = as_int(entry.get("promotionId", entry.get("id")), "promotionId")
    head = (as_int(entry.get("customerId"), "customerId") or customer, program, promotion)
    rows = []
    families = entry.get("promotionRestriction", entry.get("promotionRestrictions")) or {}
    if not isinstance(families, dict):
        bad_value("promotionRestriction: expected an object", families)
    for family in _FAMILIES:
        key = f"{family}Restrictions"
        for item in records(families.get(key), key, single_ok=True):
            if type(item) is not dict and not keep_item(item, key):
                continue
            kpi, on = as_str(item.get("kpi"), "kpi"), as_str(item.get("limitOn"), "limitOn")
            limit = as_float(item.get("maxLimit"), "maxLimit")
            usage = None if on == "EVENT" else as_float(item.get("currentCustomerUsage"),
                                                      "currentCustomerUsage")
            known = restriction_for_kpi(family, kpi, on)
            rows.append((*head, family, known.name if known else None, kpi, on,
                         as_str(item.get("type"), "type"),
                         as_str(item.get("periodUnit"), "periodUnit"), limit, limit == -1,
                         usage, "promotionRestriction"))
    limits = entry.get("limits") or {}
    used = entry.get("customerUsage") or {}
    if not isinstance(limits, dict) or not isinstance(used, dict):
        bad_value("limits/customerUsage: expected objects", entry)
    for name, raw in limits.items():
        legacy = legacy_limit(name)
        if legacy is None:
            continue
        value = as_float(raw, f"limits.{name}")
        if not value:  # 0 or null: not configured
            continue
        usage_key, on = legacy.usage_field, legacy.restriction.limit_on
        usage = as_float(used.get(usage_key), usage_key) if usage_key else None
        rows.append((*head, "limits", name, None, on, None, None, value, value == -1, usage,
                     "limits"))
    return rows


def parse_promotion_data(payload: Any, *, customer_id: int | None = None,
                         request_id: str | None = None) -> pd.DataFrame:
    """Parse a ``promotionData`` answer into exact usage per restriction.

    Parameters
    ----------
    payload : dict
        The body (v2 envelope; the promotions under ``data``, ``promotions`` or
        ``promotionData``).
    customer_id : int, optional
        Filled in when the body does not name the customer.
    request_id : str, optional

    Returns
    -------
    DataFrame
        ``customer_id, program_id, promotion_id`` (Int64), ``family`` (str: issual, earn,
        redemption, or ``limits`` for legacy fields), ``name`` (str: the restriction name, or the
        legacy field), ``kpi, limit_on, type, period_unit`` (str), ``max_limit`` (float64; -1 =
        no limit), ``unlimited`` (bool), ``usage`` (float64, ``currentCustomerUsage``; NA for
        EVENT items), ``source`` (str: ``promotionRestriction`` or ``limits``). Legacy limits of
        0 (not configured) give no row.

    Raises
    ------
    CustomerNotFound
        Error 8015 (or another ``ApiError`` the body describes).
    ResponseFormatError
        A value of the wrong type.
    """
    return usage_frame(promotion_data_rows(payload, customer_id=customer_id,
                                           request_id=request_id))


def promotion_data_rows(payload: Any, *, customer_id: int | None = None,
                        request_id: str | None = None) -> list[tuple[Any, ...]]:
    """The rows :func:`parse_promotion_data` makes a frame of (for collecting many customers'
    answers into one frame with :func:`usage_frame`); same arguments and errors."""
    try:
        raise_for_envelope(payload, request_id=request_id)
        if not isinstance(payload, dict):
            bad_value("body: expected a JSON object", payload)
        customer = as_int(payload.get("customerId"), "customerId") or customer_id
        rows = [row for entry in _entries(payload) for row in _rows(entry, customer)]
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return [r[:9] + (np.nan if r[9] is None else r[9], r[10],
                     np.nan if r[11] is None else r[11], r[12]) for r in rows]


def usage_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A ``PROMOTION_USAGE_COLUMNS`` frame of :func:`promotion_data_rows` rows."""
    return rows_frame(rows, PROMOTION_USAGE_COLUMNS)
