"""JSON values -> Python values, as every api parser reads them; pure, no I/O.

Ids, counts and limits (:func:`as_int`) accept an int, an integral float (``1.0``) or a string
of ASCII digits with an optional ``.0`` (``"113336.0"``), and reject bools, ``1.5``, NaN/inf,
exponents (``"1e2"``), other strings and values beyond int64 (negative values are kept; ``""``
is missing, except for a count, :func:`as_count`, where a blank is an error). Totals
(:func:`as_float`) accept ASCII decimal strings or numbers. Timestamps (:func:`as_epoch_ms`)
accept epoch ms (number or ASCII digits) or ISO 8601 (naive = UTC); values beyond int64
(sentinels) are missing. An issuance time (:func:`as_issued_ms`, the summaries'
``lastIssuedOn``) must lie in [2000-01-01, 2100-01-01) UTC (:data:`ISSUED_MIN_MS`,
:data:`ISSUED_MAX_MS`): the documented benefits start in 2024-2025, so a value outside is
seconds sent as milliseconds, a year-0001 or far-future sentinel, or junk; blank is an error,
and only null means "never". Non-ASCII digits are never read as numbers. A value of the wrong type
raises :class:`~capnb.errors.ResponseFormatError` (:func:`bad_value`) quoting an
:func:`excerpt` of it; :func:`tag_request_id` names the request on such an error.
"""

from __future__ import annotations

import re
import reprlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

import numpy as np

from capnb.errors import ApiError, ResponseFormatError

__all__ = [
    "INT64_BOUND",
    "ISSUED_MAX_MS",
    "ISSUED_MIN_MS",
    "as_bool",
    "as_count",
    "as_epoch_ms",
    "as_float",
    "as_id",
    "as_int",
    "as_issued_ms",
    "as_str",
    "bad_value",
    "excerpt",
    "keep_item",
    "records",
    "tag_request_id",
]

INT64_BOUND = 2**63
"""int64 values v satisfy ``-INT64_BOUND <= v < INT64_BOUND``."""
ISSUED_MIN_MS = 946_684_800_000
"""2000-01-01T00:00Z in epoch ms: the earliest plausible issuance time."""
ISSUED_MAX_MS = 4_102_444_800_000
"""2100-01-01T00:00Z in epoch ms: issuance times are before it."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_INTEGRAL_DECIMAL = re.compile(r"([0-9]+)\.0*")
_MS = timedelta(milliseconds=1)
_BOOLS = (bool, np.bool_)
_NUMBERS = (int, float, np.integer, np.floating)
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def excerpt(value: Any) -> str:
    """At most 120 characters showing ``value``, for error messages."""
    if isinstance(value, str):
        return value[:120]
    if isinstance(value, bytes | bytearray):
        return bytes(value[:120]).decode(errors="replace")
    try:
        return _REPR.repr(value)[:120]
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__}>"


def bad_value(what: str, value: Any) -> NoReturn:
    """Raise ``ResponseFormatError("unexpected <what>")`` quoting ``value``."""
    raise ResponseFormatError(f"unexpected {what}", excerpt=excerpt(value))


def tag_request_id(exc: ResponseFormatError | ApiError, request_id: str | None) -> None:
    """Store ``request_id`` on an error raised while parsing, unless it names one already."""
    if exc.request_id is None:
        exc.request_id = request_id


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_int(value: Any, what: str) -> int | None:
    """An id, count or limit as an int in int64 range (rules in the module docstring)."""
    if type(value) is int and -INT64_BOUND <= value < INT64_BOUND:
        return value
    if _blank(value):
        return None
    if isinstance(value, str):
        if not _INTEGER_TEXT.fullmatch(value.strip()):
            bad_value(f"{what}: not an integer in ASCII digits", value)
        value = Decimal(value.strip())
    elif isinstance(value, _BOOLS) or not isinstance(value, _NUMBERS):
        bad_value(f"{what}: expected a number", value)
    try:  # NaN/inf and 1.5 fail here; Decimal NaN raises InvalidOperation (an ArithmeticError)
        if -INT64_BOUND <= value < INT64_BOUND and value == int(value):
            return int(value)
    except (ArithmeticError, ValueError):
        pass
    bad_value(f"{what}: not an integer in int64 range", value)


def as_float(value: Any, what: str) -> float | None:
    """A total such as ``"1234.000"`` or ``1234`` as a finite float."""
    if type(value) is str or (isinstance(value, _NUMBERS + (str,))
                              and not isinstance(value, _BOOLS)):
        if isinstance(value, str) and not (value.isascii() and "_" not in value):
            bad_value(f"{what}: not a number in ASCII digits", value)
        try:
            number = float(value)
        except ValueError:
            if _blank(value):
                return None
            bad_value(f"{what}: not a number", value)
        except OverflowError:
            bad_value(f"{what}: not a finite number", value)
        if number - number == 0.0:  # not inf or NaN
            return number
        bad_value(f"{what}: not a finite number", value)
    if value is None:
        return None
    bad_value(f"{what}: expected a number", value)


def as_str(value: Any, what: str) -> str | None:
    """A string; a number (an id sent as a number) becomes its integer spelling."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, _NUMBERS) and not isinstance(value, _BOOLS):
        return str(as_int(value, what))  # 5231232.0 -> "5231232"; 1.5 and NaN are rejected
    bad_value(f"{what}: expected a string", value)


