"""Body of ``GET /v2/customers/lookup/promotionData`` -> exact limit usage and the issual
history; pure, no I/O (:func:`collect_pages` is handed the function that fetches a page).

Per customer and promotion the endpoint reports each restriction's ``maxLimit`` and
``currentCustomerUsage`` (period-based ones included), which the action summary can only bound.
:func:`parse_promotion_data` returns one row per restriction item and per configured legacy
limit. Values arrive as strings (``"410.000"``); ``"-1"`` means no limit; items limited per
``EVENT`` carry no usage (NA). The restriction ``name`` is recovered from the family, ``kpi``
and ``limitOn`` (:func:`capnb.restrictions.restriction_for_kpi`); unknown combinations keep
``name`` NA. :func:`parse_promotion_timelines` reads ``customerPromotionTimelines`` (every
enrolment and issual with its ``redeemedCount``).

The documented body is ``{pageDetails, customerId, promotions[], warnings[]}``, paged with
``limit`` (at most 100) and ``offset`` (the start index); the older ``data``-keyed body (one
answer, no ``pageDetails``) is read too. :func:`collect_pages` pages to the end and refuses a
server that pages without end, repeats a page, sends more than it was asked for or fewer
promotions than it counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from capnb.api._coerce import (
    as_count,
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
from capnb.restrictions import legacy_limit, restriction_for_kpi
from capnb.schema import ISSUAL_COLUMNS, PROMOTION_USAGE_COLUMNS, TIMELINE_STATUS_COLUMNS

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_PROMOTION_DATA_PAGES",
    "PromotionDataRows",
    "collect_pages",
    "issual_frame",
    "parse_promotion_data",
    "parse_promotion_timelines",
    "promotion_data_rows",
    "timeline_status_frame",
    "usage_frame",
]

MAX_PAGE_SIZE = 100
"""The largest ``limit`` promotionData documents."""
MAX_PROMOTION_DATA_PAGES = 100
"""Most pages read for one customer (10,000 promotions): a server paging past it is refused."""

_FAMILIES = ("issual", "earn", "redemption")


def _entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("data", "promotions", "promotionData"):
        if key in body:
            value = body[key]
            if isinstance(value, dict):  # {"data": {"customerId", "promotions": [...]}}
                return _entries(value)
            return [p for p in records(value, key) if type(p) is dict or keep_item(p, key)]
    return []


def _usage_rows(entry: dict[str, Any], customer: int | None) -> list[tuple[Any, ...]]:
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
    return _nan(_page(payload, customer_id, request_id).usage)


def _nan(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Null limits and usage as NaN (float columns)."""
    return [r[:9] + (np.nan if r[9] is None else r[9], r[10],
                     np.nan if r[11] is None else r[11], r[12]) for r in rows]


def usage_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A ``PROMOTION_USAGE_COLUMNS`` frame of :func:`promotion_data_rows` rows (or of the raw
    ``usage`` rows of :class:`PromotionDataRows`)."""
    return rows_frame(_nan(rows), PROMOTION_USAGE_COLUMNS)


# -- customerPromotionTimelines ------------------------------------------------------------------

def _timeline_rows(entry: dict[str, Any], customer: int | None,
                   ) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """(issual rows, timeline-status row) of one promotion entry."""
    head = (as_int(entry.get("customerId"), "customerId") or customer,
            as_int(entry.get("programId"), "programId"),
            as_int(entry.get("promotionId", entry.get("id")), "promotionId"))
    value = entry.get("customerPromotionTimelines")
    if value is None:  # absent (or null): this answer says nothing about enrolments
        return [], (*head, False, None, None)
    rows: list[tuple[Any, ...]] = []
    enrolments = 0
    for timeline in records(value, "customerPromotionTimelines"):
        if type(timeline) is not dict and not keep_item(timeline, "customerPromotionTimelines"):
            continue
        enrolments += 1
        enrolment = (as_int(timeline.get("enrollmentId"), "enrollmentId"),
                     as_epoch_ms(timeline.get("enrollmentDate"), "enrollmentDate"),
                     as_epoch_ms(timeline.get("enrollmentExpiryDate"), "enrollmentExpiryDate"),
                     as_int(timeline.get("enrollEventLogId"), "enrollEventLogId"))
        issued = [i for i in records(timeline.get("issuedDetails"), "issuedDetails")
                  if type(i) is dict or keep_item(i, "issuedDetails")]
        if not issued:
            rows.append((*head, *enrolment, None, None, None, None, None))
        for item in issued:
            redeemed = as_count(item.get("redeemedCount"), "redeemedCount")
            if redeemed is not None and redeemed < 0:
                bad_value("redeemedCount: negative", item.get("redeemedCount"))
            rows.append((*head, *enrolment, as_int(item.get("issualId"), "issualId"),
                         as_epoch_ms(item.get("issualDate"), "issualDate"),
                         as_epoch_ms(item.get("issualExpiryDate"), "issualExpiryDate"),
                         as_int(item.get("issualEventLogId"), "issualEventLogId"), redeemed))
    issuals = sum(1 for r in rows if r[7] is not None or r[8] is not None)
    return rows, (*head, True, enrolments, issuals)


def _times(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Null times as NaN, which the frame builder reads as NaT."""
    return [tuple(np.nan if (i in (4, 5, 8, 9) and v is None) else v
                  for i, v in enumerate(r)) for r in rows]


def issual_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """An ``ISSUAL_COLUMNS`` frame of issual rows (:class:`PromotionDataRows.issuals`)."""
    return rows_frame(_times(rows), ISSUAL_COLUMNS)


