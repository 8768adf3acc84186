"""The answer first: the few facts a report opens with, computed from the frames it shows.

A manager reads a report for 30 seconds. :func:`overview_headline` (promotion overview),
:func:`customer_headline` (one customer's benefits) and :func:`portfolio_headline` (a program's
promotions) turn the frames the report computes into a :class:`Headline`: a title and at most
:data:`MAX_FACTS` :class:`Fact` s, each a sentence saying how exact it is (the
``measurability`` of the frames, copied and never upgraded; a fact summing up several figures
takes the least exact). Pure: no request. :mod:`capnb.reports.headline` shows a headline.

A limit is "at 80% or more" when its ``share_of_limit`` is, as the utilisation chart draws it:
the cohort's total for a promotion-wide cap, the 90th-percentile customer for a per-customer one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.benefits import points_summary
from capnb.analysis.estimates import population_estimates, sample_headline
from capnb.analysis.facts import (
    CAVEAT,
    MAX_FACTS,
    Fact,
    Headline,
    amount_text,
    check_frame,
    collapse,
    limit_words,
    plural,
    subject,
    time_left,
    weakest,
)
from capnb.analysis.limits import CUSTOMER_UTILISATION_COLUMNS, UTILISATION_COLUMNS
from capnb.analysis.limits import _check_promotion as check_promotion
from capnb.analysis.limits import utilisation as limit_utilisation
from capnb.analysis.measure import NEAR_CAP
from capnb.analysis.notes import Coverage, number_text, share_text
from capnb.analysis.portfolio import PORTFOLIO_COLUMNS
from capnb.analysis.summary import COUNT_COLUMNS, fetched_benefits, fetched_ids
from capnb.errors import ValidationError
from capnb.labels import CUSTOMER_STATUS, label, restriction_label
from capnb.models import PROMOTION_SOURCE_V3
from capnb.restrictions import RESTRICTIONS
from capnb.validation import check_as_of

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = [
    "MAX_FACTS",
    "Fact",
    "Headline",
    "customer_headline",
    "overview_headline",
    "portfolio_headline",
]

_BUDGET_NAMES = {r.budget: r.name for r in RESTRICTIONS.values() if r.budget}
_DAY = pd.Timedelta(days=1)
_NOT_FETCHED = "Unknown: the summary could not be fetched"


def _capped(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a cap (limit > 0, not -1) and their ``words``; a legacy ``limits`` row that
    mirrors a restriction (same words, limit and scope) is dropped."""
    limit = frame["limit"].astype("Float64").gt(0).fillna(False).to_numpy(dtype=bool)
    rows = frame[limit & ~frame["unlimited"].to_numpy(dtype=bool)].copy()
    rows["words"] = [limit_words(r) for _, r in rows.iterrows()]
    return rows.drop_duplicates(["words", "limit", "scope"])


# -- promotion overview ---------------------------------------------------------------------------

def _reached(cohort: Cohort, ids: np.ndarray, gaps: list[str]) -> Fact:
    reached: set[int] = set()
    for name, count in COUNT_COLUMNS.items():
        frame = fetched_benefits(cohort, name, ids)
        reached.update(frame.loc[frame[count].fillna(0).gt(0), "customer_id"].astype("int64"))
    text = (f"{number_text(len(reached))} of {number_text(len(ids))} fetched "
            f"({share_text(len(reached) / len(ids) if len(ids) else np.nan)})")
    counts = cohort.customers["status"].value_counts()
    others = [f"{number_text(counts[s])} {CUSTOMER_STATUS[s]}" for s in
              ("failed", "not_found", "invalid") if counts.get(s, 0)]
    if others:
        text += "; " + ", ".join(others)
    note = (f"At least: {'; '.join(gaps)}." if gaps else
            "Customers issued any benefit, of those whose summary was fetched.")
    return Fact("Customers reached", text, "lower_bound" if gaps else "exact", note,
                "warning" if counts.get("failed", 0) else "info")