def as_id(value: Any, what: str) -> str | None:
    """An id kept as text (reward series, badge and action ids), one spelling per id: a number
    or an integral decimal (``118221.0``, ``"118221.0"``) is ``"118221"``; other text verbatim.

    >>> as_id("118221.0", "id"), as_id(118221.0, "id"), as_id("EarlyBirdBadge", "id")
    ('118221', '118221', 'EarlyBirdBadge')
    """
    text = as_str(value, what)
    match = _INTEGRAL_DECIMAL.fullmatch(text) if text is not None and "." in text else None
    return match.group(1) if match else text


def as_bool(value: Any, what: str) -> bool | None:
    """A bool, or the string ``"true"``/``"false"`` in any case."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    bad_value(f"{what}: expected true or false", value)


def as_epoch_ms(value: Any, what: str) -> int | None:
    """Epoch milliseconds from ms or ISO 8601; None when missing or beyond int64 (sentinels)."""
    if type(value) is int:
        return value if -INT64_BOUND <= value < INT64_BOUND else None
    if _blank(value):
        return None
    if isinstance(value, _BOOLS) or not isinstance(value, _NUMBERS + (str,)):
        bad_value(f"{what}: expected epoch milliseconds or an ISO 8601 string", value)
    if not isinstance(value, str):
        number = float(value)
        return round(number) if abs(number) < 2**62 else None  # NaN fails the test too
    text = value.strip()
    if not text.isascii():
        bad_value(f"{what}: not ASCII", value)
    if text.removeprefix("-").isdecimal():
        return as_epoch_ms(int(text), what) if len(text) < 20 else None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        bad_value(f"{what}: not a date", value)
    if moment.tzinfo is None:  # the docs never show one; assume UTC rather than guess a cluster
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


def as_count(value: Any, what: str) -> int | None:
    """A count (:func:`as_int`), where a blank string is an error rather than missing."""
    if isinstance(value, str) and not value.strip():
        bad_value(f"{what}: blank", value)
    return as_int(value, what)


def as_issued_ms(value: Any, what: str) -> int | None:
    """An issuance time: :func:`as_epoch_ms` in [:data:`ISSUED_MIN_MS`, :data:`ISSUED_MAX_MS`);
    null is None (never issued); anything else, blank included, raises."""
    if value is None:
        return None
    millis = as_epoch_ms(value, what)
    if millis is None or not ISSUED_MIN_MS <= millis < ISSUED_MAX_MS:
        bad_value(f"{what}: not an issuance time in epoch ms between 2000 and 2100", value)
    return millis


def records(value: Any, what: str, *, single_ok: bool = False) -> list[Any]:
    """A list field (null = empty; one object where the docs say "Object" when ``single_ok``);
    callers test each item with ``type(item) is dict or keep_item(item, what)``."""
    if type(value) is list:
        return value
    if value is None or (single_ok and isinstance(value, dict)):
        return [] if value is None else [value]
    bad_value(f"{what}: expected a list", value)


def keep_item(item: Any, what: str) -> bool:
    """For a list item that is not a dict: False for a null item (skipped); raises otherwise."""
    if item is None:
        return False
    bad_value(f"{what}: expected a list of objects", item)
