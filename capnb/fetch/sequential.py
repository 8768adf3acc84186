"""``fetch_sample``: fetch a random sample, optionally stopping once the figures are precise.

With ``precision=0.01`` the sample's customers are fetched in their random order, in rounds:
the first ``min_sample`` customers, then 10% more each round. After each round the ``watch``
(by default the share of customers reached; ``capnb.analysis.estimates.precision_watch(promo)``
adds every promotion-wide cap's share) gives every watched figure's 95% half-width as a share,
and the fetch stops when each is within ``precision``. Customers already in the store count
without a request, so a re-run or a resumed run stops where the first one did.

Stopping when an interval is narrow enough is a data-dependent stop: it could stop early on a
sample whose spread happens to look small, and intervals from such stops cover the truth less
often than 95%. Three guards keep the effect small: a minimum sample (400 customers by
default) before the first look; few looks (rounds grow by 10%, so going from 400 to 20,000
customers takes about 41 looks, not thousands); and the stop looks at the half-width only
(which depends on the estimate through the spread: ``p(1-p)`` for a share), never at whether
the estimate is high or low. ``tests/test_sampling_calibration.py`` checks that the intervals of
stopped samples still cover the generator's truth 92-98% of the time.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from capnb.api.client import Client
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort, FetchInterrupted, assemble_cohort
from capnb.fetch.progress import progress_bar
from capnb.fetch.ratelimit import RateLimiter
from capnb.fetch.sampling import Sample
from capnb.fetch.store import PartitionKey, Store
from capnb.fetch.summaries import fetch_cohort
from capnb.intervals import proportion_interval

__all__ = ["GROWTH", "MIN_SAMPLE", "fetch_rounds", "fetch_sample", "reach_watch"]

MIN_SAMPLE = 400
"""Customers fetched before the first look at the precision."""
GROWTH = 10
"""Each round adds this percentage (rounded up) to the customers fetched before it."""

Watch = Callable[[Cohort], dict[str, float]]


def reach_watch(cohort: Cohort) -> dict[str, float]:
    """The default watch: the half-width of the share of customers reached (``ok`` among the
    answered), at the cohort's design."""
    design = cohort.design
    answered = cohort.customers[cohort.customers["status"].isin(["ok", "no_benefits"])]
    flags = answered["status"].eq("ok").to_numpy(dtype=bool)
    if design is None or not len(flags):
        return {"customers_reached": math.inf}
    return {"customers_reached": proportion_interval(flags, design.population).half_width}


def _check_precision(precision: Any) -> float:
    if isinstance(precision, bool) or not isinstance(precision, int | float) or not (
            0 < precision < 0.5):
        raise ValidationError("precision", f"must be a number between 0 and 0.5 (a half-width "
                              f"as a share: 0.01 for +-1 percentage point), got {precision!r}")
    return float(precision)


def fetch_sample(client: Client, sample: Sample, program_id: int | str, promotion_id: int | str,
                 activity_id: str | None = None, *, precision: float | None = None,
                 watch: Watch | None = None, min_sample: int = MIN_SAMPLE,
                 workers: int | None = None, rate_limit: float | RateLimiter | None = None,
                 store: Store | str | os.PathLike[str] | None = None, progress: bool = True,
                 cancel: threading.Event | None = None,
                 on_progress: Callable[[int, int], object] | None = None,
                 **options: Any) -> Cohort:
    """Fetch a random sample's action summaries; with ``precision``, stop once precise enough.

    Parameters
    ----------
    client, program_id, promotion_id, activity_id, workers, rate_limit, store, cancel
        As :func:`capnb.fetch_cohort` (``options`` too: ``refresh``, ``max_age``).
    sample : Sample
        From :func:`capnb.draw_sample` (``n=None`` for the whole population in random order).
    precision : float, optional
        Stop when every watched 95% half-width, as a share, is at most this (0 < precision
        < 0.5; 0.01 = +-1 percentage point). None fetches the whole sample.
    watch : callable, optional
        ``watch(cohort) -> {figure: half-width}``; default :func:`reach_watch`. Use
        ``capnb.analysis.estimates.precision_watch(promotion)`` to watch the caps too.
    min_sample : int
        Customers fetched before the first look (default 400).
    progress : bool
        One bar over the whole sample, its postfix showing the widest current half-width.
    on_progress : callable, optional
        ``on_progress(done, total)`` as customers come.

    Returns
    -------
    Cohort
        The customers fetched, a prefix of the sample's order, carrying its design (whose
        ``note`` says how many were fetched and why that was enough).

    Raises
    ------
    ValidationError
        Bad arguments, before any request (a stratified sample with ``precision``: its
        prefix is not a stratified sample).
    FetchInterrupted
        As ``fetch_cohort``, with everything fetched so far (and its design).
    """
    if not isinstance(sample, Sample):
        raise ValidationError("sample", "must be a Sample from capnb.draw_sample, got "
                              f"{type(sample).__name__}")
    options.update(rate_limit=rate_limit, store=store, cancel=cancel)
    if workers is not None:
        options["workers"] = workers
    if precision is None:
        return fetch_cohort(client, sample, program_id, promotion_id, activity_id,
                            progress=progress, on_progress=on_progress, **options)
    target = _check_precision(precision)
    if sample.design.strata:
        raise ValidationError("precision", "stopping at a precision needs a simple random "
                              "sample (draw_sample without strata)")
    if watch is None:
        watch = reach_watch
    elif not callable(watch):
        raise ValidationError("watch", f"must be a callable, got {type(watch).__name__}")
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or min_sample < 2:
        raise ValidationError("min_sample", f"must be an integer >= 2, got {min_sample!r}")
    return _fetch_until(client, sample, (program_id, promotion_id, activity_id), target, watch,
                        min_sample, progress, on_progress, options)


