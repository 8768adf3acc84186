"""Limit utilisation: how much of each restriction of a promotion a cohort has used.

:func:`utilisation` summarises each restriction (derived from the action summaries, or exact from
``promotionData`` with ``usage="exact"``), :func:`customer_utilisation` gives it per customer,
:func:`exact_utilisation` summarises ``promotionData`` item by item and :func:`derived_vs_exact`
puts derived and exact side by side. Everything here is pure: no I/O.

What the action summary can tell
--------------------------------
Per customer it holds, since 2025-06-12 only: incentive counts per (activity, action, action id),
points totals and issuance counts per category, currency totals and counts, each with the time
of the *last* issuance. There are no single events, so restriction usage is measured as in this
table (``utilisation`` and ``customer_utilisation``):

======================================  =========  =============================  ===============
restriction name                        scope      metric from the summary        measurability
======================================  =========  =============================  ===============
MAX_ALLOWED_POINTS_PER_CUSTOMER [L]     customer   sum of total_points            exact [1]
MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER      customer   sum of incentive issued_count  exact [1]
MAX_NUMBER_OF_EARNS_PER_CUSTOMER        customer   sum of points times_issued     exact [1] [2]
MAX_ALLOWED_TIMES_PER_CUSTOMER [L]      customer   largest of three counts [3]    lower_bound
MAX_ALLOWED_POINTS_PER_EVENT [L]        event      largest category average [4]   proxy
MAX_POINTS_PER_EARN_PER_CUSTOMER        event      largest category average [4]   proxy
MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER   earn       none: no redemptions           not_measurable
MAX_ALLOWED_POINTS_PER_PROMOTION [L]    promotion  cohort sum of total_points     lower_bound [5]
MAX_NUMBER_OF_EARNS_PER_PROMOTION [E]   promotion  cohort sum of times_issued     lower_bound [5]
MAX_ALLOWED_TIMES_PER_PROMOTION         promotion  cohort sum of [3]              lower_bound
any of these, type PERIOD_BASED         as above   same, in the window [6]        lower_bound
ISSUAL_/EARN_PROMOTION_EXPIRY_BASED_ON  expiry     none: not a usage cap          not_measurable
any other name                          guessed    none                           not_measurable
======================================  =========  =============================  ===============

[L] also the legacy ``limits`` field that mirrors it: ``pointsPerCustomer``,
``numberOfTimesPerCustomer``, ``totalPointsPerEventLimit``, ``totalPointsInPromotion``.
[E] or ``MAX_NUMBER_OF_EARN_PER_PROMOTION``, the interface definitions' spelling.
[1] ``lower_bound`` when the promotion started before 2025-06-12 (or its start is unknown), or
the cohort was fetched for one activity only: benefits outside the summary are missing.
[2] assumes an earn issues points in one category. [3] an event may issue points, a currency
and an incentive at once, so the number of events is at least the largest of the points, currency
and incentive counts (exact per customer when only one kind was issued). [4] the summary has no
per-event amounts; ``total_points / times_issued`` per category never exceeds the largest single
event, so an average above the cap proves a breach. [5] ``exact`` with ``whole_population=True``
when [1] does not apply and no customer failed. [6] ``MOVING_WINDOW`` ``DAILY``/``WEEKLY``/
``MONTHLY`` = the trailing 1/7/30 days ``(as_of - W, as_of]``. A benefit whose last issuance lies
before the window contributes exactly 0; one whose last issuance lies inside contributes its full
amount when issued once, else at least one event (and at least 0 points); a missing or later
(than ``as_of``) last issuance contributes at least 0. Whether a cap was hit in an earlier window
cannot be seen. Per customer the value is ``exact`` when every contribution is known.
Unlimited (``-1``) restrictions are measured but have no share. Legacy ``limits`` rows are kept
(they often mirror a restriction) and measured as the restriction they mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.benefits import (
    _COUNT,
    DATA_START,
    _benefits,
    _check_cohort,
    _fetched_ids,
    _micros,
    _us,
)
from capnb.errors import ValidationError
from capnb.fetch.exact_usage import ExactUsage
from capnb.schema import UTC_TIMESTAMP, typed_frame
from capnb.validation import check_as_of, check_bool, check_id

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = [
    "CUSTOMER_UTILISATION_COLUMNS",
    "DERIVED_VS_EXACT_COLUMNS",
    "EXACT_UTILISATION_COLUMNS",
    "NEAR_CAP",
    "UTILISATION_COLUMNS",
    "customer_utilisation",
    "derived_vs_exact",
    "exact_utilisation",
    "restriction_metrics",
    "utilisation",
]

NEAR_CAP = 0.8
"""Share of a limit from which a customer counts as near the cap."""

LEGACY_TWINS = {
    "pointsPerCustomer": "MAX_ALLOWED_POINTS_PER_CUSTOMER",
    "numberOfTimesPerCustomer": "MAX_ALLOWED_TIMES_PER_CUSTOMER",
    "numberOFTimesPerCustomer": "MAX_ALLOWED_TIMES_PER_CUSTOMER",  # promotionData's spelling
    "totalPointsInPromotion": "MAX_ALLOWED_POINTS_PER_PROMOTION",
    "totalPointsPerEventLimit": "MAX_ALLOWED_POINTS_PER_EVENT",
}
_WINDOWS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 30}
_NO_REDEMPTIONS = ("the summary reports benefits issued, never redemptions (the promotionData "
                   "endpoint reports this usage)")


@dataclass(frozen=True)
class _Metric:
    scope: str
    quantity: str | None  # points, earns, issuals, events, per_event; None = not measurable
    reason: str = ""


_METRICS: dict[str, _Metric] = {
    "MAX_ALLOWED_POINTS_PER_CUSTOMER": _Metric("customer", "points"),
    "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER": _Metric("customer", "issuals"),
    "MAX_NUMBER_OF_EARNS_PER_CUSTOMER": _Metric("customer", "earns"),
    "MAX_ALLOWED_TIMES_PER_CUSTOMER": _Metric("customer", "events"),
    "MAX_ALLOWED_POINTS_PER_EVENT": _Metric("event", "per_event"),
    "MAX_POINTS_PER_EARN_PER_CUSTOMER": _Metric("event", "per_event"),
    "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER": _Metric("earn", None, _NO_REDEMPTIONS),
    "MAX_ALLOWED_POINTS_PER_PROMOTION": _Metric("promotion", "points"),
    "MAX_NUMBER_OF_EARNS_PER_PROMOTION": _Metric("promotion", "earns"),
    "MAX_NUMBER_OF_EARN_PER_PROMOTION": _Metric("promotion", "earns"),
    "MAX_ALLOWED_TIMES_PER_PROMOTION": _Metric("promotion", "events"),
    "ISSUAL_PROMOTION_EXPIRY_BASED_ON": _Metric("expiry", None, "an expiry rule, not a usage cap"),
    "EARN_PROMOTION_EXPIRY_BASED_ON": _Metric("expiry", None, "an expiry rule, not a usage cap"),
}
_METRIC_TEXT = {
    "points": ("points issued (sum of total_points)", "points"),
    "issuals": ("incentives issued (sum of issued_count)", "count"),
    "earns": ("points issuances (sum of times_issued)", "count"),
    "events": ("events: at least the largest of points issuances, currency issuances and "
               "incentives issued", "count"),
    "per_event": ("largest average points per issuance of a category "
                  "(total_points / times_issued)", "points"),
}


def _check_promotion(promotion: Any, cohort: Any) -> None:
    if not isinstance(getattr(promotion, "restrictions", None), pd.DataFrame):
        raise ValidationError("promotion", "must be a capnb.Promotion, got "
                              f"{type(promotion).__name__}")
    _check_cohort(cohort)
    ids = (getattr(promotion, "id", None), getattr(cohort, "promotion_id", None))
    if None not in ids and ids[0] != ids[1]:
        raise ValidationError("promotion", f"is promotion {ids[0]} but the cohort was fetched "
                              f"for promotion {ids[1]}")


@dataclass
class _Rows:
    """One benefit family as arrays: customer position, count, amount, last issuance."""

    pos: np.ndarray
    count: np.ndarray
    amount: np.ndarray
    last: np.ndarray
    undated: np.ndarray


def _rows(cohort: Cohort, name: str, ids: np.ndarray) -> _Rows:
    frame = _benefits(cohort, name, ids)
    amount_col = {"points": "total_points", "alternate_currencies": "total_issued"}.get(name)
    count = frame[_COUNT[name]].astype("float64").fillna(0.0).to_numpy()
    amount = (frame[amount_col].astype("float64").fillna(0.0).to_numpy() if amount_col
              else count)
    last, undated = _micros(frame["last_issued_on"])
    pos = np.searchsorted(ids, frame["customer_id"].to_numpy(dtype="int64"))
    return _Rows(pos, count, amount, last, undated)


def _lifetime(quantity: str, fam: dict[str, _Rows], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(usage, exact-per-customer) of a lifetime quantity, before completeness is considered."""
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


