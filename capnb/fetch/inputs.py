"""Reading the customers a fetch is about: one set of rules for ids and identifiers.

A source is any of:

* an iterable of values (numpy integer scalars become ints; ``str``, ``bytes`` and ``dict`` are
  refused: they are iterable but never a list of customers);
* a pandas Series (missing values become ``None``);
* a DataFrame, of which one column is read;
* the path of a file: ``.parquet``, or ``.csv``, ``.txt``, ``.gz`` read as CSV with every cell
  as text, so leading zeros and ``+`` survive; blank cells are empty strings. The first column
  is never taken for an index: rows with trailing commas keep their values in their columns,
  and fields beyond the header are ignored (a warning counts the rows where they held text).

A DataFrame or file is read from the first of the accepted columns it has: ``customer_id`` for
ids; for identifiers the identifier's name (``mobile``...), then ``identifier``, then
``customer_id``. Every problem with the source itself raises ``ValidationError`` for
``customer_ids`` before any request; problems with single values are the callers' to report
per row (:func:`read_customer_ids` does it for ids: floats that are whole numbers, as a
Parquet or pandas column with a gap holds ids, are ids; other floats are invalid, with why).
"""

from __future__ import annotations

import csv
import gzip
import logging
import math
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capnb.errors import ValidationError
from capnb.schema import CUSTOMER_COLUMNS, typed_frame
from capnb.validation import MAX_ID, check_id

__all__ = ["read_customer_ids", "read_identifiers", "read_table", "read_values"]

log = logging.getLogger("capnb")

CSV_SUFFIXES = (".csv", ".txt", ".gz")
PARAMETER = "customer_ids"


def read_values(source: Any, columns: tuple[str, ...], noun: str = "ids") -> list[Any]:
    """The raw values of ``source`` (see the module docstring), taken from the first of
    ``columns`` a DataFrame or file has; ``noun`` names the values in error messages."""
    where = "the DataFrame"
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        source, where = _read_file(path), path.name
    if isinstance(source, pd.DataFrame):
        column = next((c for c in columns if c in source.columns), None)
        if column is None:
            accepted = " or ".join(f"'{c}'" for c in columns)
            raise ValidationError(PARAMETER, f"{where} has no {accepted} column (columns: "
                                  f"{', '.join(map(str, source.columns))})")
        source = source[column]
    if isinstance(source, pd.Series):
        if pd.api.types.is_integer_dtype(source.dtype) and not source.hasnans:
            return source.astype("int64").tolist()
        return [None if pd.isna(v) else v for v in source.tolist()]
    if isinstance(source, bytes | dict) or not isinstance(source, Iterable):
        raise ValidationError(PARAMETER, f"must be an iterable of {noun}, a pandas Series, or a "
                              f"path to a CSV/Parquet file, got {type(source).__name__}")
    return [int(v) if isinstance(v, np.integer) else v for v in source]


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ValidationError(PARAMETER, f"no file at {path}")
    suffix = path.suffix.lower()
    if suffix != ".parquet" and suffix not in CSV_SUFFIXES:
        raise ValidationError(PARAMETER, f"{path.name}: expected a .csv or .parquet file")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                                index_col=False)
    except (OSError, ValueError) as exc:
        raise ValidationError(PARAMETER, f"cannot read {path}: {exc}") from exc
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning):
            _say_extra_fields(path, len(frame.columns))
        else:
            warnings.warn(warning.message, warning.category, stacklevel=2)
    return frame


def _say_extra_fields(path: Path, width: int) -> None:
    """Some rows of a CSV file have more fields than its header (pandas ignores the extra
    ones): log how many rows had text there, if any (trailing commas alone lose nothing)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, skipinitialspace=True)
            next(rows, None)
            lost = sum(1 for row in rows if any(cell.strip() for cell in row[width:]))
    except (OSError, ValueError, csv.Error):
        lost = -1  # pandas read it; say so without a count
    if lost:
        count = "some" if lost < 0 else str(lost)
        log.warning("%s: %s row(s) with more fields than its header; the extra fields are "
                    "ignored", path.name, count)


def read_customer_ids(customer_ids: Any) -> tuple[list[int], pd.DataFrame]:
    """Validate and de-duplicate customer ids.

    ``customer_ids`` is a source with a ``customer_id`` column (see the module docstring).
    Returns the valid ids (first occurrence order) and a ``customers``-shaped frame of the
    invalid entries (status ``invalid``, the bad value and its position in ``error_message``).
    """
    values = read_values(customer_ids, ("customer_id",))
    if values and all(type(v) is int for v in values) and max(values) <= MAX_ID:
        array = np.asarray(values, dtype=np.int64)  # the common case, checked in one pass
        if (array > 0).all():
            return pd.unique(array).tolist(), typed_frame({}, CUSTOMER_COLUMNS)
    seen: set[int] = set()
    valid: list[int] = []
    invalid: list[str] = []
    for position, value in enumerate(values):
        try:
            number = check_id("customer_id", _whole_float(value))
        except ValidationError as exc:
            invalid.append(f"row {position}: {exc}")
            continue
        if number not in seen:
            seen.add(number)
            valid.append(number)
    bad = typed_frame({"status": ["invalid"] * len(invalid), "error_code": ["invalid_id"] *
                       len(invalid), "error_message": invalid}, CUSTOMER_COLUMNS)
    if invalid:
        log.warning("%d of %d customer ids are invalid and will not be fetched (status "
                    "'invalid'; first: %s)", len(invalid), len(values), invalid[0])
    return valid, bad


FLOAT_EXACT = 2**53
"""Floats hold every whole number up to here exactly; a larger float id may not be the id."""


_WHOLE_DECIMAL = re.compile(r"\s*([0-9]+)\.0*\s*")
"""A whole number written as a decimal (``12.0``, as spreadsheets export an id column)."""


def _whole_float(value: Any) -> Any:
    """A float that is a whole number as an int (ids from a float column), and text such as
    ``"12.0"`` as ``"12"``; other values as they are. Raises ``ValidationError`` for a float
    that is not a whole number, or too large to be an id exactly."""
    if isinstance(value, str):
        whole = _WHOLE_DECIMAL.fullmatch(value)
        return whole.group(1) if whole else value
    if not isinstance(value, float | np.floating):
        return value
    if not math.isfinite(value) or not float(value).is_integer():
        raise ValidationError("customer_id", f"must be a whole number, got {float(value)!r}")
    if abs(value) > FLOAT_EXACT:
        raise ValidationError("customer_id", f"got {float(value):g}, a float too large to "
                              "hold an id exactly; read the ids as integers or text")
    return int(value)


def read_identifiers(values: Any, identifier_name: str) -> list[Any]:
    """The raw identifier values of a source (see the module docstring) whose column is named
    ``identifier_name`` (``mobile``...), ``identifier`` or ``customer_id``."""
    return read_values(values, (identifier_name, "identifier", "customer_id"), "identifiers")


def read_table(source: Any) -> pd.DataFrame:
    """A DataFrame given as itself or as the path of a CSV/Parquet file (read as
    :func:`read_values` reads files); anything else raises ``ValidationError``."""
    if isinstance(source, str | os.PathLike):
        return _read_file(Path(source).expanduser())
    if isinstance(source, pd.DataFrame):
        return source
    raise ValidationError(PARAMETER, "must be a DataFrame or the path of a CSV/Parquet file "
                          f"to read a column from, got {type(source).__name__}")
