"""Answers of the sandbox's ``/v2`` endpoints: identifier lookup, v2 action summary, programs and
per-customer promotion data (exact limit usage).

Everything here is shaped from :class:`~capnb.sandbox.data.SandboxData` (the same events as
the v3 action summary), so the answers agree with each other and with
:meth:`SandboxData.true_usage`. Each public function takes the data and the query parameters and
returns ``(http_status, payload)``; :mod:`capnb.sandbox.app` only routes to them.

Identifiers
-----------
Derived from the customer id, so nothing is stored: ``mobile`` = ``"91"`` + the id on 10 digits
(``910388000001``), ``email`` = ``c<id>@example.com``, ``externalId`` = ``EXT<id>``,
``cardnumber`` = ``CARD<id>``, ``id`` = the id itself. Matching is exact (emails ignore case).

Choices where the documentation is silent
-----------------------------------------
- v2 errors come with ``error_status`` (404 by default) for "not found" codes (8015, 8874)
  and 400 for missing parameters (8883).
- The v2 summary lists rewards in ``rewards[]`` and badges in ``badges[]``; every other incentive
  action (coupons, enrolment, opt-in, tier upgrade) stays in ``incentives[]`` with ISO dates.
  Every item keeps its ``activityId``.
- ``promotionData`` reports, for promotion-wide (``limitOn`` ``PROMOTION``) items, the
  customer's own contribution; ``EVENT`` items carry no usage. Per-customer items equal
  :meth:`SandboxData.true_usage` (PERIOD_BASED ones in the window ending at ``SANDBOX_AS_OF``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from capnb.restrictions import LEGACY_LIMITS, documented
from capnb.sandbox.answer import Answer, digits
from capnb.sandbox.data import SandboxData
from capnb.sandbox.generate import Event, event_quantity

__all__ = [
    "IDENTIFIER_NAMES",
    "identifier_of",
    "lookup",
    "programs",
    "promotion_data",
    "resolve",
    "v2_action_summary",
]

IDENTIFIER_NAMES = ("mobile", "email", "externalId", "cardnumber", "id")
_IST = timezone(timedelta(hours=5, minutes=30))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def v2_error(status: int, code: int, message: str) -> Answer:
    """A v2 error body."""
    return status, {"errors": [{"status": False, "code": code, "message": message}],
                    "warnings": []}


def iso(ms: int | None) -> str | None:
    """Epoch ms as ISO 8601 in the India cluster's zone, with milliseconds (exact round trip)."""
    if ms is None:
        return None
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(_IST).isoformat(
        timespec="milliseconds")


def identifier_of(customer_id: int, identifier_name: str) -> str:
    """The sandbox's ``identifier_name`` value of a customer (see the module docstring)."""
    if identifier_name == "mobile":
        return f"91{customer_id:010d}"
    if identifier_name == "email":
        return f"c{customer_id}@example.com"
    if identifier_name == "externalId":
        return f"EXT{customer_id}"
    if identifier_name == "cardnumber":
        return f"CARD{customer_id}"
    if identifier_name == "id":
        return str(customer_id)
    raise ValueError(f"identifier_name must be one of {IDENTIFIER_NAMES}, got {identifier_name!r}")


def resolve(data: SandboxData, identifier_name: str, value: str) -> int | None:
    """The customer id an identifier names, or None when no sandbox customer has it."""
    text = value.strip()
    number: str | None = None
    if identifier_name == "mobile" and len(text) == 12 and text.startswith("91"):
        number = text[2:]
    elif identifier_name == "email":
        lowered = text.lower()
        if lowered.startswith("c") and lowered.endswith("@example.com"):
            number = lowered[1:-len("@example.com")]
    elif identifier_name == "externalId" and text.startswith("EXT"):
        number = text[3:]
    elif identifier_name == "cardnumber" and text.startswith("CARD"):
        number = text[4:]
    elif identifier_name == "id":
        number = text
    if not number or not number.isascii() or not number.isdigit():
        return None
    customer_id = int(number)
    if not data.has_customer(customer_id) or identifier_of(customer_id, identifier_name) != (
            text.lower() if identifier_name == "email" else text):
        return None
    return customer_id