def _issued(cohort: Cohort, ids: np.ndarray, gaps: list[str]) -> list[Fact]:
    """Points and each alternate currency issued to the fetched customers (totals)."""
    summary = points_summary(cohort)
    summary["name"] = summary["name"].fillna("(unnamed)")
    level = "lower_bound" if gaps else "exact"
    note = f"For the {plural(len(ids), 'fetched customer')}." + (
        f" At least: {'; '.join(gaps)}." if gaps else "")
    facts = []
    points = summary[summary["kind"] == "points"]
    if len(points):
        frame = fetched_benefits(cohort, "points", ids)
        who = frame.loc[frame["total_points"].fillna(0).ne(0)
                        | frame["times_issued"].fillna(0).gt(0), "customer_id"].nunique()
        by = "; ".join(f"{n} {number_text(t)}" for n, t in zip(points["name"], points["total"],
                                                               strict=True))
        facts.append(Fact("Points issued", f"{number_text(points['total'].sum())} to "
                          f"{plural(who, 'customer')}", level,
                          note + (f" By category: {by}." if len(points) > 1 else "")))
    currencies = summary[summary["kind"] == "currency"]
    if len(currencies) > 2:
        text = "; ".join(f"{n} {number_text(t)}" for n, t in zip(
            currencies["name"], currencies["total"], strict=True))
        facts.append(Fact("Alternate currencies issued", text, level, note))
    else:
        facts += [Fact(f"{row.name} issued", f"{number_text(row.total)} to "
                       f"{plural(row.customers, 'customer')}", level, note)
                  for row in currencies.itertuples()]
    return facts


def _budget_text(row: Any) -> str:
    return (f"{amount_text(row['usage_total'], row['limit'], row['unit'])} used "
            f"({share_text(row['share_of_limit'])})")


def _limit_fact(row: Any) -> Fact:
    """A limit at 80% or more in words: customers at and near a per-customer cap, the share
    used of a promotion-wide one."""
    exactness = row["measurability"]
    if row["scope"] == "promotion":
        return Fact(row["words"], _budget_text(row), exactness, CAVEAT[exactness], "warning")
    measured = row["customers_measured"]
    at, near, over = (row["customers_at_cap"], row["customers_near_cap"],
                      row["customers_over_cap"])

    def of(n: Any) -> str:
        return share_text(n / measured if measured else np.nan)

    text = (f"{plural(at, 'customer')} ({of(at)}) at the cap of "
            f"{amount_text(row['limit'], unit=row['unit'])}")
    if near > at:
        text += f"; {number_text(near)} ({of(near)}) at 80% or more"
    if over:
        text += f"; {number_text(over)} over it"
    note = (f"The 90th-percentile customer used {share_text(row['share_of_limit'])} of it. "
            + CAVEAT[exactness]).strip()
    return Fact(row["words"], text, exactness, note, "warning")


def _budget_fact(capped: pd.DataFrame) -> tuple[Fact, Any]:
    """The tightest promotion-wide cap, and its index in ``capped`` (None when there is none)."""
    wide = capped[capped["scope"] == "promotion"]
    measured = wide[wide["share_of_limit"].notna()]
    if len(measured):
        index = measured["share_of_limit"].astype("float64").idxmax()
        row = measured.loc[index]
        return Fact("Tightest budget", f"{row['words']}: {_budget_text(row)}",
                    row["measurability"], CAVEAT[row["measurability"]],
                    "warning" if row["share_of_limit"] >= NEAR_CAP else "info"), index
    if len(wide):
        return Fact("Tightest budget", f"{wide.iloc[0]['words']}: not measurable",
                    "not_measurable", CAVEAT["not_measurable"]), None
    return Fact("Tightest budget", "No promotion-wide cap", "exact"), None


