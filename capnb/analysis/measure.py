"""Restriction usage derived from a cohort's action summaries: pure arithmetic on arrays.

:func:`benefit_arrays` turns a cohort into one :class:`BenefitRows` per benefit kind;
:func:`lifetime` and :func:`windowed` measure a quantity of :data:`capnb.restrictions.QUANTITIES`
per fetched customer (with whether the value is exact for that customer); :func:`statistics`
summarises per-customer usage against a limit. The reasoning behind each bound is in
:mod:`capnb.analysis.limits`; the words are in :mod:`capnb.analysis.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.summary import COUNT_COLUMNS, fetched_benefits, fetched_ids, micros

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort

__all__ = [
    "MEASURABLE",
    "NEAR_CAP",
    "WINDOW_DAYS",
    "BenefitArrays",
    "BenefitRows",
    "benefit_arrays",
    "lifetime",
    "statistics",
    "windowed",
]

NEAR_CAP = 0.8
"""Share of a limit from which a customer counts as near the cap."""
MEASURABLE = ("points", "issuals", "earns", "events", "per_event")
"""The quantities the action summary can measure (never ``redemptions``)."""
WINDOW_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 30}
"""``MOVING_WINDOW`` period unit -> the trailing days it covers."""


@dataclass
class BenefitRows:
    """One benefit kind as arrays: customer position, count, amount, last issuance (µs)."""

    pos: np.ndarray
    count: np.ndarray
    amount: np.ndarray
    last: np.ndarray
    undated: np.ndarray


@dataclass
class BenefitArrays:
    """The fetched customers (sorted ids) and the rows of each benefit kind."""

    ids: np.ndarray
    kinds: dict[str, BenefitRows]


def _benefit_rows(cohort: Cohort, name: str, ids: np.ndarray) -> BenefitRows:
    frame = fetched_benefits(cohort, name, ids)
    amount_col = {"points": "total_points", "alternate_currencies": "total_issued"}.get(name)
    count = frame[COUNT_COLUMNS[name]].astype("float64").fillna(0.0).to_numpy()
    amount = (frame[amount_col].astype("float64").fillna(0.0).to_numpy() if amount_col
              else count)
    last, undated = micros(frame["last_issued_on"])
    pos = np.searchsorted(ids, frame["customer_id"].to_numpy(dtype="int64"))
    return BenefitRows(pos, count, amount, last, undated)


def benefit_arrays(cohort: Cohort) -> BenefitArrays:
    """Every benefit kind of the fetched customers of ``cohort`` as arrays."""
    ids = fetched_ids(cohort)
    return BenefitArrays(ids, {name: _benefit_rows(cohort, name, ids) for name in COUNT_COLUMNS})


def lifetime(quantity: str, arrays: BenefitArrays) -> tuple[np.ndarray, np.ndarray]:
    """(usage, exact-per-customer) of a lifetime quantity, before completeness is considered.

    ``events`` is the largest of the points, incentive and currency counts: exact for a
    customer with one kind of benefit only, a lower bound otherwise.
    """
    fam, n = arrays.kinds, len(arrays.ids)
    exact = np.ones(n, dtype=bool)
    if quantity == "points":
        return np.bincount(fam["points"].pos, fam["points"].amount, n), exact
    if quantity == "earns":
        return np.bincount(fam["points"].pos, fam["points"].count, n), exact
    if quantity == "issuals":
        return np.bincount(fam["incentives"].pos, fam["incentives"].count, n), exact
    if quantity == "per_event":
        rows = fam["points"]
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(rows.count > 0, rows.amount / rows.count, 0.0)
        usage = np.zeros(n)
        np.maximum.at(usage, rows.pos, average)
        return usage, exact
    sums = [np.bincount(r.pos, r.count, n) for r in fam.values()]  # events
    return np.max(sums, axis=0), (np.stack(sums) > 0).sum(axis=0) <= 1


def windowed(quantity: str, arrays: BenefitArrays, start: int, end: int,
             ) -> tuple[np.ndarray, np.ndarray]:
    """(lower bound, exact-per-customer) of a quantity inside the window (start, end] (µs)."""
    fam, n = arrays.kinds, len(arrays.ids)
    names = {"points": ["points"], "earns": ["points"], "issuals": ["incentives"],
             "events": list(fam)}[quantity]
    sums, exact = [], np.ones(n, dtype=bool)
    for name in names:
        r = fam[name]
        value = r.amount if quantity == "points" else r.count
        issued = value > 0
        before = ~r.undated & (r.last <= start)
        inside = ~r.undated & (r.last > start) & (r.last <= end)
        once = r.count == 1
        floor = 0.0 if quantity == "points" else 1.0
        lower = np.where(issued & inside, np.where(once, value, floor), 0.0)
        known = ~issued | before | (inside & once)
        sums.append(np.bincount(r.pos, lower, n))
        exact &= np.bincount(r.pos, ~known, n) == 0
    stacked = np.stack(sums)
    if quantity == "events":
        exact &= (stacked > 0).sum(axis=0) <= 1
    return stacked.max(axis=0), exact


def statistics(usage: np.ndarray, limit: float | None, unlimited: bool, scope: str,
               ) -> dict[str, Any]:
    """The measured columns of a utilisation row, from per-customer usage (zeros included)."""
    record: dict[str, Any] = {"customers_measured": len(usage),
                              "customers_with_usage": int((usage > 0).sum()),
                              "usage_total": float(usage.sum())}
    if len(usage):
        p50, p90 = np.quantile(usage, [0.5, 0.9])
        record.update(usage_median=float(p50), usage_p90=float(p90),
                      usage_max=float(usage.max()))
    if unlimited or limit is None or pd.isna(limit) or limit <= 0:
        return record
    if scope == "promotion":
        record["share_of_limit"] = usage.sum() / limit
        return record
    if len(usage):
        record.update(share_of_limit=p90 / limit, share_median=p50 / limit)
    record.update(customers_at_cap=int((usage >= limit).sum()),
                  customers_near_cap=int((usage >= NEAR_CAP * limit).sum()),
                  customers_over_cap=int((usage > limit).sum()))
    return record
