"""Pure analysis of a cohort's action summaries: counts, points, timelines, recency, utilisation.

Every function takes a :class:`~capnb.cohort.Cohort` (utilisation also a
:class:`~capnb.models.Promotion`), does no I/O, rounds nothing, and returns a DataFrame with the
columns and dtypes its docstring lists, in a deterministic order, also for an empty cohort. The
denominator of every share is the cohort's *fetched* customers (status ``ok`` or
``no_benefits``); ``not_found``, ``failed`` and ``invalid`` customers are left out.

What the action summary can tell
--------------------------------
Per customer it holds, since 2025-06-12 only: incentive counts per (activity, action, action id),
points totals and issuance counts per category, currency totals and counts, each with the time
of the *last* issuance. There are no single events, so:

- timelines and recency place each customer at their **last** issuance, not every event;
- restriction usage is measured as in this table (``utilisation`` and ``customer_utilisation``):

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from capnb.errors import ValidationError
from capnb.schema import UTC_TIMESTAMP, typed_frame

if TYPE_CHECKING:
    from capnb.cohort import Cohort
    from capnb.models import Promotion

__all__ = [
    "DATA_START",
    "customer_utilisation",
    "issuance_counts",
    "points_summary",
    "recency",
    "restriction_metrics",
    "timeline",
    "utilisation",
]

DATA_START = pd.Timestamp("2025-06-12", tz="UTC")
"""The action summary reports benefits earned from this date on only."""
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
_GROUPS = {"incentives": ("action", "activity_id", "action_id"), "points": ("points_category",),
           "alternate_currencies": ("currency_name",)}
_COUNT = {"incentives": "issued_count", "points": "times_issued",
          "alternate_currencies": "times_issued"}
_FREQS = {"h": "h", "D": "D", "W": "W-SUN", "M": "M"}


# -- arguments -----------------------------------------------------------------------------------

def _check_cohort(cohort: Any) -> None:
    missing = [n for n in ("customers", "incentives", "points", "alternate_currencies")
               if not isinstance(getattr(cohort, n, None), pd.DataFrame)]
    if missing:
        raise ValidationError("cohort", f"must be a capnb.Cohort, got {type(cohort).__name__}")


def _check_promotion(promotion: Any, cohort: Any) -> None:
    if not isinstance(getattr(promotion, "restrictions", None), pd.DataFrame):
        raise ValidationError("promotion", "must be a capnb.Promotion, got "
                              f"{type(promotion).__name__}")
    _check_cohort(cohort)
    ids = (getattr(promotion, "id", None), getattr(cohort, "promotion_id", None))
    if None not in ids and ids[0] != ids[1]:
        raise ValidationError("promotion", f"is promotion {ids[0]} but the cohort was fetched "
                              f"for promotion {ids[1]}")


def _check_tz(tz: Any) -> ZoneInfo:
    if not isinstance(tz, str):
        raise ValidationError("tz", f"must be an IANA timezone name like 'Asia/Kolkata', got "
                              f"{type(tz).__name__}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("tz", f"unknown timezone {tz!r}; use an IANA name such as 'UTC' "
                              "or 'Asia/Kolkata'") from exc


def _check_as_of(as_of: Any) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp.now(tz="UTC").as_unit("us")
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValidationError("as_of", f"must be a timestamp, got {as_of!r}") from exc
    if pd.isna(stamp):
        raise ValidationError("as_of", "must be a timestamp, got a missing value")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("us")


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValidationError(name, f"must be True or False, got {value!r}")
    return bool(value)


# -- frames and per-customer arrays --------------------------------------------------------------

def _fetched_ids(cohort: Cohort) -> np.ndarray:
    customers = cohort.customers
    ids = customers.loc[customers["status"].isin(["ok", "no_benefits"]), "customer_id"]
    return np.unique(ids.dropna().to_numpy(dtype="int64"))


def _benefits(cohort: Cohort, name: str, ids: np.ndarray) -> pd.DataFrame:
    """The rows of one benefit frame that belong to fetched customers."""
    frame = getattr(cohort, name)
    return frame[frame["customer_id"].isin(ids)]


def _micros(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 microseconds since epoch, NaT mask) of a tz-aware timestamp column."""
    naive = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    values = naive.to_numpy(dtype="datetime64[us]")
    return values.view("int64"), np.isnat(values)


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