def _windowed(quantity: str, fam: dict[str, _Rows], n: int, start: int, end: int,
              ) -> tuple[np.ndarray, np.ndarray]:
    """(lower bound, exact-per-customer) of a quantity inside the window (start, end] (µs)."""
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


# -- restriction evaluation ----------------------------------------------------------------------

@dataclass
class _Evaluated:
    family: str
    name: str
    canonical: str
    scope: str
    type: Any
    period_unit: Any
    window_start: pd.Timestamp
    limit: Any
    unlimited: bool
    metric: Any
    unit: Any
    measurability: str
    note: str
    usage: np.ndarray | None = None  # per fetched customer
    exact: np.ndarray | None = None
    label: str = ""
    usage_source: str | None = "summary"


def _scope_of(name: str) -> str:
    for token, scope in (("EXPIRY", "expiry"), ("REDEMPTIONS_PER_EARN", "earn"),
                         ("PER_PROMOTION", "promotion"), ("PER_EVENT", "event"),
                         ("PER_EARN", "event"), ("PER_CUSTOMER", "customer")):
        if token in name.upper():
            return scope
    return "unknown"


def _evaluate(promotion: Promotion, cohort: Cohort, as_of: pd.Timestamp,
              whole_population: bool) -> tuple[list[_Evaluated], np.ndarray]:
    ids = _fetched_ids(cohort)
    n = len(ids)
    fam = {name: _rows(cohort, name, ids) for name in _COUNT}
    start = promotion.start
    gaps = []
    if start is None or pd.isna(start):
        gaps.append("the promotion's start date is unknown, so benefits before 2025-06-12 "
                    "may be missing from the summary")
    elif start < DATA_START:
        gaps.append(f"the promotion started on {start:%Y-%m-%d}, before 2025-06-12: earlier "
                    "benefits are not in the summary")
    activity_gap = []
    if getattr(cohort, "activity_id", None):
        activity_gap.append(f"the cohort holds activity {cohort.activity_id!r} only: other "
                            "activities' benefits are missing")
    failed = int(cohort.customers["status"].eq("failed").sum())
    out = []
    for row in promotion.restrictions.itertuples(index=False):
        name, family = str(row.name), str(row.family)
        canonical = LEGACY_TWINS.get(name, name) if family == "limits" else name
        spec = _METRICS.get(canonical, _Metric(_scope_of(canonical), None,
                                               "capnb does not know which quantity this "
                                               "restriction name limits"))
        value = None if pd.isna(row.value) else int(row.value)
        unlimited = bool(row.unlimited) if not pd.isna(row.unlimited) else value == -1
        kind = None if pd.isna(row.type) else str(row.type)
        unit = None if pd.isna(row.period_unit) else str(row.period_unit)
        period_based = kind == "PERIOD_BASED"
        notes = []
        if canonical != name:
            notes.append(f"Legacy limits field {name}, measured as {canonical}.")
        item = _Evaluated(family, name, canonical, spec.scope, kind,
                          unit if period_based else None, pd.NaT,
                          None if spec.scope == "expiry" else value, unlimited, None, None,
                          "not_measurable", "")
        if spec.quantity is None:
            if spec.scope == "expiry":
                days = f"{value} days from issual" if kind == "CUSTOM" else "the promotion's end"
                notes.append(f"Expiry rule ({kind or 'type unknown'}: {days}), not a usage "
                             "cap: not measurable.")
            else:
                notes.append(f"Not measurable: {spec.reason}.")
            item.note = " ".join(notes)
            out.append(item)
            continue
        item.metric, item.unit = _METRIC_TEXT[spec.quantity]
        quantity = spec.quantity
        lost = gaps + activity_gap
        if period_based and quantity != "per_event":
            window = _WINDOWS.get(unit or "")
            ptype = None if pd.isna(row.period_type) else str(row.period_type)
            if window is None or ptype not in (None, "MOVING_WINDOW"):
                notes.append(f"Not measurable: PERIOD_BASED with period {ptype}/{unit}, a "
                             "window capnb cannot place.")
                item.metric = item.unit = None
                item.note = " ".join(notes)
                out.append(item)
                continue
            begin = as_of - pd.Timedelta(days=window)
            item.window_start = begin
            item.metric = f"{item.metric} in the trailing {window} day(s) to as_of"
            usage, exact = _windowed(quantity, fam, n, _us(begin), _us(as_of))
            lost = activity_gap + ([] if begin >= DATA_START else gaps)
            item.measurability = "lower_bound"
            notes.append(
                f"PERIOD_BASED ({unit}: trailing {window} day(s) before each event). The "
                "summary holds lifetime totals and the last issuance only, so usage in "
                f"({begin:%Y-%m-%d %H:%M}, {as_of:%Y-%m-%d %H:%M} UTC] is a lower bound: a "
                "benefit last issued in the window counts its full amount if issued once, "
                "else at least one event; one last issued earlier counts 0. Caps hit in "
                "earlier windows cannot be seen.")
        elif quantity == "per_event":
            usage, exact = _lifetime(quantity, fam, n)
            exact = np.zeros(n, dtype=bool)
            item.measurability = "proxy"
            notes.append("Proxy: the summary has no per-event amounts; the largest average "
                         "points per issuance of a category never exceeds the largest single "
                         "event, so an average over the cap proves a breach (customers_over_cap)"
                         " while customers under it may still have larger single events.")
            if period_based:
                notes.append("The period settings of a per-event cap are ignored.")
        else:
            usage, exact = _lifetime(quantity, fam, n)
            if quantity == "events":
                item.measurability = "lower_bound"
                notes.append("Lower bound: the summary has no event count and an event may "
                             "issue points, a currency and an incentive at once (exact for "
                             "customers with only one kind of benefit).")
            elif spec.scope == "promotion" and not whole_population:
                item.measurability = "lower_bound"
                notes.append("Lower bound: the cohort's total; customers outside the cohort "
                             "also count (pass whole_population=True if the cohort is every "
                             "customer of the promotion).")
            elif spec.scope == "promotion" and failed:
                item.measurability = "lower_bound"
                notes.append(f"Lower bound: {failed} customer(s) could not be fetched.")
            else:
                item.measurability = "exact" if not lost else "lower_bound"
                notes.append(f"Lifetime {item.metric}" + (" of the whole cohort." if
                             spec.scope == "promotion" else " per customer."))
            if quantity == "earns":
                notes.append("Assumes an earn issues points in one category.")
        if lost:
            if item.measurability == "exact":
                item.measurability = "lower_bound"
            notes.append("Lower bound: " + "; ".join(lost) + ".")
            exact = np.zeros(n, dtype=bool)
        if item.measurability == "exact":
            exact = np.ones(n, dtype=bool)
        if unlimited:
            notes.append("No limit (-1): usage shown without a share.")
        elif not value:
            notes.append(f"Limit value {value!r}: usage shown without a share.")
        item.usage, item.exact, item.note = usage, exact, " ".join(notes)
        out.append(item)
    for item in out:
        if item.usage is None:
            item.usage_source = None
    _label(out)
    return out, ids


