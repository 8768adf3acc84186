"""promotionData's exact usage merged into derived utilisation (``usage="exact"``).

:func:`apply_exact` replaces the derived usage of every restriction ``promotionData`` reports
by the platform's own per-customer count; :func:`measured_ids` picks the cohort's customers it
answered for. The words come from :mod:`capnb.analysis.notes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis import notes
from capnb.analysis.issuals import redemptions_per_issual
from capnb.errors import ValidationError
from capnb.restrictions import canonical_name, documented

if TYPE_CHECKING:
    from capnb.analysis.evaluate import Evaluated
    from capnb.fetch.exact_usage import ExactUsage
    from capnb.models import Promotion

__all__ = ["apply_exact", "measured_ids"]


def _key(family: Any, name: Any, kind: Any, period_unit: Any, limit: Any) -> tuple:
    """What identifies one restriction in both the promotion and promotionData."""
    unit = str(period_unit) if kind == "PERIOD_BASED" and not pd.isna(period_unit) else None
    return (str(family), canonical_name(family, name), unit,
            None if pd.isna(limit) else float(limit))


def measured_ids(ids: np.ndarray, exact: ExactUsage) -> np.ndarray:
    """The fetched customers promotionData answered for; an error when it was asked for none."""
    requested = exact.customers["customer_id"].dropna().to_numpy(dtype="int64")
    if len(ids) and not np.isin(ids, requested).any():
        raise ValidationError("exact", "holds no customer of this cohort; fetch it for the "
                              "cohort: capnb.fetch_exact_usage(client, cohort, ...)")
    return np.intersect1d(ids, exact.measured_customer_ids.to_numpy(dtype="int64"))


def apply_exact(evaluated: list[Evaluated], ids: np.ndarray, exact: ExactUsage,
                promotion: Promotion, whole_population: bool) -> None:
    """Replace derived usage by promotionData's for every restriction it reports."""
    measured = measured_ids(ids, exact)
    if not len(measured):
        for item in evaluated:
            item.note += notes.NO_EXACT_CUSTOMERS
        return
    rows = exact.usage
    if promotion.id is not None:
        rows = rows[rows["promotion_id"] == promotion.id]
    rows = rows[rows["usage"].notna() & rows["customer_id"].isin(measured)]
    rows_of: dict[tuple, list[int]] = {}
    for i, values in enumerate(zip(rows["family"], rows["name"], rows["type"],
                                   rows["period_unit"], rows["max_limit"], strict=True)):
        rows_of.setdefault(_key(*values), []).append(i)
    customers = rows["customer_id"].to_numpy(dtype="int64")
    amounts = rows["usage"].to_numpy(dtype="float64")
    kpis = rows["kpi"].to_numpy(dtype=object)
    for item in evaluated:
        known = documented(item.canonical)
        if known is not None and known.quantity == "redemptions":
            _apply_redemptions(item, ids, measured, exact, promotion)
            continue
        hits = np.array(rows_of.get(_key(item.family, item.name, item.type, item.period_unit,
                                         item.limit), []), dtype=np.int64)
        if not len(hits):
            item.note += notes.NO_EXACT_USAGE
            continue
        pos = np.searchsorted(ids, customers[hits])
        per_customer = np.bincount(pos, amounts[hits], len(ids))
        item.usage = per_customer[np.isin(ids, measured)]
        item.exact = np.ones(len(item.usage), dtype=bool)
        item.usage_source, item.window_start = "promotionData", pd.NaT
        item.metric = notes.EXACT_METRIC
        kpi = next((k for k in kpis[hits] if isinstance(k, str)), "")
        item.unit = item.unit or ("points" if "POINTS" in kpi else "count")
        item.measurability, item.note = notes.exact_verdict(
            measured=len(measured), skipped=len(ids) - len(measured),
            period_based=item.type == "PERIOD_BASED", period_unit=item.period_unit,
            scope=item.scope, whole_population=whole_population)


def _apply_redemptions(item: Evaluated, ids: np.ndarray, measured: np.ndarray,
                       exact: ExactUsage, promotion: Promotion) -> None:
    """Redemptions per earn from each issual's ``redeemedCount`` in the timelines (the
    largest per customer), for the measured customers whose answers carried timelines."""
    if item.type == "PERIOD_BASED":
        item.note = notes.REDEMPTIONS_PERIOD_BASED
        return
    usage = redemptions_per_issual(exact, promotion.id, measured)
    known = ~np.isnan(usage)
    if not known.any():
        item.note = notes.NO_TIMELINES
        return
    item.usage, item.exact = usage, known
    item.usage_source, item.window_start = "promotionData", pd.NaT
    item.metric, item.unit = notes.REDEMPTIONS_METRIC, "count"
    item.measurability = "exact"
    item.note = notes.redemptions_note(with_timelines=int(known.sum()),
                                       without=int((~known).sum()),
                                       skipped=len(ids) - len(measured))
