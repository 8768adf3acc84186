"""The sandbox's ``GET /v2/customers/lookup/promotionData``, in the documented shape.

``{"pageDetails": {pageNumber, pageSize, totalEntries, pageCount}, "customerId", "promotions":
[...], "warnings": []}``; per promotion ``promotionId``, ``promotionName``, ``programId``,
``startDate``/``endDate`` (``YYYY-MM-DDTHH:MM:SS.sssZ``), ``identifier``, ``description``,
``active``, ``eventName``, ``limits`` {``maxPointsPerEvent``, ``pointsPerCustomer``,
``totalPointsInPromotion`` (strings), ``numberOFTimesPerCustomer`` (integer)},
``customerUsage``, ``pointsOfferType``, ``promotionRestriction`` and
``customerPromotionTimelines`` (from :mod:`capnb.sandbox.timelines`).

Query: ``limit`` (0 to 100, default 10) and ``offset`` (the start index, >= 0) page the
promotions; ``fetchAllUsage=true`` adds the redemption restrictions configured as disabled
(``maxLimit`` ``"-1"``), which are left out otherwise; ``promotionStatusForCustomer``,
``promotionType`` (GENERIC, DIRECT_ISSUE, ENROL_AND_ISSUE = pointsOfferType GENERIC, LOYALTY,
LOYALTY_EARNING) and ``programs`` (comma-separated ids) filter.

Choices where the documentation is silent
-----------------------------------------
- An out-of-range ``limit``/``offset`` or an unknown filter value is a v2 error 400 (code 400).
- The default page size is 10, the size of the documented examples.
- ``customerPromotionTimelines`` is present on LOYALTY and LOYALTY_EARNING promotions (``[]``
  before the customer's first event) and absent on GENERIC ones, as in the documented examples.
- Promotion-wide (``limitOn`` ``PROMOTION``) items and ``currentTotalPointsInPromotion`` report
  the customer's own contribution; ``EVENT`` items carry no usage. Per-customer items equal
  :meth:`SandboxData.true_usage` (PERIOD_BASED ones in the window ending at ``SANDBOX_AS_OF``).
- ``promotionStatusForCustomer`` at ``SANDBOX_AS_OF``: AVAILABLE_TO_ENROL = running
  LOYALTY_EARNING promotions the customer has not enrolled in; AVAILABLE_TO_EARN = running
  LOYALTY promotions and running LOYALTY_EARNING ones the customer enrolled in;
  AVAILABLE_TO_REDEEM = running promotions; EXPIRED = promotions whose end has passed.
  ``sourceType`` is accepted and not applied.

Variants (``SandboxApp(promotion_data=...)``): ``"no_timelines"`` is an org whose answers carry
no ``customerPromotionTimelines`` at all; ``"older"`` answers in the older shape capnb once
read (``{"customerId", "data": [...], "warnings", "errors"}``, every promotion, no
``pageDetails``). ``extra_promotions`` lists that many ended promotions without usage before
the program's own, so answers can run past one page of 100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from capnb.restrictions import LEGACY_LIMITS, documented
from capnb.sandbox.answer import Answer, digits
from capnb.sandbox.catalog import AS_OF_MS, iso_ms
from capnb.sandbox.data import SandboxData
from capnb.sandbox.generate import Event, event_quantity
from capnb.sandbox.timelines import Enrolment, enrolment_of
from capnb.sandbox.v2 import IDENTIFIER_NAMES, _identify, v2_error

__all__ = ["EXTRA_PROMOTION_BASE", "MAX_LIMIT", "VARIANTS", "promotion_data"]

MAX_LIMIT = 100
"""Largest documented ``limit``."""
VARIANTS = ("documented", "no_timelines", "older")
"""Shapes the sandbox can answer in (see the module docstring)."""
EXTRA_PROMOTION_BASE = 1_133_500_000
"""Id of the first extra (ended, unused) promotion."""
_STATUSES = ("AVAILABLE_TO_ENROL", "AVAILABLE_TO_EARN", "AVAILABLE_TO_REDEEM", "EXPIRED")
_TYPES = {"GENERIC": "GENERIC", "DIRECT_ISSUE": "LOYALTY", "ENROL_AND_ISSUE": "LOYALTY_EARNING"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_z(ms: int) -> str:
    """Epoch ms as ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, milliseconds: an exact round trip)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _usage(value: float, kpi: str) -> str:
    """As the documented examples write usage: points with three decimals, counts whole."""
    return f"{value:.3f}" if kpi == "NUMBER_OF_POINTS" else str(int(value))