def _label(items: list[_Evaluated]) -> None:
    """A unique label per restriction: name, (period unit), [family] or #n when still shared."""
    base = [e.name + (f" ({e.period_unit.lower()})" if e.period_unit else "") for e in items]
    labels = [b if base.count(b) == 1 else f"{b} [{e.family}]" for b, e in zip(
        base, items, strict=True)]
    for i, e in enumerate(items):
        twins = labels.count(labels[i])
        e.label = labels[i] if twins == 1 else f"{labels[i]} #{labels[:i].count(labels[i]) + 1}"


# -- public: utilisation --------------------------------------------------------------------------

UTILISATION_COLUMNS: dict[str, str] = {
    "restriction": "str", "family": "str", "name": "str", "canonical_name": "str",
    "scope": "str", "type": "str",
    "period_unit": "str", "window_start": UTC_TIMESTAMP, "limit": "Int64", "unlimited": "bool",
    "metric": "str", "unit": "str", "measurability": "str", "customers_measured": "Int64",
    "customers_with_usage": "Int64", "usage_total": "float64", "usage_median": "float64",
    "usage_p90": "float64", "usage_max": "float64", "share_of_limit": "float64",
    "share_median": "float64", "customers_at_cap": "Int64", "customers_near_cap": "Int64",
    "customers_over_cap": "Int64", "note": "str", "usage_source": "str",
}


