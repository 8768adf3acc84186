"""Pure analysis of a cohort's action summaries: counts, points, timelines, recency.

Every function takes a :class:`~capnb.fetch.cohort.Cohort`, does no I/O, rounds nothing, and returns
a DataFrame with the columns and dtypes its docstring lists, in a deterministic order, also for
an empty cohort. The denominator of every share is the cohort's *fetched* customers (status
``ok`` or ``no_benefits``); ``not_found``, ``failed`` and ``invalid`` customers are left out.

What the action summary can tell
--------------------------------
Per customer it holds, since 2025-06-12 only: incentive counts per (activity, action, action id),
points totals and issuance counts per category, currency totals and counts, each with the time
of the *last* issuance. There are no single events, so:

- timelines and recency place each customer at their **last** issuance, not every event
  (``timeline(..., source="issuals")`` counts every issual where promotionData's timelines
  list them: :mod:`capnb.analysis.issuals`);
- restriction usage can only be partly derived: see :mod:`capnb.analysis.limits` for utilisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.issuals import issual_timeline
from capnb.analysis.population import Scale, interval_columns, scale_of, with_intervals
from capnb.analysis.summary import (
    COUNT_COLUMNS,
    check_cohort,
    fetched_benefits,
    fetched_ids,
    micros,
    micros_of,
)
from capnb.errors import ValidationError
from capnb.schema import UTC_TIMESTAMP, typed_frame
from capnb.validation import check_as_of, check_tz

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.fetch.exact_usage import ExactUsage

__all__ = [
    "issuance_counts",
    "points_summary",
    "recency",
    "timeline",
]

_GROUPS = {"incentives": ("action", "activity_id", "action_id"), "points": ("points_category",),
           "alternate_currencies": ("currency_name",)}
_FREQS = {"h": "h", "D": "D", "W": "W-SUN", "M": "M"}


# -- public: counts, points, time ---------------------------------------------------------------

def _check_by(by: Any) -> tuple[str, tuple[str, ...]]:
    columns = (by,) if isinstance(by, str) else by
    if not isinstance(columns, Sequence) or not columns or not all(
            isinstance(c, str) for c in columns):
        raise ValidationError("by", f"must be a column name or a sequence of them, got {by!r}")
    for frame, allowed in _GROUPS.items():
        if set(columns) <= set(allowed) and len(set(columns)) == len(columns):
            return frame, tuple(columns)
    valid = ", ".join(f"{f}: {'/'.join(a)}" for f, a in _GROUPS.items())
    raise ValidationError("by", f"cannot group by {list(columns)!r}; pick distinct columns of one "
                          f"benefit kind ({valid})")


def issuance_counts(cohort: Cohort, by: str | Sequence[str] = ("action",)) -> pd.DataFrame:
    """Customers reached and issuances per group.

    Parameters
    ----------
    cohort : Cohort
    by : str or sequence of str
        Columns of one benefit kind: any of ``action, activity_id, action_id`` (incentives),
        ``points_category`` (points) or ``currency_name`` (alternate currencies).

    Returns
    -------
    DataFrame
        The ``by`` columns (str; a missing value is its own group), ``customers`` (Int64,
        customers with a count > 0 in the group), ``issued`` (Int64, sum of ``issued_count`` or
        ``times_issued``), ``share_of_cohort`` (float64, customers / fetched customers; NaN when
        none was fetched), ``cohort_customers`` (Int64, that denominator), sorted by the ``by``
        columns (missing last). For a cohort fetched from a random sample, ``customers``,
        ``issued`` and ``share_of_cohort`` are the population's, with ``_low`` and ``_high``
        95% interval columns (:mod:`capnb.analysis.population`), and ``cohort_customers`` is
        the population's size.
    """
    check_cohort(cohort)
    name, columns = _check_by(by)
    ids = fetched_ids(cohort)
    frame = fetched_benefits(cohort, name, ids)
    frame = frame[frame[COUNT_COLUMNS[name]].fillna(0) > 0]
    grouped = frame.groupby(list(columns), dropna=False, sort=True)
    out = grouped.agg(customers=("customer_id", "nunique"),
                      issued=(COUNT_COLUMNS[name], "sum")).reset_index()
    out["share_of_cohort"] = out["customers"] / len(ids) if len(ids) else np.nan
    out["cohort_customers"] = len(ids)
    dtypes = {**{c: "str" for c in columns}, "customers": "Int64", "issued": "Int64",
              "share_of_cohort": "float64", "cohort_customers": "Int64"}
    scale = scale_of(cohort)
    if scale is not None:  # a random sample: the population's figures, with intervals
        records = []
        for _, part in grouped:
            issued = scale.values(part["customer_id"], part[COUNT_COLUMNS[name]])
            records.append(with_intervals({
                "customers": scale.customers(issued > 0), "issued": scale.total(issued),
                "share_of_cohort": scale.share(issued > 0)}, counts=("customers", "issued")))
        estimates = pd.DataFrame.from_records(records, index=out.index)
        out[list(estimates.columns)] = estimates
        out["cohort_customers"] = scale.size
        dtypes.update(interval_columns(("customers", "issued", "share_of_cohort")))
    return typed_frame(out, dtypes)


POINTS_SUMMARY_COLUMNS: dict[str, str] = {
    "kind": "str", "name": "str", "customers": "Int64", "share_of_cohort": "float64",
    "issuances": "Int64", "total": "float64", "mean_per_cohort_customer": "float64",
    "mean_per_customer": "float64", "median_per_customer": "float64",
    "p90_per_customer": "float64", "max_per_customer": "float64",
    "last_issued_on": UTC_TIMESTAMP,
}


def points_summary(cohort: Cohort) -> pd.DataFrame:
    """Points per category and alternate currencies per currency: totals and per-customer spread.

    Returns
    -------
    DataFrame
        ``kind`` (str: ``points`` or ``currency``), ``name`` (str, category or currency),
        ``customers`` (Int64, customers issued any), ``share_of_cohort`` (float64),
        ``issuances`` (Int64, sum of ``times_issued``), ``total`` (float64),
        ``mean_per_cohort_customer`` (float64, total / fetched customers),
        ``mean_per_customer, median_per_customer, p90_per_customer, max_per_customer`` (float64,
        over the customers issued any; linear interpolation), ``last_issued_on``
        (datetime64[us, UTC], latest issuance), sorted by kind (points first) then name.
        For a cohort fetched from a random sample, the columns from ``customers`` to
        ``p90_per_customer`` are the population's, with ``_low`` and ``_high`` 95% interval
        columns (:mod:`capnb.analysis.population`); ``max_per_customer`` and
        ``last_issued_on`` are the sampled customers'.
    """
    check_cohort(cohort)
    ids = fetched_ids(cohort)
    scale = scale_of(cohort)
    parts = []
    for kind, frame_name, key, amount in (("points", "points", "points_category",
                                           "total_points"),
                                          ("currency", "alternate_currencies", "currency_name",
                                           "total_issued")):
        frame = fetched_benefits(cohort, frame_name, ids)
        frame = frame[(frame[amount].fillna(0) != 0) | (frame["times_issued"].fillna(0) > 0)]
        per = frame.groupby([key, "customer_id"], dropna=False).agg(
            total=(amount, "sum"), times=("times_issued", "sum"), last=("last_issued_on", "max"))
        grouped = per.groupby(level=0, dropna=False)
        out = pd.DataFrame({
            "customers": grouped.size(), "issuances": grouped["times"].sum(),
            "total": grouped["total"].sum(), "mean_per_customer": grouped["total"].mean(),
            "median_per_customer": grouped["total"].median(),
            "p90_per_customer": grouped["total"].quantile(0.9),
            "max_per_customer": grouped["total"].max(), "last_issued_on": grouped["last"].max(),
        }).rename_axis("name").reset_index()
        out.insert(0, "kind", kind)
        if scale is not None:  # the population's figures replace the sample's
            estimates = _points_estimates(scale, per, out.index)
            out[list(estimates.columns)] = estimates
        parts.append(out)
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    dtypes = POINTS_SUMMARY_COLUMNS
    if scale is None:
        denominator = len(ids) if len(ids) else np.nan
        out["share_of_cohort"] = out["customers"] / denominator
        out["mean_per_cohort_customer"] = out["total"] / denominator
    else:
        dtypes = {**dtypes, **interval_columns(_POINTS_ESTIMATES)}
    return typed_frame(out.reindex(columns=list(dtypes)), dtypes)


_POINTS_ESTIMATES = ("customers", "share_of_cohort", "issuances", "total",
                     "mean_per_cohort_customer", "mean_per_customer", "median_per_customer",
                     "p90_per_customer")


def _points_estimates(scale: Scale, per: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per group of ``per`` (rows per group and customer), the population's figures of
    :func:`points_summary` with their intervals."""
    records = []
    for _, part in per.groupby(level=0, dropna=False):
        customers = part.index.get_level_values("customer_id")
        total, times = scale.values(customers, part["total"]), scale.values(customers,
                                                                          part["times"])
        issued = scale.values(customers) > 0
        domain = scale.domain(issued)
        amounts = total[issued]
        figures = {"customers": scale.customers(issued), "share_of_cohort": scale.share(issued),
                   "issuances": scale.total(times), "total": scale.total(total),
                   "mean_per_customer": domain.total(amounts).scaled(1 / max(domain.size, 1)),
                   "median_per_customer": domain.quantile(amounts, 0.5),
                   "p90_per_customer": domain.quantile(amounts, 0.9)}
        figures["mean_per_cohort_customer"] = figures["total"].scaled(1 / scale.size)
        records.append(with_intervals(figures, counts=("customers", "issuances")))
    return pd.DataFrame.from_records(records, index=index)


