"""95% intervals for population figures estimated from a random sample: pure arithmetic.

A sample is simple random without replacement (one stratum) or stratified (a simple random
sample in each stratum). For per-customer values ``y`` (a flag 0/1 for a proportion):

* **total**: ``T = sum_h N_h * mean_h``, variance ``V = sum_h N_h^2 (1 - n_h/N_h) s_h^2 / n_h``
  (``s_h^2`` the sample variance, ``1 - n_h/N_h`` the finite-population correction), interval
  ``T +- z sqrt(V)`` with ``z = 1.959964`` (normal);
* **proportion**: ``p = T / N``, with Wilson's score interval, which stays inside [0, 1] and
  behaves near 0 and 1, computed at the design's effective sample size ``n_eff = p(1-p) / V_p``
  (Kish; for a simple random sample this is ``(n - 1) / (1 - n/N)``: the correction enters
  as a larger effective ``n``). When ``p`` is 0 or 1 the effective size is ``n / (1 - n/N)``.
  A census (every ``n_h = N_h``) has a zero-width interval.

A stratum with a single sampled customer has no variance estimate: it is taken as 0, and
:func:`capnb.fetch.sampling.draw_sample` allocates at least two per stratum so this only
happens to strata of one customer (counted exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Z95", "Interval", "proportion_interval", "total_interval", "wilson"]

Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""


@dataclass(frozen=True)
class Interval:
    """An estimate and its interval ``[low, high]``; ``half_width`` is ``(high - low) / 2``."""

    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width, in the estimate's unit."""
        return (self.high - self.low) / 2

    def scaled(self, factor: float) -> Interval:
        """The same interval multiplied by ``factor`` (> 0): a count from a share, a share of a
        limit from a total."""
        return Interval(self.estimate * factor, self.low * factor, self.high * factor)


def wilson(p: float, n_eff: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``p`` at effective sample size ``n_eff``.

    >>> [round(x, 4) for x in wilson(0.5, 100)]
    [0.4038, 0.5962]
    """
    if not n_eff or math.isnan(p):
        return (math.nan, math.nan)
    if math.isinf(n_eff):
        return (p, p)
    z2 = z * z
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = z / (1 + z2 / n_eff) * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff))
    low = 0.0 if p <= 0 else max(0.0, centre - half)  # exactly 0, not rounding noise
    return (low, 1.0 if p >= 1 else min(1.0, centre + half))


def _strata(values: np.ndarray, strata: np.ndarray | None,
            population: dict[object, int]) -> list[tuple[int, np.ndarray]]:
    if strata is None:
        (size,) = population.values()
        return [(size, values)]
    return [(size, values[strata == name]) for name, size in population.items()]


def _total(values: np.ndarray, strata: np.ndarray | None,
           population: dict[object, int]) -> tuple[float, float, int]:
    """(total, its variance, sampled customers)."""
    total = variance = 0.0
    sampled = 0
    for size, part in _strata(values, strata, population):
        n = len(part)
        if n == 0:
            return math.nan, math.nan, sampled  # a stratum without answers: no estimate
        sampled += n
        total += size * float(part.mean())
        if n > 1 and n < size:
            variance += size * size * (1 - n / size) * float(part.var(ddof=1)) / n
    return total, variance, sampled


def total_interval(values: np.ndarray, population: dict[object, int],
                   strata: np.ndarray | None = None, z: float = Z95) -> Interval:
    """The population total of ``values`` (one per sampled customer) and its normal interval.

    ``population`` maps each stratum to its size (one entry, any key, without strata);
    ``strata`` gives each value's stratum.

    >>> total_interval(np.array([1.0, 3.0]), {None: 2})
    Interval(estimate=4.0, low=4.0, high=4.0)
    """
    total, variance, _ = _total(np.asarray(values, dtype=float), strata, population)
    half = z * math.sqrt(variance) if not math.isnan(variance) else math.nan
    return Interval(total, total - half, total + half)


def proportion_interval(flags: np.ndarray, population: dict[object, int],
                        strata: np.ndarray | None = None, z: float = Z95) -> Interval:
    """The population share of customers whose flag is true, with Wilson's interval at the
    design's effective sample size (see the module docstring)."""
    flags = np.asarray(flags, dtype=float)
    size = sum(population.values())
    total, variance, sampled = _total(flags, strata, population)
    if math.isnan(total) or size == 0:
        return Interval(math.nan, math.nan, math.nan)
    p = total / size
    variance /= size * size
    if sampled >= size:
        n_eff = math.inf
    elif 0 < p < 1 and variance > 0:
        n_eff = p * (1 - p) / variance
    else:
        n_eff = sampled / (1 - sampled / size)
    low, high = wilson(p, n_eff, z)
    return Interval(p, low, high)
