"""Population figures estimated from a sampled cohort, each with its 95% interval.

A cohort fetched from a :class:`~capnb.fetch.sampling.Sample` carries its design (population
size, strata). :func:`population_estimates` turns what the analyses measure per customer into
the figures about the whole population, each an estimate with an interval
(:mod:`capnb.intervals` has the formulas): the share of customers reached (Wilson), points
issued in total (N x mean, finite-population correction), every promotion-wide cap's share of
its limit (the estimated total over the limit), and for every per-customer cap how many
customers are at it and near it (N x a Wilson share). Per-customer figures (one customer's own
usage) stay exact and are not here. :func:`precision_watch` gives the half-widths a fetch that
stops once precise enough (``capnb.fetch_sample(..., precision=)``) watches. Pure: frames in,
frames out.

The sample is the customers the API answered for (``ok`` and ``no_benefits``); sampled
customers that failed or were not found are treated as missing at random, and the note counts
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.facts import MAX_FACTS, Fact, Headline, subject, time_left
from capnb.analysis.limits import utilisation
from capnb.analysis.measure import NEAR_CAP
from capnb.analysis.notes import estimate_text
from capnb.analysis.population import scale_of
from capnb.analysis.summary import check_cohort, fetched_benefits, fetched_ids
from capnb.errors import ValidationError
from capnb.intervals import Interval
from capnb.labels import MEASURABILITY, label, restriction_label
from capnb.schema import typed_frame
from capnb.validation import check_as_of

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = ["ESTIMATE_COLUMNS", "FIGURES", "estimate_text", "population_estimates",
           "precision_watch", "sample_headline", "sample_text", "watched_widths"]

ESTIMATE_COLUMNS: dict[str, str] = {
    "figure": "str", "restriction": "str", "kind": "str", "unit": "str", "limit": "Int64",
    "estimate": "float64", "low": "float64", "high": "float64", "half_width": "float64",
    "precision": "float64", "sampled": "Int64", "population": "Int64",
    "measurability": "str", "note": "str",
}
FIGURES = ("customers_reached", "points_issued", "share_of_limit", "customers_at_cap",
           "customers_near_cap")
"""The figures :func:`population_estimates` returns, in its order."""


def _design(cohort: Any) -> Any:
    check_cohort(cohort)
    design = getattr(cohort, "design", None)
    if design is None:
        raise ValidationError("cohort", "was not fetched from a random sample (no design): "
                              "draw one with capnb.draw_sample and fetch it, or use the "
                              "cohort's own figures")
    return design


def sample_text(cohort: Cohort) -> str:
    """Where a sampled cohort's figures come from, in words: the design's note (how many of
    how many customers, and how the size was chosen) and what the API did not answer."""
    design = _design(cohort)
    answered = len(fetched_ids(cohort))
    sampled = int(cohort.customers["status"].ne("invalid").sum())
    text = design.note or f"a random sample of {sampled:,} of {design.population_size:,}"
    if answered < sampled:
        text += (f"; {answered:,} answered, the {sampled - answered:,} that failed or were "
                 "not found are treated as missing at random")
    return text


def _row(figure: str, kind: str, unit: str, interval: Interval, scale: float, *,
         restriction: str | None = None, limit: Any = None, sampled: int, population: int,
         what: str, caveat: str = "") -> dict[str, Any]:
    text = estimate_text(interval.estimate, interval.low, interval.high, kind)
    return {"figure": figure, "restriction": restriction, "kind": kind, "unit": unit,
            "limit": limit, "estimate": interval.estimate, "low": interval.low,
            "high": interval.high, "half_width": interval.half_width,
            "precision": interval.half_width / scale if scale else np.nan,
            "sampled": sampled, "population": population, "measurability": "estimate",
            "note": (f"Estimate of {what} from a random sample of {sampled:,} of "
                     f"{population:,} customers: {text}, 95% interval.{caveat}")}


def population_estimates(promotion: Promotion | None, cohort: Cohort, *, as_of: Any = None,
                         ) -> pd.DataFrame:
    """Every population figure of a sampled cohort, as an estimate with its 95% interval.

    Parameters
    ----------
    promotion : Promotion, optional
        Its restrictions give the cap figures; None gives reach and points only.
    cohort : Cohort
        Fetched from a :class:`~capnb.fetch.sampling.Sample` (it carries ``design``).
    as_of : timestamp-like, optional
        End of the trailing windows of PERIOD_BASED restrictions (default now).

    Returns
    -------
    DataFrame
        One row per figure (see :data:`FIGURES`): ``figure``, ``restriction`` (str, the label
        of :func:`capnb.analysis.utilisation` for cap figures), ``kind`` (``share``: a share
        of customers or of a limit; ``total``; ``count``: customers), ``unit`` (str),
        ``limit`` (Int64), ``estimate, low, high, half_width`` (float64, in the figure's
        unit), ``precision`` (float64, the half-width as a share: of the customers for counts,
        of the limit for a cap's share), ``sampled`` and ``population`` (Int64),
        ``measurability`` (``estimate``) and ``note`` (words, with the interval).
        Unlimited or unmeasurable restrictions give no row.
    """
    _design(cohort)
    scale = scale_of(cohort)
    shape = {"sampled": scale.sampled, "population": scale.size}
    reached_ids = cohort.customers.loc[cohort.customers["status"].eq("ok"), "customer_id"]
    reached = np.isin(scale.ids, reached_ids.to_numpy(dtype="int64"))
    rows = [_row("customers_reached", "share", "customers", scale.share(reached), 1.0,
                 what="the share of customers reached (with at least one benefit)", **shape)]
    points = fetched_benefits(cohort, "points", scale.ids)
    rows.append(_row("points_issued", "total", "points",
                     scale.total(scale.values(points["customer_id"], points["total_points"])),
                     np.nan, what="the points issued in total", **shape))
    if promotion is not None:
        rows.extend(_cap_rows(promotion, cohort, check_as_of(as_of), shape))
    frame = pd.DataFrame.from_records(rows, columns=list(ESTIMATE_COLUMNS))
    return typed_frame(frame, ESTIMATE_COLUMNS)


def _cap_rows(promotion: Promotion, cohort: Cohort, as_of: pd.Timestamp,
              shape: dict[str, int]) -> list[dict[str, Any]]:
    """The cap figures, from the estimates :func:`capnb.analysis.utilisation` gives a sampled
    cohort."""
    if not isinstance(getattr(promotion, "restrictions", None), pd.DataFrame):
        raise ValidationError("promotion", f"must be a capnb.Promotion, got "
                              f"{type(promotion).__name__}")
    usage = utilisation(promotion, cohort, as_of=as_of)
    rows = []
    size = shape["population"]
    for row in usage.itertuples(index=False):
        if row.measured_as == "not_measurable" or row.unlimited or pd.isna(row.limit) or (
                row.limit <= 0):
            continue
        words = label(MEASURABILITY, row.measured_as)
        caveat = ("" if row.measured_as == "exact" else
                  f" The usage measured per customer is a {words} (see the utilisation "
                  f"note): this estimates that {words}, not the usage itself.")
        common = {"restriction": row.restriction, "limit": row.limit, "caveat": caveat,
                  **shape}
        named = f"of {row.limit:,} on {restriction_label(row.restriction)} ({row.name})"
        if row.scope == "promotion":
            rows.append(_row("share_of_limit", "share", "share of limit",
                             _interval(row, "share_of_limit"), 1.0,
                             what=f"the share of the promotion-wide cap {named} used",
                             **common))
        elif row.scope in ("customer", "event", "earn", "unknown"):
            for figure, words in (("customers_at_cap", "at"),
                                  ("customers_near_cap", "at or near")):
                rows.append(_row(figure, "count", "customers", _interval(row, figure), size,
                                 what=f"the customers {words} the cap {named}", **common))
    return rows


def _interval(row: Any, column: str) -> Interval:
    return Interval(float(getattr(row, column)), getattr(row, f"{column}_low"),
                    getattr(row, f"{column}_high"))


def precision_watch(promotion: Promotion | None = None, *, as_of: Any = None,
                    figures: Iterable[str] = ("customers_reached", "share_of_limit"),
                    ) -> Callable[[Cohort], dict[str, float]]:
    """The watch of a fetch that stops once precise enough: a function of the cohort fetched
    so far giving each watched figure's 95% half-width as a share (``precision`` of
    :func:`population_estimates`), keyed by figure and restriction.

    ``figures`` picks among :data:`FIGURES` except ``points_issued`` (a total has no share
    scale): by default the share of customers reached and every promotion-wide cap's share.
    """
    chosen = tuple(figures) if not isinstance(figures, str) else (figures,)
    allowed = [f for f in FIGURES if f != "points_issued"]
    if not chosen or any(f not in allowed for f in chosen):
        raise ValidationError("figures", f"must name some of {', '.join(allowed)}, got "
                              f"{chosen!r}")
    moment = check_as_of(as_of)

    def watch(cohort: Cohort) -> dict[str, float]:
        return watched_widths(population_estimates(promotion, cohort, as_of=moment), chosen)

    return watch


def watched_widths(estimates: pd.DataFrame,
                   figures: Iterable[str] = ("customers_reached", "share_of_limit"),
                   ) -> dict[str, float]:
    """The half-widths (as shares) a :func:`precision_watch` reads from a
    :func:`population_estimates` frame, keyed by figure and restriction."""
    chosen = estimates[estimates["figure"].isin(tuple(figures))]
    return {f"{r.figure}" + (f" {r.restriction}" if pd.notna(r.restriction) else ""):
            float(r.precision) for r in chosen.itertuples(index=False)}


def sample_headline(promotion: Promotion, cohort: Cohort, estimates: pd.DataFrame, *,
                    as_of: Any) -> Headline:
    """The overview's headline for a sampled cohort: every population figure of
    ``estimates`` (:func:`population_estimates`) with its interval, badge ``estimate``.

    Facts, in order: customers reached (share), points issued (total), each promotion-wide
    cap's share used (largest first), customers at each per-customer cap (most first, those
    with an estimate of 0 left out), the time left (exact); at most :data:`MAX_FACTS`.
    """
    _design(cohort)
    if not isinstance(estimates, pd.DataFrame) or not set(ESTIMATE_COLUMNS) <= set(estimates):
        raise ValidationError("estimates", "must be a frame from population_estimates")
    where = sample_text(cohort)
    facts = []
    for row in estimates.itertuples(index=False):
        text = estimate_text(row.estimate, row.low, row.high, row.kind)
        if row.figure == "customers_reached":
            facts.append((0, 0, Fact("Customers reached", f"{text} of {row.population:,} "
                                     "customers", "estimate", f"Estimated from {where}.")))
        elif row.figure == "points_issued":
            facts.append((1, 0, Fact("Points issued", f"{text} in total", "estimate",
                                     "All categories, estimated from the sample.")))
        elif row.figure == "share_of_limit":
            facts.append((2, -row.estimate, Fact(
                f"Budget: {restriction_label(row.restriction)}",
                f"{text} of {row.limit:,} used", "estimate", str(row.note),
                "warning" if row.high >= NEAR_CAP else "info")))
        elif row.figure == "customers_at_cap" and row.estimate > 0:
            facts.append((3, -row.estimate, Fact(
                restriction_label(row.restriction), f"{text} customers at the cap of "
                f"{row.limit:,}", "estimate", str(row.note))))
    chosen = [f for _, _, f in sorted(facts, key=lambda item: item[:2])][:MAX_FACTS - 1]
    return Headline(subject(promotion), (*chosen, time_left(promotion, check_as_of(as_of))))