TIMELINE_KINDS = {"incentives": ("incentives", "action"),
                  "points": ("points", "points_category"),
                  "currency": ("alternate_currencies", "currency_name")}
"""``kind`` of :func:`timeline` -> (benefit frame, column naming the benefit), in output order."""


def _latest(cohort: Cohort, ids: np.ndarray, by: str | None) -> pd.DataFrame:
    """Latest issuance per customer (and benefit): columns customer_id, kind, benefit, last.

    ``by`` is ``"benefit"`` (every kind, each by its :data:`TIMELINE_KINDS` column), a column of
    one kind (only that kind) or None (the latest of any benefit: kind and benefit ``"any"``).
    """
    if by is None:
        frames = [fetched_benefits(cohort, name, ids)[["customer_id", "last_issued_on"]]
                  for name in COUNT_COLUMNS]
        frame = pd.concat(frames, ignore_index=True)
        out = frame.groupby("customer_id")["last_issued_on"].max().rename("last").reset_index()
        return out.assign(kind="any", benefit="any")
    if by == "benefit":
        parts = list(TIMELINE_KINDS.items())
    else:
        name = next(f for f, cols in _GROUPS.items() if by in cols)
        parts = [(k, (name, by)) for k, (f, _) in TIMELINE_KINDS.items() if f == name]
    frames = []
    for kind, (name, column) in parts:
        frame = fetched_benefits(cohort, name, ids)[["customer_id", column, "last_issued_on"]]
        frame = frame.groupby(["customer_id", column], dropna=False)["last_issued_on"].max()
        frames.append(frame.rename("last").rename_axis(["customer_id", "benefit"])
                      .reset_index().assign(kind=kind))
    return pd.concat(frames, ignore_index=True)