def _near_cap_facts(capped: pd.DataFrame, skip: Any, room: int) -> list[Fact]:
    """One fact per limit at 80% or more (but the tightest budget, ``skip``), most used
    first, in at most ``room`` facts; or one fact saying no limit is."""
    measured = capped[capped["share_of_limit"].notna()]
    near = measured[measured["share_of_limit"].ge(NEAR_CAP).to_numpy(dtype=bool)]
    if skip is not None and skip in near.index:
        near = near.drop(index=skip)
        if not len(near):
            return []  # the tightest budget is the one limit at 80% or more: it says so
    near = near.sort_values("share_of_limit", ascending=False, kind="stable")
    if len(near):
        return collapse([_limit_fact(r) for _, r in near.iterrows()],
                        near["share_of_limit"].tolist(), room)
    if not len(capped):
        return [Fact("Limits", "No limit caps this promotion", "exact")]
    unmeasured = capped[capped["share_of_limit"].isna()]
    text = ("No measurable limit is at 80% or more of its cap" if len(unmeasured) else
            "No limit is at 80% or more of its cap")
    notes = []
    per_customer = measured[measured["scope"] != "promotion"]
    at_cap = per_customer["customers_at_cap"].fillna(0).astype("int64")
    if len(per_customer) and at_cap.max() > 0:
        row = per_customer.loc[at_cap.idxmax()]
        notes.append(f"The 90th-percentile customer is below 80% of each per-customer cap, "
                     f"but {plural(row['customers_at_cap'], 'customer')} reached the cap of "
                     f"{row['words']} ({number_text(row['limit'])}).")
    if len(unmeasured):
        notes.append(f"Not measurable: {', '.join(unmeasured['words'])}.")
    return [Fact("Limits", text, weakest(measured["measurability"]), " ".join(notes))]


def overview_headline(promotion: Promotion, cohort: Cohort, utilisation: pd.DataFrame, *,
                      as_of: Any) -> Headline:
    """The promotion overview's headline: reach, what was issued, limits near their cap, the
    tightest budget and the time left.

    Parameters
    ----------
    promotion : Promotion
    cohort : Cohort
        Fetched for the same promotion.
    utilisation : DataFrame
        ``capnb.analysis.utilisation(promotion, cohort, as_of=as_of)``, the frame the report
        shows: every limit fact copies its ``measurability``.
    as_of : timestamp-like
        "Now" of the time left (naive = UTC).

    Returns
    -------
    Headline
        Titled "Name (id)". Facts, in order: customers reached of those fetched (and how many
        failed, were not found or not valid); points, and each alternate currency, issued
        (lower bounds when the summary misses benefits: a start before 2025-06-12, one
        activity); each limit at 80% or more (per-customer: customers at the cap and at 80% or
        more; promotion-wide: the share of the cap used), most used first, extra ones collapsed
        into one fact, or one fact saying none is; the tightest promotion-wide budget; the time
        left. At most :data:`MAX_FACTS` facts. A cohort drawn from a random sample
        (``cohort.design``) gets :func:`capnb.analysis.estimates.sample_headline` instead:
        every figure an estimate with its 95% interval.
    """
    check_promotion(promotion, cohort)
    frame = check_frame("utilisation", utilisation, UTILISATION_COLUMNS,
                        "capnb.analysis.utilisation")
    now = check_as_of(as_of)
    if getattr(cohort, "design", None) is not None:  # a random sample: estimates only
        estimates = population_estimates(promotion, cohort, as_of=now)
        return sample_headline(promotion, cohort, estimates, as_of=now)
    ids = fetched_ids(cohort)
    gaps = Coverage(promotion.start, cohort.activity_id, 0).gaps()
    facts = [_reached(cohort, ids, gaps), *_issued(cohort, ids, gaps)]
    capped = _capped(frame)
    budget, skip = _budget_fact(capped)
    room = max(MAX_FACTS - len(facts) - 2, 1)
    facts += [*_near_cap_facts(capped, skip, room), budget, time_left(promotion, now)]
    return Headline(subject(promotion), tuple(facts))


