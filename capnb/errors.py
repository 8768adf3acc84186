"""Every exception and warning capnb raises.

::

    CapnbError
    ├── ConfigError            (also ValueError) missing or bad configuration
    ├── ValidationError        (also ValueError) bad argument, raised before any request
    ├── TransportError         connection failed, timed out or was reset
    ├── ResponseFormatError    body that is not the documented JSON
    ├── StoreError             local Parquet store unusable
    ├── ReportError            a report could not be rendered (failing cell, kernel, export)
    └── ApiError               the API answered with an error code
        ├── BadRequest             400, 8883, 4054: missing/invalid parameters
        ├── AuthenticationError    401
        ├── PermissionDenied       403 / 4000
        ├── NotFound
        │   ├── CustomerNotFound   9002, 8015
        │   ├── ProgramNotFound    9001, 2010
        │   └── PromotionNotFound  3013, 4029, 8874
        ├── RateLimited            429 after all retries
        └── ServerError            5xx after all retries

    CapnbWarning (UserWarning)

:func:`printable` makes any of their messages (which quote API text) safe to print.
"""

from __future__ import annotations

import os
import re

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequest",
    "CapnbError",
    "CapnbWarning",
    "ConfigError",
    "CustomerNotFound",
    "NotFound",
    "PermissionDenied",
    "ProgramNotFound",
    "PromotionNotFound",
    "RateLimited",
    "ReportError",
    "ResponseFormatError",
    "ServerError",
    "StoreError",
    "TransportError",
    "ValidationError",
    "api_error_class",
    "failure_fields",
    "printable",
]


class CapnbError(Exception):
    """Root of every error capnb raises."""


class CapnbWarning(UserWarning):
    """Something the analyst should know that does not stop the work."""


class ConfigError(CapnbError, ValueError):
    """Configuration (environment, config file, host) is missing or invalid."""


class ValidationError(CapnbError, ValueError):
    """An argument is invalid; raised before any request is sent.

    ``parameter`` names the offending argument.
    """

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class TransportError(CapnbError):
    """The request never got a complete HTTP answer (connection, timeout, reset)."""


class ReportError(CapnbError):
    """A report could not be produced: a cell failed, the kernel died, or export failed.

    Attributes: ``notebook`` (path), ``cell_index`` (0-based, None when not cell-related),
    ``exec_count``, ``source`` (the failing cell's code), ``ename``, ``evalue``, ``traceback``
    (plain text, no colour codes), ``summary`` (one line saying what failed and what to do,
    without the cell's code: what ``capnb report`` prints unless ``-v``; the message when no
    shorter form is known).
    """

    def __init__(self, message: str, *, notebook: str | os.PathLike[str] | None = None,
                 cell_index: int | None = None, exec_count: int | None = None,
                 source: str = "", ename: str = "", evalue: str = "",
                 traceback: str = "", summary: str = "") -> None:
        self.summary = summary or message
        self.notebook = notebook
        self.cell_index = cell_index
        self.exec_count = exec_count
        self.source = source
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        super().__init__(message)


class StoreError(CapnbError):
    """The local store cannot be read or written."""


class ResponseFormatError(CapnbError):
    """The response body is not the JSON the API documents.

    Carries ``http_status``, ``request_id`` and a short ``excerpt`` of the body.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        excerpt: str = "",
    ) -> None:
        self.http_status = http_status
        self.request_id = request_id
        self.excerpt = excerpt
        detail = message
        if http_status is not None:
            detail += f" (HTTP {http_status})"
        if excerpt:
            detail += f"; body starts: {excerpt!r}"
        super().__init__(detail)


class ApiError(CapnbError):
    """The API reported an error.

    Attributes: ``code`` (Capillary's code: int, str or None), ``message``, ``http_status``,
    ``request_id`` (the ``X-Cap-Requestid`` header, to quote to Capillary support).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        parts = [f"code {code}" if code is not None else None,
                 f"HTTP {http_status}" if http_status is not None else None,
                 f"request id {request_id}" if request_id else None]
        suffix = ", ".join(p for p in parts if p)
        super().__init__(f"{message} ({suffix})" if suffix else message)


class BadRequest(ApiError):
    """The request was malformed or missed a required parameter (HTTP 400)."""


class AuthenticationError(ApiError):
    """Credentials were rejected (HTTP 401)."""


class PermissionDenied(ApiError):
    """The credentials may not access this resource (HTTP 403, code 4000)."""


class NotFound(ApiError):
    """A customer, program or promotion does not exist."""


class CustomerNotFound(NotFound):
    """Codes 9002 (v3, by id) and 8015 (v2, by identifier): no such customer."""


class ProgramNotFound(NotFound):
    """Codes 9001 and 2010: no program with this id in the org."""


class PromotionNotFound(NotFound):
    """Codes 3013, 4029 and 8874 (v2): no promotion with this id in the program."""


class RateLimited(ApiError):
    """HTTP 429 persisted after every retry."""


class ServerError(ApiError):
    """A 5xx (or Capillary's 461/521) persisted after every retry."""


_BY_CODE: dict[int, type[ApiError]] = {
    9002: CustomerNotFound,
    8015: CustomerNotFound,
    8874: PromotionNotFound,
    8883: BadRequest,
    4054: BadRequest,
    9001: ProgramNotFound,
    2010: ProgramNotFound,
    3013: PromotionNotFound,
    4029: PromotionNotFound,
    4000: PermissionDenied,
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
}


def api_error_class(code: int | str | None, http_status: int | None) -> type[ApiError]:
    """Return the most specific ``ApiError`` subclass for a Capillary code and HTTP status."""
    try:
        numeric = int(code) if code is not None else None
    except (TypeError, ValueError):
        numeric = None
    if numeric in _BY_CODE:
        return _BY_CODE[numeric]
    if http_status == 429:
        return RateLimited
    if http_status is not None and (http_status >= 500 or http_status == 461):
        return ServerError
    if http_status in _BY_CODE:
        return _BY_CODE[http_status]
    if http_status == 404:
        return NotFound
    return ApiError


def failure_fields(exc: BaseException) -> dict[str, str | None]:
    """What a customer's row records when its request failed: ``status`` (``not_found`` for
    :class:`CustomerNotFound`, else ``failed``), ``request_id``, ``error_code`` (the API's
    code, or the error's class name) and ``error_message``."""
    if isinstance(exc, CustomerNotFound):
        return {"status": "not_found", "request_id": exc.request_id,
                "error_code": str(exc.code), "error_message": exc.message}
    code = getattr(exc, "code", None)
    return {"status": "failed", "request_id": getattr(exc, "request_id", None),
            "error_code": type(exc).__name__ if code is None else str(code),
            "error_message": str(exc)}


# C0 controls but tab and newline, DEL, C1 controls (0x9b is a CSI), line separators, bidi
# embeddings, overrides and isolates, lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with every terminal control character escaped in a visible form (ESC becomes
    ``\\x1b``, CR ``\\r``, U+202E ``\\u202e``); newlines and tabs are kept."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
