"""Each restriction of a promotion measured from a cohort: one :class:`Evaluated` per row of
``promotion.restrictions``, the working form :mod:`capnb.analysis.limits` turns into frames.

:func:`evaluate` reads what each restriction is from :mod:`capnb.restrictions`, measures it with
:mod:`capnb.analysis.measure` and takes its measurability and note from
:mod:`capnb.analysis.notes`; :func:`label` gives each a unique label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis import notes
from capnb.analysis.measure import MEASURABLE, WINDOW_DAYS, benefit_arrays, lifetime, windowed
from capnb.analysis.sampled import SAMPLED_SOURCE
from capnb.analysis.summary import micros_of
from capnb.restrictions import canonical_name, documented, guess_scope

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = ["Evaluated", "evaluate", "label"]

@dataclass
class Evaluated:
    """One restriction as measured: its settings, usage per fetched customer, and words."""

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


def _optional(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def evaluate(promotion: Promotion, cohort: Cohort, as_of: pd.Timestamp,
             whole_population: bool) -> tuple[list[Evaluated], np.ndarray]:
    """Every restriction of ``promotion`` measured from ``cohort``, and the fetched ids."""
    arrays = benefit_arrays(cohort)
    n = len(arrays.ids)
    coverage = notes.Coverage(promotion.start, getattr(cohort, "activity_id", None) or None,
                              int(cohort.customers["status"].eq("failed").sum()))
    out = []
    for row in promotion.restrictions.itertuples(index=False):
        name, family = str(row.name), str(row.family)
        canonical = canonical_name(family, name)
        known = documented(canonical)
        scope = known.scope if known else guess_scope(canonical)
        quantity = known.quantity if known else None
        value = None if pd.isna(row.value) else int(row.value)
        unlimited = bool(row.unlimited) if not pd.isna(row.unlimited) else value == -1
        kind, unit = _optional(row.type), _optional(row.period_unit)
        period_based = kind == "PERIOD_BASED"
        item = Evaluated(family, name, canonical, scope, kind,
                         unit if period_based else None, pd.NaT,
                         None if scope == "expiry" else value, unlimited, None, None,
                         "not_measurable", "")
        out.append(item)
        if quantity not in MEASURABLE:
            item.note = notes.not_measurable_note(name, canonical, scope, quantity, kind, value)
            continue
        item.metric, item.unit = notes.METRIC_TEXT[quantity]
        window = None
        if period_based and quantity != "per_event":
            days = WINDOW_DAYS.get(unit or "")
            period_type = _optional(row.period_type)
            if days is None or period_type not in (None, "MOVING_WINDOW"):
                item.note = notes.unplaced_window_note(name, canonical, period_type, unit)
                item.metric = item.unit = None
                continue
            begin = as_of - pd.Timedelta(days=days)
            window = (days, begin, as_of)
            item.window_start = begin
            item.metric = notes.windowed_metric(quantity, days)
            usage, exact = windowed(quantity, arrays, micros_of(begin), micros_of(as_of))
        else:
            usage, exact = lifetime(quantity, arrays)
            if quantity == "per_event":
                exact = np.zeros(n, dtype=bool)
        verdict = notes.measured_verdict(
            name=name, canonical=canonical, scope=scope, quantity=quantity,
            period_based=period_based, unit=unit, window=window, coverage=coverage,
            whole_population=whole_population, unlimited=unlimited, value=value)
        if not verdict.complete:
            exact = np.zeros(n, dtype=bool)
        if verdict.measurability == "exact":
            exact = np.ones(n, dtype=bool)
        item.measurability, item.note = verdict.measurability, verdict.note
        item.usage, item.exact = usage, exact
    restrictions = promotion.restrictions
    sampled = (restrictions["source"].eq(SAMPLED_SOURCE).to_numpy(dtype=bool, na_value=False)
               if "source" in restrictions else np.zeros(len(restrictions), dtype=bool))
    note = getattr(promotion, "restrictions_note", None)
    for item, from_sample in zip(out, sampled, strict=True):
        if item.usage is None:
            item.usage_source = None
        if from_sample and note:  # a new-UI promotion: say where its limit came from
            item.note = f"{item.note} {note}".strip()
    label(out)
    return out, arrays.ids


def label(items: list[Evaluated]) -> None:
    """A unique label per restriction: name, (period unit), [family] or #n when still shared."""
    base = [e.name + (f" ({e.period_unit.lower()})" if e.period_unit else "") for e in items]
    labels = [b if base.count(b) == 1 else f"{b} [{e.family}]" for b, e in zip(
        base, items, strict=True)]
    for i, e in enumerate(items):
        twins = labels.count(labels[i])
        e.label = labels[i] if twins == 1 else f"{labels[i]} #{labels[:i].count(labels[i]) + 1}"