def _identify(data: SandboxData, query: dict[str, str], names: tuple[str, ...],
              error_status: int) -> int | Answer:
    """The customer of ``source``/``identifierName``/``identifierValue``, or an error answer."""
    missing = [p for p in ("source", "identifierName", "identifierValue") if not query.get(p)]
    if missing:
        return v2_error(400, 8883, f"Missing required parameters: {', '.join(missing)}")
    name = query["identifierName"]
    if name not in names:
        return v2_error(400, 8883, f"Invalid identifierName {name!r}; expected one of "
                                   f"{', '.join(names)}")
    customer_id = resolve(data, name, query["identifierValue"])
    if customer_id is None:
        return v2_error(error_status, 8015, "Customer not found")
    return customer_id


def lookup(data: SandboxData, query: dict[str, str], error_status: int = 404) -> Answer:
    """``GET /v2/customers/lookup``: ``{"entity": <customer id>, "warnings": []}``."""
    found = _identify(data, query, IDENTIFIER_NAMES, error_status)
    if isinstance(found, tuple):
        return found
    return 200, {"entity": found, "warnings": []}


def _promotion_by(data: SandboxData, query: dict[str, str]) -> int | None:
    promotion_id = digits(query.get("promotionId"))
    if promotion_id is not None:
        return promotion_id if data.has_promotion(promotion_id) else None
    wanted = query.get("promotionIdentifier")
    for pid in data.promotion_ids:
        if data.promotion_payload(pid)["identifier"] == wanted:
            return pid
    return None


def v2_action_summary(data: SandboxData, query: dict[str, str],
                      error_status: int = 404) -> Answer:
    """``GET /v2/customers/lookup/customerPromotionDetails/actionSummary``.

    The same events as the v3 summary in the v2 shape: ``customerId``, ISO ``lastIssuedOn``
    (``+05:30``), numeric totals, ``rewards[]``, ``badges[]``, the other incentives in
    ``incentives[]``, nested alternate currencies; warning 8116 when nothing was issued.
    """
    if not query.get("programId") or not (query.get("promotionId")
                                          or query.get("promotionIdentifier")):
        return v2_error(400, 8883, "Missing required parameters: programId and promotionId "
                                   "or promotionIdentifier")
    found = _identify(data, query, ("mobile", "email", "externalId", "cardnumber", "id"),
                      error_status)
    if isinstance(found, tuple):
        return found
    promotion_id = _promotion_by(data, query)
    if digits(query["programId"]) != data.program_id or promotion_id is None:
        return v2_error(error_status, 8874, "Invalid promotion")
    activity_id = query.get("activityId") or None
    v3 = data.summary_payload(found, promotion_id, activity_id)
    head = {"orgId": v3["orgId"], "programId": v3["programId"], "customerId": found,
            "promotionId": promotion_id}
    if v3.get("warnings"):
        return 200, {**head, "points": [], "rewards": [], "badges": [], "incentives": [],
                     "alternateCurrencies": [], "errors": [],
                     "warnings": v3["warnings"]}
    rewards, badges, others = [], [], []
    for item in v3["incentives"]:
        common = {"activityId": item["activityId"],
                  "numberOfTimesIssued": item["actionIssuedCount"],
                  "lastIssuedOn": iso(item["lastIssuedOn"])}
        if item["action"] == "REWARD":
            rewards.append({"rewardSeriesId": item["actionId"], **common})
        elif item["action"] == "BADGES":
            badges.append({"badgeSeriesId": item["actionId"], **common})
        else:
            others.append({**item, "lastIssuedOn": iso(item["lastIssuedOn"])})
    points = [{"pointsCategory": p["pointsCategory"],
               "totalPointsIssued": float(p["totalPointsIssued"]),
               "numberOfTimesIssued": p["numberOfTimesIssued"],
               "lastIssuedOn": iso(p["lastIssuedOn"])} for p in v3["points"]]
    currencies = [{"alternateCurrencyName": c["currencyName"], "alternateCurrencySubDetails": [{
        "alternateCurrencyType": "ISSUED", "totalIssued": float(c["totalCurrencyIssued"]),
        "numberOfTimesIssued": c["numberOfTimesIssued"], "lastIssuedOn": iso(c["lastIssuedOn"]),
    }]} for c in v3["alternateCurrencies"]]
    return 200, {**head, "points": points, "rewards": rewards, "badges": badges,
                 "incentives": others, "alternateCurrencies": currencies, "errors": [],
                 "warnings": []}