def utilisation(promotion: Promotion, cohort: Cohort, *, as_of: Any = None,
                whole_population: bool = False, usage: str = "derived",
                exact: ExactUsage | None = None) -> pd.DataFrame:
    """How much of each restriction of ``promotion`` the cohort has used.

    See the module docstring for the restriction -> metric -> measurability table.

    Parameters
    ----------
    promotion : Promotion
    cohort : Cohort
        Fetched for the same promotion.
    as_of : timestamp-like, optional
        End of the trailing windows of PERIOD_BASED restrictions (naive = UTC). Default: now.
    whole_population : bool
        Assert the cohort is every customer of the promotion: promotion-wide totals can then
        be exact.
    usage : {"derived", "exact"}
        ``"derived"`` measures every restriction from the action summaries. ``"exact"`` takes
        the usage of each restriction ``promotionData`` reports (``exact``, from
        :func:`capnb.fetch_exact_usage`) for the cohort's customers it measured: those rows
        are marked ``exact`` (``lower_bound`` for promotion-wide caps unless
        ``whole_population``) with ``usage_source`` ``promotionData``; the others stay derived.
    exact : ExactUsage, optional
        Required with ``usage="exact"``.

    Returns
    -------
    DataFrame
        One row per row of ``promotion.restrictions``, in that order (legacy ``limits`` and
        unknown names included): ``restriction`` (str, a unique label: the name, plus the period
        unit, family or a number when needed), ``family, name`` (str, as configured),
        ``canonical_name`` (str,
        the restriction name whose meaning applies), ``scope`` (str: customer, promotion, event,
        earn, expiry or unknown), ``type`` (str), ``period_unit`` (str, PERIOD_BASED only),
        ``window_start`` (datetime64[us, UTC], start of the trailing window, exclusive),
        ``limit`` (Int64, -1 = none; NA for expiry), ``unlimited`` (bool), ``metric`` and
        ``unit`` (str: ``points`` or ``count``), ``measurability`` (str: exact, lower_bound,
        proxy, not_measurable), ``customers_measured`` (Int64, fetched customers),
        ``customers_with_usage`` (Int64, usage > 0), ``usage_total, usage_median, usage_p90,
        usage_max`` (float64, over the measured customers, zeros included; linear
        interpolation), ``share_of_limit`` (float64: usage_total / limit for promotion scope,
        usage_p90 / limit otherwise), ``share_median`` (float64, usage_median / limit, not for
        promotion scope), ``customers_at_cap`` (usage >= limit), ``customers_near_cap`` (usage
        >= 80% of the limit, at cap included), ``customers_over_cap`` (usage > limit) (Int64,
        customer and event scopes), ``note`` (str, plain English: what was measured and why it
        is exact or not), ``usage_source`` (str: ``summary`` or ``promotionData``; NA when
        not measurable). Statistics are NA when not measurable; shares and cap counts are NA
        for unlimited restrictions. For lower bounds, cap counts are "at least".
    """
    _check_promotion(promotion, cohort)
    source = _check_usage(usage, exact)
    evaluated, ids = _evaluate(promotion, cohort, check_as_of(as_of),
                               check_bool("whole_population", whole_population))
    if source == "exact":
        _apply_exact(evaluated, ids, exact, promotion, whole_population)
    records = []
    for item in evaluated:
        record = {k: getattr(item, k) for k in ("family", "name", "scope", "type",
                                                 "period_unit", "window_start", "limit",
                                                 "unlimited", "metric", "unit",
                                                 "measurability", "note", "usage_source")}
        record["canonical_name"], record["restriction"] = item.canonical, item.label
        if item.usage is not None:
            record.update(_statistics(item.usage, item.limit, item.unlimited, item.scope))
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(UTILISATION_COLUMNS))
    return typed_frame(frame, UTILISATION_COLUMNS)