def _fetch_until(client: Client, sample: Sample, promotion: tuple, target: float,
                 watch: Watch, min_sample: int, progress: bool,
                 on_progress: Callable[[int, int], object] | None,
                 options: dict[str, Any]) -> Cohort:
    total = len(sample.ids)
    bar = progress_bar(progress, total, f"promotion {promotion[1]} (sample)", unit="customer")
    offset = [0]

    def tick(done: int, _total: int) -> None:
        bar.update(1)
        if on_progress is not None:
            on_progress(offset[0] + done, total)

    def fetch_round(ids: list[int]) -> Cohort:
        part = fetch_cohort(client, ids, *promotion, progress=False, on_progress=tick,
                            **options)
        bar.update(part.reused)
        offset[0] += len(ids)
        return part

    def show(widest: float) -> None:
        bar.set_postfix_str(f"±{widest * 100:.2f} pp (target ±{target * 100:.2f} pp)",
                            refresh=True)

    try:
        return fetch_rounds(sample, fetch_round, watch, target, min_sample, show)
    finally:
        bar.close()


def fetch_rounds(sample: Sample, fetch_round: Callable[[list[int]], Cohort], watch: Watch,
                 target: float, min_sample: int = MIN_SAMPLE,
                 show: Callable[[float], object] | None = None) -> Cohort:
    """The stopping rule of :func:`fetch_sample`, whatever fetches a round: ``fetch_round(ids)``
    returns the cohort of those customers (over HTTP in ``fetch_sample``; from a cohort in
    memory in the calibration tests). Rounds follow the sample's order: ``min_sample``
    customers, then 10% more each; after each, ``watch`` of everything so far decides.
    ``show(widest)`` hears the widest half-width after each round."""
    order, total = sample.ids, len(sample.ids)
    parts: list[Cohort] = []
    done, size, widths = 0, min(min_sample, total), {}
    while True:
        try:
            part = fetch_round(order[done:size])
        except FetchInterrupted as exc:
            parts.append(exc.cohort)
            raise FetchInterrupted(_combine(parts, sample, _note(
                sample, parts, widths, target, "interrupted"))) from None
        parts.append(part)
        done = size
        cohort = _combine(parts, sample, "")
        widths = watch(cohort)
        widest = max(widths.values(), default=math.inf)
        if show is not None:
            show(widest)
        if widest <= target or done >= total:
            reason = "precise" if widest <= target else "exhausted"
            cohort.design = cohort.design.with_note(_note(sample, parts, widths, target,
                                                          reason))
            return cohort
        size = min(total, done + max(1, -(-done * GROWTH // 100)))


def _note(sample: Sample, parts: list[Cohort], widths: dict[str, float], target: float,
          reason: str) -> str:
    fetched = sum(len(p.customers) for p in parts)
    size = sample.design.population_size
    head = (f"a random sample of {fetched:,} of {size:,} customers ({fetched / size:.1%}), "
            f"fetched in random order")
    widest = max(widths.values(), default=math.nan)
    if reason == "precise":
        return (f"{head} until every watched 95% interval was within ±{_pp(target)} "
                f"(widest ±{_pp(widest)})")
    if reason == "exhausted":
        return (f"{head}; the whole sample was fetched before reaching ±{_pp(target)} "
                f"(widest ±{_pp(widest)})")
    return f"{head}; interrupted before reaching ±{_pp(target)}"


def _pp(share: float) -> str:
    return f"{share * 100:.2g} percentage points"


def _combine(parts: list[Cohort], sample: Sample, note: str) -> Cohort:
    """The rounds' cohorts as one, in the sample's order, with the sample's invalid entries
    and design."""
    first = parts[0]
    key = PartitionKey(first.host, first.program_id, first.promotion_id, first.activity_id)
    frames = {name: pd.concat([getattr(p, name) for p in parts], ignore_index=True)
              for name in ("customers", "incentives", "points", "alternate_currencies")}
    customers = frames["customers"]
    if len(sample.invalid):
        customers = pd.concat([customers, sample.invalid], ignore_index=True)
    cohort = assemble_cohort(key, customers, frames["incentives"], frames["points"],
                             frames["alternate_currencies"],
                             requests=int(np.sum([p.requests for p in parts])),
                             reused=int(np.sum([p.reused for p in parts])),
                             elapsed=float(np.sum([p.elapsed for p in parts])), ordered=True)
    cohort.design = sample.design.with_note(note) if note else sample.design
    return cohort
