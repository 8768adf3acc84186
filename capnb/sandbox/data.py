"""The sandbox's seeded data: one org, one program, four old-UI and two new-UI promotions
(:mod:`~capnb.sandbox.newui`) and every customer's events.

Nothing is stored per customer. A customer's benefit events in a promotion are derived on demand
from ``random.Random(f"{seed}:{customer_id}:{promotion_id}")`` (string seeds go through SHA-512, so
the result never depends on ``PYTHONHASHSEED``, the wall clock or the process), which keeps a
million-customer sandbox as small as a five-customer one. :class:`SandboxData` puts together
:mod:`~capnb.sandbox.catalog` (what the org, program and promotions are),
:mod:`~capnb.sandbox.behaviour` (what customers would do) and :mod:`~capnb.sandbox.generate`
(the events the restrictions admit, and their usage).
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from capnb.sandbox import newui
from capnb.sandbox.behaviour import BEHAVIOURS, active_window, distinct_sorted
from capnb.sandbox.catalog import (
    AS_OF_MS,
    CUSTOMER_ID_STEP,
    FIRST_CUSTOMER_ID,
    ORG_ID,
    ORG_NAME,
    PROGRAM_ID,
    PROGRAM_NAME,
    SANDBOX_AS_OF,
    SPECS,
    promotion_payload,
    restriction_settings,
)
from capnb.sandbox.generate import (
    Event,
    Limit,
    admit,
    aggregate,
    compile_limits,
    event_quantity,
    limits_of,
    used,
    window_ms,
)
from capnb.sandbox.timelines import Enrolment, enrolment_of

__all__ = ["SandboxData"]

_ALL_SPECS = SPECS + newui.NEW_UI_SPECS
_NEW_UI = {spec.id for spec in newui.NEW_UI_SPECS}
_BEHAVIOURS = {**BEHAVIOURS, **newui.NEW_UI_BEHAVIOURS}


def _restriction_settings(spec_id: int, cohort: dict[str, int],
                          ) -> tuple[dict | None, dict[str, int]]:
    if spec_id in _NEW_UI:
        return newui.restriction_settings(spec_id, cohort)
    return restriction_settings(spec_id, cohort)


def _nice_ceiling(value: float) -> int:
    """Round ``value`` up to two significant digits (37_412 -> 38_000)."""
    if value <= 100:
        return max(1, math.ceil(value))
    scale = 10 ** (int(math.log10(value)) - 1)
    return int(math.ceil(value / scale) * scale)



class SandboxData:
    """Deterministic data of the sandbox for ``customers`` customers and a ``seed``.

    Customer ids are ``388000001, 388000008, ...`` (step 7), held as a ``range``; everything per
    customer is computed on demand. See :mod:`capnb.sandbox.generate` for the event model and for
    which event quantity each restriction name counts.
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
        self._specs = {spec.id: spec for spec in _ALL_SPECS}
        self._windows = {spec.id: active_window(spec.start, spec.end) for spec in _ALL_SPECS}
        # Per-customer limits first: the promotion-wide caps are sized from a sample of
        # customers generated under them.
        provisional = {"points": -1, "events": -1, "earns": -1}
        self._rules: dict[int, tuple[list[Limit], float]] = {}
        self._payloads: dict[int, dict[str, Any]] = {}
        for spec in _ALL_SPECS:
            restrictions, legacy = _restriction_settings(spec.id, provisional)
            self._rules[spec.id] = compile_limits(restrictions, legacy)
        for spec in _ALL_SPECS:
            restrictions, legacy = _restriction_settings(spec.id, self._cohort_caps(spec.id))
            self._payloads[spec.id] = promotion_payload(spec, restrictions, legacy)

    # ---- catalogue -------------------------------------------------------------------------

    @property
    def promotion_ids(self) -> list[int]:
        """Ids of the program's old-UI promotions (the api_gateway endpoints' ones), in
        catalogue order."""
        return [spec.id for spec in SPECS]

    @property
    def new_ui_promotion_ids(self) -> list[int]:
        """Integer (points-engine) ids of the new-UI promotions, which only ``/v3/promotions``
        describes (:mod:`capnb.sandbox.newui`)."""
        return [spec.id for spec in newui.NEW_UI_SPECS]

    @property
    def engine_promotion_ids(self) -> list[int]:
        """Every promotion the points engine runs: old-UI, then new-UI (what the action
        summary and promotionData serve)."""
        return self.promotion_ids + self.new_ui_promotion_ids

    def has_customer(self, customer_id: int) -> bool:
        """True when ``customer_id`` is one of the sandbox's customers."""
        return isinstance(customer_id, int) and customer_id in self.customer_ids

    def has_promotion(self, promotion_id: int) -> bool:
        """True when the points engine runs ``promotion_id`` (old-UI or new-UI)."""
        return promotion_id in self._specs

    def promotion_payload(self, promotion_id: int) -> dict[str, Any]:
        """The promotion object of the api_gateway promotion-by-id answer (a fresh copy); for
        a new-UI promotion, the points engine's configuration, which that endpoint never
        serves."""
        return copy.deepcopy(self._payloads[promotion_id])

    def promotion_config(self, promotion_id: int) -> Mapping[str, Any]:
        """The same promotion object, shared and not copied: for reading only."""
        return self._payloads[promotion_id]

    def v3_promotion(self, promotion_id: int) -> dict[str, Any]:
        """The ``data`` of ``GET /v3/promotions/{id}`` of a new-UI promotion (a fresh object)."""
        return newui.v3_promotion(self._specs[promotion_id])

    def catalog(self) -> dict[str, Any]:
        """Org, program, a short description of each promotion (``promotions``: old-UI;
        ``new_ui_promotions``: new-UI, with their string ``hex_id``), and the (lazy) customer
        ids."""
        promotions = []
        for spec in SPECS:
            payload = self._payloads[spec.id]
            promotions.append({
                "id": spec.id, "program_id": self.program_id, "name": spec.name,
                "offer_type": spec.offer_type, "status": spec.status,
                "start": payload["startDate"], "end": payload["endDate"],
            })
        new_ui = [{"id": pid, "hex_id": newui.hex_id(pid), "program_id": self.program_id,
                   "name": self._specs[pid].name, "offer_type": self._specs[pid].offer_type,
                   "status": self._specs[pid].status} for pid in self.new_ui_promotion_ids]
        return {"org_id": self.org_id, "org_name": self.org_name,
                "program_id": self.program_id, "program_name": self.program_name,
                "promotions": promotions, "new_ui_promotions": new_ui,
                "customer_ids": self.customer_ids}

    # ---- per customer ----------------------------------------------------------------------

    def events(self, customer_id: int, promotion_id: int) -> list[Event]:
        """The customer's events in the promotion, oldest first ([] for unknown ids)."""
        behaviour = _BEHAVIOURS.get(promotion_id)
        if behaviour is None or not self.has_customer(customer_id):
            return []
        rng = random.Random(f"{self.seed}:{customer_id}:{promotion_id}")
        if rng.random() < behaviour.no_events_share:
            return []
        lo, hi = self._windows[promotion_id]
        limits, per_event = self._rules[promotion_id]
        candidates = distinct_sorted(behaviour.propose(rng, lo, hi))
        candidates = [e for e in candidates if lo <= e.timestamp <= hi]
        admitted = admit(candidates, limits, per_event)
        if behaviour.finish is not None:
            admitted = behaviour.finish(admitted)
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
            for (act, action, action_id), _, count, last in aggregate(
                [e for e in events if e.action is not None],
                lambda e: (e.activity_id, e.action, e.action_id), lambda e: 1.0)
        ]
        points = [
            {"pointsCategory": category, "totalPointsIssued": f"{total:.3f}",
             "numberOfTimesIssued": count, "lastIssuedOn": last}
            for category, total, count, last in aggregate(
                [e for e in events if e.points > 0], lambda e: e.points_category,
                lambda e: e.points)
        ]
        currencies = [
            {"currencyName": name, "totalCurrencyIssued": f"{total:.3f}",
             "numberOfTimesIssued": count, "lastIssuedOn": last}
            for name, total, count, last in aggregate(
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
        - ``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER``: the largest ``redeemedCount`` of one of
          the customer's issuals (:meth:`enrolment`; 0.0 without issuals).

        Unlimited (-1) restrictions are reported too. Promotion-wide names are not per customer
        and are absent: their usage is the sum of the per-customer quantity over the cohort.
        Expiry restrictions are not usages and are absent.
        """
        return self.usage_of(self.events(customer_id, promotion_id), promotion_id, customer_id)

    def usage_of(self, events: list[Event], promotion_id: int,
                 customer_id: int | None = None) -> dict[str, float]:
        """:meth:`true_usage` of events already generated by :meth:`events` (the customer's
        redemptions need ``customer_id``; without it they count 0)."""
        payload = self._payloads[promotion_id]
        enrolment = (None if customer_id is None
                     else enrolment_of(self.seed, customer_id, payload, events))
        usage: dict[str, float] = {}
        for known, item in limits_of(payload["promotionRestrictions"]["restrictions"],
                                      payload["limits"]):
            name = item["name"]
            if known.quantity == "per_event":
                usage[name] = float(max((e.points for e in events), default=0.0))
            elif known.quantity == "redemptions":
                usage[name] = float(max((i.redeemed for i in enrolment.issuals), default=0)
                                    if enrolment else 0)
            else:
                limit = Limit(name, str(known.quantity), int(item["value"]), window_ms(item))
                usage[name] = float(used(events, limit, AS_OF_MS))
        return usage

    def enrolment(self, customer_id: int, promotion_id: int) -> Enrolment | None:
        """The customer's enrolment in the promotion with every issual and its redemptions
        (see :mod:`capnb.sandbox.timelines`); None when the customer has no event in it."""
        if not self.has_promotion(promotion_id):
            return None
        return enrolment_of(self.seed, customer_id, self._payloads[promotion_id],
                            self.events(customer_id, promotion_id))

    # ---- construction ----------------------------------------------------------------------

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
                values.append(sum(event_quantity(e, quantity) for e in events))
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
