"""Tables for people: one function per table a report shows, each returning a :class:`Table`
(HTML for notebooks and reports, plain text for terminals, the unformatted rows in ``.data``).

::

    from capnb.reports import tables

    tables.restrictions(promotion)
    tables.utilisation(analysis.utilisation(promotion, cohort, as_of=as_of))
    tables.near_cap(analysis.customer_utilisation(promotion, cohort, as_of=as_of))
    tables.table(frame, columns={"customer_id": "customer", "share": "share"},
                 kinds={"share": "share"}, footnotes="note")

Counts get thousands separators, shares read as percents, -1 as "no limit", missing values as
"—", flags as "yes" or blank; API names read as words (:mod:`capnb.labels`) with the API name on
a muted second line; long notes become numbered footnotes; a value repeated on every row (the
cohort size, ``as_of``) becomes a line under the table. The generic :func:`table`, :class:`Table`
and :data:`CSS` come from :mod:`capnb.reports.grid`, the cell formats from
:mod:`capnb.reports.formats`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis import NEAR_CAP, portfolio_view
from capnb.analysis.notes import estimate_text
from capnb.errors import ValidationError
from capnb.labels import MEASURABILITY, MISSING, PERIOD_UNIT, RESTRICTION_TYPE, label
from capnb.reports.grid import CSS, Table, _build, _check_columns, _check_frame, table
from capnb.validation import check_as_of, check_tz

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.fetch.exact_usage import ExactUsage
    from capnb.models import Promotion

__all__ = ["CSS", "Table", "actions", "benefits", "comparison", "customer_limits", "estimates",
           "issuance", "issuals", "near_cap", "points", "portfolio", "recency", "restrictions",
           "status_counts", "table", "unanswered", "utilisation"]

_NEAR = f"near cap (≥{NEAR_CAP:.0%})"
_GROUPS = {"action": "action", "activity_id": "activity", "action_id": "action id",
           "points_category": "points category", "currency_name": "currency"}


def _only(frame: pd.DataFrame, column: str) -> Any:
    """The one value a column repeats on every row, or None when its rows differ."""
    values = frame[column].dropna().unique()
    return values[0] if len(values) == 1 else None


def _attribute(obj: Any, name: str, what: str) -> pd.DataFrame:
    frame = getattr(obj, name, None)
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(what.split()[0], f"must be {what}, got {type(obj).__name__}")
    return frame


# -- the promotion ---------------------------------------------------------------------------------

def _period(row: Any) -> str:
    """What a restriction counts over: the whole promotion, a (rolling) period, or when it
    expires."""
    if row.family == "expiry":
        if row.type == "CUSTOM" and not pd.isna(row.value):
            return f"expires {row.value:,} days after issue"
        if row.type == "PROMOTION":
            return "expires at the promotion's end"
        return label(RESTRICTION_TYPE, row.type)
    if row.type == "PERIOD_BASED":
        unit = "period" if pd.isna(row.period_unit) else label(PERIOD_UNIT, row.period_unit)
        return f"rolling {unit}" if row.period_type == "MOVING_WINDOW" else f"each {unit}"
    if pd.isna(row.type):  # untyped items (legacy limits, issual/earn items) are lifetime caps
        return "whole promotion"
    return label(RESTRICTION_TYPE, row.type)


def restrictions(promotion: Promotion) -> Table:
    """The promotion's restrictions: label (API name below), limit, period, family.

    ``promotion.restrictions`` (:data:`capnb.schema.RESTRICTION_COLUMNS`) in promotion order.
    ``limit`` reads "no limit" for -1 and "—" for expiry rules (their rule is in ``period``:
    "expires 90 days after issue"); ``period`` is "whole promotion" or "rolling week"
    (``periodUnit``; a moving window is the only documented period); ``family`` names the
    ``promotionRestrictions`` list, "legacy limit" for the ``limits`` object (the ``source``).
    ``data`` is ``promotion.restrictions`` unchanged.
    """
    frame = _attribute(promotion, "restrictions", "promotion (a capnb Promotion)")
    _check_columns(frame, ["family", "name", "value", "type", "period_type", "period_unit"],
                   "promotion", "capnb's promotion parser")
    expiry = frame["family"].eq("expiry").fillna(False).to_numpy(bool)
    shown = pd.DataFrame({
        "name": frame["name"].to_numpy(),
        "limit": frame["value"].astype("Float64").mask(expiry).to_numpy(),
        "period": [_period(row) for row in frame.itertuples(index=False)],
        "family": frame["family"].to_numpy()})
    return _build(shown, {"name": "restriction", "limit": "limit", "period": "period",
                          "family": "family"},
                  {"name": "restriction", "limit": "limit", "family": "family"},
                  data=frame, empty="No restrictions configured.")


def actions(promotion: Promotion) -> Table:
    """The promotion's actions: name, description and properties as ``key: value`` lines.

    ``data`` is ``promotion.actions[["action_name", "description", "properties"]]``. For a
    new-UI promotion (``promotion.v3``), whose actions' field names are not documented, its
    activities instead: id, name, type, event, milestones (``data`` is
    ``promotion.v3.activities``).
    """
    v3 = getattr(promotion, "v3", None)
    if v3 is not None:  # a new-UI promotion: the field names of its actions are not documented
        activities = v3.activities
        return _build(activities[["activity_id", "name", "type", "event", "milestones"]],
                      {"activity_id": "activity", "name": "name", "type": "type",
                       "event": "event", "milestones": "milestones"},
                      {"activity_id": "text", "name": "text", "type": "text", "event": "text",
                       "milestones": "count"},
                      data=activities, empty="No activities described.")
    frame = _attribute(promotion, "actions", "promotion (a capnb Promotion)")
    _check_columns(frame, ["action_name", "description", "properties"], "promotion",
                   "capnb's promotion parser")
    return _build(frame, {"action_name": "action", "description": "description",
                          "properties": "properties"},
                  {"action_name": "text", "description": "text", "properties": "pairs"},
                  empty="No actions configured.")


# -- the cohort ------------------------------------------------------------------------------------

def status_counts(cohort: Cohort | ExactUsage) -> Table:
    """Customers per fetch status of a cohort or exact usage (every status, zeros included)
    and their share of the customers requested.

    ``data``: ``status`` (the code), ``customers``, ``share_of_requested``.
    """
    if not callable(getattr(cohort, "status_counts", None)):
        raise ValidationError("cohort", "must be a capnb Cohort or ExactUsage, got "
                              f"{type(cohort).__name__}")
    counts = cohort.status_counts()
    total = int(counts.sum())
    frame = pd.DataFrame({"status": counts.index.astype("str"),
                          "customers": counts.to_numpy(dtype="int64")})
    frame["share_of_requested"] = frame["customers"] / total if total else np.nan
    return _build(frame, {"status": "status", "customers": "customers",
                          "share_of_requested": "share of requested"},
                  {"status": "status", "customers": "count", "share_of_requested": "share"},
                  foot=[f"{total:,} customer{'s' * (total != 1)} requested."])


def unanswered(cohort: Cohort) -> Table:
    """Customers without a summary (not found, failed, invalid), with the API's error.

    ``data``: ``customer_id, status, error_code, error_message`` of ``cohort.customers``.
    """
    frame = _attribute(cohort, "customers", "cohort (a capnb Cohort)")
    rows = frame[~frame["status"].isin(["ok", "no_benefits"])]
    return _build(rows, {"customer_id": "customer", "status": "status",
                         "error_code": "error code", "error_message": "error message"},
                  {"customer_id": "id", "status": "status", "error_code": "text",
                   "error_message": "text"},
                  empty="None: every customer requested was answered.")


# -- benefits --------------------------------------------------------------------------------------

def issuance(frame: pd.DataFrame) -> Table:
    """``analysis.issuance_counts`` output: customers reached, their share and issuances per
    group; the cohort size, the same on every row, is a line under the table.

    A missing group value reads "(none)" ("(no activity)" for ``activity_id``).
    """
    frame = _check_frame(frame)
    origin = "capnb.analysis.issuance_counts"
    _check_columns(frame, ["customers", "issued", "share_of_cohort", "cohort_customers"],
                   "frame", origin)
    groups = [c for c in frame.columns if c in _GROUPS]
    if not groups:
        raise ValidationError("frame", f"must come from {origin} (no group column)")
    shown = frame.copy()
    for column in groups:
        blank = "(no activity)" if column == "activity_id" else "(none)"
        shown[column] = shown[column].astype("object").where(shown[column].notna(), blank)
    headers = {**{c: _GROUPS[c] for c in groups}, "customers": "customers",
               "share_of_cohort": "share of customers", "issued": "issued"}
    kinds = {**{c: "text" for c in groups}, "share_of_cohort": "share"}
    size, foot = _only(frame, "cohort_customers"), []
    if size is not None:
        fetched = "" if "customers_low" in frame.columns else " fetched"
        foot.append(f"Shares are of the {size:,} customers{fetched}.")
    else:
        headers["cohort_customers"] = "customers fetched"
    return _build(shown, headers, kinds, data=frame, foot=foot, empty="Nothing issued.")


def points(frame: pd.DataFrame, *, timezone: str = "UTC") -> Table:
    """``analysis.points_summary`` output: points per category and alternate currencies, totals
    and the spread per customer; the last issuance in ``timezone``."""
    frame = _check_frame(frame)
    zone = check_tz(timezone, "timezone").key
    headers = {"kind": "kind", "name": "name", "customers": "customers",
               "share_of_cohort": "share of customers", "issuances": "issuances",
               "total": "total", "mean_per_cohort_customer": "mean per fetched customer",
               "mean_per_customer": "mean", "median_per_customer": "median",
               "p90_per_customer": "p90", "max_per_customer": "max",
               "last_issued_on": f"last issued ({zone})"}
    _check_columns(frame, headers, "frame", "capnb.analysis.points_summary")
    foot = ["Mean, median, p90 (90th percentile) and max are per customer issued any; the mean "
            "per fetched customer counts every customer fetched."]
    if "total_low" in frame.columns:  # a random sample's estimates
        headers["mean_per_cohort_customer"] = "mean per customer (all)"
        foot = ["Mean, median and p90 (90th percentile) are per customer issued any; the mean "
                "per customer (all) counts every customer. Max and last issued are the "
                "sampled customers'."]
    return _build(frame, headers, {"kind": "text", "name": "text", "share_of_cohort": "share"},
                  timezone=zone, empty="No points or currencies issued.", foot=foot)


def recency(frame: pd.DataFrame) -> Table:
    """``analysis.recency`` output: customers by the age of their last issuance; ``as_of``
    (the same on every row) is a line under the table."""
    frame = _check_frame(frame)
    _check_columns(frame, ["label", "customers", "share_of_cohort", "as_of"], "frame",
                   "capnb.analysis.recency")
    stamp = _only(frame, "as_of")
    headers = {"label": "last issuance", "customers": "customers",
               "share_of_cohort": "share of customers"}
    foot = [] if stamp is None else [f"As of {pd.Timestamp(stamp):%Y-%m-%d %H:%M} UTC."]
    if stamp is None:
        headers["as_of"] = "as of"
    return _build(frame, headers, {"label": "text", "share_of_cohort": "share"},
                  data=frame, foot=foot)


def benefits(frame: pd.DataFrame, *, as_of: Any, timezone: str = "UTC") -> Table:
    """One customer's ``incentives``, ``points`` or ``alternate_currencies`` rows (of an
    ``ActionSummary`` or a one-customer ``Cohort``): ids dropped, the last issuance in
    ``timezone`` and the days since it at ``as_of`` (one decimal).

    ``data``: the rows without ``customer_id, program_id, promotion_id, fetched_at``,
    ``last_issued_on`` in ``timezone`` and ``days_since_last`` (float64) added.
    """
    frame = _check_frame(frame)
    _check_columns(frame, ["last_issued_on"], "frame", "an ActionSummary or Cohort benefit frame")
    stamp = check_as_of(as_of)
    zone = check_tz(timezone, "timezone").key
    out = frame.drop(columns=[c for c in ("customer_id", "program_id", "promotion_id",
                                          "fetched_at") if c in frame.columns])
    last = pd.to_datetime(out["last_issued_on"], utc=True)
    days = ((stamp - last).dt.total_seconds() / 86_400).round(1).astype("float64")
    out = out.assign(last_issued_on=last.dt.tz_convert(zone),
                     days_since_last=days).reset_index(drop=True)
    known = {"activity_id": "activity", "action": "action", "action_id": "action id",
             "issued_count": "issued", "points_category": "category", "total_points": "points",
             "currency_name": "currency", "total_issued": "issued",
             "times_issued": "times issued", "last_issued_on": f"last issued ({zone})",
             "days_since_last": "days since last"}
    headers = {c: known.get(c, str(c).replace("_", " ")) for c in out.columns}
    return _build(out, headers, {"days_since_last": "days", "action_id": "text"},
                  timezone=zone, empty="None issued.")


def issuals(frame: pd.DataFrame, *, timezone: str = "UTC") -> Table:
    """Enrolments and issuals (``ExactUsage.issuals`` or ``client.customer_issuals``), oldest
    first: ids, dates in ``timezone`` and how many times each issual was redeemed.

    ``data``: the shown columns, unformatted.
    """
    frame = _check_frame(frame)
    _check_columns(frame, ["enrolled_at", "issued_at", "redeemed_count"], "frame",
                   "an issuals frame (ExactUsage.issuals)")
    ordered = frame.sort_values(["customer_id", "enrolled_at", "issued_at"], kind="stable",
                                na_position="last")
    return table(ordered, columns={
        "enrolment_id": "enrolment", "enrolled_at": "enrolled",
        "enrolment_expiry": "enrolment expires", "issual_id": "issual", "issued_at": "issued",
        "issual_expiry": "issual expires", "redeemed_count": "redeemed"},
        kinds={"enrolment_id": "id", "issual_id": "id"}, timezone=timezone,
        empty="promotionData listed no enrolment or issual.")


# -- restrictions and their usage ------------------------------------------------------------------

def utilisation(frame: pd.DataFrame) -> Table:
    """``analysis.utilisation`` output: each restriction's limit, how far it can be measured,
    usage (total, median, p90), share of the limit and customers at, near and over the cap;
    each restriction's ``note`` as a footnote.

    ``data``: the analysis columns shown, ``note`` included (for a random sample's estimates
    also ``measured_as`` and the intervals; "measured" then reads e.g. "estimate of a lower
    bound").
    """
    frame = _check_frame(frame)
    headers = {"restriction": "restriction", "scope": "scope", "limit": "limit",
               "measurability": "measured", "usage_total": "total", "usage_median": "median",
               "usage_p90": "p90", "share_of_limit": "share of limit",
               "customers_at_cap": "at cap", "customers_near_cap": _NEAR,
               "customers_over_cap": "over cap"}
    _check_columns(frame, [*headers, "note"], "frame", "capnb.analysis.utilisation")
    kinds = {"restriction": "restriction", "scope": "scope", "limit": "limit",
             "measurability": "measurability", "share_of_limit": "share"}
    shown, kept = frame, [*headers, "note"]
    if "measured_as" in frame.columns:  # a random sample's estimates: say of what
        shown = frame.assign(measurability=[
            label(MEASURABILITY, m) if m != "estimate" or pd.isna(a) or a == "exact"
            else f"estimate of a {label(MEASURABILITY, a)}"
            for m, a in zip(frame["measurability"], frame["measured_as"], strict=True)])
        kinds["measurability"] = "text"
        kept += ["measured_as", *(c for c in frame.columns if c.endswith(("_low", "_high")))]
    return _build(shown, headers, kinds, footnotes="note", empty="No restrictions configured.",
                  data=frame[kept],
                  foot=["Usage per customer measured (total, median, p90: the 90th percentile). "
                        "Share of limit: the total's for whole-promotion limits, the p90's "
                        "otherwise. At, near and over cap: customers; for lower bounds, at "
                        "least that many."])


def comparison(frame: pd.DataFrame) -> Table:
    """``analysis.derived_vs_exact`` output: usage derived from the summaries beside the exact
    usage promotionData reports, per restriction it measured."""
    frame = _check_frame(frame)
    headers = {"restriction": "restriction", "scope": "scope", "limit": "limit",
               "derived_measurability": "derived: measured",
               "exact_measurability": "exact: measured", "derived_total": "derived total",
               "exact_total": "exact total", "derived_p90": "derived p90",
               "exact_p90": "exact p90", "derived_share": "derived share",
               "exact_share": "exact share", "derived_at_cap": "derived at cap",
               "exact_at_cap": "exact at cap"}
    _check_columns(frame, headers, "frame", "capnb.analysis.derived_vs_exact")
    kinds = {"restriction": "restriction", "scope": "scope", "limit": "limit",
             "derived_measurability": "measurability", "exact_measurability": "measurability",
             "derived_share": "share", "exact_share": "share"}
    return _build(frame, headers, kinds, empty="promotionData measured none of the restrictions.",
                  foot=["Derived: from the action summaries; exact: as promotionData reports "
                        "it. Shares as in the utilisation table; at cap: customers."])


def near_cap(per_customer: pd.DataFrame, *, limit: int = 20) -> Table:
    """``analysis.customer_utilisation`` rows of customers near a cap (``near_cap`` true), the
    most used first (share of the limit, then customer id); shows the first ``limit`` rows and
    says how many there are.

    ``data`` holds every near-cap row, sorted, with the columns shown.
    """
    frame = _check_frame(per_customer, "per_customer")
    headers = {"customer_id": "customer", "restriction": "restriction", "usage": "usage",
               "limit": "limit", "share_of_limit": "share of limit", "at_cap": "at cap",
               "over_cap": "over cap", "measurability": "measured"}
    _check_columns(frame, [*headers, "near_cap"], "per_customer",
                   "capnb.analysis.customer_utilisation")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", f"must be a positive number of rows, got {limit!r}")
    rows = frame[frame["near_cap"].fillna(False).astype(bool)]
    rows = rows.sort_values(["share_of_limit", "customer_id"], ascending=[False, True],
                            kind="stable", na_position="last")[list(headers)]
    rows = rows.reset_index(drop=True)
    return _build(rows, headers, {"restriction": "restriction", "limit": "limit",
                                  "share_of_limit": "share", "measurability": "measurability"},
                  max_rows=limit, rows_word="customer-limit rows",
                  empty=f"No customer is near a cap (≥{NEAR_CAP:.0%} of a limit).")


def customer_limits(frame: pd.DataFrame) -> Table:
    """One customer's limits: ``analysis.customer_utilisation`` for a one-customer cohort,
    merged with ``analysis.utilisation``'s ``note`` (``on="restriction"``), which becomes
    footnotes (without it, no footnotes). Several customers add a customer column."""
    frame = _check_frame(frame)
    headers = {"restriction": "restriction", "usage": "usage", "limit": "limit",
               "share_of_limit": "share of limit", "at_cap": "at cap", "near_cap": _NEAR,
               "measurability": "measured"}
    _check_columns(frame, headers, "frame", "capnb.analysis.customer_utilisation")
    if "customer_id" in frame.columns and frame["customer_id"].nunique() > 1:
        headers = {"customer_id": "customer", **headers}
    kinds = {"restriction": "restriction", "limit": "limit", "share_of_limit": "share",
             "measurability": "measurability"}
    return _build(frame, headers, kinds, footnotes="note" if "note" in frame.columns else None,
                  empty="No per-customer limit.")


def portfolio(budgets: pd.DataFrame, *, empty: str = "No promotion.") -> Table:
    """``analysis.portfolio_frame`` output as ``analysis.portfolio_view`` reads it (used of
    limit, percents, dates), one row per promotion; ``note`` as footnotes; ``empty`` shows
    instead of a table without rows.

    ``data`` is ``budgets`` unchanged (numbers, for downloads).
    """
    frame = _check_frame(budgets, "budgets")
    view = portfolio_view(frame)
    if "note" in frame.columns:
        view["note"] = frame["note"].to_numpy()
    figures = ["days left", "points", "times", "earns", "budget used", "time elapsed", "risk"]
    headers = {c: c for c in view.columns if c != "note"}
    blank = {c: (lambda v: MISSING if pd.isna(v) or v == "" else str(v)) for c in headers}
    classes = {**{c: "f" for c in figures}, "days left": "n", "start": "d", "end": "d",
               "runs out": "d"}
    return _build(view, headers, {c: "text" for c in headers}, classes=classes,
                  footnotes="note" if "note" in view.columns else None, cell_text=blank,
                  data=frame, empty=empty,
                  foot=["Points, times, earns: used of the promotion-wide limit. Risk: budget "
                        "used / time elapsed; above 1 a budget runs out before the end."])


_FIGURE_WORDS = {"customers_reached": "customers reached (share)",
                 "points_issued": "points issued (total)",
                 "share_of_limit": "share of the promotion-wide cap used",
                 "customers_at_cap": "customers at the cap",
                 "customers_near_cap": "customers at or near the cap (80%)"}


def estimates(frame: pd.DataFrame) -> Table:
    """``analysis.estimates.population_estimates`` output: each population figure as
    "63.2% (62.3–64.1%)" (the estimate and its 95% interval), the restriction it is about,
    and how it was estimated as a footnote.

    ``data``: the analysis frame as given.
    """
    frame = _check_frame(frame)
    _check_columns(frame, ["figure", "restriction", "kind", "estimate", "low", "high", "note"],
                   "frame", "capnb.analysis.estimates.population_estimates")
    shown = pd.DataFrame({
        "figure": [_FIGURE_WORDS.get(f, f) for f in frame["figure"]],
        "restriction": frame["restriction"],
        "estimate": [estimate_text(r.estimate, r.low, r.high, r.kind)
                     for r in frame.itertuples(index=False)],
        "note": frame["note"]})
    result = table(shown, columns={"figure": "figure", "restriction": "restriction",
                                   "estimate": "estimate (95% interval)"},
                   kinds={"figure": "text", "restriction": "restriction", "estimate": "text"},
                   footnotes="note", empty="No population figure.")
    result.data = frame
    return result
