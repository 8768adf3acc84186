"""The sandbox's org, program and four promotions: ids, names, dates, actions, restriction
settings (:func:`restriction_settings`) and the promotion objects the endpoints serve
(:func:`promotion_payload`).

Promotion-wide caps are sized from the customer count, so :func:`restriction_settings` takes
them; how customers behave in each promotion is in :mod:`capnb.sandbox.behaviour`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AS_OF_MS",
    "CUSTOMER_ID_STEP",
    "DATA_START",
    "DATA_START_MS",
    "ENROL_EARN_DAYS",
    "FIRST_CUSTOMER_ID",
    "MS_DAY",
    "MS_HOUR",
    "ORG_ID",
    "ORG_NAME",
    "PROGRAM_ID",
    "PROGRAM_NAME",
    "SANDBOX_AS_OF",
    "SPECS",
    "WINDOW_MS",
    "PromotionSpec",
    "iso_ms",
    "promotion_payload",
    "restriction_settings",
]

SANDBOX_AS_OF = datetime(2026, 11, 15, tzinfo=UTC)
"""The sandbox's fixed "now": no event is later, trailing-window usage ends here."""
DATA_START = datetime(2025, 6, 12, tzinfo=UTC)
"""The action summary only reports benefits from this date on (documented), so no event is older."""

ORG_ID = 51948
ORG_NAME = "Sandbox Retail Ltd"
PROGRAM_ID = 3334
PROGRAM_NAME = "Sandbox Rewards"
FIRST_CUSTOMER_ID = 388_000_001
CUSTOMER_ID_STEP = 7

MS_HOUR = 3_600_000
MS_DAY = 24 * MS_HOUR
WINDOW_MS = {"DAILY": MS_DAY, "WEEKLY": 7 * MS_DAY, "MONTHLY": 30 * MS_DAY}
AS_OF_MS = int(SANDBOX_AS_OF.timestamp() * 1000)
DATA_START_MS = int(DATA_START.timestamp() * 1000)
ENROL_EARN_DAYS = 90
"""Enrol & Earn Stars: days after enrolment during which purchases earn (its expiry rule)."""


