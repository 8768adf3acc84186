"""What every answer module of the sandbox shares: the ``(http_status, payload)`` shape of an
answer and the reading of numeric parameters."""

from __future__ import annotations

from typing import Any

__all__ = ["Answer", "digits"]

Answer = tuple[int, dict[str, Any]]
"""An answer before encoding: HTTP status and JSON payload."""


def digits(value: str | None) -> int | None:
    """The integer in ``value`` when it is a plain run of ASCII digits, else None."""
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None