TIMELINE_COLUMNS = ("period", "kind", "benefit", "customers_last_issued",
                    "cumulative_customers", "cumulative_share")


def timeline(cohort: Cohort, freq: str = "D", tz: str = "UTC",
             by: str | None = "benefit", *, source: str = "summary",
             exact: ExactUsage | None = None) -> pd.DataFrame:
    """Customers whose **last** issuance falls in each period (not every event), cumulated;
    or, with ``source="issuals"``, every issual per period.

    The summary keeps only the latest issuance per customer and benefit, so a customer appears
    once per benefit, in the period of their last issuance of it. With ``source="issuals"``
    the series is exact: every issual promotionData's ``customerPromotionTimelines`` list for
    the cohort's promotion and fetched customers (``exact``), as
    :func:`capnb.analysis.issuals.issual_timeline` returns it (``by`` does not apply).

    Parameters
    ----------
    cohort : Cohort
    freq : {"h", "D", "W", "M"}
        Hour, day, week (Monday to Sunday) or calendar month, in ``tz``.
    tz : str
        IANA timezone the periods are cut in.
    by : str or None
        ``"benefit"`` (default): every kind of benefit, incentives by action, points by points
        category, alternate currencies by currency name; or one column of one kind (``action,
        activity_id, action_id, points_category, currency_name``): only that kind; None: the
        latest issuance of any benefit.
    source : {"summary", "issuals"}
        ``"summary"`` (default): last issuances from the action summaries; ``"issuals"``:
        every issual from ``exact``.
    exact : ExactUsage, optional
        Required with ``source="issuals"`` (:func:`capnb.fetch_exact_usage`).

    Returns
    -------
    DataFrame
        With ``source="issuals"``: the columns of
        :func:`~capnb.analysis.issuals.issual_timeline`. Otherwise:
        ``period`` (datetime64[us, tz], period start; NaT for customers whose last issuance
        time is missing), ``kind`` (str: ``incentives``, ``points``, ``currency``, or ``any``
        when ``by`` is None), ``benefit`` (str: the action, category, currency, ... the group
        is of; ``any`` when ``by`` is None), ``customers_last_issued`` (Int64),
        ``cumulative_customers`` (Int64, NA on the NaT row), ``cumulative_share`` (float64, of
        the fetched customers), with every period from the first to the last dated issuance
        for every group (zeros included), sorted by kind (incentives, points, currency), benefit
        (missing last), then period (NaT last).
        For a cohort fetched from a random sample, the three counts are the population's,
        with ``_low`` and ``_high`` 95% interval columns (the NaT row: its count only).
    """
    check_cohort(cohort)
    if source not in ("summary", "issuals"):
        raise ValidationError("source", f"must be 'summary' or 'issuals', got {source!r}")
    if source == "issuals":
        if exact is None:
            raise ValidationError("exact", "source='issuals' needs the promotionData of the "
                                  "cohort: exact=capnb.fetch_exact_usage(client, cohort, "
                                  "program_id, promotion_id)")
        return issual_timeline(exact, getattr(cohort, "promotion_id", None), freq=freq, tz=tz,
                               customer_ids=fetched_ids(cohort))
    if not isinstance(freq, str) or freq not in _FREQS:
        raise ValidationError("freq", f"must be one of {', '.join(_FREQS)}, got {freq!r}")
    zone = check_tz(tz)
    if by is not None and by != "benefit" and not any(
            isinstance(by, str) and by in c for c in _GROUPS.values()):
        raise ValidationError("by", f"must be None, 'benefit' or one of "
                              f"{', '.join(c for cols in _GROUPS.values() for c in cols)}, "
                              f"got {by!r}")
    ids = fetched_ids(cohort)
    latest = _latest(cohort, ids, by)
    latest["kind"] = pd.Categorical(latest["kind"], categories=[*TIMELINE_KINDS, "any"])
    keys = ["kind", "benefit"]
    dtype = f"datetime64[us, {tz}]"
    local = latest["last"].dt.tz_convert(zone).dt.tz_localize(None)
    period = local.dt.to_period(_FREQS[freq]).dt.start_time
    latest["period"] = period.dt.tz_localize(zone, ambiguous=np.ones(len(period), dtype=bool),
                                             nonexistent="shift_forward").astype(dtype)
    counts = latest.groupby([*keys, "period"], dropna=False, observed=True).size()
    counts = counts.rename("n").reset_index()
    dated = counts[counts["period"].notna()]
    if len(dated):
        first, last = local.min().to_period(_FREQS[freq]), local.max().to_period(_FREQS[freq])
        starts = pd.period_range(first, last, freq=_FREQS[freq]).start_time
        periods = pd.DatetimeIndex(starts).tz_localize(zone, ambiguous=np.ones(len(starts), bool),
                                                       nonexistent="shift_forward")
        groups = counts[keys].drop_duplicates()
        grid = groups.merge(pd.DataFrame({"period": periods.astype(dtype)}), how="cross")
        full = grid.merge(dated, on=[*keys, "period"], how="left")
        full["n"] = full["n"].fillna(0).astype("int64")
    else:
        full = dated
    full = full.sort_values([*keys, "period"], kind="stable", na_position="last")
    full["cumulative_customers"] = full.groupby(keys, dropna=False, observed=True)["n"].cumsum()
    undated = counts[counts["period"].isna()].assign(cumulative_customers=pd.NA)
    out = pd.concat([full, undated] if len(undated) else [full], ignore_index=True)
    out["kind"] = pd.Categorical(out["kind"], categories=[*TIMELINE_KINDS, "any"])
    out = out.sort_values([*keys, "period"], kind="stable", na_position="last")
    cumulative = pd.array(out["cumulative_customers"].tolist(), dtype="Float64")
    out["cumulative_share"] = (cumulative.to_numpy(dtype="float64", na_value=np.nan) / len(ids)
                               if len(ids) else np.nan)
    out = out.rename(columns={"n": "customers_last_issued"})
    out["kind"] = out["kind"].astype("object")
    dtypes = {"period": dtype, "kind": "str", "benefit": "str", "customers_last_issued": "Int64",
              "cumulative_customers": "Int64", "cumulative_share": "float64"}
    out = out.reset_index(drop=True)
    scale = scale_of(cohort)
    if scale is not None:
        out = _timeline_estimates(scale, latest, out)
        dtypes.update(interval_columns(_TIMELINE_ESTIMATES))
    return typed_frame(out, dtypes)