def _statistics(usage: np.ndarray, limit: float | None, unlimited: bool, scope: str,
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


def _check_usage(usage: Any, exact: Any) -> str:
    if usage not in ("derived", "exact"):
        raise ValidationError("usage", f"must be 'derived' or 'exact', got {usage!r}")
    if usage == "exact" and not isinstance(exact, ExactUsage):
        raise ValidationError("exact", "usage='exact' needs the promotionData usage of the "
                              "cohort: exact=capnb.fetch_exact_usage(client, cohort, "
                              f"program_id, promotion_id), got {type(exact).__name__}")
    return str(usage)


def _exact_key(family: Any, name: Any, kind: Any, period_unit: Any, limit: Any) -> tuple:
    """What identifies one restriction in both the promotion and promotionData."""
    name = LEGACY_TWINS.get(str(name), str(name)) if family == "limits" else str(name)
    unit = str(period_unit) if kind == "PERIOD_BASED" and not pd.isna(period_unit) else None
    return (str(family), name, unit, None if pd.isna(limit) else float(limit))


def _measured(ids: np.ndarray, exact: ExactUsage) -> np.ndarray:
    """The fetched customers promotionData answered for; an error when it was asked for none."""
    requested = exact.customers["customer_id"].dropna().to_numpy(dtype="int64")
    if len(ids) and not np.isin(ids, requested).any():
        raise ValidationError("exact", "holds no customer of this cohort; fetch it for the "
                              "cohort: capnb.fetch_exact_usage(client, cohort, ...)")
    return np.intersect1d(ids, exact.measured_customer_ids.to_numpy(dtype="int64"))


def _apply_exact(evaluated: list[_Evaluated], ids: np.ndarray, exact: ExactUsage,
                 promotion: Promotion, whole_population: bool) -> None:
    """Replace derived usage by promotionData's for every restriction it reports."""
    measured = _measured(ids, exact)
    if not len(measured):
        for item in evaluated:
            item.note += " promotionData answered for none of these customers (see "
            item.note += "exact.customers): derived from the summaries."
        return
    rows = exact.usage
    if promotion.id is not None:
        rows = rows[rows["promotion_id"] == promotion.id]
    rows = rows[rows["usage"].notna() & rows["customer_id"].isin(measured)]
    rows_of: dict[tuple, list[int]] = {}
    for i, values in enumerate(zip(rows["family"], rows["name"], rows["type"],
                                   rows["period_unit"], rows["max_limit"], strict=True)):
        rows_of.setdefault(_exact_key(*values), []).append(i)
    customers = rows["customer_id"].to_numpy(dtype="int64")
    amounts = rows["usage"].to_numpy(dtype="float64")
    kpis = rows["kpi"].to_numpy(dtype=object)
    skipped = len(ids) - len(measured)
    for item in evaluated:
        key = _exact_key(item.family, item.name, item.type, item.period_unit, item.limit)
        hits = np.array(rows_of.get(key, []), dtype=np.int64)
        if not len(hits):
            item.note += (" promotionData reports no usage for this restriction: derived from "
                          "the summaries.")
            continue
        pos = np.searchsorted(ids, customers[hits])
        per_customer = np.bincount(pos, amounts[hits], len(ids))
        item.usage = per_customer[np.isin(ids, measured)]
        item.exact = np.ones(len(item.usage), dtype=bool)
        item.usage_source, item.window_start = "promotionData", pd.NaT
        item.metric = "currentCustomerUsage reported by promotionData"
        kpi = next((k for k in kpis[hits] if isinstance(k, str)), "")
        item.unit = item.unit or ("points" if "POINTS" in kpi else "count")
        notes = [f"Exact: the platform's own count (promotionData) for {len(measured)} "
                 "customer(s)" + (f"; {skipped} customer(s) without promotionData are left "
                                  "out" if skipped else "") + "."]
        if item.type == "PERIOD_BASED":
            notes.append(f"Usage in the current {str(item.period_unit).lower()} period as the "
                         "platform counts it.")
        item.measurability = "exact"
        if item.scope == "promotion" and not whole_population:
            item.measurability = "lower_bound"
            notes.append("Lower bound: the cohort's total; customers outside the cohort also "
                         "count (pass whole_population=True if the cohort is every customer "
                         "of the promotion).")
        item.note = " ".join(notes)


CUSTOMER_UTILISATION_COLUMNS: dict[str, str] = {
    "customer_id": "Int64", "restriction": "category", "family": "category",
    "name": "category",
    "canonical_name": "category", "scope": "category", "unit": "category",
    "measurability": "category", "usage": "float64", "limit": "Int64", "unlimited": "bool",
    "share_of_limit": "float64", "at_cap": "boolean", "near_cap": "boolean",
    "over_cap": "boolean", "usage_source": "category",
}


def customer_utilisation(promotion: Promotion, cohort: Cohort, *, as_of: Any = None,
                         usage: str = "derived", exact: ExactUsage | None = None,
                         ) -> pd.DataFrame:
    """Per fetched customer and per customer-level restriction: usage and share of the limit.

    Parameters
    ----------
    promotion, cohort, as_of
        As in :func:`utilisation`.
    usage, exact
        As in :func:`utilisation`. With ``usage="exact"`` the rows cover the customers
        promotionData answered for, and every restriction it reports is ``exact`` for each.

    Returns
    -------
    DataFrame
        One row per fetched customer for every restriction whose scope is ``customer``,
        ``event``, ``earn`` or ``unknown`` (promotion-wide and expiry rows are in
        :func:`utilisation` only), sorted by restriction (promotion order) then
        ``customer_id``: ``customer_id`` (Int64), ``restriction`` (the unique label of
        :func:`utilisation`), ``family, name, canonical_name, scope, unit, measurability``
        (category), ``usage`` (float64; NaN when not measurable), ``limit``
        (Int64), ``unlimited`` (bool), ``share_of_limit`` (float64, usage / limit; NaN when
        unlimited), ``at_cap`` (usage >= limit), ``near_cap`` (usage >= 80% of the limit),
        ``over_cap`` (usage > limit) (boolean, NA when unlimited or not measurable).
        ``measurability`` is per customer: a ``lower_bound`` restriction is ``exact`` for a
        customer whose usage the summary pins down (for example no benefit in the window).
        ``usage_source`` (category: ``summary`` or ``promotionData``; NA when not measurable).
    """
    _check_promotion(promotion, cohort)
    if _check_usage(usage, exact) == "exact":
        cohort = cohort.subset(_measured(_fetched_ids(cohort), exact).tolist())
    evaluated, ids = _evaluate(promotion, cohort, check_as_of(as_of), False)
    if usage == "exact":
        _apply_exact(evaluated, ids, exact, promotion, False)
    evaluated = [e for e in evaluated if e.scope not in ("promotion", "expiry")]
    n = len(ids)
    k = len(evaluated)
    if not k or not n:
        return typed_frame({}, CUSTOMER_UTILISATION_COLUMNS)
    columns: dict[str, Any] = {"customer_id": pd.array(np.tile(ids, k), dtype="Int64")}
    for col, attr in (("restriction", "label"), ("family", "family"), ("name", "name"),
                      ("canonical_name", "canonical"), ("scope", "scope"), ("unit", "unit"),
                      ("usage_source", "usage_source")):
        values = [getattr(e, attr) for e in evaluated]
        categories = list(dict.fromkeys(v for v in values if v is not None))
        codes = np.array([-1 if v is None else categories.index(v) for v in values], np.int8)
        columns[col] = pd.Categorical.from_codes(np.repeat(codes, n), categories=categories)
    levels = list(dict.fromkeys([e.measurability for e in evaluated] + ["exact"]))
    level_codes, usages, shares, caps = [], [], [], []
    for e in evaluated:
        usage = e.usage if e.usage is not None else np.full(n, np.nan)
        code = np.full(n, levels.index(e.measurability), dtype=np.int8)
        if e.measurability == "lower_bound":
            code[e.exact] = levels.index("exact")
        capped = e.usage is not None and not e.unlimited and bool(e.limit)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares.append(usage / e.limit if capped else np.full(n, np.nan))
        level_codes.append(code)
        usages.append(usage)
        caps.append(np.full(n, capped))
    columns["measurability"] = pd.Categorical.from_codes(np.concatenate(level_codes),
                                                         categories=levels)
    usage, capped = np.concatenate(usages), np.concatenate(caps)
    limits = np.array([e.limit if e.limit is not None else 0 for e in evaluated], np.int64)
    limit_mask = np.array([e.limit is None for e in evaluated])
    limit = np.repeat(limits, n)
    columns["usage"] = usage
    columns["limit"] = pd.arrays.IntegerArray(limit, np.repeat(limit_mask, n))
    columns["unlimited"] = np.repeat(np.array([e.unlimited for e in evaluated], bool), n)
    columns["share_of_limit"] = np.concatenate(shares)
    for name, flag in (("at_cap", usage >= limit), ("near_cap", usage >= NEAR_CAP * limit),
                       ("over_cap", usage > limit)):
        columns[name] = pd.arrays.BooleanArray(flag & capped, ~capped)
    return pd.DataFrame(columns)[list(CUSTOMER_UTILISATION_COLUMNS)]


def restriction_metrics() -> pd.DataFrame:
    """The restriction-name -> metric mapping capnb uses (legacy names included).

    Returns
    -------
    DataFrame
        ``name`` (str), ``legacy_of`` (str, the restriction a legacy ``limits`` field mirrors),
        ``scope`` (str), ``metric`` (str), ``unit`` (str), ``measurability`` (str: the best case;
        see the module docstring for when it is weaker), sorted by scope then name.

    >>> restriction_metrics().set_index("name").loc["pointsPerCustomer", "legacy_of"]
    'MAX_ALLOWED_POINTS_PER_CUSTOMER'
    """
    best = {"points": "exact", "issuals": "exact", "earns": "exact", "events": "lower_bound",
            "per_event": "proxy", None: "not_measurable"}
    rows = []
    for name in [*_METRICS, *LEGACY_TWINS]:
        twin = LEGACY_TWINS.get(name)
        spec = _METRICS[twin or name]
        metric, unit = _METRIC_TEXT.get(spec.quantity or "", (None, None))
        level = best[spec.quantity]
        if spec.scope == "promotion" and level == "exact":
            level = "lower_bound (exact with whole_population)"
        rows.append({"name": name, "legacy_of": twin, "scope": spec.scope, "metric": metric,
                     "unit": unit, "measurability": level})
    frame = pd.DataFrame(rows).sort_values(["scope", "name"], kind="stable")
    return typed_frame(frame.reset_index(drop=True), {"name": "str", "legacy_of": "str",
                                                      "scope": "str", "metric": "str",
                                                      "unit": "str", "measurability": "str"})


# -- promotionData item by item, and side by side ---------------------------------------------

EXACT_UTILISATION_COLUMNS: dict[str, str] = {
    "restriction": "str", "family": "str", "name": "str", "kpi": "str", "scope": "str",
    "type": "str", "period_unit": "str", "limit": "float64", "unlimited": "bool",
    "measurability": "str", "customers_measured": "Int64", "customers_with_usage": "Int64",
    "usage_total": "float64", "usage_median": "float64", "usage_p90": "float64",
    "usage_max": "float64", "share_of_limit": "float64", "share_median": "float64",
    "customers_at_cap": "Int64", "customers_near_cap": "Int64", "customers_over_cap": "Int64",
    "source": "str",
}
DERIVED_VS_EXACT_COLUMNS: dict[str, str] = {
    "restriction": "str", "scope": "str", "limit": "Int64", "derived_measurability": "str",
    "exact_measurability": "str", "derived_p90": "float64", "exact_p90": "float64",
    "derived_total": "float64", "exact_total": "float64", "derived_share": "float64",
    "exact_share": "float64", "derived_at_cap": "Int64", "exact_at_cap": "Int64",
}
_SCOPES = {"CUSTOMER": "customer", "PROMOTION": "promotion", "EVENT": "event"}


def _exact_label(row: pd.Series, duplicated: bool) -> str:
    label = str(row["name"]) if pd.notna(row["name"]) else f"{row['kpi']}/{row['limit_on']}"
    if duplicated and pd.notna(row["period_unit"]) and row["type"] == "PERIOD_BASED":
        label += f" ({row['period_unit']})"
    if row["source"] == "limits":
        label += " [limits]"
    return label


def exact_utilisation(exact: ExactUsage, promotion_id: int | str, *,
                      whole_population: bool = False) -> pd.DataFrame:
    """Per restriction of one promotion: how much of it the measured customers have used.

    Parameters
    ----------
    exact : ExactUsage
        From :func:`capnb.fetch_exact_usage`.
    promotion_id : int
    whole_population : bool
        The customers are every customer of the promotion: promotion-wide totals are exact.

    Returns
    -------
    DataFrame
        One row per restriction item (in the order the endpoint lists them):
        ``restriction`` (str label), ``family, name, kpi`` (str), ``scope`` (customer,
        promotion or event), ``type, period_unit`` (str), ``limit`` (float64, -1 = none),
        ``unlimited`` (bool), ``measurability`` (``exact``; ``lower_bound`` for promotion
        scope unless ``whole_population``; ``not_measurable`` for event scope, which the
        endpoint reports without usage), ``customers_measured, customers_with_usage`` (Int64),
        ``usage_total, usage_median, usage_p90, usage_max`` (float64), ``share_of_limit``
        (usage_total / limit for promotion scope, usage_p90 / limit otherwise),
        ``share_median`` (float64), ``customers_at_cap, customers_near_cap,
        customers_over_cap`` (Int64, customer scope), ``source`` (str).
    """
    if not isinstance(exact, ExactUsage):
        raise ValidationError("exact", f"must be a capnb.fetch.exact_usage.ExactUsage, got "
                              f"{type(exact).__name__}")
    promotion = check_id("promotion_id", promotion_id)
    usage = exact.usage[exact.usage["promotion_id"] == promotion]
    measured = exact.measured_customer_ids.astype("int64").to_numpy()
    keys = ["family", "name", "kpi", "limit_on", "type", "period_unit", "max_limit", "source"]
    items = usage[keys].drop_duplicates().reset_index(drop=True)
    names = items["name"].fillna(items["kpi"])
    records = []
    for _, item in items.iterrows():
        mask = np.ones(len(usage), dtype=bool)
        for key in keys:
            column = usage[key]
            mask &= (column.isna() if pd.isna(item[key]) else (column == item[key])).to_numpy(
                dtype=bool, na_value=False)
        rows = usage[mask]
        scope = _SCOPES.get(str(item["limit_on"]), "unknown")
        limit = float(item["max_limit"]) if pd.notna(item["max_limit"]) else np.nan
        unlimited = limit == -1
        record: dict[str, Any] = {
            "restriction": _exact_label(item, int((names == (
                item["name"] if pd.notna(item["name"]) else item["kpi"])).sum()) > 1),
            "family": item["family"], "name": item["name"], "kpi": item["kpi"], "scope": scope,
            "type": item["type"], "period_unit": item["period_unit"], "limit": limit,
            "unlimited": unlimited, "source": item["source"]}
        if scope == "event" or rows["usage"].isna().all():
            record["measurability"] = "not_measurable"
            records.append(record)
            continue
        per_customer = (rows.groupby(rows["customer_id"].astype("int64"))["usage"].sum()
                        .reindex(measured, fill_value=0.0).to_numpy(dtype=float))
        record["measurability"] = ("lower_bound" if scope == "promotion"
                                   and not whole_population else "exact")
        record.update(_statistics(per_customer, limit, unlimited, scope))
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(EXACT_UTILISATION_COLUMNS))
    return typed_frame(frame, EXACT_UTILISATION_COLUMNS)


