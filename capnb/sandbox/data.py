"""The sandbox's seeded data: one org, one program, four promotions and every customer's events.

Nothing is stored per customer. A customer's benefit events in a promotion are derived on demand
from ``random.Random(f"{seed}:{customer_id}:{promotion_id}")`` (string seeds go through SHA-512, so
the result never depends on ``PYTHONHASHSEED``, the wall clock or the process), which keeps a
million-customer sandbox as small as a five-customer one.

Events and what each restriction counts
---------------------------------------
An :class:`Event` is one occurrence of a promotion acting on a customer. It issues points in *at
most one* category, optionally an alternate currency amount, and optionally one incentive action
(``REWARD``, ``COUPONS``, ``BADGES``, ``ENROL``, ``OPTIN``, ``UPGRADE_TIER``). The restriction
names count these event quantities (:meth:`SandboxData.true_usage` reports them):

========================================  =====================================================
restriction name                          event quantity it limits
========================================  =====================================================
``MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER``    events carrying an incentive action ("issuals");
                                          from a summary: sum of ``actionIssuedCount``
``MAX_NUMBER_OF_EARNS_PER_CUSTOMER``      events that issued points (``points > 0``, "earns");
                                          from a summary: sum of points ``numberOfTimesIssued``
``MAX_ALLOWED_POINTS_PER_CUSTOMER``       sum of ``points`` over events;
                                          from a summary: sum of ``totalPointsIssued``
``MAX_ALLOWED_TIMES_PER_CUSTOMER``        number of events, whatever they issued ("times")
``MAX_ALLOWED_POINTS_PER_EVENT``          ``points`` of each single event (usage = the maximum)
``MAX_POINTS_PER_EARN_PER_CUSTOMER``      ``points`` of each single event (usage = the maximum)
``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER`` redemptions: the sandbox never redeems, usage is 0
``MAX_ALLOWED_POINTS_PER_PROMOTION``      sum of ``points`` over all customers' events
``MAX_NUMBER_OF_EARNS_PER_PROMOTION``     number of earns over all customers (also spelled
                                          ``MAX_NUMBER_OF_EARN_PER_PROMOTION``)
``MAX_ALLOWED_TIMES_PER_PROMOTION``       number of events over all customers
========================================  =====================================================

A restriction of ``type`` ``PERIOD_BASED`` (``periodType`` ``MOVING_WINDOW``) limits the quantity
inside every trailing window ``(t - W, t]`` ending at an event time ``t``, with ``W`` = 24 hours
(``DAILY``), 7 days (``WEEKLY``) or 30 days (``MONTHLY``); any other ``type`` (or none) means the
whole life of the promotion, and ``periodType``/``periodUnit`` are then ignored. ``-1`` means no
limit. When a promotion's ``restrictions`` is null, its non-zero legacy ``limits`` apply under the
names they mirror (``pointsPerCustomer`` -> ``MAX_ALLOWED_POINTS_PER_CUSTOMER``,
``numberOfTimesPerCustomer`` -> ``MAX_ALLOWED_TIMES_PER_CUSTOMER``, ``totalPointsPerEventLimit``
-> ``MAX_ALLOWED_POINTS_PER_EVENT``, ``totalPointsInPromotion`` ->
``MAX_ALLOWED_POINTS_PER_PROMOTION``); ``0`` there means "not configured".

Generated events obey every restriction of their promotion: a points award is cut to what the
per-event, lifetime and trailing-window point caps leave (so customers end *exactly* at a points
cap), an event that would break a count cap loses its incentive if that is enough, and is dropped
otherwise. They also obey the expiry restrictions (an ``EARN_PROMOTION_EXPIRY_BASED_ON`` of type
``CUSTOM`` with ``value`` N: every event within N days of the customer's first event, the
enrolment) and the promotion's dates. Promotion-wide caps are set from the customer count so that
the whole cohort stays well below them. All timestamps lie in [2025-06-12, ``SANDBOX_AS_OF``].
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from capnb.restrictions import LEGACY_LIMITS, Restriction, documented

__all__ = [
    "DATA_START",
    "SANDBOX_AS_OF",
    "Event",
    "SandboxData",
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

_MS_HOUR = 3_600_000
_MS_DAY = 24 * _MS_HOUR
_WINDOW_MS = {"DAILY": _MS_DAY, "WEEKLY": 7 * _MS_DAY, "MONTHLY": 30 * _MS_DAY}
_AS_OF_MS = int(SANDBOX_AS_OF.timestamp() * 1000)
_DATA_START_MS = int(DATA_START.timestamp() * 1000)

@dataclass(frozen=True, slots=True)
class Event:
    """One benefit event of one customer in one promotion.

    ``timestamp`` is epoch milliseconds (UTC). ``points`` is 0.0 when the event issued no points
    (``points_category`` is then None); ``currency_amount`` likewise. ``activity_id`` may be None
    (enrolment is not tied to an activity, as the docs allow).
    """

    timestamp: int
    activity_id: str | None
    points_category: str | None = None
    points: float = 0.0
    currency_name: str | None = None
    currency_amount: float = 0.0
    action: str | None = None
    action_id: str | None = None

    @property
    def is_earn(self) -> bool:
        """True when the event issued points."""
        return self.points > 0

    @property
    def is_issual(self) -> bool:
        """True when the event carries an incentive action."""
        return self.action is not None


class _Cand(NamedTuple):
    """A candidate event while generating: the fields of :class:`Event`, but cheap to build."""

    timestamp: int
    activity_id: str | None
    points_category: str | None = None
    points: float = 0.0
    currency_name: str | None = None
    currency_amount: float = 0.0
    action: str | None = None
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Limit:
    """A limit the generator enforces: ``quantity`` within ``window_ms`` (None = lifetime)."""

    name: str
    quantity: str
    value: int
    window_ms: int | None


def _quantity(event: Event | _Cand, quantity: str) -> float:
    if quantity == "points":
        return event.points
    if quantity == "events":
        return 1
    if quantity == "earns":
        return 1 if event.points > 0 else 0
    return 1 if event.action is not None else 0  # issuals


def _iso_ms(text: str) -> int:
    """Epoch ms of the ISO strings used in promotion payloads (``2025-06-01T00:00Z`` and kin)."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _nice_ceiling(value: float) -> int:
    """Round ``value`` up to two significant digits (37_412 -> 38_000)."""
    if value <= 100:
        return max(1, math.ceil(value))
    scale = 10 ** (int(math.log10(value)) - 1)
    return int(math.ceil(value / scale) * scale)


