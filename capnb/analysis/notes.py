"""What a utilisation row says in words: its measurability and plain-English note, and how
figures are written (:func:`number_text`, :func:`share_text`).

The functions here take the facts :mod:`capnb.analysis.evaluate` and
:mod:`capnb.analysis.exact` established (which case applies, the window, what the summary may
miss) and return the measurability (``exact``, ``lower_bound``, ``proxy``, ``not_measurable``)
with the note text; they compute no usage. :data:`METRIC_TEXT` names each measurable quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capnb.analysis.summary import DATA_START
from capnb.labels import MISSING

__all__ = [
    "BEST_MEASURABILITY",
    "EXACT_METRIC",
    "NO_TIMELINES",
    "REDEMPTIONS_METRIC",
    "REDEMPTIONS_PERIOD_BASED",
    "METRIC_TEXT",
    "NO_EXACT_CUSTOMERS",
    "NO_EXACT_USAGE",
    "Coverage",
    "Verdict",
    "coverage_sentence",
    "estimate_text",
    "exact_verdict",
    "measured_verdict",
    "not_measurable_note",
    "number_text",
    "redemptions_note",
    "sampled_note",
    "share_text",
    "unplaced_window_note",
    "windowed_metric",
]

METRIC_TEXT = {
    "points": ("points issued (sum of total_points)", "points"),
    "issuals": ("incentives issued (sum of issued_count)", "count"),
    "earns": ("points issuances (sum of times_issued)", "count"),
    "events": ("events: at least the largest of points issuances, currency issuances and "
               "incentives issued", "count"),
    "per_event": ("largest average points per issuance of a category "
                  "(total_points / times_issued)", "points"),
}
"""Measurable quantity -> (metric text, unit) of a utilisation row."""
BEST_MEASURABILITY = {"points": "exact", "issuals": "exact", "earns": "exact",
                      "events": "lower_bound", "per_event": "proxy"}
"""Measurable quantity -> its measurability in the best case (other quantities: not measurable)."""
EXACT_METRIC = "currentCustomerUsage reported by promotionData"
"""The metric text of a restriction whose usage promotionData reported."""
NO_EXACT_CUSTOMERS = (" promotionData answered for none of these customers (see "
                      "exact.customers): derived from the summaries.")
"""Appended to every note when promotionData measured none of the cohort's customers."""
NO_EXACT_USAGE = (" promotionData reports no usage for this restriction: derived from the "
                  "summaries.")
"""Appended to the note of a restriction promotionData does not report."""

REDEMPTIONS_METRIC = ("largest redeemedCount of one issual (promotionData "
                      "customerPromotionTimelines)")
"""The metric text of redemptions per earn measured from the timelines."""
NO_TIMELINES = ("Not measurable: promotionData's answers carried no customerPromotionTimelines "
                "(each issual's redeemedCount) for these customers, and the documentation does "
                "not say how its currentCustomerUsage counts redemptions per earn.")
"""The note of redemptions per earn when no answer carried timelines."""
REDEMPTIONS_PERIOD_BASED = ("Not measurable: PERIOD_BASED, and the timelines give each "
                            "issual's redeemedCount without the dates of its redemptions.")
"""The note of a period-based redemptions-per-earn cap."""

_WHY_NOT = {
    "redemptions": ("the summary reports benefits issued, never redemptions (promotionData's "
                    "customerPromotionTimelines give each issual's redeemedCount: "
                    "utilisation(..., usage=\"exact\", exact=...))"),
    None: "capnb does not know which quantity this restriction name limits",
}
_OUTSIDE_COHORT = ("Lower bound: the cohort's total; customers outside the cohort also count "
                   "(pass whole_population=True if the cohort is every customer of the "
                   "promotion).")


def number_text(value: Any) -> str:
    """A figure with thousands separators: whole numbers without decimals, others with two;
    ``—`` when missing.

    >>> number_text(1908960.0), number_text(30190.5), number_text(None)
    ('1,908,960', '30,190.50', '—')
    """
    if value is None or pd.isna(value):
        return MISSING
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def share_text(value: Any) -> str:
    """A share (0-1) as a percentage with one decimal; ``—`` when missing.

    >>> share_text(0.55546), share_text(float("nan"))
    ('55.5%', '—')
    """
    return MISSING if value is None or pd.isna(value) else f"{float(value):.1%}"