_TIMELINE_ESTIMATES = ("customers_last_issued", "cumulative_customers", "cumulative_share")


def _timeline_estimates(scale: Scale, latest: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """:func:`timeline`'s counts as the population's, with intervals."""
    def key(kind: Any, benefit: Any) -> tuple[str, Any]:
        return str(kind), None if pd.isna(benefit) else str(benefit)

    groups = {key(*name): part for name, part in latest.groupby(
        ["kind", "benefit"], dropna=False, observed=True)}
    records = []
    for row in out.itertuples(index=False):
        part = groups[key(row.kind, row.benefit)]
        period = part["period"]
        if pd.isna(row.period):
            this, upto = period.isna(), None
        else:
            this, upto = period.eq(row.period), period.le(row.period)
        flags = scale.values(part.loc[this.to_numpy(bool), "customer_id"]) > 0
        figures = {"customers_last_issued": scale.customers(flags)}
        if upto is not None:
            so_far = scale.values(part.loc[upto.to_numpy(bool), "customer_id"]) > 0
            figures.update(cumulative_customers=scale.customers(so_far),
                           cumulative_share=scale.share(so_far))
        records.append(with_intervals(figures, counts=_TIMELINE_ESTIMATES[:2]))
    estimates = pd.DataFrame.from_records(records, index=out.index,
                                          columns=[*_TIMELINE_ESTIMATES,
                                                   *interval_columns(_TIMELINE_ESTIMATES)])
    out[list(estimates.columns)] = estimates
    return out


RECENCY_BUCKETS = (
    ("today", "last issuance under 1 day before as_of", 0, 1),
    ("1_7d", "last issuance 1 to 7 days before", 1, 7),
    ("7_30d", "last issuance 7 to 30 days before", 7, 30),
    ("30_90d", "last issuance 30 to 90 days before", 30, 90),
    ("older", "last issuance 90 days or more before", 90, None),
    ("after_as_of", "last issuance after as_of", None, 0),
    ("no_date", "issued, last issuance time missing", None, None),
    ("no_issuance", "nothing issued", None, None),
)
"""(bucket, label, from days, to days) of :func:`recency`, in output order."""


def recency(cohort: Cohort, as_of: Any = None) -> pd.DataFrame:
    """Fetched customers by the age of their **last** issuance of any benefit at ``as_of``.

    Parameters
    ----------
    cohort : Cohort
    as_of : timestamp-like, optional
        Reference time (naive = UTC). Default: now.

    Returns
    -------
    DataFrame
        Eight rows, always in :data:`RECENCY_BUCKETS` order: ``bucket`` (str: today, 1_7d,
        7_30d, 30_90d, older, after_as_of, no_date, no_issuance), ``label`` (str),
        ``customers`` (Int64), ``share_of_cohort`` (float64, of the fetched customers; the
        shares add up to 1), ``as_of`` (datetime64[us, UTC]). Intervals are [from, to) days.
        For a cohort fetched from a random sample, ``customers`` and ``share_of_cohort`` are
        the population's, with ``_low`` and ``_high`` 95% interval columns.
    """
    check_cohort(cohort)
    stamp = check_as_of(as_of)
    ids = fetched_ids(cohort)
    latest = _latest(cohort, ids, None)
    last, undated = micros(latest["last"])
    age = (micros_of(stamp) - last) / 86_400e6
    positions = np.searchsorted(ids, latest["customer_id"].to_numpy(dtype="int64"))
    members = []  # per bucket, a flag per fetched customer
    for bucket, _, low, high in RECENCY_BUCKETS:
        if bucket == "no_issuance":
            flags = np.ones(len(ids), dtype=bool)
            flags[positions] = False
            members.append(flags)
            continue
        if bucket == "no_date":
            mask = undated
        else:
            mask = ~undated & (age >= (low if low is not None else -np.inf))
            mask &= age < (high if high is not None else np.inf)
        flags = np.zeros(len(ids), dtype=bool)
        flags[positions[mask]] = True
        members.append(flags)
    counts = [int(flags.sum()) for flags in members]
    frame = pd.DataFrame({"bucket": [b[0] for b in RECENCY_BUCKETS],
                          "label": [b[1] for b in RECENCY_BUCKETS], "customers": counts})
    frame["share_of_cohort"] = frame["customers"] / len(ids) if len(ids) else np.nan
    frame["as_of"] = stamp
    dtypes = {"bucket": "str", "label": "str", "customers": "Int64",
              "share_of_cohort": "float64", "as_of": UTC_TIMESTAMP}
    scale = scale_of(cohort)
    if scale is not None:  # the population's counts, with intervals
        records = [with_intervals({"customers": scale.customers(flags),
                                   "share_of_cohort": scale.share(flags)},
                                  counts=("customers",)) for flags in members]
        estimates = pd.DataFrame.from_records(records)
        frame[list(estimates.columns)] = estimates
        dtypes.update(interval_columns(("customers", "share_of_cohort")))
    return typed_frame(frame, dtypes)