def _uuid(*parts: object) -> str:
    digest = hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


# --------------------------------------------------------------------------------------------
# Promotion definitions. Each has a static description, a restriction builder (promotion-wide
# caps depend on the customer count) and a proposal function: the events a customer *would*
# have; :func:`_admit` then enforces the restrictions.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PromotionSpec:
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
    no_events_share: float
    actions: tuple[dict[str, Any], ...]
    propose: Callable[[random.Random, int, int], list[_Cand]]
    finish: Callable[[list[_Cand]], list[_Cand]] | None = None


def _hours(rng: random.Random, day_start: int) -> int:
    """A time between 08:00 and 22:00 UTC on the day starting at ``day_start``."""
    return day_start + 8 * _MS_HOUR + int(rng.random() * 14 * _MS_HOUR)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """A uniform integer in [lo, hi) (cheaper than ``randrange``)."""
    return lo + int(rng.random() * (hi - lo))


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def _distinct_sorted(events: list[_Cand]) -> list[_Cand]:
    """Sort by time and nudge equal timestamps apart so a customer's events are strictly ordered."""
    events.sort(key=lambda e: e.timestamp)
    out: list[_Cand] = []
    last = -1
    for event in events:
        if event.timestamp <= last:
            event = event._replace(timestamp=last + 1)
        out.append(event)
        last = event.timestamp
    return out


def _engagement(rng: random.Random, median: float, sigma: float, cap: int) -> int:
    """How many candidate events a customer brings: 1 + a log-normal draw, at most ``cap``."""
    return min(cap, 1 + int(_lognormal(rng, median, sigma)))


