"""All promotions of a program at a glance: dates, promotion-wide budgets and the risk of
exhausting them before the end (what ``portfolio.ipynb`` shows). Pure: frames in, frames out.

:func:`portfolio_frame` measures budget usage from the action summaries of one cohort per
promotion (:func:`capnb.fetch.program.fetch_program` fetches the promotions and cohorts);
:func:`portfolio_view` formats the result for reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.analysis.measure import benefit_arrays, lifetime
from capnb.analysis.notes import share_text
from capnb.errors import ValidationError
from capnb.models import PROMOTION_SOURCE_V3
from capnb.restrictions import restriction
from capnb.schema import typed_frame
from capnb.validation import check_as_of, check_id

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort
    from capnb.models import Promotion

__all__ = ["PORTFOLIO_COLUMNS", "portfolio_frame", "portfolio_view"]

PORTFOLIO_COLUMNS: dict[str, str] = {
    "promotion_id": "Int64", "name": "str", "type": "str", "status": "str",
    "start": "datetime64[us, UTC]", "end": "datetime64[us, UTC]", "days_total": "float64",
    "days_left": "float64", "time_elapsed_share": "float64",
    "points_limit": "Int64", "times_limit": "Int64", "earns_limit": "Int64",
    "points_used": "float64", "times_used": "float64", "earns_used": "float64",
    "budget_used_share": "float64", "risk": "float64", "projected_exhaustion":
    "datetime64[us, UTC]", "note": "str", "source": "str",
}
_DAY = pd.Timedelta(days=1)
_NEW_UI = ("made in the new UI: its limits[] are not documented, so no budget is known "
           "(the promotion overview measures its limits from promotionData)")


def _limits(promotion: Promotion) -> dict[str, int | None]:
    """The smallest configured promotion-wide limit of each budget (None = none or -1)."""
    restrictions = promotion.restrictions
    out: dict[str, int | None] = {"points": None, "times": None, "earns": None}
    for name, value in zip(restrictions["name"], restrictions["value"], strict=True):
        known = restriction(name)
        budget = known.budget if known is not None else None
        if budget is None or pd.isna(value) or value <= 0:
            continue
        current = out[budget]
        out[budget] = int(value) if current is None else min(current, int(value))
    return out


def _usage(cohort: Cohort) -> dict[str, float]:
    """Budget usage a cohort's summaries show: points and earns exactly (for the cohort),
    times as a lower bound (per customer the largest of its three counts)."""
    points = cohort.points
    events, _ = lifetime("events", benefit_arrays(cohort))
    times = events.sum()
    return {"points": float(points["total_points"].sum()),
            "earns": float(points["times_issued"].astype("float64").sum()),
            "times": float(times)}


def portfolio_frame(promotions: Sequence[Promotion],
                    cohorts: Mapping[int, Cohort] | None = None, *,
                    as_of: Any = None) -> pd.DataFrame:
    """One row per promotion, sorted by the risk of exhausting a budget.

    Parameters
    ----------
    promotions : sequence of Promotion
        Parsed promotion objects (:func:`capnb.fetch.program.fetch_program`, or
        ``capnb.api.promotion.parse_promotion`` of promotion-by-id answers).
    cohorts : mapping of promotion id -> Cohort, optional
        Usage of promotion-wide budgets is measured from these (NA otherwise). A cohort that is
        not the whole population gives lower bounds.
    as_of : timestamp-like, optional
        "Now" (naive = UTC). Default: the current time.

    Returns
    -------
    DataFrame
        ``promotion_id`` (Int64), ``name, type, status`` (str), ``start, end``
        (datetime64[us, UTC]), ``days_total, days_left`` (float64, days; ``days_left`` 0 after
        the end), ``time_elapsed_share`` (float64, 0-1), ``points_limit, times_limit,
        earns_limit`` (Int64, promotion-wide; NA = no limit), ``points_used, times_used,
        earns_used`` (float64, from the cohort), ``budget_used_share`` (float64, the largest
        used / limit), ``risk`` (float64: budget_used_share / time_elapsed_share; above 1 the
        budget runs out before the end at the current pace; infinite when some budget is
        used before the start), ``projected_exhaustion`` (datetime64[us, UTC], when the most
        used budget runs out at the current pace; NA once the promotion has ended),
        ``note`` (str), ``source`` (str: the ``Promotion.source``; a new-UI promotion has no
        known budget, its note says why). Sorted by ``risk``
        descending, promotions without a measurable risk last, then by ``days_left``.
    """
    now = check_as_of(as_of)
    if cohorts is not None and not isinstance(cohorts, Mapping):
        raise ValidationError("cohorts", "must map promotion ids to Cohorts, got "
                              f"{type(cohorts).__name__}")
    cohorts = {check_id("cohorts", k): v for k, v in (cohorts or {}).items()}
    records = []
    for promotion in promotions:
        limits = _limits(promotion)
        start, end = promotion.start, promotion.end
        new_ui = getattr(promotion, "source", None) == PROMOTION_SOURCE_V3
        record: dict[str, Any] = {"promotion_id": promotion.id, "name": promotion.name,
                                  "type": promotion.offer_type, "status": promotion.status,
                                  "start": start, "end": end,
                                  "source": getattr(promotion, "source", None)}
        notes = []
        if pd.notna(start) and pd.notna(end) and end > start:
            total = (end - start) / _DAY
            elapsed = min(max((now - start) / _DAY, 0.0), total)
            record.update(days_total=total, days_left=total - elapsed,
                          time_elapsed_share=elapsed / total)
        else:
            notes.append("no usable start/end dates")
        record.update({f"{b}_limit": v for b, v in limits.items()})
        cohort = cohorts.get(promotion.id) if promotion.id is not None else None
        if cohort is not None:
            used = _usage(cohort)
            record.update({f"{b}_used": v for b, v in used.items()})
            shares = {b: used[b] / lim for b, lim in limits.items() if lim}
            if shares:
                budget = max(shares, key=shares.__getitem__)
                share = shares[budget]
                record["budget_used_share"] = share
                elapsed_share = record.get("time_elapsed_share")
                if elapsed_share:
                    record["risk"] = share / elapsed_share
                    if share > 0 and elapsed_share < 1:
                        record["projected_exhaustion"] = start + (now - start) / share
                elif share > 0:
                    record["risk"] = np.inf
                notes.append(f"most used budget: {budget}")
            else:
                notes.append(_NEW_UI if new_ui else "no promotion-wide limit")
        elif any(limits.values()):
            notes.append("usage not measured (no cohort)")
        else:
            notes.append(_NEW_UI if new_ui else "no promotion-wide limit")
        record["note"] = "; ".join(notes)
        records.append(record)
    out = typed_frame(pd.DataFrame.from_records(records, columns=list(PORTFOLIO_COLUMNS)),
                      PORTFOLIO_COLUMNS)
    order = out.assign(_risk=out["risk"].fillna(-np.inf)).sort_values(
        ["_risk", "days_left"], ascending=[False, True], kind="stable", na_position="last")
    return out.loc[order.index].reset_index(drop=True)


def _amount(used: Any, limit: Any, known: bool = True) -> str:
    if not known:  # a new-UI promotion: its limits are not documented
        return "limit unknown" if pd.isna(used) else f"{used:,.0f} (limit unknown)"
    if pd.isna(used):
        return "no cap" if pd.isna(limit) else f"— of {limit:,}"
    return f"{used:,.0f} of {limit:,}" if pd.notna(limit) else f"{used:,.0f} (no cap)"


def portfolio_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The portfolio as an analyst reads it: one narrow row per promotion, in the same order.

    Columns (all text, for display; keep :func:`portfolio_frame`'s frame for numbers):
    ``promotion`` ("Name (id)"), ``type, status``, ``start, end`` (dates, UTC), ``days left``,
    ``points, times, earns`` ("used of limit", or "used (no cap)"), ``budget used, time
    elapsed`` (percentages), ``risk`` (two decimals), ``runs out`` (the projected date, empty
    when the budget lasts past the end or nothing is measured).
    """
    missing = [c for c in PORTFOLIO_COLUMNS if c not in getattr(frame, "columns", ())]
    if missing:
        raise ValidationError("frame", "must come from capnb.analysis.portfolio.portfolio_frame "
                              f"(missing {', '.join(missing)})")

    def day(stamp: Any) -> str:
        return "" if pd.isna(stamp) else f"{stamp:%Y-%m-%d}"

    rows = []
    for row in frame.itertuples(index=False):
        known = row.source != PROMOTION_SOURCE_V3
        runs_out = row.projected_exhaustion
        if pd.notna(runs_out) and pd.notna(row.end) and runs_out > row.end:
            runs_out = pd.NaT
        rows.append({
            "promotion": f"{row.name} ({row.promotion_id})", "type": row.type,
            "status": row.status, "start": day(row.start), "end": day(row.end),
            "days left": "" if pd.isna(row.days_left) else f"{row.days_left:,.0f}",
            "points": _amount(row.points_used, row.points_limit, known),
            "times": _amount(row.times_used, row.times_limit, known),
            "earns": _amount(row.earns_used, row.earns_limit, known),
            "budget used": share_text(row.budget_used_share),
            "time elapsed": share_text(row.time_elapsed_share),
            "risk": "—" if pd.isna(row.risk) else f"{row.risk:.2f}",
            "runs out": day(runs_out)})
    columns = ["promotion", "type", "status", "start", "end", "days left", "points", "times",
               "earns", "budget used", "time elapsed", "risk", "runs out"]
    return pd.DataFrame(rows, columns=columns, dtype="str")
