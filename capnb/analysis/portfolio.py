"""All promotions of a program at a glance: dates, promotion-wide budgets and the risk of
exhausting them before the end (what ``portfolio.ipynb`` shows).

:func:`portfolio` fetches the program's promotions (the paginated list) and measures budget
usage from the action summaries of the cohorts given, or of the customers given (one cohort
per promotion); :func:`portfolio_frame` is the pure part, from promotion objects and cohorts;
:func:`portfolio_view` formats the result for reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from capnb.api.catalog import promotion_list_frame
from capnb.api.client import Client
from capnb.api.parse import parse_promotion
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort, fetch_cohort
from capnb.schema import typed_frame
from capnb.validation import check_as_of, check_id

__all__ = ["PORTFOLIO_COLUMNS", "portfolio", "portfolio_frame", "portfolio_view"]

PORTFOLIO_COLUMNS: dict[str, str] = {
    "promotion_id": "Int64", "name": "str", "type": "str", "status": "str",
    "start": "datetime64[us, UTC]", "end": "datetime64[us, UTC]", "days_total": "float64",
    "days_left": "float64", "time_elapsed_share": "float64",
    "points_limit": "Int64", "times_limit": "Int64", "earns_limit": "Int64",
    "points_used": "float64", "times_used": "float64", "earns_used": "float64",
    "budget_used_share": "float64", "risk": "float64", "projected_exhaustion":
    "datetime64[us, UTC]", "note": "str",
}
# promotion-wide restriction names (and legacy fields) -> the budget they cap
_BUDGETS = {
    "MAX_ALLOWED_POINTS_PER_PROMOTION": "points", "totalPointsInPromotion": "points",
    "MAX_ALLOWED_TIMES_PER_PROMOTION": "times",
    "MAX_NUMBER_OF_EARNS_PER_PROMOTION": "earns", "MAX_NUMBER_OF_EARN_PER_PROMOTION": "earns",
}
_DAY = pd.Timedelta(days=1)


def _limits(item: Mapping[str, Any]) -> dict[str, int | None]:
    """The smallest configured promotion-wide limit of each budget (None = none or -1)."""
    restrictions = parse_promotion(dict(item)).restrictions
    out: dict[str, int | None] = {"points": None, "times": None, "earns": None}
    for name, value in zip(restrictions["name"], restrictions["value"], strict=True):
        budget = _BUDGETS.get(str(name))
        if budget is None or pd.isna(value) or value <= 0:
            continue
        current = out[budget]
        out[budget] = int(value) if current is None else min(current, int(value))
    return out


def _usage(cohort: Cohort) -> dict[str, float]:
    """Budget usage a cohort's summaries show: points and earns exactly (for the cohort),
    times as a lower bound (per customer the largest of its three counts)."""
    points = cohort.points
    per_customer = [frame.groupby(frame["customer_id"].astype("int64"))[column].sum()
                    for frame, column in ((points, "times_issued"),
                                          (cohort.incentives, "issued_count"),
                                          (cohort.alternate_currencies, "times_issued"))]
    times = pd.concat(per_customer, axis=1).fillna(0).max(axis=1).sum() if len(
        pd.concat(per_customer)) else 0.0
    return {"points": float(points["total_points"].sum()),
            "earns": float(points["times_issued"].astype("float64").sum()),
            "times": float(times)}


def portfolio_frame(items: Sequence[Mapping[str, Any]],
                    cohorts: Mapping[int, Cohort] | None = None, *,
                    as_of: Any = None) -> pd.DataFrame:
    """One row per promotion object, sorted by the risk of exhausting a budget.

    Parameters
    ----------
    items : sequence of dict
        Promotion objects (the promotions list, or promotion-by-id answers).
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
        ``note`` (str). Sorted by ``risk``
        descending, promotions without a measurable risk last, then by ``days_left``.
    """
    now = check_as_of(as_of)
    if cohorts is not None and not isinstance(cohorts, Mapping):
        raise ValidationError("cohorts", "must map promotion ids to Cohorts, got "
                              f"{type(cohorts).__name__}")
    cohorts = {check_id("cohorts", k): v for k, v in (cohorts or {}).items()}
    frame = promotion_list_frame(list(items))
    records = []
    for item, row in zip(items, frame.itertuples(index=False), strict=True):
        limits = _limits(item)
        start, end = row.start, row.end
        record: dict[str, Any] = {"promotion_id": row.promotion_id, "name": row.name,
                                  "type": row.type, "status": row.status, "start": start,
                                  "end": end}
        notes = []
        if pd.notna(start) and pd.notna(end) and end > start:
            total = (end - start) / _DAY
            elapsed = min(max((now - start) / _DAY, 0.0), total)
            record.update(days_total=total, days_left=total - elapsed,
                          time_elapsed_share=elapsed / total)
        else:
            notes.append("no usable start/end dates")
        record.update({f"{b}_limit": v for b, v in limits.items()})
        cohort = cohorts.get(int(row.promotion_id)) if pd.notna(row.promotion_id) else None
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
                notes.append("no promotion-wide limit")
        elif any(limits.values()):
            notes.append("usage not measured (no cohort)")
        else:
            notes.append("no promotion-wide limit")
        record["note"] = "; ".join(notes)
        records.append(record)
    out = typed_frame(pd.DataFrame.from_records(records, columns=list(PORTFOLIO_COLUMNS)),
                      PORTFOLIO_COLUMNS)
    order = out.assign(_risk=out["risk"].fillna(-np.inf)).sort_values(
        ["_risk", "days_left"], ascending=[False, True], kind="stable", na_position="last")
    return out.loc[order.index].reset_index(drop=True)


def portfolio(client: Client, program_id: int | str, *, as_of: Any = None,
              cohorts: Mapping[int, Cohort] | None = None, customers: Any = None,
              status: str | list[str] | None = None, **fetch: Any) -> pd.DataFrame:
    """Every promotion of a program, with budgets, days left and risk.

    Parameters
    ----------
    client : Client
    program_id : int
    as_of : timestamp-like, optional
        "Now" (naive = UTC). Default: the current time.
    cohorts : mapping of promotion id -> Cohort, optional
        Budget usage is measured from these.
    customers : ids, Series or CSV/Parquet path, optional
        Instead of ``cohorts``: fetch the action summaries of these customers for every
        promotion (``fetch_cohort``; other keyword arguments such as ``store`` go to it).
        Usage is exact when they are every customer of the program, a lower bound otherwise.
    status : str or list of str, optional
        Only promotions with this status (``LIVE``, ``UPCOMING``, ...).

    Returns
    -------
    DataFrame
        See :func:`portfolio_frame`; fetches the promotions list (all pages).
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    if cohorts is not None and customers is not None:
        raise ValidationError("customers", "give cohorts or customers, not both")
    now = check_as_of(as_of)
    program = check_id("program_id", program_id)
    items = client.promotion_payloads(program, status)
    if customers is not None:
        ids = promotion_list_frame(items)["promotion_id"].dropna().astype("int64")
        cohorts = {pid: fetch_cohort(client, customers, program, pid, **fetch) for pid in ids}
    elif fetch:
        raise ValidationError(next(iter(fetch)), "is a fetch_cohort argument: pass customers "
                              "too")
    return portfolio_frame(items, cohorts, as_of=now)