# -- one customer ---------------------------------------------------------------------------------

def _benefits_fact(cohort: Cohort, gaps: list[str]) -> Fact:
    incentives = cohort.incentives[cohort.incentives["issued_count"].fillna(0).gt(0)]
    parts = []
    if len(incentives):
        parts.append(plural(incentives["issued_count"].sum(), "incentive"))
    points = cohort.points["total_points"].fillna(0).sum()
    if points:
        parts.append(f"{number_text(points)} points")
    totals = cohort.alternate_currencies.groupby("currency_name", dropna=False,
                                                 sort=True)["total_issued"].sum()
    parts += [f"{number_text(t)} {n}" for n, t in totals.items() if t]
    by = incentives.groupby("action", dropna=False, sort=True)["issued_count"].sum()
    note = ("By action: " + ", ".join(f"{a} {number_text(c)}" for a, c in by.items()) + "."
            if len(by) else "")
    if gaps:
        note = f"{note} At least: {'; '.join(gaps)}.".strip()
    return Fact("Benefits received", ", ".join(parts) or "None yet",
                "lower_bound" if gaps else "exact", note)


def _flag(value: Any) -> bool:
    return bool(pd.notna(value) and value)


def _closest_limit_facts(per_limit: pd.DataFrame, periods: pd.DataFrame,
                         room: int) -> list[Fact]:
    """The closest per-customer limit, then the others at 80% or more; ``periods`` gives the
    ``type`` and ``period_unit`` of each ``restriction`` (a :func:`limit_utilisation` frame)."""
    frame = per_limit.astype({"restriction": "str"}).merge(periods, on="restriction",
                                                           how="left")
    capped = _capped(frame)
    if not len(capped):
        return [Fact("Closest limit", "No per-customer cap", "exact")]
    measured = capped[capped["share_of_limit"].notna()].sort_values(
        "share_of_limit", ascending=False, kind="stable")
    if not len(measured):
        return [Fact("Closest limit", f"{plural(len(capped), 'per-customer cap')}, none "
                     "measurable", "not_measurable", CAVEAT["not_measurable"])]
    facts = []
    for _, row in measured.iterrows():
        share, exactness = row["share_of_limit"], str(row["measurability"])
        if facts and share < NEAR_CAP:
            break
        state = (", over the cap" if _flag(row["over_cap"]) else
                 ", at the cap" if _flag(row["at_cap"]) else "")
        facts.append(Fact(row["words"], f"{amount_text(row['usage'], row['limit'], row['unit'])}"
                          f" ({share_text(share)}){state}", exactness, CAVEAT[exactness],
                          "warning" if share >= NEAR_CAP else "info"))
    first = facts[0]
    first = Fact("Closest limit", f"{first.label}: {first.text}", first.exactness, first.note,
                 first.level)
    shares = measured["share_of_limit"].tolist()[1:len(facts)]
    return [first, *collapse(facts[1:], shares, max(room - 1, 1))]


def _last_fact(cohort: Cohort, now: pd.Timestamp, exactness: str) -> Fact:
    stamps = pd.concat([getattr(cohort, name)["last_issued_on"] for name in COUNT_COLUMNS])
    if not len(stamps):
        return Fact("Last issued", "Nothing yet", exactness)
    last = stamps.max()
    if pd.isna(last):
        return Fact("Last issued", "Date unknown", "not_measurable",
                    "The summary gives no date for this customer's benefits.")
    days = (now - last) / _DAY
    when = ("after as_of" if days < 0 else "today" if days < 1 else
            f"{plural(round(days), 'day')} ago")
    return Fact("Last issued", f"{when} ({last:%Y-%m-%d})", "exact")