def iso_ms(text: str) -> int:
    """Epoch ms of the ISO strings used in promotion payloads (``2025-06-01T00:00Z`` and kin)."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _uuid(*parts: object) -> str:
    digest = hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"



@dataclass(frozen=True)
class PromotionSpec:
    """What a promotion is: the fields of its promotion object that do not depend on the
    customer count."""

    id: int
    name: str
    description: str
    offer_type: str
    status: str
    is_active: bool
    start: str
    end: str
    event_name: str
    allocate_points_on: str
    actions: tuple[dict[str, Any], ...]


_P1_START, _P1_END = "2025-06-01T00:00Z", "2026-12-31T23:59:59Z"
_P2_START, _P2_END = "2025-06-15T00:00:00Z", "2025-09-30T23:59:59Z"
_P3_START, _P3_END = "2025-08-01T00:00+05:30", "2027-01-31T18:29:59.000Z"
_P4_START, _P4_END = "2026-01-01T00:00:00Z", "2026-12-31T18:30:00.000Z"


def _action(action_id: int, name: str, cls: str, props: dict[str, str], text: str) -> dict:
    return {
        "id": action_id,
        "actionName": name,
        "actionClass": f"com.capillary.shopbook.pointsengine.endpoint.impl.action.{cls}",
        "mandatoryPropertiesValues": props,
        "mandatoryComplexPropertiesValues": {},
        "description": text,
    }


_AWARD = "PointsEngineAwardPointsActionImpl"
SPECS: tuple[PromotionSpec, ...] = (
    PromotionSpec(
        id=1133600978,
        name="Double Points Weekend",
        description="Double points on every purchase made on a Saturday or Sunday.",
        offer_type="GENERIC",
        status="LIVE",
        is_active=True,
        start=_P1_START,
        end=_P1_END,
        event_name="TRANSACTIONADD",
        allocate_points_on="BILL",
        actions=(
            _action(126590201, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4471", "ExpiryStrategyId": "5120"},
                    "2x points on weekend bills"),
        ),
    ),
    PromotionSpec(
        id=1133601204,
        name="Summer Coupon Blast",
        description="Points on summer purchases plus up to three discount coupons.",
        offer_type="LOYALTY",
        status="COMPLETED",
        is_active=False,
        start=_P2_START,
        end=_P2_END,
        event_name="TRANSACTIONADD",
        allocate_points_on="BILL",
        actions=(
            _action(126590311, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4471", "ExpiryStrategyId": "5120"},
                    "Points on summer bills"),
            _action(126590312, "PE_ISSUE_VOUCHER_ACTION", "PointsEngineIssueVoucherActionImpl",
                    {"VoucherSeriesId": "5231232"}, "15% off the next purchase"),
            _action(126590313, "PE_ISSUE_VOUCHER_ACTION", "PointsEngineIssueVoucherActionImpl",
                    {"VoucherSeriesId": "5231240"}, "Free delivery voucher"),
        ),
    ),
    PromotionSpec(
        id=1133601377,
        name="Enrol & Earn Stars",
        description="Enrol, then earn points and STARS on purchases for 90 days.",
        offer_type="LOYALTY_EARNING",
        status="LIVE",
        is_active=True,
        start=_P3_START,
        end=_P3_END,
        event_name="TRANSACTIONADD",
        allocate_points_on="BILL",
        actions=(
            _action(126590421, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4472", "ExpiryStrategyId": "5121"},
                    "Points on every bill after enrolment"),
            _action(126590422, "ISSUE_ALTERNATE_CURRENCY_1207",
                    "PointsEngineIssueAlternateCurrencyActionImpl",
                    {"alternateCurrencyName": "STARS"}, "1-5 STARS per bill"),
            _action(126590423, "BADGE_EARN_ACTION", "PointsEngineBadgeEarnActionImpl",
                    {"badgeMetaId": "EarlyBirdBadge"}, "Early bird badge on the first earn"),
            _action(126590424, "CONVERT_POINTS_TO_REWARD_ACTION",
                    "PointsEngineConvertPointsToRewardActionImpl",
                    {"rewardId": "133423.0"}, "Reward on every fourth earn"),
        ),
    ),
    PromotionSpec(
        id=1133601550,
        name="Gold Tier Fast Track",
        description="Points and COINS on purchases; 1,000 points upgrade the member to Gold.",
        offer_type="GENERIC",
        status="LIVE",
        is_active=True,
        start=_P4_START,
        end=_P4_END,
        event_name="TRANSACTIONADD",
        allocate_points_on="BILL",
        actions=(
            _action(126590531, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4473", "ExpiryStrategyId": "5122"},
                    "Points on every bill"),
            _action(126590532, "ISSUE_ALTERNATE_CURRENCY_1208",
                    "PointsEngineIssueAlternateCurrencyActionImpl",
                    {"alternateCurrencyName": "COINS"}, "COINS on half of the bills"),
            _action(126590533, "UPGRADE_SLAB_ACTION", "PointsEngineUpgradeSlabActionImpl",
                    {"slabName": "GOLD"}, "Upgrade to Gold at 1,000 points"),
        ),
    ),
)


def _redemption(name: str, value: int, unit: str | None = None, *,
                stray_unit: str | None = None) -> dict[str, Any]:
    """A redemption restriction; ``unit`` makes it PERIOD_BASED. ``stray_unit`` fills
    periodType/periodUnit on a NON_PERIOD_BASED item, as the docs' example does."""
    if unit is not None:
        return {"name": name, "value": value, "type": "PERIOD_BASED",
                "periodType": "MOVING_WINDOW", "periodUnit": unit}
    return {"name": name, "value": value, "type": "NON_PERIOD_BASED",
            "periodType": "MOVING_WINDOW" if stray_unit else None, "periodUnit": stray_unit}