def estimate_text(estimate: float, low: float, high: float, kind: str) -> str:
    """An estimate and its interval as a report shows it.

    >>> estimate_text(0.632, 0.623, 0.641, "share")
    '63.2% (62.3–64.1%)'
    >>> estimate_text(1234567.0, 1200000.0, 1270000.0, "total")
    '1,234,567 (1,200,000–1,270,000)'
    """
    if any(pd.isna(v) for v in (estimate, low, high)):
        return "—"
    if kind == "share":
        return f"{estimate:.1%} ({low * 100:.1f}–{high:.1%})"
    return f"{estimate:,.0f} ({low:,.0f}–{high:,.0f})"


def sampled_note(record: dict[str, Any], population: int, sampled: int) -> str:
    """The note of a utilisation row estimated from a random sample of ``sampled`` of
    ``population`` customers: the estimates with their intervals, then how each customer's
    usage was measured (``record``'s ``note``)."""
    head = (f"Estimate for all {population:,} customers from a random sample of {sampled:,}, "
            "95% intervals: ")

    def figure(column: str, kind: str) -> str:
        return estimate_text(record.get(column, np.nan), record.get(f"{column}_low", np.nan),
                             record.get(f"{column}_high", np.nan), kind)

    if pd.isna(record.get("share_of_limit", np.nan)):
        body = f"{figure('usage_total', 'total')} in total."
    elif record["scope"] == "promotion":
        body = f"{figure('share_of_limit', 'share')} of the limit used."
    else:
        body = (f"the 90th-percentile customer at {figure('share_of_limit', 'share')} of the "
                f"limit; {figure('customers_at_cap', 'total')} customers at the cap, "
                f"{figure('customers_near_cap', 'total')} at or near it.")
    return f"{head}{body} Measured per customer: {record['note']}"


@dataclass(frozen=True)
class Coverage:
    """What a cohort's summaries may miss: benefits before 2025-06-12, other activities."""

    start: pd.Timestamp | None
    activity_id: str | None
    failed: int

    def gaps(self, window_begin: pd.Timestamp | None = None) -> list[str]:
        """Why benefits may be missing; for a window beginning at ``window_begin``, benefits
        before 2025-06-12 matter only when the window reaches back before that date."""
        start_gaps = []
        start = self.start
        if start is None or pd.isna(start):
            start_gaps.append("the promotion's start date is unknown, so benefits before "
                              "2025-06-12 may be missing from the summary")
        elif start < DATA_START:
            start_gaps.append(f"the promotion started on {start:%Y-%m-%d}, before 2025-06-12: "
                              "earlier benefits are not in the summary")
        activity_gaps = []
        if self.activity_id:
            activity_gaps.append(f"the cohort holds activity {self.activity_id!r} only: other "
                                 "activities' benefits are missing")
        if window_begin is None:
            return start_gaps + activity_gaps
        return activity_gaps + ([] if window_begin >= DATA_START else start_gaps)


def coverage_sentence(start: pd.Timestamp | None) -> str:
    """What a report header says when the action summary cannot cover a promotion's whole life
    ('' when it started on or after 2025-06-12).

    >>> coverage_sentence(pd.Timestamp("2025-06-01", tz="UTC"))[:62]
    'The action summary holds nothing before 2025-06-12; this promo'
    >>> coverage_sentence(pd.Timestamp("2025-07-31", tz="UTC"))
    ''
    """
    if start is not None and not pd.isna(start) and start >= DATA_START:
        return ""
    began = ("its start date is unknown" if start is None or pd.isna(start)
             else f"this promotion started on {start:%Y-%m-%d}")
    return (f"The action summary holds nothing before {DATA_START:%Y-%m-%d}; {began}, so its "
            "benefits before then are missing and the figures derived from the summary are "
            "lower bounds.")


@dataclass(frozen=True)
class Verdict:
    """Measurability and note of a measured restriction; ``complete`` = no benefit missing."""

    measurability: str
    note: str
    complete: bool


def _legacy(name: str, canonical: str) -> list[str]:
    return [f"Legacy limits field {name}, measured as {canonical}."] if canonical != name else []


def not_measurable_note(name: str, canonical: str, scope: str, quantity: str | None,
                        kind: str | None, value: int | None) -> str:
    """The note of a restriction whose quantity the summary cannot measure."""
    notes = _legacy(name, canonical)
    if scope == "expiry":
        days = f"{value} days from issual" if kind == "CUSTOM" else "the promotion's end"
        notes.append(f"Expiry rule ({kind or 'type unknown'}: {days}), not a usage cap: not "
                     "measurable.")
    else:
        notes.append(f"Not measurable: {_WHY_NOT[quantity]}.")
    return " ".join(notes)


