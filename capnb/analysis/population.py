"""The analyses' figures for a sampled cohort: estimates about the whole population, each with
its 95% interval.

A cohort fetched from a random sample (it carries ``cohort.design``) stands for every customer
of its population. :func:`scale_of` gives the :class:`Scale` of such a cohort (None for any
other cohort); with it, :func:`capnb.analysis.utilisation`, ``issuance_counts``,
``points_summary``, ``timeline`` and ``recency`` return population figures instead of the
sampled customers' own, and every such column ``x`` gains ``x_low`` and ``x_high``: a total
(N x mean with the finite-population correction), a count of customers (N x a Wilson share), a
share of customers (Wilson) or a quantile (Woodruff's interval: the interval of the share of
customers at or below the quantile, read back through the sample's distribution). The
formulas are in :mod:`capnb.intervals`.

Sampled customers the API did not answer are treated as missing at random, as in
:mod:`capnb.analysis.estimates`. Per-customer figures (one customer's usage, the largest
sampled usage) stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.measure import NEAR_CAP
from capnb.analysis.summary import fetched_ids
from capnb.intervals import Interval, proportion_interval, total_interval

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort

__all__ = ["Scale", "design_columns", "interval_columns", "population_statistics", "scale_of",
           "scale_of_rows", "with_intervals"]

UTILISATION_ESTIMATES = ("customers_with_usage", "usage_total", "usage_median", "usage_p90",
                         "share_of_limit", "share_median", "customers_at_cap",
                         "customers_near_cap", "customers_over_cap")
"""The columns of :func:`capnb.analysis.utilisation` a sampled cohort estimates."""
_CUSTOMER_COUNTS = ("customers_with_usage", "customers_at_cap", "customers_near_cap",
                    "customers_over_cap")


@dataclass(frozen=True)
class Scale:
    """How the answered sampled customers ``ids`` (sorted) stand for the population:
    ``population`` maps each stratum to its size, ``strata`` gives each id's stratum (None for
    a simple random sample)."""

    ids: np.ndarray
    population: dict[Any, int]
    strata: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Customers in the population."""
        return int(sum(self.population.values()))

    @property
    def sampled(self) -> int:
        """Customers in the sample (answered)."""
        return len(self.ids)

    def total(self, values: np.ndarray) -> Interval:
        """The population total of ``values`` (one per id)."""
        return total_interval(np.asarray(values, dtype=float), self.population, self.strata)

    def share(self, flags: np.ndarray) -> Interval:
        """The share of the population whose flag is true."""
        return proportion_interval(np.asarray(flags, dtype=bool), self.population, self.strata)

    def customers(self, flags: np.ndarray) -> Interval:
        """How many customers of the population have the flag."""
        return self.share(flags).scaled(self.size)

    def quantile(self, values: np.ndarray, q: float) -> Interval:
        """The population's ``q`` quantile of ``values``: the sample's (linear interpolation,
        weighted by stratum when stratified), with Woodruff's interval."""
        values = np.asarray(values, dtype=float)
        if not len(values):
            return Interval(np.nan, np.nan, np.nan)
        order = np.argsort(values, kind="stable")
        ordered, weights = values[order], self._weights()[order]
        if self.strata is None:
            estimate = float(np.quantile(values, q))
        else:
            estimate = _inverse(ordered, weights, q)
        at_or_below = self.share(values <= estimate)
        if at_or_below.half_width == 0:  # a census (or a stratum-exact share): no error
            return Interval(estimate, estimate, estimate)
        low = _inverse(ordered, weights, max(0.0, q - (at_or_below.estimate - at_or_below.low)))
        high = _inverse(ordered, weights, min(1.0, q + (at_or_below.high - at_or_below.estimate)))
        return Interval(estimate, min(low, estimate), max(high, estimate))

    def values(self, customer_ids: Any, values: Any = None) -> np.ndarray:
        """Per id of the scale, the sum of ``values`` of its rows in ``customer_ids`` (1 per
        row when ``values`` is None); 0 for ids without a row."""
        positions = np.searchsorted(self.ids, np.asarray(customer_ids, dtype="int64"))
        weights = (np.ones(len(positions)) if values is None
                   else np.nan_to_num(np.asarray(values, dtype=float)))
        return np.bincount(positions, weights=weights, minlength=len(self.ids))

    def restricted(self, mask: np.ndarray) -> Scale:
        """The scale of the customers where ``mask`` holds, the others missing at random (the
        population is the same)."""
        mask = np.asarray(mask, dtype=bool)
        return Scale(self.ids[mask], self.population,
                     None if self.strata is None else self.strata[mask])

    def domain(self, mask: np.ndarray) -> Scale:
        """The scale of a domain (the customers where ``mask`` holds), its population per
        stratum estimated from the sample: for figures per customer of the domain."""
        mask = np.asarray(mask, dtype=bool)
        strata = self.strata if self.strata is not None else np.full(len(mask), None)
        sizes = {}
        for key, size in self.population.items():
            in_stratum = strata == key
            inside = int((mask & in_stratum).sum())
            if inside:
                sizes[key] = max(inside, round(size * inside / int(in_stratum.sum())))
        if self.strata is None:
            return Scale(self.ids[mask], {None: sizes.get(None, 0)})
        return Scale(self.ids[mask], sizes, self.strata[mask])

    def _weights(self) -> np.ndarray:
        if self.strata is None:
            return np.ones(len(self.ids))
        counts = pd.Series(self.strata).value_counts()
        return np.array([self.population[s] / counts[s] for s in self.strata], dtype=float)


