"""The exact issual history promotionData's ``customerPromotionTimelines`` give: issuals per
period (:func:`issual_timeline`, also ``timeline(..., source="issuals")``) and each customer's
largest ``redeemedCount`` of one issual (:func:`redemptions_per_issual`, the usage of
``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER``).

Unlike the action summary, which keeps each benefit's *last* issuance only, the timelines list
every enrolment and issual with its date, so the series here are true counts, for the customers
whose promotionData answers carried timelines. Pure: frames in, frames out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.errors import ValidationError
from capnb.schema import typed_frame
from capnb.validation import check_id, check_tz

if TYPE_CHECKING:
    from capnb.fetch.exact_usage import ExactUsage

__all__ = [
    "ISSUAL_TIMELINE_COLUMNS",
    "issual_timeline",
    "redemptions_per_issual",
    "timeline_customers",
]

_FREQS = {"h": "h", "D": "D", "W": "W-SUN", "M": "M"}

ISSUAL_TIMELINE_COLUMNS: dict[str, str] = {
    "issuals": "Int64", "customers_issued": "Int64", "redeemed": "Int64",
    "enrolments": "Int64", "cumulative_issuals": "Int64", "customers_measured": "Int64",
}
"""Columns of :func:`issual_timeline` after ``period`` (whose dtype follows ``tz``)."""


def _check_exact(exact: Any) -> None:
    from capnb.fetch.exact_usage import ExactUsage

    if not isinstance(exact, ExactUsage):
        raise ValidationError("exact", "must be the promotionData of the customers: "
                              "capnb.fetch_exact_usage(client, cohort, program_id, "
                              f"promotion_id), got {type(exact).__name__}")


def timeline_customers(exact: ExactUsage, promotion_id: int | None = None,
                       customer_ids: Any = None) -> np.ndarray:
    """Sorted ids of the customers whose promotionData answer (status ``ok``) carried
    ``customerPromotionTimelines`` for the promotion (any promotion when None), optionally
    only among ``customer_ids``."""
    _check_exact(exact)
    status = exact.timelines
    if promotion_id is not None:
        status = status[status["promotion_id"] == promotion_id]
    status = status[status["has_timelines"].to_numpy(dtype=bool)]
    ids = np.intersect1d(status["customer_id"].to_numpy(dtype="int64"),
                         exact.measured_customer_ids.to_numpy(dtype="int64"))
    if customer_ids is not None:
        ids = np.intersect1d(ids, np.asarray(customer_ids, dtype="int64"))
    return ids


def _issuals_of(exact: ExactUsage, promotion_id: int | None, ids: np.ndarray) -> pd.DataFrame:
    frame = exact.issuals
    if promotion_id is not None:
        frame = frame[frame["promotion_id"] == promotion_id]
    return frame[frame["customer_id"].isin(ids)]


def redemptions_per_issual(exact: ExactUsage, promotion_id: int | None,
                           customer_ids: np.ndarray) -> np.ndarray:
    """Per customer of ``customer_ids`` (sorted): the largest ``redeemedCount`` of one of
    their issuals in the promotion; 0 for a customer with timelines but no issual, NaN for one
    whose answer carried no timelines."""
    with_timelines = timeline_customers(exact, promotion_id, customer_ids)
    frame = _issuals_of(exact, promotion_id, with_timelines)
    frame = frame[frame["redeemed_count"].notna()]
    largest = frame.groupby(frame["customer_id"].astype("int64"))["redeemed_count"].max()
    out = np.full(len(customer_ids), np.nan)
    known = np.isin(customer_ids, with_timelines)
    out[known] = largest.reindex(customer_ids[known], fill_value=0).to_numpy(dtype="float64")
    return out


def _periods(stamps: pd.Series, zone: Any, freq: str, dtype: str) -> pd.Series:
    local = stamps.dt.tz_convert(zone).dt.tz_localize(None)
    start = local.dt.to_period(_FREQS[freq]).dt.start_time
    return start.dt.tz_localize(zone, ambiguous=np.ones(len(start), dtype=bool),
                                nonexistent="shift_forward").astype(dtype)


def issual_timeline(exact: ExactUsage, promotion_id: int | str | None = None, *,
                    freq: str = "W", tz: str = "UTC", customer_ids: Any = None,
                    ) -> pd.DataFrame:
    """Every issual (and enrolment) per period, from promotionData's timelines.

    Parameters
    ----------
    exact : ExactUsage
        From :func:`capnb.fetch_exact_usage`.
    promotion_id : int, optional
        Only this promotion (recommended: issuals of several promotions would add up).
    freq : {"h", "D", "W", "M"}
        Hour, day, week (Monday to Sunday) or calendar month, in ``tz``.
    tz : str
        IANA timezone the periods are cut in.
    customer_ids : array-like, optional
        Only these customers (for example a cohort's fetched ones).

    Returns
    -------
    DataFrame
        ``period`` (datetime64[us, tz], period start; NaT for undated issuals), ``issuals``
        (Int64, issuals dated in the period), ``customers_issued`` (Int64, customers with at
        least one), ``redeemed`` (Int64, sum of their ``redeemedCount``), ``enrolments``
        (Int64, enrolments dated in the period), ``cumulative_issuals`` (Int64; NA on the NaT
        row), ``customers_measured`` (Int64, customers whose answers carried timelines: the
        denominator), one row per period from the first to the last dated issual or enrolment
        (zeros included), in time order. Empty when no answer carried timelines.
    """
    _check_exact(exact)
    if not isinstance(freq, str) or freq not in _FREQS:
        raise ValidationError("freq", f"must be one of {', '.join(_FREQS)}, got {freq!r}")
    zone = check_tz(tz)
    promotion = None if promotion_id is None else check_id("promotion_id", promotion_id)
    dtype = f"datetime64[us, {tz}]"
    columns = {"period": dtype, **ISSUAL_TIMELINE_COLUMNS}
    ids = timeline_customers(exact, promotion, customer_ids)
    frame = _issuals_of(exact, promotion, ids)
    issued = frame[frame["issual_id"].notna() | frame["issued_at"].notna()]
    enrolled = frame.drop_duplicates(["customer_id", "promotion_id", "enrolment_id",
                                      "enrolled_at"])
    issual_period = _periods(issued["issued_at"], zone, freq, dtype)
    enrol_period = _periods(enrolled["enrolled_at"].dropna(), zone, freq, dtype)
    stamps = pd.concat([issual_period.dropna(), enrol_period], ignore_index=True)
    if not len(stamps) and not len(issued):
        return typed_frame({}, columns)
    per = pd.DataFrame({"period": issual_period.to_numpy(),
                        "customer_id": issued["customer_id"].to_numpy(),
                        "redeemed": issued["redeemed_count"].fillna(0).to_numpy()})
    grouped = per.groupby("period", dropna=False)
    counts = pd.DataFrame({"issuals": grouped.size(),
                           "customers_issued": grouped["customer_id"].nunique(),
                           "redeemed": grouped["redeemed"].sum()})
    enrolments = enrol_period.value_counts()
    if len(stamps):
        first, last = stamps.min(), stamps.max()
        local = pd.Series([first, last]).dt.tz_convert(zone).dt.tz_localize(None)
        starts = pd.period_range(local[0].to_period(_FREQS[freq]),
                                 local[1].to_period(_FREQS[freq]), freq=_FREQS[freq]).start_time
        grid = pd.DatetimeIndex(starts).tz_localize(zone, ambiguous=np.ones(len(starts), bool),
                                                    nonexistent="shift_forward").astype(dtype)
    else:
        grid = pd.DatetimeIndex([], dtype=dtype)
    out = counts[counts.index.notna()].reindex(grid, fill_value=0)
    out["enrolments"] = enrolments.reindex(grid, fill_value=0).to_numpy()
    out["cumulative_issuals"] = out["issuals"].cumsum()
    undated = counts[counts.index.isna()]
    if len(undated):
        out = pd.concat([out, undated.assign(enrolments=0, cumulative_issuals=pd.NA)])
    out = out.rename_axis("period").reset_index()
    out["customers_measured"] = len(ids)
    return typed_frame(out, columns)
