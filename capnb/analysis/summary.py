"""A cohort's action summaries as the analysis modules read them: the fetched customers, their
benefit rows and timestamps as integer microseconds.

The action summary reports benefits earned from :data:`DATA_START` on only; each benefit row
carries a count (:data:`COUNT_COLUMNS`) and the time of its *last* issuance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capnb.errors import ValidationError

if TYPE_CHECKING:
    from capnb.fetch.cohort import Cohort

__all__ = [
    "COUNT_COLUMNS",
    "DATA_START",
    "check_cohort",
    "fetched_benefits",
    "fetched_ids",
    "micros",
    "micros_of",
]

DATA_START = pd.Timestamp("2025-06-12", tz="UTC")
"""The action summary reports benefits earned from this date on only."""
COUNT_COLUMNS = {"incentives": "issued_count", "points": "times_issued",
                 "alternate_currencies": "times_issued"}
"""Benefit frame of a cohort -> the column counting its issuances."""


def check_cohort(cohort: Any) -> None:
    """Raise ValidationError unless ``cohort`` has the frames of a Cohort."""
    missing = [n for n in ("customers", "incentives", "points", "alternate_currencies")
               if not isinstance(getattr(cohort, n, None), pd.DataFrame)]
    if missing:
        raise ValidationError("cohort", f"must be a capnb.Cohort, got {type(cohort).__name__}")


def fetched_ids(cohort: Cohort) -> np.ndarray:
    """Sorted unique ids of the fetched customers (status ``ok`` or ``no_benefits``)."""
    customers = cohort.customers
    ids = customers.loc[customers["status"].isin(["ok", "no_benefits"]), "customer_id"]
    return np.unique(ids.dropna().to_numpy(dtype="int64"))


def fetched_benefits(cohort: Cohort, name: str, ids: np.ndarray) -> pd.DataFrame:
    """The rows of one benefit frame that belong to fetched customers."""
    frame = getattr(cohort, name)
    return frame[frame["customer_id"].isin(ids)]


def micros(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 microseconds since epoch, NaT mask) of a tz-aware timestamp column."""
    naive = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    values = naive.to_numpy(dtype="datetime64[us]")
    return values.view("int64"), np.isnat(values)


def micros_of(stamp: pd.Timestamp) -> int:
    """Microseconds since epoch of one timestamp."""
    return int(stamp.value // 1000)  # .value is nanoseconds whatever the unit
