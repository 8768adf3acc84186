"""The dashboard's sample mode: fetch a random sample in rounds and show the running estimate.

:class:`SampleMode` owns the two controls (the sample size, 0 = every customer; the precision
target in percentage points, 0 = off), reads them (:meth:`SampleMode.settings`, a readable
``ValidationError`` before any request), and fetches: :func:`capnb.draw_sample` over the
customer ids (``seed``), then the sample's customers in their random order in rounds
(:func:`capnb.fetch.sequential.fetch_rounds`: 400, then 10% more each), stopping once every
watched 95% interval (customers reached, each promotion-wide cap's share:
:func:`capnb.analysis.estimates.watched_widths`) is within the target, or when the whole
sample is fetched.

After each round :func:`population_estimates` of the cohort so far is computed once: the stop
reads its half-widths, and :class:`RunningEstimate` keeps its rows in
:attr:`RunningEstimate.frame` (one row per round and figure, to plot the narrowing) and
rewrites one line, in one widget message::

    After 880 of 1,000 sampled customers (random sample of 5,000): customers reached 87.6%
    (85.7–89.3%) · Budget: … 64.1% (61.0–67.2%) · widest ±1.8 pp (target ±1.0 pp)
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import pandas as pd

from capnb.analysis.estimates import estimate_text, population_estimates, watched_widths
from capnb.api.client import Client
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort, FetchInterrupted
from capnb.fetch.sampling import draw_sample
from capnb.fetch.sequential import MIN_SAMPLE, fetch_rounds
from capnb.fetch.summaries import fetch_cohort
from capnb.labels import restriction_label
from capnb.models import Promotion
from capnb.reports.status import LEVELS

__all__ = ["RUNNING_COLUMNS", "RunningEstimate", "SampleMode", "SampleSettings"]

RUNNING_COLUMNS = {"round": "int64", "fetched": "int64", "figure": "str", "restriction": "str",
                   "estimate": "float64", "low": "float64", "high": "float64",
                   "half_width": "float64", "precision": "float64"}
"""Columns of :attr:`RunningEstimate.frame` and their dtypes."""
_SHOWN = ("customers_reached", "share_of_limit")
_HELP = ("<small>customers drawn at random (0: every customer) · stop once every watched 95% "
         "interval (customers reached, each promotion-wide cap's share) is this narrow (0: the "
         "whole sample)</small>")


@dataclass(frozen=True)
class SampleSettings:
    """A sample fetch: ``size`` customers (None: every customer, in random order), stopping at
    ``precision`` (a half-width as a share; None: the whole sample), drawn with ``seed``."""

    size: int | None
    precision: float | None
    seed: int

    def words(self, customers: int, promotion: Any) -> str:
        """What Fetch does, in words (the status line while it runs)."""
        of = f" of {customers:,}" if self.size else ""
        if self.precision is None:
            return (f"Fetching a random sample of {self.size:,}{of} customers of promotion "
                    f"{promotion}, in rounds…")
        return (f"Fetching up to {self.size or customers:,}{of} customers of promotion "
                f"{promotion} in random order, until ±{self.precision * 100:.1f} pp…")


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("sample", f"must be a whole number of customers, 0 for every "
                              f"customer, got {value!r}")
    return int(value)


def _points(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) \
            or not 0 <= value < 50:
        raise ValidationError("precision", f"must be from 0 (off) to below 50 percentage "
                              f"points, e.g. 1 for ±1 pp, got {value!r}")
    return float(value)


class SampleMode:
    """The sample controls and the fetch of a sample in rounds (see the module docstring).

    Parameters
    ----------
    sample : int
        Initial sample size (0: every customer).
    precision : float, optional
        Initial precision target as a share (0.01 = ±1 percentage point); None or 0: off.
    seed : int
        Seed of :func:`capnb.draw_sample`.
    as_of : Timestamp, optional
        End of the trailing windows of the estimates.
    """

    def __init__(self, sample: int = 0, precision: float | None = None, seed: int = 0,
                 as_of: Any = None, disabled: bool = False) -> None:
        if precision is not None and (isinstance(precision, bool) or not isinstance(
                precision, int | float) or not 0 <= precision < 0.5):
            raise ValidationError("precision", f"must be None or a half-width as a share from "
                                  f"0 (off) to below 0.5 (0.01 = ±1 pp), got {precision!r}")
        points = round((precision or 0.0) * 100, 6)
        _size(sample)
        draw_sample([1], seed=seed)  # checks the seed now, not at the first fetch
        self.seed, self.as_of = seed, as_of
        self.size_input = W.IntText(value=sample, description="Sample size", disabled=disabled,
                                    style={"description_width": "initial"},
                                    layout=W.Layout(width="14em"))
        self.precision_input = W.FloatText(value=points, description="Precision ± pp",
                                           step=0.1, disabled=disabled,
                                           style={"description_width": "initial"},
                                           layout=W.Layout(width="14em"))
        self.running = RunningEstimate(as_of)
        self.row = W.HBox([self.size_input, self.precision_input, W.HTML(_HELP)])

    def settings(self, customers: int) -> SampleSettings | None:
        """What the controls ask for over ``customers`` ids: None for an ordinary fetch (both
        0). Raises ``ValidationError`` for a bad size or precision."""
        size, points = _size(self.size_input.value), _points(self.precision_input.value)
        if size > customers:
            raise ValidationError("sample", f"asks for {size:,} customers but "
                                  f"{customers:,} were given (0: every customer)")
        if not size and not points:
            return None
        return SampleSettings(size or None, points / 100 if points else None, self.seed)

    def fetch(self, client: Client, source: Any, ids: tuple[int | str, int | str],
              promotion: Promotion | None, settings: SampleSettings, *,
              cancel: threading.Event, on_progress: Callable[[int, int], object],
              **options: Any) -> Cohort:
        """Fetch ``settings``' sample of ``source`` in rounds for ``ids`` (program, promotion),
        recording each round's estimates; ``on_progress(done, total)`` counts over the whole
        sample. Raises ``FetchInterrupted`` (with what was fetched and its design) on cancel, as
        ``fetch_cohort``."""
        sample = draw_sample(source, settings.size, seed=settings.seed)
        total, offset = len(sample.ids), [0]
        target = -math.inf if settings.precision is None else settings.precision
        self.running.start(total, sample.design.population_size, settings.precision)

        def fetch_round(part: list[int]) -> Cohort:
            cohort = fetch_cohort(client, part, *ids, progress=False, cancel=cancel,
                                  on_progress=lambda done, _: on_progress(offset[0] + done,
                                                                          total), **options)
            offset[0] += len(part)
            return cohort

        def recorded(cohort: Cohort) -> dict[str, float]:  # the watch: estimates once a round
            estimates = population_estimates(promotion, cohort, as_of=self.as_of)
            widths = watched_widths(estimates)
            self.running.record(estimates, cohort, max(widths.values(), default=math.inf))
            return widths

        try:
            cohort = fetch_rounds(sample, fetch_round, recorded, target, MIN_SAMPLE)
        except FetchInterrupted as exc:
            self._unless_precise(exc.cohort, settings, total)
            self.running.finish(cancelled=True)
            raise
        self._unless_precise(cohort, settings, None)
        self.running.finish(cancelled=False)
        return cohort

    @staticmethod
    def _unless_precise(cohort: Cohort, settings: SampleSettings, cut: int | None) -> None:
        """Without a precision target, the design's note is the sample's own (no target);
        ``cut``: the sample size when a cancel cut the fetch short."""
        if settings.precision is None and cohort.design is not None:
            fetched = int(cohort.customers["status"].ne("invalid").sum())
            size = cohort.design.population_size
            cohort.design = cohort.design.with_note(
                f"a random sample of {fetched:,} of {size:,} customers ({fetched / size:.1%}), "
                "fetched in random order" + (f"; cancelled before the whole sample of {cut:,}"
                                             if cut is not None else ""))


class RunningEstimate:
    """The running estimate of a sample fetch: :attr:`widget` (one line) and :attr:`frame`."""

    def __init__(self, as_of: Any = None) -> None:
        self.as_of = as_of
        self.widget = W.HTML("")
        self.frame = _empty()
        self._rows: list[pd.DataFrame] = []
        self._total = self._population = 0
        self._target: float | None = None
        self._last, self._widest = "", math.inf

    def start(self, total: int, population: int, target: float | None) -> None:
        """A new sample fetch of ``total`` of ``population`` customers (``target``: share)."""
        self._rows, self._total, self._population, self._target = [], total, population, target
        self.frame = _empty()
        self._last = ""
        self.widget.value = _line(f"Fetching a random sample of {total:,} of {population:,} "
                                  "customers: the estimate appears after the first "
                                  f"{min(MIN_SAMPLE, total):,}…", "info")

    def clear(self) -> None:
        """An ordinary fetch: no running estimate."""
        self.widget.value = ""

    def record(self, estimates: pd.DataFrame, cohort: Cohort, widest: float) -> None:
        """One round done: its ``estimates`` (:func:`population_estimates` of ``cohort``) into
        :attr:`frame`, the line rewritten once."""
        fetched = int(cohort.customers["status"].ne("invalid").sum())
        rows = estimates[list(RUNNING_COLUMNS)[2:]].copy()
        rows.insert(0, "fetched", fetched)
        rows.insert(0, "round", len(self._rows) + 1)
        self._rows.append(rows)
        self.frame = pd.concat(self._rows, ignore_index=True).astype(
            {"round": "int64", "fetched": "int64"})
        target = ("" if self._target is None else f" (target ±{self._target * 100:.1f} pp)")
        parts = [_figure_text(row) for row in estimates.itertuples(index=False)
                 if row.figure in _SHOWN]
        self._widest = widest
        whole = self._total == self._population
        self._last = (f"{fetched:,} of {self._total:,} " + (
            "customers, in random order" if whole else
            f"sampled customers (random sample of {self._population:,})") + ": "
            + " · ".join(parts)
                      + (f" · widest ±{widest * 100:.1f} pp{target}"
                         if math.isfinite(widest) else ""))
        self.widget.value = _line(f"After {self._last}", "info")

    def finish(self, cancelled: bool) -> None:
        """The fetch ended: the last line says why it stopped there."""
        if not self._last:
            self.widget.value = _line("Cancelled before the first estimate (none is shown)."
                                      if cancelled else "", "warning")
            return
        if cancelled:
            why = "cancelled: the customers fetched are a random sample too"
        elif self._target is not None and self._widest <= self._target:
            why = "stopped at the target: every watched interval is within it"
        else:
            why = "the whole sample fetched" + (" before reaching the target"
                                                if self._target is not None else "")
        self.widget.value = _line(f"{'Cancelled after' if cancelled else 'Estimate from'} "
                                  f"{self._last}; {why}.", "warning" if cancelled else "info")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in RUNNING_COLUMNS.items()})


def _figure_text(row: Any) -> str:
    value = estimate_text(row.estimate, row.low, row.high, row.kind)
    if row.figure == "customers_reached":
        return f"customers reached {value}"
    return f"Budget: {restriction_label(row.restriction)} {value}"


def _line(text: str, level: str) -> str:
    return (f'<div style="color:{LEVELS[level]}" class="capnb-estimate capnb-{level}">'
            f"{html.escape(text)}</div>" if text else "")