def customer_headline(promotion: Promotion, cohort: Cohort, per_limit: pd.DataFrame, *,
                      as_of: Any) -> Headline:
    """The customer-benefits headline: status, benefits received, the closest limit, days
    since the last issuance and the promotion's time left.

    Parameters
    ----------
    promotion : Promotion
    cohort : Cohort
        Of one customer (``src.cohort(..., customer_ids=[customer_id])`` or
        ``cohort.subset([customer_id])``), for the same promotion.
    per_limit : DataFrame
        ``capnb.analysis.customer_utilisation(promotion, cohort, as_of=as_of)``: the limit
        facts copy its per-customer ``measurability``.
    as_of : timestamp-like
        "Now" of the days since the last issuance and the time left (naive = UTC).

    Returns
    -------
    Headline
        Titled "Customer id in Name (id)". Facts: the status (with the API's message when
        it was not fetched); benefits received (incentives, points, each currency); the
        closest per-customer limit with its share, then every other limit at 80% or more
        (collapsed when many); the last issuance; the time left.
    """
    check_promotion(promotion, cohort)
    frame = check_frame("per_limit", per_limit, CUSTOMER_UTILISATION_COLUMNS,
                        "capnb.analysis.customer_utilisation")
    now = check_as_of(as_of)
    if len(cohort.customers) != 1:
        raise ValidationError("cohort", "must hold one customer (cohort.subset([customer_id]))"
                              f", got {len(cohort.customers)}")
    customer = cohort.customers.iloc[0]
    others = set(frame["customer_id"].dropna().astype("int64")) - {customer["customer_id"]}
    if others:
        raise ValidationError("per_limit", f"is for customer {min(others)}, not "
                              f"{customer['customer_id']}: pass customer_utilisation of the "
                              "same cohort")
    status, message = customer["status"], customer.get("error_message")
    title = f"Customer {customer['customer_id']} in {subject(promotion)}"
    facts = [Fact("Status", label(CUSTOMER_STATUS, status), "exact",
                  str(message) if pd.notna(message) and message else "",
                  "info" if status in ("ok", "no_benefits") else "warning")]
    if status not in ("ok", "no_benefits"):
        facts += [Fact(name, _NOT_FETCHED, "not_measurable") for name in
                  ("Benefits received", "Closest limit", "Last issued")]
        return Headline(title, (*facts, time_left(promotion, now)))
    benefits = _benefits_fact(cohort, Coverage(promotion.start, cohort.activity_id, 0).gaps())
    periods = limit_utilisation(promotion, cohort, as_of=now)[
        ["restriction", "type", "period_unit"]]
    limits = _closest_limit_facts(frame, periods, MAX_FACTS - 4)
    facts += [benefits, *limits, _last_fact(cohort, now, benefits.exactness),
              time_left(promotion, now)]
    return Headline(title, tuple(facts))


# -- the program's portfolio ----------------------------------------------------------------------

def _named(row: Any) -> str:
    return f"{row['name'] if pd.notna(row['name']) else '(unnamed)'} ({row['promotion_id']})"


def _risk_fact(frame: pd.DataFrame) -> Fact:
    risky = frame[frame["risk"].gt(1).fillna(False).to_numpy(dtype=bool)].sort_values(
        "risk", ascending=False, kind="stable")
    measured = int(frame["risk"].notna().sum())
    if not len(risky):
        if not measured:
            return Fact("At risk", "None measured", "not_measurable",
                        "No promotion has a measured promotion-wide budget.")
        return Fact("At risk", f"None of the {plural(measured, 'promotion')} with a measured "
                    "budget", "lower_bound",
                    "At the current pace every measured budget lasts to the end.")
    top = risky.iloc[0]
    when = top["projected_exhaustion"]
    how = ("budget used before its start" if np.isinf(top["risk"]) else
           f"risk {top['risk']:.2f}" + (f", runs out {when:%Y-%m-%d}" if pd.notna(when) else ""))
    lead = plural(len(risky), "promotion") + (", the riskiest " if len(risky) > 1 else ": ")
    return Fact("At risk", f"{lead}{_named(top)}: {how}", "lower_bound",
                "Risk = budget used / time elapsed; above 1 the budget runs out before the end.",
                "warning")