def derived_vs_exact(derived: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Derived and exact utilisation of the same restrictions side by side.

    Parameters
    ----------
    derived, exact : DataFrame
        :func:`utilisation` of one promotion and cohort with ``usage="derived"`` and
        ``usage="exact"``.

    Returns
    -------
    DataFrame
        One row per restriction that ``promotionData`` measured, in promotion order:
        ``restriction, scope`` (str), ``limit`` (Int64), ``derived_measurability,
        exact_measurability`` (str), ``derived_p90, exact_p90, derived_total, exact_total,
        derived_share, exact_share`` (float64), ``derived_at_cap, exact_at_cap`` (Int64).

    >>> exact = utilisation(promotion, cohort, usage="exact", exact=usage)  # doctest: +SKIP
    >>> derived_vs_exact(utilisation(promotion, cohort), exact)  # doctest: +SKIP
    """
    for name, frame in (("derived", derived), ("exact", exact)):
        if not isinstance(frame, pd.DataFrame) or "usage_source" not in frame:
            raise ValidationError(name, "must be a frame from capnb.analysis.limits.utilisation")
    if derived["restriction"].tolist() != exact["restriction"].tolist():
        raise ValidationError("exact", "lists other restrictions than derived: pass the "
                              "utilisation of the same promotion and cohort")
    rows = (exact["usage_source"] == "promotionData").to_numpy(dtype=bool, na_value=False)
    d, e = derived[rows].reset_index(drop=True), exact[rows].reset_index(drop=True)
    out = pd.DataFrame({
        "restriction": d["restriction"], "scope": d["scope"], "limit": d["limit"],
        "derived_measurability": d["measurability"], "exact_measurability": e["measurability"],
        "derived_p90": d["usage_p90"], "exact_p90": e["usage_p90"],
        "derived_total": d["usage_total"], "exact_total": e["usage_total"],
        "derived_share": d["share_of_limit"], "exact_share": e["share_of_limit"],
        "derived_at_cap": d["customers_at_cap"], "exact_at_cap": e["customers_at_cap"]})
    return typed_frame(out, DERIVED_VS_EXACT_COLUMNS)