def _us(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1000)  # .value is nanoseconds whatever the unit


# -- public: utilisation --------------------------------------------------------------------------

UTILISATION_COLUMNS: dict[str, str] = {
    "restriction": "str", "family": "str", "name": "str", "canonical_name": "str",
    "scope": "str", "type": "str",
    "period_unit": "str", "window_start": UTC_TIMESTAMP, "limit": "Int64", "unlimited": "bool",
    "metric": "str", "unit": "str", "measurability": "str", "customers_measured": "Int64",
    "customers_with_usage": "Int64", "usage_total": "float64", "usage_median": "float64",
    "usage_p90": "float64", "usage_max": "float64", "share_of_limit": "float64",
    "share_median": "float64", "customers_at_cap": "Int64", "customers_near_cap": "Int64",
    "customers_over_cap": "Int64", "note": "str",
}


def utilisation(promotion: Promotion, cohort: Cohort, *, as_of: Any = None,
                whole_population: bool = False) -> pd.DataFrame:
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
        is exact or not). Statistics are NA when not measurable; shares and cap counts are NA
        for unlimited restrictions. For lower bounds, cap counts are "at least".
    """
    _check_promotion(promotion, cohort)
    evaluated, ids = _evaluate(promotion, cohort, _check_as_of(as_of),
                               _check_bool("whole_population", whole_population))
    records = []
    for item in evaluated:
        record = {k: getattr(item, k) for k in ("family", "name", "scope", "type",
                                                 "period_unit", "window_start", "limit",
                                                 "unlimited", "metric", "unit",
                                                 "measurability", "note")}
        record["canonical_name"], record["restriction"] = item.canonical, item.label
        if item.usage is not None:
            usage = item.usage
            record.update(customers_measured=len(ids), customers_with_usage=int((usage > 0).sum()),
                          usage_total=float(usage.sum()))
            if len(ids):
                p50, p90 = np.quantile(usage, [0.5, 0.9])
                record.update(usage_median=float(p50), usage_p90=float(p90),
                              usage_max=float(usage.max()))
            if not item.unlimited and item.limit:
                limit = item.limit
                if item.scope == "promotion":
                    record["share_of_limit"] = usage.sum() / limit
                else:
                    if len(ids):
                        record.update(share_of_limit=p90 / limit, share_median=p50 / limit)
                    record.update(customers_at_cap=int((usage >= limit).sum()),
                                  customers_near_cap=int((usage >= NEAR_CAP * limit).sum()),
                                  customers_over_cap=int((usage > limit).sum()))
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(UTILISATION_COLUMNS))
    return typed_frame(frame, UTILISATION_COLUMNS)


CUSTOMER_UTILISATION_COLUMNS: dict[str, str] = {
    "customer_id": "Int64", "restriction": "category", "family": "category",
    "name": "category",
    "canonical_name": "category", "scope": "category", "unit": "category",
    "measurability": "category", "usage": "float64", "limit": "Int64", "unlimited": "bool",
    "share_of_limit": "float64", "at_cap": "boolean", "near_cap": "boolean",
    "over_cap": "boolean",
}


def customer_utilisation(promotion: Promotion, cohort: Cohort, *, as_of: Any = None,
                         ) -> pd.DataFrame:
    """Per fetched customer and per customer-level restriction: usage and share of the limit.

    Parameters
    ----------
    promotion, cohort, as_of
        As in :func:`utilisation`.

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
    """
    _check_promotion(promotion, cohort)
    evaluated, ids = _evaluate(promotion, cohort, _check_as_of(as_of), False)
    evaluated = [e for e in evaluated if e.scope not in ("promotion", "expiry")]
    n = len(ids)
    k = len(evaluated)
    if not k or not n:
        return typed_frame({}, CUSTOMER_UTILISATION_COLUMNS)
    columns: dict[str, Any] = {"customer_id": pd.array(np.tile(ids, k), dtype="Int64")}
    for col, attr in (("restriction", "label"), ("family", "family"), ("name", "name"),
                      ("canonical_name", "canonical"),
                      ("scope", "scope"), ("unit", "unit")):
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
        columns (missing last).
    """
    _check_cohort(cohort)
    name, columns = _check_by(by)
    ids = _fetched_ids(cohort)
    frame = _benefits(cohort, name, ids)
    frame = frame[frame[_COUNT[name]].fillna(0) > 0]
    grouped = frame.groupby(list(columns), dropna=False, sort=True)
    out = grouped.agg(customers=("customer_id", "nunique"),
                      issued=(_COUNT[name], "sum")).reset_index()
    out["share_of_cohort"] = out["customers"] / len(ids) if len(ids) else np.nan
    out["cohort_customers"] = len(ids)
    dtypes = {**{c: "str" for c in columns}, "customers": "Int64", "issued": "Int64",
              "share_of_cohort": "float64", "cohort_customers": "Int64"}
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
    """
    _check_cohort(cohort)
    ids = _fetched_ids(cohort)
    parts = []
    for kind, frame_name, key, amount in (("points", "points", "points_category",
                                           "total_points"),
                                          ("currency", "alternate_currencies", "currency_name",
                                           "total_issued")):
        frame = _benefits(cohort, frame_name, ids)
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
        parts.append(out)
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    denominator = len(ids) if len(ids) else np.nan
    out["share_of_cohort"] = out["customers"] / denominator
    out["mean_per_cohort_customer"] = out["total"] / denominator
    return typed_frame(out, POINTS_SUMMARY_COLUMNS)


def _latest(cohort: Cohort, ids: np.ndarray, by: str | None) -> pd.DataFrame:
    """Latest issuance per customer (and group): columns customer_id, [by], last."""
    if by is None:
        frames = [_benefits(cohort, name, ids)[["customer_id", "last_issued_on"]]
                  for name in _COUNT]
        frame = pd.concat(frames, ignore_index=True)
        keys = ["customer_id"]
    else:
        name = next(f for f, cols in _GROUPS.items() if by in cols)
        frame = _benefits(cohort, name, ids)[["customer_id", by, "last_issued_on"]]
        keys = ["customer_id", by]
    return frame.groupby(keys, dropna=False)["last_issued_on"].max().rename("last").reset_index()


def timeline(cohort: Cohort, freq: str = "D", tz: str = "UTC",
             by: str | None = "action") -> pd.DataFrame:
    """Customers whose **last** issuance falls in each period (not every event), cumulated.

    The summary keeps only the latest issuance per customer and benefit, so a customer appears
    once per group, in the period of their last issuance.

    Parameters
    ----------
    cohort : Cohort
    freq : {"h", "D", "W", "M"}
        Hour, day, week (Monday to Sunday) or calendar month, in ``tz``.
    tz : str
        IANA timezone the periods are cut in.
    by : str or None
        One of ``action, activity_id, action_id, points_category, currency_name``; None = the
        latest issuance of any benefit.

    Returns
    -------
    DataFrame
        ``period`` (datetime64[us, tz], period start; NaT for customers whose last issuance
        time is missing), the ``by`` column (str; absent when None), ``customers_last_issued``
        (Int64), ``cumulative_customers`` (Int64, NA on the NaT row), ``cumulative_share``
        (float64, of the fetched customers), with every period from the first to the last for
        every group (zeros included), sorted by group (missing last) then period (NaT last).
    """
    _check_cohort(cohort)
    if not isinstance(freq, str) or freq not in _FREQS:
        raise ValidationError("freq", f"must be one of {', '.join(_FREQS)}, got {freq!r}")
    zone = _check_tz(tz)
    if by is not None and not any(isinstance(by, str) and by in c for c in _GROUPS.values()):
        raise ValidationError("by", f"must be None or one of "
                              f"{', '.join(c for cols in _GROUPS.values() for c in cols)}, "
                              f"got {by!r}")
    ids = _fetched_ids(cohort)
    latest = _latest(cohort, ids, by)
    key = by or "_all"
    if by is None:
        latest[key] = "all"
    dtype = f"datetime64[us, {tz}]"
    local = latest["last"].dt.tz_convert(zone).dt.tz_localize(None)
    period = local.dt.to_period(_FREQS[freq]).dt.start_time
    latest["period"] = period.dt.tz_localize(zone, ambiguous=np.ones(len(period), dtype=bool),
                                             nonexistent="shift_forward").astype(dtype)
    counts = latest.groupby([key, "period"], dropna=False).size().rename("n").reset_index()
    dated = counts[counts["period"].notna()]
    groups = pd.unique(counts[key])
    if len(dated):
        first, last = local.min().to_period(_FREQS[freq]), local.max().to_period(_FREQS[freq])
        starts = pd.period_range(first, last, freq=_FREQS[freq]).start_time
        periods = pd.DatetimeIndex(starts).tz_localize(zone, ambiguous=np.ones(len(starts), bool),
                                                       nonexistent="shift_forward")
        grid = pd.MultiIndex.from_product([groups, periods.astype(dtype)],
                                          names=[key, "period"])
        full = dated.set_index([key, "period"])["n"].reindex(grid, fill_value=0).reset_index()
    else:
        full = dated
    full = full.sort_values([key, "period"], kind="stable", na_position="last")
    full["cumulative_customers"] = full.groupby(key, dropna=False)["n"].cumsum()
    undated = counts[counts["period"].isna()].assign(cumulative_customers=pd.NA)
    out = pd.concat([full, undated] if len(undated) else [full], ignore_index=True)
    out = out.sort_values([key, "period"], kind="stable", na_position="last")
    cumulative = pd.array(out["cumulative_customers"].tolist(), dtype="Float64")
    out["cumulative_share"] = (cumulative.to_numpy(dtype="float64", na_value=np.nan) / len(ids)
                               if len(ids) else np.nan)
    out = out.rename(columns={"n": "customers_last_issued"})
    dtypes = {"period": dtype, **({by: "str"} if by else {}), "customers_last_issued": "Int64",
              "cumulative_customers": "Int64", "cumulative_share": "float64"}
    return typed_frame(out.reset_index(drop=True), dtypes)


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
    """
    _check_cohort(cohort)
    stamp = _check_as_of(as_of)
    ids = _fetched_ids(cohort)
    latest = _latest(cohort, ids, None)
    last, undated = _micros(latest["last"])
    age = (_us(stamp) - last) / 86_400e6
    counts = []
    for bucket, _, low, high in RECENCY_BUCKETS:
        if bucket == "no_date":
            counts.append(int(undated.sum()))
        elif bucket == "no_issuance":
            counts.append(len(ids) - len(latest))
        else:
            mask = ~undated & (age >= (low if low is not None else -np.inf))
            counts.append(int((mask & (age < (high if high is not None else np.inf))).sum()))
    frame = pd.DataFrame({"bucket": [b[0] for b in RECENCY_BUCKETS],
                          "label": [b[1] for b in RECENCY_BUCKETS], "customers": counts})
    frame["share_of_cohort"] = frame["customers"] / len(ids) if len(ids) else np.nan
    frame["as_of"] = stamp
    return typed_frame(frame, {"bucket": "str", "label": "str", "customers": "Int64",
                               "share_of_cohort": "float64", "as_of": UTC_TIMESTAMP})