def timeline_status_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A ``TIMELINE_STATUS_COLUMNS`` frame of :class:`PromotionDataRows.timelines` rows."""
    return rows_frame(rows, TIMELINE_STATUS_COLUMNS)


def parse_promotion_timelines(payload: Any, *, customer_id: int | None = None,
                              request_id: str | None = None) -> pd.DataFrame:
    """The enrolments and issuals of one promotionData answer.

    Returns
    -------
    DataFrame
        ``capnb.schema.ISSUAL_COLUMNS``: ``customer_id, program_id, promotion_id,
        enrolment_id`` (Int64), ``enrolled_at, enrolment_expiry`` (datetime64[us, UTC]),
        ``enrol_event_log_id, issual_id`` (Int64), ``issued_at, issual_expiry``
        (datetime64[us, UTC]), ``issual_event_log_id, redeemed_count`` (Int64); one row per
        issual, and one row with null issual columns per enrolment without issuals. Promotions
        without ``customerPromotionTimelines`` give no row.
    """
    return issual_frame(_page(payload, customer_id, request_id).issuals)


# -- pages ---------------------------------------------------------------------------------------

@dataclass
class PromotionDataRows:
    """Rows of one customer's promotionData answers (every page): ``usage``
    (``PROMOTION_USAGE_COLUMNS``), ``issuals`` (``ISSUAL_COLUMNS``), ``timelines``
    (``TIMELINE_STATUS_COLUMNS``), the request id of the last page and the pages read."""

    usage: list[tuple[Any, ...]] = field(default_factory=list)
    issuals: list[tuple[Any, ...]] = field(default_factory=list)
    timelines: list[tuple[Any, ...]] = field(default_factory=list)
    request_id: str | None = None
    pages: int = 0


@dataclass
class _Page:
    usage: list[tuple[Any, ...]]
    issuals: list[tuple[Any, ...]]
    timelines: list[tuple[Any, ...]]
    promotions: list[Any]
    total: int | None
    page_count: int | None
    paged: bool


def _page(payload: Any, customer_id: int | None, request_id: str | None) -> _Page:
    try:
        raise_for_envelope(payload, request_id=request_id)
        if not isinstance(payload, dict):
            bad_value("body: expected a JSON object", payload)
        customer = as_int(payload.get("customerId"), "customerId") or customer_id
        out = _Page([], [], [], [], None, None, False)
        details = payload.get("pageDetails")
        if details is not None:
            if not isinstance(details, dict):
                bad_value("pageDetails: expected an object", details)
            out.paged = True
            out.total = as_count(details.get("totalEntries"), "totalEntries")
            out.page_count = as_count(details.get("pageCount"), "pageCount")
            if (out.total or 0) < 0 or (out.page_count or 0) < 0:
                bad_value("pageDetails: negative count", details)
        for entry in _entries(payload):
            usage = _usage_rows(entry, customer)
            issuals, status = _timeline_rows(entry, customer)
            out.usage += usage
            out.issuals += issuals
            out.timelines.append(status)
            out.promotions.append(status[2])
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return out


def collect_pages(get_page: Callable[[int, int], tuple[Any, str | None]],
                  customer_id: int | None = None, *, page_size: int = MAX_PAGE_SIZE,
                  max_pages: int = MAX_PROMOTION_DATA_PAGES) -> PromotionDataRows:
    """Every page of one customer's promotionData: ``get_page(limit, offset)`` returns
    ``(body, request_id)``; offsets are start indexes (0, ``page_size``, ...).

    Stops after the page ``pageDetails.pageCount`` or ``totalEntries`` says is the last, or
    an empty page; an older body without ``pageDetails`` is the whole answer. A promotion seen
    twice is kept once. Raises ``ResponseFormatError`` (the customer then counts as failed)
    when a page holds more promotions than ``page_size``, repeats the promotions already read,
    the pages run past ``max_pages``, or they end with fewer promotions than ``totalEntries``.
    """
    out = PromotionDataRows()
    seen: set[Any] = set()
    total: int | None = None
    for number in range(max_pages):
        payload, request_id = get_page(page_size, number * page_size)
        page = _page(payload, customer_id, request_id)
        out.request_id, out.pages = request_id, number + 1
        fresh = {p for p in page.promotions if p is None or p not in seen}
        if page.paged and len(page.promotions) > page_size:
            raise _paging_error(f"a page of {len(page.promotions)} promotions, more than the "
                                f"limit of {page_size} asked for", request_id)
        if page.paged and page.promotions and not fresh:
            raise _paging_error(f"page {number + 1} repeats promotions already read (is "
                                "offset ignored?)", request_id)
        out.usage += [r for r in page.usage if r[2] in fresh]
        out.issuals += [r for r in page.issuals if r[2] in fresh]
        out.timelines += [r for r in page.timelines if r[2] in fresh]
        seen.update(fresh)
        total = page.total if page.total is not None else total
        if (not page.paged or not page.promotions
                or (total is not None and len(seen) >= total)
                or (page.page_count is not None and number + 1 >= page.page_count)):
            break
    else:
        raise _paging_error(f"still more pages after {max_pages} pages of {page_size} "
                            "promotions", out.request_id)
    if total is not None and len(seen) < total:
        raise _paging_error(f"the pages ended with {len(seen)} of the {total} promotions "
                            "pageDetails.totalEntries counts", out.request_id)
    return out


def _paging_error(what: str, request_id: str | None) -> ResponseFormatError:
    return ResponseFormatError(f"promotionData paging: {what}", request_id=request_id)
