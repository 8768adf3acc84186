"""Cell formatting for tables people read: one function per kind of column, value -> text.

A *kind* says what a column holds and therefore how it reads: ``count`` (whole numbers with
thousands separators), ``amount`` (at most two decimals, as few as the column's fractions need;
none on whole values), ``share``
(a percent with one decimal), ``limit`` ("no limit" for -1), ``date`` (in a timezone; the date
alone when every time of the column is midnight), ``days`` (one decimal), ``flag`` ("yes" or
blank), ``id`` (digits without separators), ``pairs`` (a mapping as "key: value" lines),
``text``, and the words of :mod:`capnb.labels` (``restriction``, ``measurability``, ``scope``,
``family``, ``type``, ``period``, ``status``). A missing value reads :data:`capnb.labels.MISSING`
("—") whatever the kind.

Formatters return plain text; :mod:`capnb.reports.tables` escapes it for HTML.

>>> import pandas as pd
>>> [formatter("share", pd.Series([0.8872, None]))(v) for v in (0.8872, None)]
['88.7%', '—']
>>> column = pd.Series([1093.653968, 4.851449e6, 15.1])
>>> [formatter("amount", column)(v) for v in column]
['1,093.65', '4,851,449', '15.10']
>>> formatter("count", pd.Series([6.0, 57000]))(57000)
'57,000'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from capnb import labels
from capnb.errors import ValidationError
from capnb.labels import MISSING
from capnb.validation import check_tz

__all__ = ["KINDS", "NUMERIC_KINDS", "formatter", "infer_kind", "interval_formatter", "is_missing",
           "pairs_text"]

_MAPPINGS: dict[str, Mapping[str, str]] = {
    "measurability": labels.MEASURABILITY, "scope": labels.SCOPE, "family": labels.FAMILY,
    "type": labels.RESTRICTION_TYPE, "period": labels.PERIOD_UNIT,
    "status": labels.CUSTOMER_STATUS,
}
KINDS = ("count", "amount", "share", "limit", "date", "days", "flag", "id", "pairs", "text",
         "restriction", *_MAPPINGS)
"""Every kind of column :func:`formatter` knows."""
NUMERIC_KINDS = frozenset({"count", "amount", "share", "limit", "days", "id"})
"""Kinds shown right-aligned, in tabular figures."""

Formatter = Callable[[Any], str]


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and ``pd.NA`` (never raises on lists, dicts or strings)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def _infinite(number: float) -> str | None:
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    return None


def _decimals(series: pd.Series, most: int) -> int:
    """The fewest decimals (0 to ``most``) that show every fractional value of ``series``
    rounded to ``most`` decimals: one precision per column, no zeros the column does not need."""
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    values = np.round(values[np.isfinite(values)], most)
    for places in range(most):
        if np.allclose(np.round(values, places), values, rtol=0, atol=10.0 ** -(most + 2)):
            return places
    return most


def _number(places: int) -> Formatter:
    """Thousands separators; ``places`` decimals, none for a value that rounds to a whole."""
    def text(value: Any) -> str:
        number = round(float(value), places)
        if _infinite(number):
            return _infinite(number) or ""
        return f"{number:,.0f}" if number.is_integer() else f"{number:,.{places}f}"
    return text


def _share(value: Any) -> str:
    number = float(value)
    return _infinite(number) or f"{number:.1%}"


def _days(value: Any) -> str:
    number = float(value)
    return _infinite(number) or f"{number:,.1f}"


def _id(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _flag(value: Any) -> str:
    return "yes" if bool(value) else ""


def pairs_text(value: Any) -> str:
    """A mapping as ``key: value`` lines (a property bag of the API); anything else as text."""
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {MISSING if is_missing(v) else v}" for k, v in value.items())
    return str(value)


def _dates(series: pd.Series, timezone: str) -> Formatter:
    """Timestamps in ``timezone`` (naive ones are UTC): ``2026-11-15 14:03``, or the date alone
    when every time of the column is midnight there."""
    zone = check_tz(timezone, "timezone")
    stamps = pd.to_datetime(series, utc=True, errors="coerce").dt.tz_convert(zone)
    known = stamps.dropna()
    pattern = ("%Y-%m-%d" if len(known) and (known == known.dt.normalize()).all()
               else "%Y-%m-%d %H:%M")

    def text(value: Any) -> str:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return stamp.tz_convert(zone).strftime(pattern)
    return text


def interval_formatter(kind: str, series: pd.Series) -> Callable[[Any, Any], str]:
    """A function (low, high) -> ``"(60.2–66.4%)"`` for the 95% interval of an estimate in a
    column of ``kind`` (``series``, the estimates, sets the precision); empty when missing.

    >>> interval_formatter("share", pd.Series([0.633]))(0.602, 0.664)
    '(60.2–66.4%)'
    >>> interval_formatter("count", pd.Series([505]))(427.46, 594.78)
    '(427–595)'
    """
    if kind == "share":
        def text(low: Any, high: Any) -> str:
            return "" if is_missing(low) or is_missing(high) else (
                f"({float(low) * 100:.1f}–{float(high):.1%})")
        return text
    plain = formatter(kind, series)
    whole = _number(0)  # bounds of a figure in the hundreds or more: no decimals

    def figures(low: Any, high: Any) -> str:
        if is_missing(low) or is_missing(high):
            return ""
        text = whole if max(abs(float(low)), abs(float(high))) >= 100 else plain
        return f"({text(low)}–{text(high)})"
    return figures


def infer_kind(name: Any, series: pd.Series) -> str:
    """The kind a column reads as when none is given: ids (``customer_id``, ``id``) as ``id``,
    integers as ``count``, floats as ``amount``, booleans as ``flag``, timestamps as ``date``,
    a column of mappings as ``pairs``, anything else as ``text``."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return infer_kind(name, pd.Series(series.cat.categories))
    lowered = str(name).lower()
    if pd.api.types.is_bool_dtype(dtype):
        return "flag"
    if lowered == "id" or lowered.endswith("_id"):
        return "id" if pd.api.types.is_numeric_dtype(dtype) else "text"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_float_dtype(dtype):
        return "amount"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_object_dtype(dtype) and series.map(lambda v: isinstance(v, Mapping)).any():
        return "pairs"
    return "text"


def formatter(kind: str, series: pd.Series, timezone: str = "UTC") -> Formatter:
    """A function value -> text for a column of ``kind``; ``series`` (the whole column) sets the
    precision of amounts and whether dates show their time. Missing values read ``—``.

    Raises :class:`~capnb.errors.ValidationError` for an unknown kind.
    """
    if kind not in KINDS:
        raise ValidationError("kinds", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind in _MAPPINGS:
        mapping = _MAPPINGS[kind]
        plain: Formatter = lambda value: labels.label(mapping, value)  # noqa: E731
    elif kind in ("amount", "count"):  # a count with fractions (an average) reads as an amount
        plain = _number(_decimals(series, 2))
    else:
        simple: dict[str, Formatter] = {
            "share": _share, "days": _days, "flag": _flag, "id": _id, "pairs": pairs_text,
            "limit": labels.limit_text, "restriction": labels.restriction_label, "text": str}
        plain = _dates(series, timezone) if kind == "date" else simple[kind]

    def text(value: Any) -> str:
        return MISSING if is_missing(value) else plain(value)
    return text