def _inverse(ordered: np.ndarray, weights: np.ndarray, p: float) -> float:
    """The smallest value whose weighted share at or below it reaches ``p``."""
    cumulative = np.cumsum(weights) / weights.sum()
    index = int(np.searchsorted(cumulative, p - 1e-12, side="left"))
    return float(ordered[min(index, len(ordered) - 1)])


def scale_of(cohort: Cohort) -> Scale | None:
    """The :class:`Scale` of a cohort fetched from a random sample; None for any other."""
    design = getattr(cohort, "design", None)
    if design is None:
        return None
    ids = fetched_ids(cohort)
    return Scale(ids, design.population, design.strata_of(ids))


def design_columns(scale: Scale, repeat: int) -> dict[str, Any]:
    """The columns that let a per-customer frame (ids in ``scale`` order, ``repeat`` times)
    stand for the population: ``stratum`` (None for a simple random sample) and
    ``stratum_size`` (its customers in the population); :func:`scale_of_rows` reads them."""
    strata = (np.full(len(scale.ids), None, dtype=object) if scale.strata is None
              else np.asarray(scale.strata, dtype=object))
    sizes = np.array([scale.population[s] for s in strata], dtype="int64")
    return {"stratum": np.tile(strata, repeat),
            "stratum_size": pd.array(np.tile(sizes, repeat), dtype="Int64")}


def scale_of_rows(frame: pd.DataFrame) -> Scale | None:
    """The :class:`Scale` of a per-customer frame's rows (one per customer) that carry
    :func:`design_columns`; None when the frame has none (not from a random sample)."""
    if "stratum_size" not in frame.columns or "stratum" not in frame.columns:
        return None
    strata = frame["stratum"].to_numpy(dtype=object)
    sizes = frame["stratum_size"].to_numpy(dtype="int64")
    ids = frame["customer_id"].to_numpy(dtype="int64")
    if all(s is None or s is pd.NA or s != s for s in strata):  # noqa: PLR0124 - NaN test
        return Scale(ids, {None: int(sizes[0]) if len(sizes) else 0})
    population = {s: int(n) for s, n in zip(strata, sizes, strict=True)}
    return Scale(ids, population, strata)


def interval_columns(columns: Iterable[str]) -> dict[str, str]:
    """The dtypes of the ``_low``/``_high`` columns of ``columns`` (float64)."""
    return {f"{c}_{end}": "float64" for c in columns for end in ("low", "high")}


def with_intervals(figures: dict[str, Interval], counts: Iterable[str] = ()) -> dict[str, Any]:
    """A record of each of ``figures`` (column -> interval): its estimate and its
    ``_low``/``_high`` columns; the columns in ``counts`` are rounded to whole customers."""
    whole, record = set(counts), {}
    for column, interval in figures.items():
        estimate = interval.estimate
        record[column] = (round(estimate) if column in whole and not np.isnan(estimate)
                          else estimate)
        record[f"{column}_low"], record[f"{column}_high"] = interval.low, interval.high
    return record


def population_statistics(scale: Scale, usage: np.ndarray, limit: Any, unlimited: bool,
                          scope: str) -> dict[str, Any]:
    """The population's figures of a utilisation row (:data:`UTILISATION_ESTIMATES`), from
    the per-customer ``usage`` of the customers of ``scale``, with their intervals."""
    figures = {"customers_with_usage": scale.customers(usage > 0),
               "usage_total": scale.total(usage), "usage_median": scale.quantile(usage, 0.5),
               "usage_p90": scale.quantile(usage, 0.9)}
    if not (unlimited or limit is None or pd.isna(limit) or limit <= 0):
        if scope == "promotion":
            figures["share_of_limit"] = figures["usage_total"].scaled(1 / limit)
        else:
            figures.update(share_of_limit=figures["usage_p90"].scaled(1 / limit),
                           share_median=figures["usage_median"].scaled(1 / limit),
                           customers_at_cap=scale.customers(usage >= limit),
                           customers_near_cap=scale.customers(usage >= NEAR_CAP * limit),
                           customers_over_cap=scale.customers(usage > limit))
    return with_intervals(figures, counts=_CUSTOMER_COUNTS)