def _restriction_items(data: SandboxData, promotion_id: int, events: list[Event],
                       truth: Mapping[str, float], fetch_all: bool,
                       ) -> dict[str, list[dict[str, Any]]]:
    payload = data.promotion_config(promotion_id)
    restrictions = payload["promotionRestrictions"]["restrictions"]
    if restrictions is None:  # legacy limits only: they mirror redemption restrictions
        families = {"issualRestrictions": [], "earnRestrictions": [], "redemptionRestrictions": [
            {"name": LEGACY_LIMITS[key].twin, "value": value, "type": "NON_PERIOD_BASED"}
            for key, value in payload["limits"].items() if value]}
    else:
        families = {key: restrictions.get(key) or [] for key in (
            "issualRestrictions", "earnRestrictions", "redemptionRestrictions")}
    out: dict[str, list[dict[str, Any]]] = {}
    for family, items in families.items():
        rows = []
        for item in items:
            known = documented(item["name"])
            if known is None or known.kpi is None:
                continue
            if family == "redemptionRestrictions" and item["value"] == -1 and not fetch_all:
                continue  # a disabled redemption restriction: only with fetchAllUsage=true
            row: dict[str, Any] = {"kpi": known.kpi, "maxLimit": str(int(item["value"]))}
            if known.limit_on == "CUSTOMER":
                row["currentCustomerUsage"] = _usage(truth[item["name"]], known.kpi)
            elif known.limit_on == "PROMOTION":
                total = sum(event_quantity(e, str(known.quantity)) for e in events)
                row["currentCustomerUsage"] = _usage(total, known.kpi)
            row["limitOn"] = known.limit_on
            period_based = item.get("type") == "PERIOD_BASED"
            if family == "redemptionRestrictions" or period_based:
                row["type"] = item.get("type") or "NON_PERIOD_BASED"
            if period_based:
                row["periodType"], row["periodUnit"] = item.get("periodType"), item["periodUnit"]
            rows.append(row)
        out[family] = rows
    return out


def _timelines(enrolment: Enrolment | None) -> list[dict[str, Any]]:
    if enrolment is None:
        return []
    return [{"enrollmentDate": iso_z(enrolment.enrolled_ms),
             "enrollmentExpiryDate": iso_z(enrolment.expiry_ms),
             "enrollmentId": enrolment.enrolment_id,
             "enrollEventLogId": enrolment.event_log_id,
             "issuedDetails": [{"issualId": i.issual_id, "issualDate": iso_z(i.issued_ms),
                                "issualExpiryDate": iso_z(i.expiry_ms),
                                "issualEventLogId": i.event_log_id,
                                "redeemedCount": i.redeemed} for i in enrolment.issuals]}]


def _entry(data: SandboxData, customer_id: int, promotion_id: int, fetch_all: bool,
           timelines: bool) -> dict[str, Any]:
    payload = data.promotion_config(promotion_id)
    events = data.events(customer_id, promotion_id)
    truth = data.usage_of(events, promotion_id, customer_id)
    legacy = payload["limits"]
    points = sum(e.points for e in events)
    entry = {
        "promotionId": promotion_id,
        "promotionName": payload["name"],
        "programId": data.program_id,
        "startDate": iso_z(iso_ms(payload["startDate"])),
        "endDate": iso_z(iso_ms(payload["endDate"])),
        "identifier": payload["identifier"],
        "description": payload["description"],
        "active": payload["isActive"],
        "eventName": payload["eventName"],
        "limits": {"maxPointsPerEvent": str(legacy["totalPointsPerEventLimit"]),
                   "pointsPerCustomer": str(legacy["pointsPerCustomer"]),
                   "numberOFTimesPerCustomer": int(legacy["numberOfTimesPerCustomer"]),
                   "totalPointsInPromotion": str(legacy["totalPointsInPromotion"])},
        "customerUsage": {"currentPointsPerCustomer": f"{points:.3f}",
                          "currentNumberOfTimesPerCustomer": len(events),
                          "currentTotalPointsInPromotion": f"{points:.3f}"},
        "pointsOfferType": payload["pointsOfferType"],
        "promotionRestriction": _restriction_items(data, promotion_id, events, truth,
                                                   fetch_all),
    }
    if timelines and payload["pointsOfferType"] != "GENERIC":
        enrolment = enrolment_of(data.seed, customer_id, payload, events)
        entry["customerPromotionTimelines"] = _timelines(enrolment)
    return entry


