"""Limit utilisation: how much of each restriction of a promotion a cohort has used.

:func:`utilisation` summarises each restriction (derived from the action summaries, or exact from
``promotionData`` with ``usage="exact"``), :func:`customer_utilisation` gives it per customer,
:func:`exact_utilisation` summarises ``promotionData`` item by item and :func:`derived_vs_exact`
puts derived and exact side by side. Everything here is pure: no I/O. The work behind them is
done by :mod:`~capnb.analysis.evaluate` (one restriction at a time, read from
:mod:`capnb.restrictions`), :mod:`~capnb.analysis.measure` (the arithmetic),
:mod:`~capnb.analysis.notes` (measurability and words) and :mod:`~capnb.analysis.exact` (the
promotionData merge).

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
MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER   earn       none: no redemptions [7]       not_measurable
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
[7] with ``usage="exact"``: ``exact``, the largest ``redeemedCount`` of one issual in
promotionData's ``customerPromotionTimelines``, for the customers whose answers carry them
(not measurable without them, or when PERIOD_BASED).
Unlimited (``-1``) restrictions are measured but have no share. Legacy ``limits`` rows are kept
(they often mirror a restriction) and measured as the restriction they mirror.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.evaluate import evaluate
from capnb.analysis.exact import apply_exact, measured_ids
from capnb.analysis.measure import MEASURABLE, NEAR_CAP, statistics
from capnb.analysis.notes import BEST_MEASURABILITY, METRIC_TEXT, sampled_note
from capnb.analysis.population import (
    UTILISATION_ESTIMATES,
    design_columns,
    interval_columns,
    population_statistics,
    scale_of,
)
from capnb.analysis.summary import check_cohort, fetched_ids
from capnb.errors import ValidationError
from capnb.fetch.exact_usage import ExactUsage
from capnb.restrictions import LEGACY_LIMITS, LIMIT_ON_SCOPES, RESTRICTIONS, SPELLINGS, restriction
from capnb.schema import UTC_TIMESTAMP, typed_frame
from capnb.validation import check_as_of, check_bool, check_id

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = [
    "CUSTOMER_UTILISATION_COLUMNS",
    "DERIVED_VS_EXACT_COLUMNS",
    "EXACT_UTILISATION_COLUMNS",
    "UTILISATION_COLUMNS",
    "customer_utilisation",
    "derived_vs_exact",
    "exact_utilisation",
    "restriction_metrics",
    "utilisation",
]

def _check_promotion(promotion: Any, cohort: Any) -> None:
    if not isinstance(getattr(promotion, "restrictions", None), pd.DataFrame):
        raise ValidationError("promotion", "must be a capnb.Promotion, got "
                              f"{type(promotion).__name__}")
    check_cohort(cohort)
    ids = (getattr(promotion, "id", None), getattr(cohort, "promotion_id", None))
    if None not in ids and ids[0] != ids[1]:
        raise ValidationError("promotion", f"is promotion {ids[0]} but the cohort was fetched "
                              f"for promotion {ids[1]}")


def _check_usage(usage: Any, exact: Any) -> str:
    if usage not in ("derived", "exact"):
        raise ValidationError("usage", f"must be 'derived' or 'exact', got {usage!r}")
    if usage == "exact" and not isinstance(exact, ExactUsage):
        raise ValidationError("exact", "usage='exact' needs the promotionData usage of the "
                              "cohort: exact=capnb.fetch_exact_usage(client, cohort, "
                              f"program_id, promotion_id), got {type(exact).__name__}")
    return str(usage)


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

        For a cohort fetched from a random sample (``cohort.design``), the figures from
        ``customers_with_usage`` to ``customers_over_cap`` (``usage_max`` excepted: the
        largest sampled) are estimates for the whole population, each with ``_low`` and
        ``_high`` columns (float64, its 95% interval; :mod:`capnb.analysis.population`);
        ``measurability`` is ``estimate``, ``measured_as`` (str) the measurability of each
        customer's usage, and the ``note`` says what was estimated. The population sampled
        from is taken to be every customer of the promotion (``whole_population``).
    """
    _check_promotion(promotion, cohort)
    source = _check_usage(usage, exact)
    scale = scale_of(cohort)  # a random sample: estimates for its whole population
    whole_population = check_bool("whole_population", whole_population) or scale is not None
    evaluated, ids = evaluate(promotion, cohort, check_as_of(as_of), whole_population)
    if source == "exact":
        apply_exact(evaluated, ids, exact, promotion, whole_population)
    records = []
    for item in evaluated:
        record = {k: getattr(item, k) for k in ("family", "name", "scope", "type",
                                                 "period_unit", "window_start", "limit",
                                                 "unlimited", "metric", "unit",
                                                 "measurability", "note", "usage_source")}
        record["canonical_name"], record["restriction"] = item.canonical, item.label
        if scale is not None:
            record["measured_as"] = item.measurability
        if item.usage is not None:  # NaN: a customer the source could not measure
            measured = ~np.isnan(item.usage)
            usage = item.usage[measured]
            record.update(statistics(usage, item.limit, item.unlimited, item.scope))
            if scale is not None:
                record.update(population_statistics(scale.restricted(measured), usage,
                                                    item.limit, item.unlimited, item.scope))
                record["note"] = sampled_note(record, scale.size, int(measured.sum()))
                record["measurability"] = "estimate"
        records.append(record)
    dtypes = (UTILISATION_COLUMNS if scale is None else {
        **UTILISATION_COLUMNS, "measured_as": "str", **interval_columns(UTILISATION_ESTIMATES)})
    frame = pd.DataFrame.from_records(records, columns=list(dtypes))
    return typed_frame(frame, dtypes)


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
        For a cohort fetched from a random sample, ``stratum`` (object, None without strata)
        and ``stratum_size`` (Int64) say whom each sampled customer stands for
        (:func:`capnb.analysis.population.scale_of_rows`): per-customer figures stay exact.
    """
    _check_promotion(promotion, cohort)
    if _check_usage(usage, exact) == "exact":
        cohort = cohort.subset(measured_ids(fetched_ids(cohort), exact).tolist())
    evaluated, ids = evaluate(promotion, cohort, check_as_of(as_of), False)
    if usage == "exact":
        apply_exact(evaluated, ids, exact, promotion, False)
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
        columns[name] = pd.arrays.BooleanArray(flag & capped, ~capped | np.isnan(usage))
    frame = pd.DataFrame(columns)[list(CUSTOMER_UTILISATION_COLUMNS)]
    scale = scale_of(cohort)
    if scale is not None:  # a random sample: what charts need to estimate counts of customers
        frame = frame.assign(**design_columns(scale, k))
    return frame


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
    rows = []
    for name in [*RESTRICTIONS, *SPELLINGS, *LEGACY_LIMITS]:
        legacy = LEGACY_LIMITS.get(name)
        spec = restriction(name)
        measurable = spec.quantity in MEASURABLE
        metric, unit = METRIC_TEXT[spec.quantity] if measurable else (None, None)
        level = BEST_MEASURABILITY[spec.quantity] if measurable else "not_measurable"
        if spec.scope == "promotion" and level == "exact":
            level = "lower_bound (exact with whole_population)"
        rows.append({"name": name, "legacy_of": legacy.twin if legacy else None,
                     "scope": spec.scope, "metric": metric, "unit": unit,
                     "measurability": level})
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


def _exact_label(row: pd.Series, duplicated: bool) -> str:
    label = str(row["name"]) if pd.notna(row["name"]) else f"{row['kpi']}/{row['limit_on']}"
    if duplicated and pd.notna(row["period_unit"]) and row["type"] == "PERIOD_BASED":
        label += f" ({row['period_unit']})"
    if row["source"] == "limits":
        label += " [limits]"
    return label


_PER_EARN_KPI = "NUMBER_OF_REDEMPTIONS_PER_EARN"


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
        endpoint reports without usage, and for the ``NUMBER_OF_REDEMPTIONS_PER_EARN`` item,
        whose ``currentCustomerUsage`` means something the docs do not say: it stays as sent
        in ``exact.usage``, and ``utilisation(..., usage="exact")`` measures that cap from each
        issual's ``redeemedCount``), ``customers_measured, customers_with_usage`` (Int64),
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
        scope = LIMIT_ON_SCOPES.get(str(item["limit_on"]), "unknown")
        limit = float(item["max_limit"]) if pd.notna(item["max_limit"]) else np.nan
        unlimited = limit == -1
        record: dict[str, Any] = {
            "restriction": _exact_label(item, int((names == (
                item["name"] if pd.notna(item["name"]) else item["kpi"])).sum()) > 1),
            "family": item["family"], "name": item["name"], "kpi": item["kpi"], "scope": scope,
            "type": item["type"], "period_unit": item["period_unit"], "limit": limit,
            "unlimited": unlimited, "source": item["source"]}
        if scope == "event" or rows["usage"].isna().all() or item["kpi"] == _PER_EARN_KPI:
            record["measurability"] = "not_measurable"
            records.append(record)
            continue
        per_customer = (rows.groupby(rows["customer_id"].astype("int64"))["usage"].sum()
                        .reindex(measured, fill_value=0.0).to_numpy(dtype=float))
        record["measurability"] = ("lower_bound" if scope == "promotion"
                                   and not whole_population else "exact")
        record.update(statistics(per_customer, limit, unlimited, scope))
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
