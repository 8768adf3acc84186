"""The sandbox's two new-UI promotions: made in the new promotions UI, so described by
``GET /v3/promotions`` only (:func:`v3_promotion`), while the points engine knows them by their
integer id like any other promotion (the action summary and promotionData serve them).

What is documented of the v3 promotion object, and therefore served here
(``../shared/CAPILLARY-FACTS-2.md`` section 1): ``metadata`` (name, description, programId, orgId,
startDate, endDate, timezoneName, promotionType, status, promoIdentifier, promotionId = the
integer points-engine id, createdOn, lastModifiedOn), ``customerEnrolment.enrolmentMethod``,
``activities[]`` (id, name, type, event, milestones[]) and ``limits[]``. The fields of a
``limits[]`` item are **not documented**: the sandbox serves something plausible
(:data:`_V3_LIMITS`), which the client must keep as raw JSON. The top-level ``id`` (the string
id of ``/v3/promotions/{id}``) follows an interface hint, not the docs.

Each activity's ``id`` is the ``activityId`` the action summary reports for its benefits. The
restrictions the points engine enforces (and promotionData reports as ``maxLimit`` items) are in
:func:`restriction_settings`, in the old engine's vocabulary; the v3 ``limits[]`` items say the
same in their undocumented form.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import UTC, datetime
from typing import Any

from capnb.sandbox.behaviour import Behaviour, Candidate
from capnb.sandbox.catalog import MS_DAY, MS_HOUR, ORG_ID, PROGRAM_ID, PromotionSpec, iso_ms

__all__ = [
    "NEW_UI_BEHAVIOURS",
    "NEW_UI_SPECS",
    "hex_id",
    "restriction_settings",
    "v3_promotion",
]

_BREAKFAST, _SPRING = 1133602011, 1133602023
_BREAKFAST_ACTIVITY = "activity_1769904000000"
_SPRING_POINTS = "5b0e3c1a-7d2f-4e8a-9c61-2f4b8d0a1e37"
_SPRING_MILESTONE = "c9a4d7e2-1b3f-4a6c-8e5d-0f7b2a9c4d18"
_SPRING_COUPON = "5231300"
_SPRING_PAUSED = "2026-09-01T00:00:00Z"


def hex_id(promotion_id: int) -> str:
    """The 24-hex string id of a new-UI promotion (deterministic, ObjectId-shaped)."""
    return hashlib.md5(f"capnb-sandbox-v3:{promotion_id}".encode()).hexdigest()[:24]


def _award(action_id: int, text: str) -> dict[str, Any]:
    return {"id": action_id, "actionName": "AWARD_POINTS_ACTION",
            "actionClass": "com.capillary.shopbook.pointsengine.endpoint.impl.action."
                           "PointsEngineAwardPointsActionImpl",
            "mandatoryPropertiesValues": {"AllocationStrategyId": "4474",
                                          "ExpiryStrategyId": "5123"},
            "mandatoryComplexPropertiesValues": {}, "description": text}


NEW_UI_SPECS: tuple[PromotionSpec, ...] = (
    PromotionSpec(
        id=_BREAKFAST, name="Weekday Breakfast Club",
        description="Points on weekday breakfast bills, at most three earns a week.",
        offer_type="LOYALTY", status="LIVE", is_active=True,
        start="2026-02-01T00:00:00Z", end="2026-12-31T23:59:59Z",
        event_name="TRANSACTIONADD", allocate_points_on="BILL",
        actions=(_award(126590641, "Points on weekday breakfast bills"),)),
    PromotionSpec(
        id=_SPRING, name="Spring Step Challenge",
        description="Opt in, earn points on every purchase; every fifth purchase brings a "
                    "coupon (the opt-in and two coupons at most).",
        offer_type="LOYALTY_EARNING", status="PAUSED", is_active=True,
        start="2026-03-01T00:00:00Z", end="2026-09-30T23:59:59Z",
        event_name="TRANSACTIONADD", allocate_points_on="BILL",
        actions=(_award(126590751, "Points on every purchase"),
                 {"id": 126590752, "actionName": "PE_ISSUE_VOUCHER_ACTION",
                  "actionClass": "com.capillary.shopbook.pointsengine.endpoint.impl.action."
                                 "PointsEngineIssueVoucherActionImpl",
                  "mandatoryPropertiesValues": {"VoucherSeriesId": _SPRING_COUPON},
                  "mandatoryComplexPropertiesValues": {},
                  "description": "Coupon on every fifth purchase"})),
)
"""The two new-UI promotions as the points engine holds them."""


def restriction_settings(spec_id: int, cohort: dict[str, int],
                         ) -> tuple[dict | None, dict[str, int]]:
    """(promotionRestrictions.restrictions, legacy limits) the points engine enforces."""
    zero = {"pointsPerCustomer": 0, "numberOfTimesPerCustomer": 0,
            "totalPointsInPromotion": 0, "totalPointsPerEventLimit": 0}
    if spec_id == _BREAKFAST:
        return {
            "redemptionRestrictions": [
                {"name": "MAX_ALLOWED_POINTS_PER_CUSTOMER", "value": 1500,
                 "type": "NON_PERIOD_BASED", "periodType": None, "periodUnit": None},
                {"name": "MAX_ALLOWED_POINTS_PER_PROMOTION", "value": cohort["points"],
                 "type": "NON_PERIOD_BASED", "periodType": None, "periodUnit": None},
            ],
            "issualRestrictions": [],
            "earnRestrictions": [
                {"name": "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", "value": 3,
                 "type": "PERIOD_BASED", "periodType": "MOVING_WINDOW", "periodUnit": "WEEKLY"},
            ],
            "expiryRestrictions": [],
        }, zero
    return {
        "redemptionRestrictions": [
            {"name": "MAX_ALLOWED_TIMES_PER_CUSTOMER", "value": 25,
             "type": "NON_PERIOD_BASED", "periodType": None, "periodUnit": None},
        ],
        "issualRestrictions": [
            {"name": "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "value": 3,
             "type": "NON_PERIOD_BASED", "periodType": None, "periodUnit": None},
        ],
        "earnRestrictions": [],
        "expiryRestrictions": [],
    }, zero


# -- how customers behave ------------------------------------------------------------------


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def _propose_breakfast(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
    """Weekday mornings (07:00-10:00 UTC) bring points, 1 + log-normal visits."""
    days = (hi - lo) // MS_DAY
    events = []
    for _ in range(min(80, 1 + int(_lognormal(rng, 9.0, 0.8)))):
        day = lo - lo % MS_DAY + int(rng.random() * days) * MS_DAY
        if (day // MS_DAY) % 7 in (2, 3):  # 1970-01-01 was a Thursday: Saturday, Sunday
            continue
        at = day + 7 * MS_HOUR + int(rng.random() * 3 * MS_HOUR)
        if lo <= at <= hi:
            points = float(max(5, int(_lognormal(rng, 60, 0.5))))
            events.append(Candidate(at, _BREAKFAST_ACTIVITY, "REGULAR_POINTS", points))
    return events


def _propose_spring(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
    """Opt-in, then purchases with points until the pause; every fifth brings a coupon."""
    hi = min(hi, iso_ms(_SPRING_PAUSED) - 1)
    opted = lo + int(rng.random() * (hi - lo - MS_DAY))
    events = [Candidate(opted, None, action="OPTIN", action_id=str(rng.randrange(10**7, 10**8)))]
    stamps = sorted(opted + 1 + int(rng.random() * (hi - opted - 1))
                    for _ in range(min(40, 1 + int(_lognormal(rng, 5.0, 0.8)))))
    for k, at in enumerate(stamps, start=1):
        points = float(max(10, int(_lognormal(rng, 90, 0.6))))
        if k % 5 == 0:
            events.append(Candidate(at, _SPRING_MILESTONE, "REGULAR_POINTS", points,
                                    action="COUPONS", action_id=_SPRING_COUPON))
        else:
            events.append(Candidate(at, _SPRING_POINTS, "REGULAR_POINTS", points))
    return events


NEW_UI_BEHAVIOURS: dict[int, Behaviour] = {
    _BREAKFAST: Behaviour(0.35, _propose_breakfast),
    _SPRING: Behaviour(0.55, _propose_spring),
}
"""Promotion id -> how its customers behave (many customers never take part)."""


# -- the v3 promotion object ---------------------------------------------------------------

# limits[] item fields are NOT documented: plausible made-up keys the client must not interpret.
_V3_LIMITS: dict[int, list[dict[str, Any]]] = {
    _BREAKFAST: [
        {"level": "USER", "kind": "SUM_OF_CURRENCY", "value": 1500, "window": None},
        {"level": "USER", "kind": "COUNT_OF_ACTIVITY", "value": 3, "window": "WEEKLY"},
        {"level": "PROMOTION", "kind": "SUM_OF_CURRENCY", "value": None, "window": None},
    ],
    _SPRING: [
        {"level": "USER", "kind": "COUNT_OF_ACTIVITY", "value": 25, "window": None},
        {"level": "USER", "kind": "COUNT_OF_BENEFIT", "value": 3, "window": None},
    ],
}


def _activities(spec_id: int) -> list[dict[str, Any]]:
    if spec_id == _BREAKFAST:
        return [{"id": _BREAKFAST_ACTIVITY, "name": "Breakfast bill", "type": "SINGLE",
                 "event": "TransactionAdd", "milestones": []}]
    return [
        {"id": _SPRING_POINTS, "name": "Points on purchases", "type": "SINGLE",
         "event": "TransactionAdd", "milestones": []},
        {"id": _SPRING_MILESTONE, "name": "Fifth purchase", "type": "SINGLE",
         "event": "TransactionAdd", "milestones": [{
             "name": "Every fifth purchase", "trackingType": "DEFAULT",
             "targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW", "frequencyType": "CUSTOM",
             "sameActionsForEveryCycle": True, "differentTargetsForEveryCycle": False,
             "leaderboardEnabled": False, "targetEntity": "TRANSACTION",
             "targetType": "COUNT", "cycleActionMapping": []}]},
    ]


def _utc(text: str, shift_ms: int = 0) -> str:
    moment = datetime.fromtimestamp((iso_ms(text) + shift_ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def v3_promotion(spec: PromotionSpec) -> dict[str, Any]:
    """The ``data`` of ``GET /v3/promotions/{id}`` (also a ``content`` item of the list)."""
    modified = _SPRING_PAUSED if spec.id == _SPRING else spec.start
    return {
        "id": hex_id(spec.id),
        "metadata": {
            "name": spec.name, "description": spec.description, "programId": PROGRAM_ID,
            "orgId": ORG_ID, "startDate": _utc(spec.start), "endDate": _utc(spec.end),
            "timezoneName": "Asia/Kolkata", "promotionType": spec.offer_type,
            "status": spec.status, "promoIdentifier": None, "promotionId": spec.id,
            "createdOn": _utc(spec.start, -12 * MS_DAY + 37_436_000),
            "lastModifiedOn": _utc(modified, -3 * MS_DAY),
        },
        "customerEnrolment": {"enrolmentMethod": "OPT_IN" if spec.id == _SPRING
                              else "TRANSACTION"},
        "activities": _activities(spec.id),
        "limits": [dict(item) for item in _V3_LIMITS[spec.id]],
    }