def unplaced_window_note(name: str, canonical: str, period_type: str | None,
                         unit: str | None) -> str:
    """The note of a PERIOD_BASED restriction whose window capnb cannot place."""
    return " ".join([*_legacy(name, canonical), f"Not measurable: PERIOD_BASED with period "
                     f"{period_type}/{unit}, a window capnb cannot place."])


def windowed_metric(quantity: str, days: int) -> str:
    """The metric text of a quantity measured in a trailing window."""
    return f"{METRIC_TEXT[quantity][0]} in the trailing {days} day(s) to as_of"


def measured_verdict(*, name: str, canonical: str, scope: str, quantity: str,
                     period_based: bool, unit: str | None, window: tuple[int, pd.Timestamp,
                                                                          pd.Timestamp] | None,
                     coverage: Coverage, whole_population: bool, unlimited: bool,
                     value: int | None) -> Verdict:
    """Measurability and note of a restriction the summary measures.

    ``window`` is (days, begin, as_of) for a quantity measured in a trailing window.
    """
    notes = _legacy(name, canonical)
    metric = METRIC_TEXT[quantity][0]
    if window is not None:
        days, begin, as_of = window
        lost = coverage.gaps(window_begin=begin)
        level = "lower_bound"
        notes.append(
            f"PERIOD_BASED ({unit}: trailing {days} day(s) before each event). The "
            "summary holds lifetime totals and the last issuance only, so usage in "
            f"({begin:%Y-%m-%d %H:%M}, {as_of:%Y-%m-%d %H:%M} UTC] is a lower bound: a "
            "benefit last issued in the window counts its full amount if issued once, "
            "else at least one event; one last issued earlier counts 0. Caps hit in "
            "earlier windows cannot be seen.")
    elif quantity == "per_event":
        lost = coverage.gaps()
        level = "proxy"
        notes.append("Proxy: the summary has no per-event amounts; the largest average "
                     "points per issuance of a category never exceeds the largest single "
                     "event, so an average over the cap proves a breach (customers_over_cap)"
                     " while customers under it may still have larger single events.")
        if period_based:
            notes.append("The period settings of a per-event cap are ignored.")
    else:
        lost = coverage.gaps()
        if quantity == "events":
            level = "lower_bound"
            notes.append("Lower bound: the summary has no event count and an event may "
                         "issue points, a currency and an incentive at once (exact for "
                         "customers with only one kind of benefit).")
        elif scope == "promotion" and not whole_population:
            level = "lower_bound"
            notes.append(_OUTSIDE_COHORT)
        elif scope == "promotion" and coverage.failed:
            level = "lower_bound"
            notes.append(f"Lower bound: {coverage.failed} customer(s) could not be fetched.")
        else:
            level = "exact" if not lost else "lower_bound"
            notes.append(f"Lifetime {metric}" + (" of the whole cohort." if
                         scope == "promotion" else " per customer."))
        if quantity == "earns":
            notes.append("Assumes an earn issues points in one category.")
    if lost:
        if level == "exact":
            level = "lower_bound"
        notes.append("Lower bound: " + "; ".join(lost) + ".")
    if unlimited:
        notes.append("No limit (-1): usage shown without a share.")
    elif not value:
        notes.append(f"Limit value {value!r}: usage shown without a share.")
    return Verdict(level, " ".join(notes), not lost)


def exact_verdict(*, measured: int, skipped: int, period_based: bool, period_unit: object,
                  scope: str, whole_population: bool) -> tuple[str, str]:
    """(measurability, note) of a restriction whose usage promotionData reported."""
    notes = [f"Exact: the platform's own count (promotionData) for {measured} "
             "customer(s)" + (f"; {skipped} customer(s) without promotionData are left "
                              "out" if skipped else "") + "."]
    if period_based:
        notes.append(f"Usage in the current {str(period_unit).lower()} period as the "
                     "platform counts it.")
    level = "exact"
    if scope == "promotion" and not whole_population:
        level = "lower_bound"
        notes.append(_OUTSIDE_COHORT)
    return level, " ".join(notes)


def redemptions_note(*, with_timelines: int, without: int, skipped: int) -> str:
    """The note of redemptions per earn measured from the timelines' ``redeemedCount``."""
    left_out = [f"{without} customer(s) whose answers carried no timelines"] if without else []
    left_out += [f"{skipped} customer(s) without promotionData"] if skipped else []
    return (f"Exact: the largest redeemedCount of one issual in promotionData's "
            f"customerPromotionTimelines, for {with_timelines} customer(s)"
            + (f"; {' and '.join(left_out)} are left out" if left_out else "") + ".")
