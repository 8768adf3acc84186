"""Capillary response envelopes: error bodies -> ``ApiError``, warnings, and the object inside.

Three envelopes are read: v2/v3 ``{"data", "errors", "warnings"}``, api_gateway
``{"status", "validationErrors", "data": [{...}]}``, and the bare object.
:func:`raise_for_envelope` raises the :class:`~capnb.errors.ApiError` an error body describes;
:func:`unwrap_summary` returns the object inside any accepted envelope with every warning found
on the way (8116, :data:`NO_SUMMARY_CODE`, is a warning). Pure, no I/O.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from capnb.api._coerce import bad_value, excerpt
from capnb.errors import ResponseFormatError, api_error_class
from capnb.models import ApiWarning

__all__ = ["NO_SUMMARY_CODE", "raise_for_envelope", "unwrap_summary"]

NO_SUMMARY_CODE = 8116
"""Warning code of a customer with no action summary in the promotion (not an error)."""
_OK_STATUS = (200, 201)

_Entry = tuple[int | str | None, str]


def _code(value: Any) -> int | str | None:
    """An error/warning code: int, a string such as ``"COMMON.INVALID_INPUT"``, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().removeprefix("-").isdecimal():
        return int(value) if len(value) < 30 else value
    if isinstance(value, int | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return excerpt(value)


def _message(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else excerpt(value))


def _entries(value: Any, *, nested: bool = False) -> list[_Entry]:
    """``(code, message)`` pairs of an ``errors``, ``validationErrors`` or ``warnings`` value:
    a list, one ``{code, message}`` object, a ``{field: message}`` object or a string."""
    if isinstance(value, list) and not nested:
        return [pair for item in value for pair in _entries(item, nested=True)]
    if isinstance(value, dict):
        if "code" in value or "message" in value:
            return [(_code(value.get("code")), _message(value.get("message")))]
        return [(None, f"{key}: {_message(text)}") for key, text in value.items()]
    if isinstance(value, str):
        return [(None, value)] if value else []
    if value is None or isinstance(value, bool | int | float):
        return []  # null, false or a bare number carries no message
    return [(None, excerpt(value))]


def _raise(entries: list[_Entry], lookup: int | None, http_status: int | None,
           request_id: str | None) -> NoReturn:
    code = entries[0][0]
    message = "; ".join(m for _, m in entries[:5] if m) or f"API error {code}"
    raise api_error_class(code, lookup)(message, code=code, http_status=http_status,
                                        request_id=request_id)


def _class_status(code: int | str | None, http_status: int | None) -> int | None:
    """The status that picks the error class: an HTTP-like code in a body that came with a
    success status (500 inside an HTTP 200) says more than the HTTP status does."""
    failing = http_status is not None and http_status >= 400
    if isinstance(code, int) and 100 <= code <= 599 and not failing:
        return code
    return http_status


def raise_for_envelope(payload: Any, *, http_status: int | None = None,
                       request_id: str | None = None) -> None:
    """Raise the ``ApiError`` an error body describes; do nothing when it describes none.

    Errors recognised, in order: a non-empty ``errors`` (v2/v3) when ``data`` is null, empty or
    missing, or whatever ``data`` holds when ``http_status`` >= 400; an api_gateway
    ``status.code`` other than 200/201 (in both, an HTTP-like code such as 500 chooses the
    class when the HTTP status says success); a non-empty ``validationErrors`` (classed as a
    400 unless ``http_status`` says otherwise). The first entry gives ``code``; messages are joined.

    Parameters
    ----------
    payload : dict
        The decoded body; anything else is ignored.
    http_status : int, optional
        HTTP status of the response; stored on the error and used to choose its class.
    request_id : str, optional
        The ``X-Cap-Requestid`` header, stored on the error.

    Raises
    ------
    ApiError
        The subclass :func:`capnb.errors.api_error_class` gives for the code and status.
    """
    if not isinstance(payload, dict):
        return
    failing = http_status is not None and http_status >= 400
    get = payload.get
    errors, status, invalid = get("errors"), get("status"), get("validationErrors")
    errors = _entries(errors) if errors else []  # falsy values carry no entry anyway
    if errors and (failing or not get("data")):
        _raise(errors, _class_status(errors[0][0], http_status), http_status, request_id)
    code = _code(status.get("code")) if isinstance(status, dict) else None
    if code is not None and code not in _OK_STATUS:
        _raise([(code, _message(status.get("message")))], _class_status(code, http_status),
               http_status, request_id)
    invalid = _entries(invalid) if invalid else []
    if invalid:
        _raise(invalid, http_status if failing else 400, http_status, request_id)


def _warnings(value: Any) -> list[ApiWarning]:
    return [ApiWarning(code, message) for code, message in _entries(value)] if value else []


def unwrap_summary(payload: Any, *, request_id: str | None = None,
                   ) -> tuple[dict[str, Any], list[ApiWarning]]:
    """Return the object inside any accepted envelope, and every warning found on the way.

    Also used for promotions: api_gateway's one-item ``data`` list is unwrapped the same way.

    Parameters
    ----------
    payload : dict, str or bytes
        The body, decoded or not.
    request_id : str, optional
        Stored on any error raised.

    Returns
    -------
    (dict, list of ApiWarning)
        The object (``{}`` when ``data`` is null next to warning 8116), then the warnings of
        the envelope and of the object (strings and ``{code, message}`` objects alike), and
        any ``errors`` that came next to non-null data.

    Raises
    ------
    ResponseFormatError
        Invalid JSON, not an object, or ``data`` neither an object nor a one-object list.
    ApiError
        An error envelope (see :func:`raise_for_envelope`).
    """
    if type(payload) is not dict and isinstance(payload, (str, bytes, bytearray)):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise ResponseFormatError(f"invalid JSON ({type(exc).__name__})",
                                      request_id=request_id, excerpt=excerpt(payload)) from exc
    if not isinstance(payload, dict):
        bad_value("body: expected a JSON object", payload)
    raise_for_envelope(payload, request_id=request_id)
    warnings, errors = payload.get("warnings"), payload.get("errors")
    warnings = _warnings(warnings) + _warnings(errors) if warnings or errors else []
    if "data" not in payload:
        return payload, warnings
    data = payload["data"]
    if isinstance(data, list):
        if len(data) != 1:
            bad_value(f"data: expected one object, got a list of {len(data)}", data)
        data = data[0]
    if data is None and any(w.code == NO_SUMMARY_CODE for w in warnings):
        return {}, warnings
    if not isinstance(data, dict):
        bad_value("data: expected an object", data)
    inner = data.get("warnings")
    return data, warnings + _warnings(inner) if inner else warnings
