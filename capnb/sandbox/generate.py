"""From candidate events to a customer's events under the restrictions, and what they add up to.

Events and what each restriction counts
---------------------------------------
An :class:`Event` is one occurrence of a promotion acting on a customer. It issues points in *at
most one* category, optionally an alternate currency amount, and optionally one incentive action
(``REWARD``, ``COUPONS``, ``BADGES``, ``ENROL``, ``OPTIN``, ``UPGRADE_TIER``). The restriction
names count these event quantities (:meth:`capnb.sandbox.data.SandboxData.true_usage` reports them):

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
``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER`` redemptions of one issual (usage = the maximum;
                                          drawn in :mod:`capnb.sandbox.timelines`)
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

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from capnb.restrictions import LEGACY_LIMITS, Restriction, documented
from capnb.sandbox.behaviour import Candidate
from capnb.sandbox.catalog import WINDOW_MS

__all__ = [
    "PER_CUSTOMER_SCOPES",
    "Event",
    "Limit",
    "admit",
    "aggregate",
    "compile_limits",
    "event_quantity",
    "limits_of",
    "used",
    "window_ms",
]


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


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit the generator enforces: ``quantity`` within ``window_ms`` (None = lifetime)."""

    name: str
    quantity: str
    value: int
    window_ms: int | None


def event_quantity(event: Event | Candidate, quantity: str) -> float:
    """How much one event adds to a quantity (points, events, earns or issuals)."""
    if quantity == "points":
        return event.points
    if quantity == "events":
        return 1
    if quantity == "earns":
        return 1 if event.points > 0 else 0
    return 1 if event.action is not None else 0  # issuals


PER_CUSTOMER_SCOPES = ("customer", "event", "earn")


def limits_of(restrictions: dict | None, legacy: dict[str, int],
               ) -> list[tuple[Restriction, dict]]:
    """Every per-customer, per-event or per-earn restriction as (restriction, item), the
    restrictions the legacy limits mirror when ``restrictions`` is null."""
    if restrictions is None:
        twins = [(LEGACY_LIMITS[key].restriction, value) for key, value in legacy.items()
                 if value]
        return [(twin, {"name": twin.name, "value": value}) for twin, value in twins
                if twin.scope in PER_CUSTOMER_SCOPES]
    out = []
    for family in ("issualRestrictions", "earnRestrictions", "redemptionRestrictions"):
        for item in restrictions.get(family) or []:
            known = documented(item["name"])
            if known is not None and known.scope in PER_CUSTOMER_SCOPES:
                out.append((known, item))
    return out


def window_ms(item: dict) -> int | None:
    if item.get("type") == "PERIOD_BASED":
        return WINDOW_MS[item["periodUnit"]]
    return None


def used(events: list[Event] | list[Candidate], limit: Limit, at: int) -> float:
    """Usage of ``limit`` by ``events`` (sorted) in its window ending at ``at`` (inclusive)."""
    if limit.window_ms is None:
        return sum(event_quantity(e, limit.quantity) for e in events)
    start = at - limit.window_ms
    total = 0.0
    for event in reversed(events):
        if event.timestamp <= start:
            break
        if event.timestamp <= at:
            total += event_quantity(event, limit.quantity)
    return total


# Positions in the per-event records of :func:`admit`: (timestamp, points, events, earns, issuals).
_RECORD_INDEX = {"points": 1, "events": 2, "earns": 3, "issuals": 4}


def _window_sum(records: list[tuple], start: int, index: int) -> float:
    """Sum of ``records[...][index]`` over the records (time-sorted) later than ``start``."""
    total = 0
    for record in reversed(records):
        if record[0] <= start:
            break
        total += record[index]
    return total


def admit(candidates: list[Candidate], limits: list[Limit], per_event: float) -> list[Candidate]:
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
    accepted: list[Candidate] = []
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


def aggregate(events: list[Event], key: Callable[[Event], Any],
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


def compile_limits(restrictions: dict | None, legacy: dict[str, int],
                   ) -> tuple[list[Limit], float]:
    """(the count and points limits :func:`admit` enforces, the per-event points cap)."""
    limits: list[Limit] = []
    per_event = math.inf
    for known, item in limits_of(restrictions, legacy):
        value = int(item["value"])
        if value < 0 or known.quantity == "redemptions":
            continue
        if known.quantity == "per_event":
            per_event = min(per_event, float(value))
        else:
            limits.append(Limit(item["name"], str(known.quantity), value, window_ms(item)))
    return limits, per_event