def _weekend_days(lo: int, hi: int) -> list[int]:
    """Start (ms) of every Saturday and Sunday whose opening hours fall inside [lo, hi]."""
    first = lo - lo % _MS_DAY
    days = []
    day = first
    while day + 22 * _MS_HOUR <= hi:
        # 1970-01-01 was a Thursday: weekday index 2 = Saturday, 3 = Sunday.
        if (day // _MS_DAY) % 7 in (2, 3) and day + 8 * _MS_HOUR >= lo:
            days.append(day)
        day += _MS_DAY
    return days


def _active_window(spec_start: str, spec_end: str) -> tuple[int, int]:
    lo = max(_iso_ms(spec_start), _DATA_START_MS)
    hi = min(_iso_ms(spec_end), _AS_OF_MS)
    return lo, hi


# Promotion 1: Double Points Weekend (GENERIC). Weekend purchases earn doubled points.
_P1_START, _P1_END = "2025-06-01T00:00Z", "2026-12-31T23:59:59Z"
_P1_DAYS = _weekend_days(*_active_window(_P1_START, _P1_END))


def _propose_double_points(rng: random.Random, lo: int, hi: int) -> list[_Cand]:
    visits = _engagement(rng, 5.0, 1.0, len(_P1_DAYS))
    events = []
    for day in rng.sample(_P1_DAYS, visits):
        draw = rng.random()
        for _ in range(1 if draw < 0.62 else 2 if draw < 0.90 else 3):
            base = max(5, int(_lognormal(rng, 900, 0.6) / 10))
            draw = rng.random()
            if draw < 0.02:
                activity, category, points = "activity_points_3", "PROMISED_POINTS", base
            elif draw < 0.30:
                activity, category, points = "activity_points_2", "REGULAR_POINTS", base
            else:
                activity, category, points = "activity_points_1", "BONUS_POINTS", 2 * base
            events.append(_Cand(_hours(rng, day), activity, category, float(points)))
    return events


# Promotion 2: Summer Coupon Blast (LOYALTY, completed). Purchases earn points; some purchases
# are followed by a coupon issual.
_P2_START, _P2_END = "2025-06-15T00:00:00Z", "2025-09-30T23:59:59Z"


def _propose_summer_coupons(rng: random.Random, lo: int, hi: int) -> list[_Cand]:
    events = []
    for _ in range(_engagement(rng, 3.0, 0.8, 40)):
        at = _hours(rng, lo - lo % _MS_DAY + _between(rng, 0, (hi - lo) // _MS_DAY) * _MS_DAY)
        if at < lo or at > hi:
            continue
        points = max(10, int(_lognormal(rng, 150, 0.5)))
        events.append(_Cand(at, "activity_points_1", "REGULAR_POINTS", float(points)))
        draw = rng.random()
        if draw < 0.16:
            events.append(_Cand(at + 1000, "activity_coupon_1", action="COUPONS",
                                action_id="5231232"))
        elif draw < 0.24:
            events.append(_Cand(at + 1000, "activity_coupon_2", action="COUPONS",
                                action_id="5231240"))
    return events


# Promotion 3: Enrol & Earn Stars (LOYALTY_EARNING). The customer enrols (or opts in), then
# earns points and STARS on purchases for 90 days; the first earn brings a badge, every fourth a
# reward.
_P3_START, _P3_END = "2025-08-01T00:00+05:30", "2027-01-31T18:29:59.000Z"
_P3_EARN_DAYS = 90


def _propose_enrol_and_earn(rng: random.Random, lo: int, hi: int) -> list[_Cand]:
    enrolled = _between(rng, lo, hi - _MS_DAY)
    action = "ENROL" if rng.random() < 0.8 else "OPTIN"
    events = [_Cand(enrolled, None, action=action, action_id=str(rng.randrange(10**7, 10**8)))]
    until = min(hi, enrolled + _P3_EARN_DAYS * _MS_DAY)
    for _ in range(_engagement(rng, 6.0, 0.8, 60)):
        at = _between(rng, enrolled + 1, until)
        points = float(max(10, int(_lognormal(rng, 120, 0.6))))
        stars = float(1 + int(rng.random() * 5)) if rng.random() < 0.7 else 0.0
        currency = "STARS" if stars else None
        events.append(_Cand(at, "activity_points_1", "REGULAR_POINTS", points, currency, stars))
    events = _distinct_sorted(events)
    earns = 0
    for i, event in enumerate(events[1:], start=1):
        earns += 1
        if earns == 1:
            events[i] = event._replace(activity_id="activity_badge_1", action="BADGES",
                                action_id="EarlyBirdBadge")
        elif earns % 4 == 0:
            events[i] = event._replace(activity_id="activity_reward_1", action="REWARD",
                                action_id="133423")
    return events


# Promotion 4: Gold Tier Fast Track (GENERIC, legacy limits only). Purchases earn points and
# COINS; the purchase that takes a customer past 1,000 points upgrades them to GOLD.
_P4_START, _P4_END = "2026-01-01T00:00:00Z", "2026-12-31T18:30:00.000Z"
_P4_UPGRADE_AT = 1000


def _propose_tier_fast_track(rng: random.Random, lo: int, hi: int) -> list[_Cand]:
    events = []
    for _ in range(_engagement(rng, 4.5, 0.8, 40)):
        at = _between(rng, lo, hi)
        points = max(10, int(_lognormal(rng, 140, 0.6)))
        coins = float(points // 10) if rng.random() < 0.5 else 0.0
        events.append(_Cand(at, "activity_points_1", "REGULAR_POINTS", float(points),
                            "COINS" if coins else None, coins))
    return events


def _finish_tier_fast_track(events: list[_Cand]) -> list[_Cand]:
    total = 0.0
    for i, event in enumerate(events):
        if total < _P4_UPGRADE_AT <= total + event.points:
            events[i] = event._replace(action="UPGRADE_TIER", action_id="GOLD")
        total += event.points
    return events


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
_SPECS: tuple[_PromotionSpec, ...] = (
    _PromotionSpec(
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
        no_events_share=0.14,
        actions=(
            _action(126590201, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4471", "ExpiryStrategyId": "5120"},
                    "2x points on weekend bills"),
        ),
        propose=_propose_double_points,
    ),
    _PromotionSpec(
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
        no_events_share=0.16,
        actions=(
            _action(126590311, "AWARD_POINTS_ACTION", _AWARD,
                    {"AllocationStrategyId": "4471", "ExpiryStrategyId": "5120"},
                    "Points on summer bills"),
            _action(126590312, "PE_ISSUE_VOUCHER_ACTION", "PointsEngineIssueVoucherActionImpl",
                    {"VoucherSeriesId": "5231232"}, "15% off the next purchase"),
            _action(126590313, "PE_ISSUE_VOUCHER_ACTION", "PointsEngineIssueVoucherActionImpl",
                    {"VoucherSeriesId": "5231240"}, "Free delivery voucher"),
        ),
        propose=_propose_summer_coupons,
    ),
    _PromotionSpec(
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
        no_events_share=0.11,
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
                    {"rewardId": "133423"}, "Reward on every fourth earn"),
        ),
        propose=_propose_enrol_and_earn,
    ),
    _PromotionSpec(
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
        no_events_share=0.13,
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
        propose=_propose_tier_fast_track,
        finish=_finish_tier_fast_track,
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


def _restrictions(spec_id: int, cohort: dict[str, int]) -> tuple[dict | None, dict[str, int]]:
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
                {"name": "EARN_PROMOTION_EXPIRY_BASED_ON", "value": _P3_EARN_DAYS,
                 "type": "CUSTOM"},
                {"name": "ISSUAL_PROMOTION_EXPIRY_BASED_ON", "value": 0, "type": "PROMOTION"},
            ],
        }
        return restrictions, zero_limits
    limits = {"pointsPerCustomer": 2000, "numberOfTimesPerCustomer": 12,
              "totalPointsInPromotion": cohort["points"], "totalPointsPerEventLimit": 300}
    return None, limits


_PER_CUSTOMER_SCOPES = ("customer", "event", "earn")


def _limits_of(restrictions: dict | None, legacy: dict[str, int],
               ) -> list[tuple[Restriction, dict]]:
    """Every per-customer, per-event or per-earn restriction as (restriction, item), the
    restrictions the legacy limits mirror when ``restrictions`` is null."""
    if restrictions is None:
        twins = [(LEGACY_LIMITS[key].restriction, value) for key, value in legacy.items()
                 if value]
        return [(twin, {"name": twin.name, "value": value}) for twin, value in twins
                if twin.scope in _PER_CUSTOMER_SCOPES]
    out = []
    for family in ("issualRestrictions", "earnRestrictions", "redemptionRestrictions"):
        for item in restrictions.get(family) or []:
            known = documented(item["name"])
            if known is not None and known.scope in _PER_CUSTOMER_SCOPES:
                out.append((known, item))
    return out


def _window(item: dict) -> int | None:
    if item.get("type") == "PERIOD_BASED":
        return _WINDOW_MS[item["periodUnit"]]
    return None


def _used(events: list[Event] | list[_Cand], limit: _Limit, at: int) -> float:
    """Usage of ``limit`` by ``events`` (sorted) in its window ending at ``at`` (inclusive)."""
    if limit.window_ms is None:
        return sum(_quantity(e, limit.quantity) for e in events)
    start = at - limit.window_ms
    total = 0.0
    for event in reversed(events):
        if event.timestamp <= start:
            break
        if event.timestamp <= at:
            total += _quantity(event, limit.quantity)
    return total


# Positions in the per-event records of :func:`_admit`: (timestamp, points, events, earns, issuals).
_RECORD_INDEX = {"points": 1, "events": 2, "earns": 3, "issuals": 4}


def _window_sum(records: list[tuple], start: int, index: int) -> float:
    """Sum of ``records[...][index]`` over the records (time-sorted) later than ``start``."""
    total = 0
    for record in reversed(records):
        if record[0] <= start:
            break
        total += record[index]
    return total


def _admit(candidates: list[_Cand], limits: list[_Limit], per_event: float) -> list[_Cand]:
    """Keep the candidates (in time order) that the limits allow, cutting points to what is left.

    Points are cut to what the per-event, lifetime and trailing-window point caps leave (an
    award cut to nothing drops the event); an event that would break a count cap loses its
    incentive when that is enough, and is dropped otherwise.
    """
    lifetime = [(_RECORD_INDEX[lim.quantity], lim.value) for lim in limits
                if lim.window_ms is None]
    windowed = [(_RECORD_INDEX[lim.quantity], lim.window_ms, lim.value) for lim in limits
                if lim.window_ms is not None]
    totals = [0, 0.0, 0, 0, 0]
    records: list[tuple] = []
    accepted: list[_Cand] = []
    for cand in candidates:
        at, points = cand.timestamp, cand.points
        if points > 0:
            allowed = min(points, per_event)
            for index, value in lifetime:
                if index == 1:
                    allowed = min(allowed, value - totals[1])
            for index, window, value in windowed:
                if index == 1:
                    allowed = min(allowed, value - _window_sum(records, at - window, 1))
            if allowed <= 0:
                continue
            if allowed != points:
                points = float(allowed)
                cand = cand._replace(points=points)
        record = (at, points, 1, 1 if points > 0 else 0, 0 if cand.action is None else 1)
        while not (all(totals[i] + record[i] <= value for i, value in lifetime)
                   and all(_window_sum(records, at - window, i) + record[i] <= value
                           for i, window, value in windowed)):
            if record[4] and record[3]:
                cand = cand._replace(action=None, action_id=None)
                record = record[:4] + (0,)
            else:
                record = None
                break
        if record is None:
            continue
        accepted.append(cand)
        records.append(record)
        for i in range(1, 5):
            totals[i] += record[i]
    return accepted


def _aggregate(events: list[Event], key: Callable[[Event], Any],
               value: Callable[[Event], float]) -> list[tuple[Any, float, int, int]]:
    """(key, total, count, last timestamp) per key, in order of first appearance."""
    groups: dict[Any, list] = {}
    for event in events:
        k = key(event)
        group = groups.get(k)
        if group is None:
            groups[k] = [value(event), 1, event.timestamp]
        else:
            group[0] += value(event)
            group[1] += 1
            group[2] = max(group[2], event.timestamp)
    return [(k, total, count, last) for k, (total, count, last) in groups.items()]


class SandboxData:
    """Deterministic data of the sandbox for ``customers`` customers and a ``seed``.

    Customer ids are ``388000001, 388000008, ...`` (step 7), held as a ``range``; everything per
    customer is computed on demand. See the module docstring for the event model and for which
    event quantity each restriction name counts.
    """

    org_id: int = ORG_ID
    org_name: str = ORG_NAME
    program_id: int = PROGRAM_ID
    program_name: str = PROGRAM_NAME
    as_of: datetime = SANDBOX_AS_OF

    def __init__(self, customers: int = 5000, seed: int = 0) -> None:
        if isinstance(customers, bool) or not isinstance(customers, int) or customers < 1:
            raise ValueError(f"customers must be a positive integer, got {customers!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.customers = customers
        self.seed = seed
        self.customer_ids: range = range(
            FIRST_CUSTOMER_ID, FIRST_CUSTOMER_ID + CUSTOMER_ID_STEP * customers, CUSTOMER_ID_STEP)
        self._specs = {spec.id: spec for spec in _SPECS}
        self._windows = {spec.id: _active_window(spec.start, spec.end) for spec in _SPECS}
        # Per-customer limits first: the promotion-wide caps are sized from a sample of
        # customers generated under them.
        provisional = {"points": -1, "events": -1, "earns": -1}
        self._rules: dict[int, tuple[list[_Limit], float]] = {}
        self._payloads: dict[int, dict[str, Any]] = {}
        for spec in _SPECS:
            restrictions, legacy = _restrictions(spec.id, provisional)
            self._rules[spec.id] = self._compile(restrictions, legacy)
        for spec in _SPECS:
            restrictions, legacy = _restrictions(spec.id, self._cohort_caps(spec.id))
            self._payloads[spec.id] = self._build_payload(spec, restrictions, legacy)

    # ---- catalogue -------------------------------------------------------------------------

    @property
    def promotion_ids(self) -> list[int]:
        """Ids of the program's promotions, in catalogue order."""
        return [spec.id for spec in _SPECS]

    def has_customer(self, customer_id: int) -> bool:
        """True when ``customer_id`` is one of the sandbox's customers."""
        return isinstance(customer_id, int) and customer_id in self.customer_ids

    def has_promotion(self, promotion_id: int) -> bool:
        """True when ``promotion_id`` is one of the program's promotions."""
        return promotion_id in self._specs

    def promotion_payload(self, promotion_id: int) -> dict[str, Any]:
        """The promotion object of the api_gateway promotion-by-id answer (a fresh copy)."""
        return copy.deepcopy(self._payloads[promotion_id])

    def promotion_config(self, promotion_id: int) -> Mapping[str, Any]:
        """The same promotion object, shared and not copied: for reading only."""
        return self._payloads[promotion_id]

    def catalog(self) -> dict[str, Any]:
        """Org, program, a short description of each promotion, and the (lazy) customer ids."""
        promotions = []
        for spec in _SPECS:
            payload = self._payloads[spec.id]
            promotions.append({
                "id": spec.id, "program_id": self.program_id, "name": spec.name,
                "offer_type": spec.offer_type, "status": spec.status,
                "start": payload["startDate"], "end": payload["endDate"],
            })
        return {"org_id": self.org_id, "org_name": self.org_name,
                "program_id": self.program_id, "program_name": self.program_name,
                "promotions": promotions, "customer_ids": self.customer_ids}

    # ---- per customer ----------------------------------------------------------------------

    def events(self, customer_id: int, promotion_id: int) -> list[Event]:
        """The customer's events in the promotion, oldest first ([] for unknown ids)."""
        spec = self._specs.get(promotion_id)
        if spec is None or not self.has_customer(customer_id):
            return []
        rng = random.Random(f"{self.seed}:{customer_id}:{promotion_id}")
        if rng.random() < spec.no_events_share:
            return []
        lo, hi = self._windows[promotion_id]
        limits, per_event = self._rules[promotion_id]
        candidates = _distinct_sorted(spec.propose(rng, lo, hi))
        candidates = [e for e in candidates if lo <= e.timestamp <= hi]
        admitted = _admit(candidates, limits, per_event)
        if spec.finish is not None:
            admitted = spec.finish(admitted)
        return [Event(*c) for c in admitted]

    def summary_payload(self, customer_id: int, promotion_id: int,
                        activity_id: str | None = None) -> dict[str, Any]:
        """The bare v3 action-summary object (``data`` of the envelope).

        With ``activity_id``, only that activity's events count. When nothing is left, the
        documented "no summary" shape with warning 8116 is returned.
        """
        events = self.events(customer_id, promotion_id)
        if activity_id is not None:
            events = [e for e in events if e.activity_id == activity_id]
        head = {"orgId": self.org_id, "programId": self.program_id, "entityId": customer_id,
                "promotionId": promotion_id}
        if not events:
            return {**head, "incentives": [], "warnings": [{
                "status": False, "code": 8116,
                "message": "No promotion action summary found for the given promotionId"}]}
        incentives = [
            {"activityId": act, "action": action, "actionIssuedCount": count,
             "actionId": action_id, "lastIssuedOn": last}
            for (act, action, action_id), _, count, last in _aggregate(
                [e for e in events if e.action is not None],
                lambda e: (e.activity_id, e.action, e.action_id), lambda e: 1.0)
        ]
        points = [
            {"pointsCategory": category, "totalPointsIssued": f"{total:.3f}",
             "numberOfTimesIssued": count, "lastIssuedOn": last}
            for category, total, count, last in _aggregate(
                [e for e in events if e.points > 0], lambda e: e.points_category,
                lambda e: e.points)
        ]
        currencies = [
            {"currencyName": name, "totalCurrencyIssued": f"{total:.3f}",
             "numberOfTimesIssued": count, "lastIssuedOn": last}
            for name, total, count, last in _aggregate(
                [e for e in events if e.currency_amount > 0], lambda e: e.currency_name,
                lambda e: e.currency_amount)
        ]
        return {**head, "incentives": incentives, "points": points,
                "alternateCurrencies": currencies, "warnings": []}

    def true_usage(self, customer_id: int, promotion_id: int) -> dict[str, float]:
        """Ground-truth usage of each per-customer and per-event restriction of the promotion.

        Keys are the restriction names of the promotion (for a promotion whose ``restrictions``
        is null, the names its non-zero legacy ``limits`` mirror). Values, from :meth:`events`:

        - ``NON_PERIOD_BASED`` per-customer names: the lifetime total of their quantity
          (issuals = events with an incentive action, earns = events with points > 0, points =
          sum of points, times = number of events);
        - ``PERIOD_BASED`` per-customer names: that quantity inside the trailing window
          ``(SANDBOX_AS_OF - W, SANDBOX_AS_OF]`` (W = 24 h, 7 days or 30 days);
        - ``MAX_ALLOWED_POINTS_PER_EVENT`` / ``MAX_POINTS_PER_EARN_PER_CUSTOMER``: the largest
          ``points`` of a single event (0.0 without events);
        - ``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER``: 0.0 (the sandbox never redeems).

        Unlimited (-1) restrictions are reported too. Promotion-wide names are not per customer
        and are absent: their usage is the sum of the per-customer quantity over the cohort.
        Expiry restrictions are not usages and are absent.
        """
        return self.usage_of(self.events(customer_id, promotion_id), promotion_id)

    def usage_of(self, events: list[Event], promotion_id: int) -> dict[str, float]:
        """:meth:`true_usage` of events already generated by :meth:`events`."""
        payload = self._payloads[promotion_id]
        usage: dict[str, float] = {}
        for known, item in _limits_of(payload["promotionRestrictions"]["restrictions"],
                                      payload["limits"]):
            name = item["name"]
            if known.quantity == "per_event":
                usage[name] = float(max((e.points for e in events), default=0.0))
            elif known.quantity == "redemptions":
                usage[name] = 0.0
            else:
                limit = _Limit(name, str(known.quantity), int(item["value"]), _window(item))
                usage[name] = float(_used(events, limit, _AS_OF_MS))
        return usage

    # ---- construction ----------------------------------------------------------------------

    @staticmethod
    def _compile(restrictions: dict | None, legacy: dict[str, int]) -> tuple[list[_Limit], float]:
        limits: list[_Limit] = []
        per_event = math.inf
        for known, item in _limits_of(restrictions, legacy):
            value = int(item["value"])
            if value < 0 or known.quantity == "redemptions":
                continue
            if known.quantity == "per_event":
                per_event = min(per_event, float(value))
            else:
                limits.append(_Limit(item["name"], str(known.quantity), value, _window(item)))
        return limits, per_event

    def _cohort_caps(self, promotion_id: int) -> dict[str, int]:
        """Promotion-wide caps the whole cohort stays below, from a sample of customers.

        1.5 x the expected total plus 8 standard deviations, and never more than the hard bound
        the per-customer caps already guarantee, so no full scan is ever needed.
        """
        n = self.customers
        sample_size = min(n, 160)
        ids = [self.customer_ids[i * n // sample_size] for i in range(sample_size)]
        per_customer: dict[str, list[float]] = {"points": [], "events": [], "earns": []}
        for cid in ids:
            events = self.events(cid, promotion_id)
            for quantity, values in per_customer.items():
                values.append(sum(_quantity(e, quantity) for e in events))
        limits, _ = self._rules[promotion_id]
        caps = {}
        for quantity, values in per_customer.items():
            mean = sum(values) / len(values)
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
            cap = _nice_ceiling(1.5 * mean * n + 8 * sd * math.sqrt(n) + 1)
            lifetime = [lim.value for lim in limits
                        if lim.quantity == quantity and lim.window_ms is None]
            if lifetime:
                cap = min(cap, min(lifetime) * n)
            caps[quantity] = cap
        return caps

    def _build_payload(self, spec: _PromotionSpec, restrictions: dict | None,
                       legacy: dict[str, int]) -> dict[str, Any]:
        lo, hi = _iso_ms(spec.start), _iso_ms(spec.end)
        created = lo - 9 * _MS_DAY + 37_436_000
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
        } for k, (exp, exp_json, actions) in enumerate(self._rule_parts(spec))]
        return {
            "id": spec.id,
            "name": spec.name,
            "description": spec.description,
            "promotionStatus": spec.status,
            "lastUpdateDate": datetime.fromtimestamp((created + 4 * _MS_DAY) / 1000, UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastUpdatedBy": user,
            "rulesetInfos": [{
                "id": ruleset_id,
                "orgName": self.org_name,
                "contextID": self.program_id,
                "orgID": self.org_id,
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
                    "orgID": self.org_id,
                    "ruleID": -1,
                    "name": "LoyaltyType",
                    "className": "com.capillary.shopbook.emf.impl.filter.LoyaltyTypeFilterImpl",
                    "isInclude": True,
                    "propertyToValues": {"loyaltyType": ["loyalty"]},
                }, {
                    "id": ruleset_id + 104_318,
                    "orgID": self.org_id,
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
            "programName": self.program_name,
            "programId": self.program_id,
            "startDate": spec.start,
            "endDate": spec.end,
            "identifier": _uuid("capnb-sandbox", self.org_id, spec.id),
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

    @staticmethod
    def _rule_parts(spec: _PromotionSpec) -> list[tuple[str, str, tuple[dict, ...]]]:
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