def _most_used_fact(frame: pd.DataFrame) -> Fact:
    best: tuple[float, Any, str] | None = None
    for budget in _BUDGET_NAMES:
        used = frame[f"{budget}_used"] / frame[f"{budget}_limit"].astype("float64")
        if used.notna().any() and (best is None or used.max() > best[0]):
            best = (float(used.max()), used.idxmax(), budget)
    if best is None:
        return Fact("Most used budget", "None measured", "not_measurable",
                    "No promotion has both a promotion-wide cap and measured usage.")
    share, index, budget = best
    row = frame.loc[index]
    return Fact("Most used budget", f"{_named(row)}: {restriction_label(_BUDGET_NAMES[budget])}"
                f", {amount_text(row[budget + '_used'], row[budget + '_limit'])} "
                f"({share_text(share)})", "lower_bound",
                "From the fetched customers' summaries: others do not count.",
                "warning" if share >= NEAR_CAP else "info")


def portfolio_headline(budgets: pd.DataFrame, *, as_of: Any,
                       program_name: str | None = None) -> Headline:
    """The portfolio's headline: promotions and how many live, those at risk (the riskiest
    named), the most used budget, promotions without a measurable cap, the next to end.

    Parameters
    ----------
    budgets : DataFrame
        ``capnb.analysis.portfolio_frame`` (``src.portfolio(program_id, as_of=as_of)``).
        Budget usage comes from the fetched customers' summaries, so shares and risks are
        lower bounds.
    as_of : timestamp-like
        "Now" of the next promotion to end (naive = UTC).
    program_name : str, optional
        The title, e.g. "Sandbox Rewards (3334)"; default "Promotion portfolio".

    Returns
    -------
    Headline
    """
    frame = check_frame("budgets", budgets, PORTFOLIO_COLUMNS,
                        "capnb.analysis.portfolio_frame").reset_index(drop=True)
    now = check_as_of(as_of)
    statuses = frame["status"].fillna("status unknown").value_counts(sort=True)
    live = int(statuses.get("LIVE", 0))
    others = ", ".join(f"{number_text(c)} {str(s).lower()}" for s, c in statuses.items()
                       if s != "LIVE")
    facts = [Fact("Promotions", f"{plural(len(frame), 'promotion')}, {live} live"
                  + (f" ({others})" if others else ""), "exact"),
             _risk_fact(frame), _most_used_fact(frame)]
    unmeasured = frame[frame["budget_used_share"].isna()]
    names = ", ".join(_named(r) for _, r in unmeasured.head(3).iterrows()) + (
        f" and {len(unmeasured) - 3} more" if len(unmeasured) > 3 else "")
    new_ui = int(unmeasured["source"].eq(PROMOTION_SOURCE_V3).sum())
    why = "No promotion-wide cap, or its usage was not measured." + (
        f" {plural(new_ui, 'promotion')} made in the new UI: "
        f"{'its' if new_ui == 1 else 'their'} limits are not documented." if new_ui else "")
    facts.append(Fact("Without a measurable cap",
                      f"{number_text(len(unmeasured))} of {number_text(len(frame))}: {names}"
                      if len(unmeasured) else "None", "exact",
                      why if len(unmeasured)
                      else "Every promotion has a promotion-wide cap with measured usage."))
    running = frame[frame["end"].gt(now).fillna(False).to_numpy(dtype=bool)]
    if len(running):
        row = running.loc[running["end"].idxmin()]
        facts.append(Fact("Next to end", f"{_named(row)} in "
                          f"{plural(round((row['end'] - now) / _DAY), 'day')} "
                          f"({row['end']:%Y-%m-%d})", "exact"))
    return Headline(program_name or "Promotion portfolio", tuple(facts))