def restriction_settings(spec_id: int, cohort: dict[str, int],
                         ) -> tuple[dict | None, dict[str, int]]:
    """(promotionRestrictions.restrictions, legacy limits) of a promotion.

    ``cohort`` holds the promotion-wide caps chosen from the customer count.
    """
    zero_limits = {"pointsPerCustomer": 0, "numberOfTimesPerCustomer": 0,
                   "totalPointsInPromotion": 0, "totalPointsPerEventLimit": 0}
    if spec_id == 1133600978:
        restrictions = {
            "redemptionRestrictions": [
                _redemption("MAX_ALLOWED_POINTS_PER_CUSTOMER", 5000),
                _redemption("MAX_ALLOWED_TIMES_PER_CUSTOMER", 2, "DAILY"),
                _redemption("MAX_ALLOWED_POINTS_PER_EVENT", 400),
                _redemption("MAX_ALLOWED_POINTS_PER_PROMOTION", cohort["points"]),
                _redemption("MAX_ALLOWED_TIMES_PER_PROMOTION", -1),
            ],
            "issualRestrictions": [],
            "earnRestrictions": [],
            "expiryRestrictions": [],
        }
        limits = {"pointsPerCustomer": 5000, "numberOfTimesPerCustomer": 0,
                  "totalPointsInPromotion": cohort["points"], "totalPointsPerEventLimit": 400}
        return restrictions, limits
    if spec_id == 1133601204:
        restrictions = {
            "redemptionRestrictions": [
                _redemption("MAX_ALLOWED_POINTS_PER_CUSTOMER", 1000, "MONTHLY"),
                _redemption("MAX_ALLOWED_TIMES_PER_CUSTOMER", 10),
                _redemption("MAX_ALLOWED_TIMES_PER_PROMOTION", cohort["events"]),
                _redemption("MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", 1, stray_unit="DAILY"),
            ],
            "issualRestrictions": [{"name": "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "value": 3}],
            "earnRestrictions": [],
            "expiryRestrictions": [
                {"name": "ISSUAL_PROMOTION_EXPIRY_BASED_ON", "value": 0, "type": "PROMOTION"},
                {"name": "EARN_PROMOTION_EXPIRY_BASED_ON", "value": 0, "type": "PROMOTION"},
            ],
        }
        return restrictions, zero_limits
    if spec_id == 1133601377:
        restrictions = {
            "redemptionRestrictions": [
                _redemption("MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", -1),
                _redemption("MAX_ALLOWED_POINTS_PER_CUSTOMER", -1),
            ],
            "issualRestrictions": [
                {"name": "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "value": 6,
                 "type": "NON_PERIOD_BASED", "periodType": None, "periodUnit": None},
            ],
            "earnRestrictions": [
                {"name": "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", "value": 4, "type": "PERIOD_BASED",
                 "periodType": "MOVING_WINDOW", "periodUnit": "WEEKLY"},
                {"name": "MAX_POINTS_PER_EARN_PER_CUSTOMER", "value": 250},
                {"name": "MAX_NUMBER_OF_EARNS_PER_PROMOTION", "value": cohort["earns"]},
            ],
            "expiryRestrictions": [
                {"name": "EARN_PROMOTION_EXPIRY_BASED_ON", "value": ENROL_EARN_DAYS,
                 "type": "CUSTOM"},
                {"name": "ISSUAL_PROMOTION_EXPIRY_BASED_ON", "value": 0, "type": "PROMOTION"},
            ],
        }
        return restrictions, zero_limits
    limits = {"pointsPerCustomer": 2000, "numberOfTimesPerCustomer": 12,
              "totalPointsInPromotion": cohort["points"], "totalPointsPerEventLimit": 300}
    return None, limits


def promotion_payload(spec: PromotionSpec, restrictions: dict | None,
                      legacy: dict[str, int]) -> dict[str, Any]:
    """The promotion object of the api_gateway promotion-by-id answer."""
    lo, hi = iso_ms(spec.start), iso_ms(spec.end)
    created = lo - 9 * MS_DAY + 37_436_000
    ruleset_id = 126_289_000 + spec.id % 1000
    user = 75_069_206
    rules = [{
        "id": ruleset_id + 100 + k,
        "exp": exp,
        "expJSON": exp_json,
        "jsonType": "JNODE",
        "isActive": True,
        "priority": -1 if k == 0 else k,
        "startDate": lo,
        "endDate": 33585195460018 if k == 0 else hi,
        "createdOn": created,
        "caseToActions": {"true": [dict(a) for a in actions]},
        "ruleScope": "SERVER",
        "createdBy": 5036393,
        "modifiedBy": 5036393,
        "modifiedOn": created + 51_409,
        "name": f"Rule {k + 1}",
        "description": "",
        "expDataType": None,
        "filterInfo": [],
        "ruleSetId": ruleset_id,
        "updatedViaNewUI": spec.offer_type != "GENERIC",
    } for k, (exp, exp_json, actions) in enumerate(_rule_parts(spec))]
    return {
        "id": spec.id,
        "name": spec.name,
        "description": spec.description,
        "promotionStatus": spec.status,
        "lastUpdateDate": datetime.fromtimestamp((created + 4 * MS_DAY) / 1000, UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastUpdatedBy": user,
        "rulesetInfos": [{
            "id": ruleset_id,
            "orgName": ORG_NAME,
            "contextID": PROGRAM_ID,
            "orgID": ORG_ID,
            "contextType": "program",
            "rules": rules,
            "ruleScope": "SERVER",
            "startDate": lo,
            "endDate": hi,
            "createdOn": created,
            "createdBy": 5036393,
            "modifiedBy": 5036393,
            "modifiedOn": created + 51_409,
            "name": "ruleset_" + datetime.fromtimestamp(created / 1000, UTC)
            .strftime("%Y%m%d%H%M%S"),
            "packageName": "",
            "description": "",
            "filterInfo": [{
                "id": ruleset_id + 104_317,
                "orgID": ORG_ID,
                "ruleID": -1,
                "name": "LoyaltyType",
                "className": "com.capillary.shopbook.emf.impl.filter.LoyaltyTypeFilterImpl",
                "isInclude": True,
                "propertyToValues": {"loyaltyType": ["loyalty"]},
            }, {
                "id": ruleset_id + 104_318,
                "orgID": ORG_ID,
                "ruleID": -1,
                "name": "EventSource",
                "className": "com.capillary.shopbook.emf.impl.filter.EventSourceFilterImpl",
                "isInclude": True,
                "propertyToValues": {"eventSource": ["INSTORE"]},
            }],
            "eventType": None,
            "cappingInfo": [],
            "updatedViaNewUI": False,
            "private": False,
        }],
        "programName": PROGRAM_NAME,
        "programId": PROGRAM_ID,
        "startDate": spec.start,
        "endDate": spec.end,
        "identifier": _uuid("capnb-sandbox", ORG_ID, spec.id),
        "isActive": spec.is_active,
        "eventName": spec.event_name,
        "allocatePointsOn": spec.allocate_points_on,
        "limits": dict(legacy),
        "useProportions": False,
        "pointsOfferType": spec.offer_type,
        "promotionRestrictions": {
            "restrictions": restrictions,
            "scope": None,
            "isStackable": spec.offer_type == "GENERIC",
            "isConsideredForRanking": False,
            "loyaltyEarningType": "ISSUE_AND_EARN" if spec.offer_type == "LOYALTY_EARNING"
            else None,
            "expiryReminder": None,
            "isExclusive": False,
            "isAlwaysApply": spec.offer_type == "GENERIC",
        },
    }


def _rule_parts(spec: PromotionSpec) -> list[tuple[str, str, tuple[dict, ...]]]:
    """(expression, expression JSON, actions) of each rule: the first rule awards points
    (and currency), a second one, if any, issues the other incentives."""
    literal = '{ "arity": "literal", "value": "true", "type": "boolean:primitive" }'
    exp = {1133600978: "currentTxn.value > 0 && currentTxn.isWeekend",
           1133601550: "currentTxn.value >= 100"}.get(spec.id, "true")
    exp_json = literal if exp == "true" else (
        '{ "arity": "expression", "value": "' + exp + '", "type": "boolean:primitive" }')
    if len(spec.actions) <= 2:
        return [(exp, exp_json, spec.actions)]
    return [(exp, exp_json, spec.actions[:2]), ("true", literal, spec.actions[2:])]
