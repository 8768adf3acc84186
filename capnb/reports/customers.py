"""The dashboard's customers box: customer ids typed or pasted, or the path of one file.

:func:`customer_source` reads the box: ids separated by commas, semicolons, spaces or new
lines, or a single CSV/Parquet path (an existing file, or one word that looks like a path).
Entries that are neither are named in a ``ValidationError`` ("not customer ids: 'abc'") before
any request; the ids themselves are checked by :func:`capnb.fetch.inputs.read_customer_ids`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from capnb.errors import ValidationError

__all__ = ["customer_source"]

_SEPARATORS = re.compile(r"[\s,;]+")
_DIGITS = re.compile(r"[0-9]+")
_SHOWN = 5  # bad entries named in the message


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):
        return False


def customer_source(text: str, default: Any = None) -> Any:
    """What to fetch for the box's ``text``: a list of ints, a path, or ``default`` when empty.

    Raises ``ValidationError`` (parameter ``customers``) when the box is empty without a
    default, or names what is not an id.
    """
    text = text.strip()
    if not text:
        if default is None:
            raise ValidationError("customers", "enter customer ids or a file path")
        return default
    entries = [entry for entry in _SEPARATORS.split(text) if entry]
    bad = [entry for entry in entries if not _DIGITS.fullmatch(entry)]
    if _is_file(text) or (len(entries) == 1 and bad
                          and re.search(r"[./\\~]", text)):
        return text  # a path (a missing one is reported by the reader: "no file at ...")
    if bad:
        more = f" and {len(bad) - _SHOWN:,} more" if len(bad) > _SHOWN else ""
        raise ValidationError("customers", "not customer ids: " + ", ".join(
            repr(entry) for entry in bad[:_SHOWN]) + more + " (enter ids separated by commas, "
            "spaces or new lines, or the path of one CSV/Parquet file)")
    return [int(entry) for entry in entries]
