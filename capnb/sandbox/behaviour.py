"""How the sandbox's customers behave in each promotion: the candidate events a customer would
bring (:data:`BEHAVIOURS`), drawn from a seeded ``random.Random``, before
:func:`capnb.sandbox.generate.admit` enforces the restrictions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from capnb.sandbox.catalog import (
    AS_OF_MS,
    DATA_START_MS,
    ENROL_EARN_DAYS,
    MS_DAY,
    MS_HOUR,
    SPECS,
    iso_ms,
)

__all__ = ["BEHAVIOURS", "Behaviour", "Candidate", "active_window", "distinct_sorted"]


class Candidate(NamedTuple):
    """A candidate event while generating: the fields of :class:`Event`, but cheap to build."""

    timestamp: int
    activity_id: str | None
    points_category: str | None = None
    points: float = 0.0
    currency_name: str | None = None
    currency_amount: float = 0.0
    action: str | None = None
    action_id: str | None = None


def _hours(rng: random.Random, day_start: int) -> int:
    """A time between 08:00 and 22:00 UTC on the day starting at ``day_start``."""
    return day_start + 8 * MS_HOUR + int(rng.random() * 14 * MS_HOUR)


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """A uniform integer in [lo, hi) (cheaper than ``randrange``)."""
    return lo + int(rng.random() * (hi - lo))


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def distinct_sorted(events: list[Candidate]) -> list[Candidate]:
    """Sort by time and nudge equal timestamps apart so a customer's events are strictly ordered."""
    events.sort(key=lambda e: e.timestamp)
    out: list[Candidate] = []
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
    first = lo - lo % MS_DAY
    days = []
    day = first
    while day + 22 * MS_HOUR <= hi:
        # 1970-01-01 was a Thursday: weekday index 2 = Saturday, 3 = Sunday.
        if (day // MS_DAY) % 7 in (2, 3) and day + 8 * MS_HOUR >= lo:
            days.append(day)
        day += MS_DAY
    return days


def active_window(spec_start: str, spec_end: str) -> tuple[int, int]:
    lo = max(iso_ms(spec_start), DATA_START_MS)
    hi = min(iso_ms(spec_end), AS_OF_MS)
    return lo, hi


def _dates(promotion_id: int) -> tuple[str, str]:
    spec = next(s for s in SPECS if s.id == promotion_id)
    return spec.start, spec.end


# Promotion 1: Double Points Weekend (GENERIC). Weekend purchases earn doubled points.
_P1_DAYS = _weekend_days(*active_window(*_dates(1133600978)))


def _propose_double_points(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
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
            events.append(Candidate(_hours(rng, day), activity, category, float(points)))
    return events


# Promotion 2: Summer Coupon Blast (LOYALTY, completed). Purchases earn points; some purchases
# are followed by a coupon issual.


def _propose_summer_coupons(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
    events = []
    for _ in range(_engagement(rng, 3.0, 0.8, 40)):
        at = _hours(rng, lo - lo % MS_DAY + _between(rng, 0, (hi - lo) // MS_DAY) * MS_DAY)
        if at < lo or at > hi:
            continue
        points = max(10, int(_lognormal(rng, 150, 0.5)))
        events.append(Candidate(at, "activity_points_1", "REGULAR_POINTS", float(points)))
        draw = rng.random()
        if draw < 0.16:
            events.append(Candidate(at + 1000, "activity_coupon_1", action="COUPONS",
                                action_id="5231232"))
        elif draw < 0.24:
            events.append(Candidate(at + 1000, "activity_coupon_2", action="COUPONS",
                                action_id="5231240"))
    return events


# Promotion 3: Enrol & Earn Stars (LOYALTY_EARNING). The customer enrols (or opts in), then
# earns points and STARS on purchases for 90 days; the first earn brings a badge, every fourth a
# reward.


def _propose_enrol_and_earn(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
    enrolled = _between(rng, lo, hi - MS_DAY)
    action = "ENROL" if rng.random() < 0.8 else "OPTIN"
    events = [Candidate(enrolled, None, action=action, action_id=str(rng.randrange(10**7, 10**8)))]
    until = min(hi, enrolled + ENROL_EARN_DAYS * MS_DAY)
    for _ in range(_engagement(rng, 6.0, 0.8, 60)):
        at = _between(rng, enrolled + 1, until)
        points = float(max(10, int(_lognormal(rng, 120, 0.6))))
        stars = float(1 + int(rng.random() * 5)) if rng.random() < 0.7 else 0.0
        currency = "STARS" if stars else None
        events.append(Candidate(at, "activity_points_1", "REGULAR_POINTS", points, currency, stars))
    events = distinct_sorted(events)
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
_P4_UPGRADE_AT = 1000


def _propose_tier_fast_track(rng: random.Random, lo: int, hi: int) -> list[Candidate]:
    events = []
    for _ in range(_engagement(rng, 4.5, 0.8, 40)):
        at = _between(rng, lo, hi)
        points = max(10, int(_lognormal(rng, 140, 0.6)))
        coins = float(points // 10) if rng.random() < 0.5 else 0.0
        events.append(Candidate(at, "activity_points_1", "REGULAR_POINTS", float(points),
                            "COINS" if coins else None, coins))
    return events


def _finish_tier_fast_track(events: list[Candidate]) -> list[Candidate]:
    total = 0.0
    for i, event in enumerate(events):
        if total < _P4_UPGRADE_AT <= total + event.points:
            events[i] = event._replace(action="UPGRADE_TIER", action_id="GOLD")
        total += event.points
    return events


@dataclass(frozen=True)
class Behaviour:
    """How customers act in one promotion: the share without any event, the candidate events
    of one customer (``propose(rng, lo, hi)``) and an optional last pass over the admitted ones."""

    no_events_share: float
    propose: Callable[[random.Random, int, int], list[Candidate]]
    finish: Callable[[list[Candidate]], list[Candidate]] | None = None


BEHAVIOURS: dict[int, Behaviour] = {
    1133600978: Behaviour(0.14, _propose_double_points),
    1133601204: Behaviour(0.16, _propose_summer_coupons),
    1133601377: Behaviour(0.11, _propose_enrol_and_earn),
    1133601550: Behaviour(0.13, _propose_tier_fast_track, _finish_tier_fast_track),
}
"""Promotion id -> how its customers behave."""
