"""Rows of plain tuples -> one typed frame, column by column, without per-row pandas work.

:func:`rows_frame` builds a frame with exactly the columns and dtypes of a ``capnb.schema``
column mapping, even with no rows; :func:`utc_column` turns float epoch ms into UTC timestamps
the way ``schema.epoch_ms_to_utc`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from capnb.schema import (  # epoch_ms_to_utc's NaT bounds, defined once
    MAX_EPOCH_MS,
    MIN_EPOCH_MS,
    UTC_TIMESTAMP,
)

__all__ = ["Row", "rows_frame", "utc_column"]

Row = tuple[Any, ...]
"""One frame row: values in the column order of a ``capnb.schema`` mapping."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def utc_column(millis: np.ndarray) -> pd.arrays.DatetimeArray:
    """Float epoch ms (NaN = missing) -> datetime64[us, UTC], as ``schema.epoch_ms_to_utc``."""
    valid = (millis >= MIN_EPOCH_MS) & (millis <= MAX_EPOCH_MS)  # float64 is exact below 2**53 ms
    stamps = (np.where(valid, millis, 0).astype(np.int64) * 1000).view("datetime64[us]")
    stamps[~valid] = np.datetime64("NaT")
    return pd.array(stamps).tz_localize("UTC")


def _column(rows: Sequence[Row], index: int, dtype: str) -> Any:
    """One typed column of ``rows``, read straight from the tuples where numpy can."""
    n, field = len(rows), itemgetter(index)
    if dtype == "Int64":
        try:
            return pd.arrays.IntegerArray(np.fromiter(map(field, rows), np.int64, count=n),
                                          np.zeros(n, dtype=bool))
        except TypeError:  # some values are None
            values = list(map(field, rows))
            mask = np.array([v is None for v in values], dtype=bool)
            data = np.array([0 if v is None else v for v in values], dtype=np.int64)
            return pd.arrays.IntegerArray(data, mask)
    if dtype in ("float64", UTC_TIMESTAMP):  # None -> NaN
        numbers = np.fromiter(map(field, rows), np.float64, count=n)
        return numbers if dtype == "float64" else utc_column(numbers)
    values = list(map(field, rows))
    if dtype == "object":  # filled item by item so that dicts stay whole
        column = np.empty(n, dtype=object)
        column[:] = values
        return column
    if dtype != "str":
        return pd.array(values, dtype=dtype)
    try:  # through pyarrow: three times faster than from a list of str
        return pd.array(pa.array(values, type=pa.large_string()), dtype=dtype)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" is valid JSON): keep the rest
        values = [v if v is None else _SURROGATE.sub("\ufffd", v) for v in values]
        return pd.array(pa.array(values, type=pa.large_string()), dtype=dtype)


def rows_frame(rows: Sequence[Row], columns: Mapping[str, str]) -> pd.DataFrame:
    """A frame of ``rows`` with exactly ``columns`` (name -> dtype), even with no rows.

    Raises ``ValueError`` when a row does not have one value per column.
    """
    if set(map(len, rows)) - {len(columns)}:
        raise ValueError(f"every row must have {len(columns)} fields: {', '.join(columns)}")
    # one pass per column: zip(*rows) would allocate an iterator per row, and on 10**6 rows
    # the garbage collector then walks the whole heap again and again
    return pd.DataFrame({name: _column(rows, i, dtype)
                         for i, (name, dtype) in enumerate(columns.items())})