def _extra_entry(data: SandboxData, k: int) -> dict[str, Any]:
    """An ended promotion of the program that the customer never used."""
    return {"promotionId": EXTRA_PROMOTION_BASE + k, "promotionName": f"Archived offer {k + 1}",
            "programId": data.program_id, "startDate": "2024-01-01T00:00:00.000Z",
            "endDate": "2024-03-31T23:59:59.000Z", "identifier": f"archived-{k + 1}",
            "description": "", "active": False, "eventName": "TransactionAdd",
            "limits": {"maxPointsPerEvent": "0", "pointsPerCustomer": "0",
                       "numberOFTimesPerCustomer": 0, "totalPointsInPromotion": "0"},
            "customerUsage": {"currentPointsPerCustomer": "0",
                              "currentNumberOfTimesPerCustomer": 0,
                              "currentTotalPointsInPromotion": "0"},
            "pointsOfferType": "GENERIC",
            "promotionRestriction": {"issualRestrictions": [], "earnRestrictions": [],
                                     "redemptionRestrictions": []}}


def _wanted(data: SandboxData, customer_id: int, promotion_id: int, status: str | None,
            offer_type: str | None) -> bool:
    payload = data.promotion_config(promotion_id)
    kind = payload["pointsOfferType"]
    if offer_type is not None and kind != offer_type:
        return False
    if status is None:
        return True
    start, end = iso_ms(payload["startDate"]), iso_ms(payload["endDate"])
    running = start <= AS_OF_MS <= end
    if status == "EXPIRED":
        return end < AS_OF_MS
    if status == "AVAILABLE_TO_REDEEM":
        return running
    enrolled = bool(data.events(customer_id, promotion_id))
    if status == "AVAILABLE_TO_ENROL":
        return running and kind == "LOYALTY_EARNING" and not enrolled
    return running and (kind == "LOYALTY" or (kind == "LOYALTY_EARNING" and enrolled))


def _bad(name: str, value: str, expected: str) -> Answer:
    return v2_error(400, 400, f"Invalid {name} {value!r}: expected {expected}")


def promotion_data(data: SandboxData, query: dict[str, str], error_status: int = 404, *,
                   variant: str = "documented", extra_promotions: int = 0) -> Answer:
    """``GET /v2/customers/lookup/promotionData`` (see the module docstring)."""
    found = _identify(data, query, IDENTIFIER_NAMES, error_status)
    if isinstance(found, tuple):
        return found
    limit, offset = query.get("limit"), query.get("offset")
    size = 10 if limit is None else digits(limit)
    if size is None or size > MAX_LIMIT:
        return _bad("limit", str(limit), f"an integer from 0 to {MAX_LIMIT}")
    start = 0 if offset is None else digits(offset)
    if start is None:
        return _bad("offset", str(offset), "an integer >= 0")
    status = query.get("promotionStatusForCustomer") or None
    if status is not None and status not in _STATUSES:
        return _bad("promotionStatusForCustomer", status, ", ".join(_STATUSES))
    kind = query.get("promotionType") or None
    if kind is not None and kind not in _TYPES:
        return _bad("promotionType", kind, ", ".join(_TYPES))
    fetch_all = (query.get("fetchAllUsage") or "false").lower()
    if fetch_all not in ("true", "false"):
        return _bad("fetchAllUsage", fetch_all, "true or false")
    wanted = {p.strip() for p in (query.get("programs") or "").split(",") if p.strip()}
    ours = not wanted or str(data.program_id) in wanted
    ids = [pid for pid in data.engine_promotion_ids if ours  # new-UI ones included
           and _wanted(data, found, pid, status, _TYPES.get(kind or ""))]
    extra = extra_promotions if ours and status in (None, "EXPIRED") and kind in (
        None, "GENERIC") else 0
    total = extra + len(ids)
    if variant == "older":
        entries = [_extra_entry(data, k) for k in range(extra)] + [
            _entry(data, found, pid, fetch_all == "true", True) for pid in ids]
        return 200, {"customerId": found, "data": entries, "warnings": [], "errors": []}
    page = range(start, min(total, start + size))
    entries = [_extra_entry(data, k) if k < extra else
               _entry(data, found, ids[k - extra], fetch_all == "true",
                      variant != "no_timelines") for k in page]
    return 200, {"pageDetails": {"pageNumber": start // size if size else 0, "pageSize": size,
                                 "totalEntries": total,
                                 "pageCount": math.ceil(total / size) if size else 0},
                 "customerId": found, "promotions": entries, "warnings": []}
