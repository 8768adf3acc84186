"""Random samples of a population of customers, reproducible from a seed.

:func:`draw_sample` takes the population (anything ``fetch_cohort`` accepts: ids, a Series, a
DataFrame or a CSV/Parquet file with a ``customer_id`` column) and returns a :class:`Sample`:
the customers to fetch, in a random order, and its :class:`SampleDesign` (population size,
seed, strata), which a cohort fetched from it carries so that the analyses can estimate
population figures with intervals (:mod:`capnb.analysis.estimates`).

The random order
----------------
Every customer gets a rank from the seed and its id alone (a SplitMix64 hash of both), and the
population is sorted by it. So the order never depends on the order of the file's rows, on
numpy's version, or on the other customers: the first ``n`` of the order are a simple random
sample without replacement of size ``n``, a larger sample with the same seed contains a
smaller one, and an interrupted or resumed fetch continues the same sample, the store serving
the customers already fetched.

Strata
------
With ``strata="tier"`` (a column of the population file) each stratum gets a simple random
sample: its customers in the same rank order, the first ``n_h`` taken. The allocation is
proportional, ``n_h = n N_h / N`` rounded by largest remainder (floors first, then one more to
the strata with the largest fractions, ties by stratum name) so that the sizes add up to ``n``
exactly; then every stratum gets at least ``min(2, N_h)`` (two are needed to estimate its
variance), taken back one at a time from the stratum with the most customers sampled. The
sample is fetched in rank order across strata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from capnb.errors import ValidationError
from capnb.fetch.inputs import read_customer_ids, read_table

__all__ = ["MIN_PER_STRATUM", "Sample", "SampleDesign", "draw_sample", "random_order",
           "required_size", "sample_cohort"]

MIN_PER_STRATUM = 2
"""The smallest sample of a stratum (all of it when it has fewer customers)."""
_MASK = (1 << 64) - 1


@dataclass(frozen=True, eq=False)
class SampleDesign:
    """How a sample was drawn: what estimates from it need.

    ``population_size`` customers (valid, distinct ids), ``seed``, and for a stratified sample
    the ``strata_column``, each stratum's population size (``strata``) and each sampled
    customer's stratum (``stratum_of``, indexed by customer id). ``note`` says how the size
    was chosen (a fixed ``n``, or where a precision stop ended).
    """

    population_size: int
    seed: int
    strata_column: str | None = None
    strata: dict[Any, int] | None = None
    stratum_of: pd.Series | None = field(default=None, repr=False)
    note: str = ""

    @property
    def population(self) -> dict[Any, int]:
        """Stratum -> population size (one entry, keyed None, for a simple random sample)."""
        return dict(self.strata) if self.strata else {None: self.population_size}

    def strata_of(self, customer_ids: np.ndarray) -> np.ndarray | None:
        """The stratum of each of ``customer_ids`` (None for a simple random sample)."""
        if self.stratum_of is None:
            return None
        return self.stratum_of.reindex(pd.Index(customer_ids, dtype="int64")).to_numpy()

    def with_note(self, note: str) -> SampleDesign:
        """The same design with another ``note``."""
        return replace(self, note=note)


@dataclass(frozen=True, eq=False)
class Sample:
    """Customers to fetch, in their random order, and the design they were drawn by.

    ``ids`` (list of int) is the sample in rank order; ``invalid`` the population's entries
    that are not customer ids (``Cohort.customers``-shaped, status ``invalid``: reported by
    the fetch, never sampled); ``allocation`` one row per stratum: ``stratum``, ``population``,
    ``sample`` (Int64; one row with stratum NA for a simple random sample).
    """

    ids: list[int]
    design: SampleDesign
    invalid: pd.DataFrame = field(repr=False)
    allocation: pd.DataFrame = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        strata = (f", strata={self.design.strata_column!r} ({len(self.design.strata or {})})"
                  if self.design.strata_column else "")
        return (f"Sample({len(self.ids):,} of {self.design.population_size:,} customers, "
                f"seed={self.design.seed}{strata})")


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping arithmetic)."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def random_order(customer_ids: Any, seed: int) -> np.ndarray:
    """``customer_ids`` (distinct ints) sorted by their rank under ``seed``: a random
    permutation that depends on the seed and the ids only.

    >>> random_order([1, 2, 3], seed=0).tolist() == random_order([3, 1, 2], seed=0).tolist()
    True
    """
    seed = _check_seed(seed)
    ids = np.asarray(customer_ids, dtype=np.int64)
    with np.errstate(over="ignore"):
        salt = _splitmix64(np.array([seed], dtype=np.uint64))[0]
        ranks = _splitmix64(ids.astype(np.uint64) ^ salt)
    return ids[np.lexsort((ids, ranks))]


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= int(seed) <= _MASK):
        raise ValidationError("seed", f"must be an integer from 0 to 2**64 - 1, got {seed!r}")
    return int(seed)


def _check_size(n: Any, population: int) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValidationError("n", f"must be a positive integer or None, got {n!r}")
    if n > population:
        raise ValidationError("n", f"asks for {int(n):,} customers but the population has "
                              f"{population:,} (valid, distinct ids)")
    return int(n)


def _strata_of(population: Any, column: Any, ids: list[int]) -> pd.Series:
    """Each valid id's stratum, from the population table's ``column`` (first row per id)."""
    if not isinstance(column, str) or not column:
        raise ValidationError("strata", f"must be the name of a column, got {column!r}")
    table = read_table(population)
    if column not in table.columns:
        raise ValidationError("strata", f"the population has no {column!r} column (columns: "
                              f"{', '.join(map(str, table.columns))})")
    if "customer_id" not in table.columns:
        raise ValidationError("customer_ids", "the population has no 'customer_id' column")
    numbers = pd.to_numeric(table["customer_id"], errors="coerce")
    keys = pd.Series(table[column].to_numpy(), index=numbers.to_numpy())
    keys = keys[~keys.index.isna()]
    keys = keys[~keys.index.duplicated()]
    keys.index = keys.index.astype("int64")
    strata = keys.reindex(pd.Index(ids, dtype="int64"))
    blank = strata.isna() | strata.astype(str).str.strip().eq("")
    if blank.any():
        raise ValidationError("strata", f"{int(blank.sum()):,} customers have no {column!r} "
                              f"value (first: customer {int(strata.index[blank][0])})")
    categories = getattr(table[column], "cat", None)
    if categories is not None:
        unused = set(categories.categories) - set(strata.unique())
        if unused:
            raise ValidationError("strata", f"empty strata (no customer): "
                                  f"{', '.join(sorted(map(str, unused)))}")
    return strata.astype(str)


def _allocate(n: int, sizes: pd.Series) -> pd.Series:
    """Proportional allocation by largest remainder, then at least ``MIN_PER_STRATUM`` each
    (see the module docstring)."""
    total = int(sizes.sum())
    quota = sizes * n / total
    alloc = np.floor(quota).astype(int)
    remainder = (quota - alloc).sort_values(ascending=False, kind="stable")
    alloc[remainder.index[: n - int(alloc.sum())]] += 1
    floor = np.minimum(sizes, MIN_PER_STRATUM)
    if int(floor.sum()) > n:
        raise ValidationError("n", f"is {n:,}, too small for {len(sizes)} strata: each needs "
                              f"at least {MIN_PER_STRATUM} (at least {int(floor.sum()):,})")
    alloc = np.maximum(alloc, floor)
    while int(alloc.sum()) > n:
        spare = (alloc - floor)[alloc > floor]
        alloc[(alloc[spare.index]).idxmax()] -= 1
    return np.minimum(alloc, sizes)


def draw_sample(population: Any, n: int | None = None, *, seed: int = 0,
                strata: str | None = None) -> Sample:
    """A simple random (or stratified) sample of ``population``, in its random order.

    Parameters
    ----------
    population : iterable of ids, Series, DataFrame or path of a CSV/Parquet file
        As ``fetch_cohort``'s ``customer_ids``. Duplicates count once; invalid ids are left
        out of the population and reported in ``Sample.invalid``.
    n : int, optional
        Sample size (at most the population). None: the whole population in random order,
        for a fetch that stops once precise enough (``capnb.fetch_sample(...,
        precision=)``).
    seed : int
        0 to 2**64 - 1. The same seed and population give the same sample and order.
    strata : str, optional
        A column of the population DataFrame or file: a simple random sample in each of its
        values, allocated proportionally (see the module docstring). Needs ``n``.

    Returns
    -------
    Sample

    Raises
    ------
    ValidationError
        ``n`` larger than the population or not a positive integer, a bad seed, an empty
        population, a missing strata column, customers without a stratum, empty strata, or
        ``n`` too small to give every stratum two customers.
    """
    seed = _check_seed(seed)
    ids, invalid = read_customer_ids(population)
    if not ids:
        raise ValidationError("customer_ids", "the population has no valid customer id")
    size = _check_size(n, len(ids))
    order = random_order(ids, seed)
    if strata is None:
        chosen = order if size is None else order[:size]
        allocation = pd.DataFrame({"stratum": pd.array([None], dtype="str"),
                                   "population": pd.array([len(ids)], dtype="Int64"),
                                   "sample": pd.array([len(chosen)], dtype="Int64")})
        design = SampleDesign(len(ids), seed, note=_size_note(len(chosen), len(ids)))
        return Sample(chosen.tolist(), design, invalid, allocation)
    if size is None:
        raise ValidationError("n", "a stratified sample needs its size n (stopping at a "
                              "precision is for simple random samples)")
    stratum = _strata_of(population, strata, ids)
    sizes = stratum.value_counts().sort_index()
    alloc = _allocate(size, sizes)
    ranked = stratum.reindex(pd.Index(order, dtype="int64"))
    position = ranked.groupby(ranked, sort=False).cumcount()
    keep = (position < ranked.map(alloc)).to_numpy()
    chosen = order[keep]
    design = SampleDesign(len(ids), seed, strata, {str(k): int(v) for k, v in sizes.items()},
                          stratum.reindex(pd.Index(chosen, dtype="int64")),
                          note=_size_note(len(chosen), len(ids)) + f", stratified by {strata}")
    allocation = pd.DataFrame({"stratum": pd.array(sizes.index.astype(str), dtype="str"),
                               "population": pd.array(sizes.to_numpy(), dtype="Int64"),
                               "sample": pd.array(alloc.reindex(sizes.index).to_numpy(),
                                                  dtype="Int64")})
    return Sample(chosen.tolist(), design, invalid, allocation)


def _size_note(n: int, population: int) -> str:
    share = n / population
    return (f"a random sample of {n:,} of {population:,} customers "
            f"({share:.{1 if share >= 0.01 else 2}%})")


def sample_cohort(cohort: Any, sample: Sample) -> Any:
    """The customers of ``sample`` taken from a ``Cohort`` already holding them (say, the
    whole population), as a ``Cohort`` that carries the sample's design. (Typed ``Any``:
    ``capnb.fetch.cohort`` imports this module for its ``design``.)"""
    if not isinstance(sample, Sample):
        raise ValidationError("sample", f"must be a Sample from draw_sample, got "
                              f"{type(sample).__name__}")
    held = set(cohort.customers["customer_id"].dropna().astype("int64").tolist())
    missing = [c for c in sample.ids if c not in held]
    if missing:
        raise ValidationError("sample", f"{len(missing):,} sampled customers are not in the "
                              f"cohort (first: {missing[0]})")
    part = cohort.subset(sample.ids)
    part.design = sample.design
    return part


def required_size(share: float, half_width: float, population: int) -> int:
    """Customers a simple random sample needs for a share near ``share`` to be known within
    ``half_width`` (95%, normal approximation with the finite-population correction).

    >>> required_size(0.5, 0.01, 10**9)
    9604
    """
    n0 = (1.959963984540054 / half_width) ** 2 * share * (1 - share)
    return int(math.ceil(n0 / (1 + (n0 - 1) / population)))