def _amount(used: Any, limit: Any) -> str:
    if pd.isna(used):
        return "no cap" if pd.isna(limit) else f"— of {limit:,}"
    return f"{used:,.0f} of {limit:,}" if pd.notna(limit) else f"{used:,.0f} (no cap)"


def _share(value: Any) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"


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
        raise ValidationError("frame", "must come from capnb.analysis.portfolio.portfolio (missing "
                              f"{', '.join(missing)})")

    def day(stamp: Any) -> str:
        return "" if pd.isna(stamp) else f"{stamp:%Y-%m-%d}"

    rows = []
    for row in frame.itertuples(index=False):
        runs_out = row.projected_exhaustion
        if pd.notna(runs_out) and pd.notna(row.end) and runs_out > row.end:
            runs_out = pd.NaT
        rows.append({
            "promotion": f"{row.name} ({row.promotion_id})", "type": row.type,
            "status": row.status, "start": day(row.start), "end": day(row.end),
            "days left": "" if pd.isna(row.days_left) else f"{row.days_left:,.0f}",
            "points": _amount(row.points_used, row.points_limit),
            "times": _amount(row.times_used, row.times_limit),
            "earns": _amount(row.earns_used, row.earns_limit),
            "budget used": _share(row.budget_used_share),
            "time elapsed": _share(row.time_elapsed_share),
            "risk": "—" if pd.isna(row.risk) else f"{row.risk:.2f}",
            "runs out": day(runs_out)})
    columns = ["promotion", "type", "status", "start", "end", "days left", "points", "times",
               "earns", "budget used", "time elapsed", "risk", "runs out"]
    return pd.DataFrame(rows, columns=columns, dtype="str")