def programs(data: SandboxData) -> Answer:
    """``GET /v2/organization/programs``: the org's one program."""
    return 200, {"data": [{"programId": data.program_id, "programName": data.program_name,
                           "programDescription": f"{data.program_name} loyalty program",
                           "pointsToCurrencyRatio": 1.0, "partnerPrograms": [],
                           "default": True}],
                 "warnings": [], "errors": []}


def _number(value: float) -> str:
    return "-1" if value == -1 else f"{value:.3f}"


def _restriction_items(data: SandboxData, promotion_id: int, events: list[Event],
                       ) -> dict[str, list[dict[str, Any]]]:
    payload = data.promotion_config(promotion_id)
    restrictions = payload["promotionRestrictions"]["restrictions"]
    if restrictions is None:  # legacy limits only: they mirror redemption restrictions
        families = {"redemptionRestrictions": [
            {"name": LEGACY_LIMITS[key].twin, "value": value, "type": "NON_PERIOD_BASED"}
            for key, value in payload["limits"].items() if value]}
    else:
        families = {key: restrictions.get(key) or [] for key in (
            "issualRestrictions", "earnRestrictions", "redemptionRestrictions")}
    truth = data.usage_of(events, promotion_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for family, items in families.items():
        rows = []
        for item in items:
            known = documented(item["name"])
            if known is None or known.kpi is None:
                continue
            kpi, limit_on = known.kpi, known.limit_on
            row = {"kpi": kpi, "maxLimit": _number(item["value"]), "limitOn": limit_on,
                   "type": item.get("type") or "NON_PERIOD_BASED",
                   "periodType": item.get("periodType"), "periodUnit": item.get("periodUnit")}
            if limit_on == "CUSTOMER":
                row["currentCustomerUsage"] = f"{truth[item['name']]:.3f}"
            elif limit_on == "PROMOTION":
                total = sum(event_quantity(e, str(known.quantity)) for e in events)
                row["currentCustomerUsage"] = f"{total:.3f}"
            rows.append(row)
        out[family] = rows
    return out


def _promotion_entry(data: SandboxData, customer_id: int, promotion_id: int) -> dict[str, Any]:
    payload = data.promotion_config(promotion_id)
    events = data.events(customer_id, promotion_id)
    legacy = payload["limits"]
    points = sum(e.points for e in events)
    timelines = []
    if events:
        timelines.append({"type": "ENROLMENT", "date": iso(events[0].timestamp)})
        timelines += [{"type": "ISSUAL", "date": iso(e.timestamp)} for e in events
                      if e.action is not None]
    return {
        "promotionId": promotion_id,
        "promotionName": payload["name"],
        "programId": data.program_id,
        "promotionType": payload["pointsOfferType"],
        "limits": {"pointsPerCustomer": _number(legacy["pointsPerCustomer"]),
                   "numberOFTimesPerCustomer": str(legacy["numberOfTimesPerCustomer"]),
                   "totalPointsInPromotion": _number(legacy["totalPointsInPromotion"]),
                   "totalPointsPerEventLimit": _number(legacy["totalPointsPerEventLimit"])},
        "customerUsage": {"currentPointsPerCustomer": f"{points:.3f}",
                          "currentNumberOfTimesPerCustomer": str(len(events)),
                          "currentTotalPointsInPromotion": f"{points:.3f}"},
        "promotionRestriction": _restriction_items(data, promotion_id, events),
        "customerPromotionTimelines": timelines,
    }


def promotion_data(data: SandboxData, query: dict[str, str], error_status: int = 404) -> Answer:
    """``GET /v2/customers/lookup/promotionData``: per promotion of the customer's programs,
    limits, usage and restrictions with ``maxLimit``/``currentCustomerUsage``.

    ``programs`` (comma-separated ids) filters; ``limit``/``offset`` (page number) page the
    promotions when both are given.
    """
    found = _identify(data, query, IDENTIFIER_NAMES, error_status)
    if isinstance(found, tuple):
        return found
    wanted = {p.strip() for p in (query.get("programs") or "").split(",") if p.strip()}
    ids = data.engine_promotion_ids if not wanted or str(data.program_id) in wanted else []
    limit, offset = digits(query.get("limit")), digits(query.get("offset"))
    if limit and offset is not None:
        ids = ids[offset * limit:(offset + 1) * limit]
    return 200, {"customerId": found,
                 "data": [_promotion_entry(data, found, pid) for pid in ids],
                 "warnings": [], "errors": []}
