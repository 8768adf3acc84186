"""Argument checks shared by every public function; they run before any request is sent."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from capnb.errors import ValidationError

_DIGITS = re.compile(r"\d+")
MAX_ID = 2**63 - 1  # the API's ids are Java longs


def check_id(name: str, value: Any) -> int:
    """Return ``value`` as a positive int; raise ``ValidationError`` naming ``name`` otherwise.

    Accepts ints and strings of digits (surrounding blanks ignored). Rejects bool, float, negative
    or zero, empty strings and None.

    >>> check_id("customer_id", "388597285")
    388597285
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError(name, f"must be a positive integer id, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValidationError(name, f"must be a positive integer id, got {shown}")
    if not 0 < number <= MAX_ID:
        raise ValidationError(name, f"must be a positive integer id below 2**63, got {number}")
    return number


def check_activity_id(value: Any, name: str = "activity_id") -> str | None:
    """Return a stripped non-empty activity id, or None when ``value`` is None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, f"must be a non-empty string or None, got {value!r}")
    return value.strip()


def check_positive_number(name: str, value: Any, *, allow_none: bool = False,
                          integer: bool = False) -> float | int | None:
    """Return ``value`` when it is a finite number > 0 (an int when ``integer``)."""
    if value is None and allow_none:
        return None
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if valid and integer:
        valid = isinstance(value, int)
    if not valid or (isinstance(value, float) and not math.isfinite(value)) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        suffix = " or None" if allow_none else ""
        raise ValidationError(name, f"must be {kind}{suffix}, got {value!r}")
    return value


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` when it is an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(name, f"must be an integer >= 0, got {value!r}")
    return value


IDENTIFIER_NAMES = ("mobile", "email", "externalId", "cardnumber", "id")
"""Identifier types the lookup endpoints accept (``identifierName``)."""


def check_identifier(name: str, value: Any) -> str:
    """Return ``value`` as a stripped non-empty string (ints become their digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, f"must be a non-empty string, got {value!r}")
    return value.strip()


def check_identifier_name(value: Any, name: str = "identifier_name") -> str:
    """Return ``value`` when it is one of :data:`IDENTIFIER_NAMES`."""
    if value not in IDENTIFIER_NAMES:
        raise ValidationError(name, f"must be one of {', '.join(IDENTIFIER_NAMES)}, "
                              f"got {value!r}")
    return value


def check_tz(tz: Any, name: str = "tz") -> ZoneInfo:
    """Return the ``ZoneInfo`` of an IANA name; raise ``ValidationError`` naming ``name``
    otherwise (``.key`` gives the name back)."""
    if not isinstance(tz, str):
        raise ValidationError(name, f"must be an IANA timezone name like 'Asia/Kolkata', got "
                              f"{type(tz).__name__}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(name, f"unknown timezone {tz!r}; use an IANA name such as 'UTC' "
                              "or 'Asia/Kolkata'") from exc


def check_as_of(as_of: Any, name: str = "as_of") -> pd.Timestamp:
    """``as_of`` as a UTC timestamp in microseconds.

    Takes a timestamp, a datetime or an ISO string (naive = UTC); None, ``""`` and ``"now"``
    mean now.

    >>> check_as_of("2026-11-15T05:30:00+05:30")
    Timestamp('2026-11-15 00:00:00+0000', tz='UTC')
    """
    if as_of is None or (isinstance(as_of, str) and as_of.strip().lower() in ("", "now")):
        return pd.Timestamp.now(tz="UTC").as_unit("us")
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, "must be a timestamp or an ISO date-time like "
                              f"'2026-11-15T00:00:00Z' or 'now', got {as_of!r}") from exc
    if pd.isna(stamp):
        raise ValidationError(name, f"must be a timestamp, got a missing value ({as_of!r})")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("us")


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool; numpy bools accepted, anything else rejected."""
    if not isinstance(value, bool | np.bool_):
        raise ValidationError(name, f"must be True or False, got {value!r}")
    return bool(value)


def check_frame(name: str, frame: Any, columns: Iterable[Any] = (),
                source: str | None = None) -> pd.DataFrame:
    """``frame`` when it is a DataFrame holding ``columns``, else a ValidationError naming the
    function the frame should come from (``source``)."""
    origin = f" from {source}" if source else ""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(name, f"must be a DataFrame{origin}, got {type(frame).__name__}")
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(name, f"must be a DataFrame{origin} (missing {', '.join(missing)})")
    return frame
