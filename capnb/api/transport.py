"""``Transport``: the HTTP connection pool, the one retry loop, and translation of responses
into decoded JSON or errors; also the OAuth token request.

This is the only module that does HTTP. It uses urllib3 (the transport under requests) directly:
requests' per-request session machinery cost 3.0 ms of CPU per summary against 1.3 ms for
urllib3 on this project's 2-core machines, and cohort fetches are CPU-bound on the client.
urllib3's exceptions are translated here, once. Every request, the token request included, goes
through :meth:`Transport.request_json`: retries on connection errors, timeouts and retryable
statuses with backoff and ``Retry-After``, one renewal of the credentials after a 401, and
news of each 429 for the caller's :class:`Throttle`.
"""

from __future__ import annotations

import email.utils
import heapq
import http.client
import itertools
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import LocationParseError
from urllib3.exceptions import TimeoutError as _Urllib3Timeout
from urllib3.util import parse_url

from capnb._version import __version__
from capnb.api._coerce import excerpt
from capnb.api.auth import OAUTH_HEADER, TOKEN_PATH, Auth
from capnb.api.envelope import raise_for_envelope
from capnb.config import DEFAULT_MAX_BACKOFF, DEFAULT_MAX_BODY_BYTES, resolve_host
from capnb.errors import (
    ApiError,
    AuthenticationError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    TransportError,
    api_error_class,
)
from capnb.validation import check_non_negative_int, check_positive_number

__all__ = ["REQUEST_ID_HEADER", "RETRYABLE_STATUSES", "JsonAnswer", "Throttle", "Transport"]

log = logging.getLogger("capnb")

RETRYABLE_STATUSES = frozenset({429, 461, 500, 502, 503, 504, 521})
REQUEST_ID_HEADER = "X-Cap-Requestid"
DEFAULT_TOKEN_TTL = 3600.0
_READ_SIZE = 256 * 1024
"""Documented lifetime of an OAuth token whose answer states none."""


class Throttle(Protocol):
    """What a rate limiter offers the client: one permit per HTTP attempt, news of each 429."""

    def acquire(self) -> None: ...

    def on_rate_limited(self, retry_after: float | None) -> None: ...


class JsonAnswer(NamedTuple):
    """A successful answer: the decoded, error-checked body, its request id and HTTP status."""

    payload: dict[str, Any]
    request_id: str | None
    status: int


@dataclass(frozen=True)
class _Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class Transport:
    """HTTP to one base URL: pooled keep-alive connections, timeouts, retries, error mapping.

    Parameters are those of :class:`capnb.api.client.Client` (validated here); redirects are
    followed (at most 5), and the credentials (``Authorization`` and the OAuth header) are
    dropped when a redirect leaves the original host. ``timeout`` bounds each attempt as a
    whole (connect, headers and body, redirects included): a server that trickles its answer
    has its connection shut at the deadline by a watchdog thread, and the attempt is a timeout.

    :meth:`cancel` (the hook for whoever fans requests out, and what a ``KeyboardInterrupt`` in
    any thread inside :meth:`request_json` calls) stops the requests already running: none
    makes a new attempt, a retry sleep ends at once. Requests started later are unaffected.
    """

    def __init__(
        self,
        host: str,
        *,
        timeout: float,
        max_retries: int,
        user_agent: str | None,
        pool_size: int,
        backoff: float,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.base_url = resolve_host(host)
        self.timeout = float(check_positive_number("timeout", timeout))
        self.max_retries = check_non_negative_int("max_retries", max_retries)
        self.backoff = float(check_positive_number("backoff", backoff))
        self.user_agent = user_agent or f"capnb/{__version__}"
        self.pool_size = int(check_positive_number("pool_size", pool_size, integer=True))
        self.max_body_bytes = int(check_positive_number("max_body_bytes", max_body_bytes,
                                                        integer=True))
        # Retries are ours (below); urllib3 only follows redirects.
        redirects = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5,
                                  raise_on_redirect=False, remove_headers_on_redirect=[
                                      "Authorization", "Cookie", "Proxy-Authorization",
                                      OAUTH_HEADER])
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=self.pool_size, retries=redirects,
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            ca_certs=certifi.where(), cert_reqs="CERT_REQUIRED",
            headers={"User-Agent": self.user_agent, "Accept": "application/json"})
        self._pool.pool_classes_by_scheme = {"http": _DeadlineHTTPPool,
                                             "https": _DeadlineHTTPSPool}
        self._cancelled = threading.Event()
        self._cancel_lock = threading.Lock()

    def cancel(self) -> None:
        """Stop the requests running now: no new attempt, retry sleeps end at once, and each
        raises ``TransportError`` ("cancelled"). Thread-safe; requests started afterwards run as
        usual. An attempt already on the wire finishes (it is bounded by ``timeout``)."""
        with self._cancel_lock:
            cancelled, self._cancelled = self._cancelled, threading.Event()
        cancelled.set()

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()

    def request_json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                     json_body: Any = None, auth: Auth | None = None,
                     throttle: Throttle | None = None,
                     follow_redirects: bool = True) -> JsonAnswer:
        """Send one request with retries and error translation; return the decoded answer.

        ``auth`` adds its headers to every attempt (an OAuth token is bought through
        :meth:`generate_token`) and gets one chance to renew them after a 401; ``throttle``
        gives one permit per attempt and hears of each 429. With ``follow_redirects=False`` a
        3xx answer is an ``ApiError`` naming the status and the host it points at (the token
        request never follows one: its body carries the client secret).

        Raises
        ------
        TransportError
            Connection errors and timeouts, once the retries are spent.
        ApiError
            The error the response describes (see :func:`capnb.api.envelope.raise_for_envelope`),
            once the retries are spent for retryable ones.
        ResponseFormatError
            A 2xx body that is not a JSON object, once the retries are spent.
        """
        cancelled = self._cancelled
        try:
            return self._request_json(method, path, params=params, json_body=json_body,
                                      auth=auth, throttle=throttle,
                                      follow_redirects=follow_redirects, cancelled=cancelled)
        except KeyboardInterrupt:
            self.cancel()
            raise

    def _request_json(self, method: str, path: str, *, params: Mapping[str, Any] | None,
                      json_body: Any, auth: Auth | None, throttle: Throttle | None,
                      follow_redirects: bool, cancelled: threading.Event) -> JsonAnswer:
        renewed = False
        attempt = 0
        while True:
            if cancelled.is_set():
                raise TransportError(f"{method} {path} cancelled: no new attempt after "
                                     f"{attempt} retr{'y' if attempt == 1 else 'ies'}")
            headers = auth.headers(self.generate_token) if auth is not None else {}
            if throttle is not None:
                throttle.acquire()
            try:
                response = self._send(method, path, params=params, headers=headers,
                                      json_body=json_body, redirect=follow_redirects)
            except TransportError as exc:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep_before_retry(attempt, None, str(exc), cancelled=cancelled)
                continue
            status = response.status
            request_id = response.headers.get(REQUEST_ID_HEADER)
            if (status == 401 and auth is not None and not renewed
                    and auth.renew_after_401(headers)):
                renewed = True
                continue
            if status in RETRYABLE_STATUSES and attempt < self.max_retries:
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                if status == 429 and throttle is not None:
                    throttle.on_rate_limited(retry_after)
                attempt += 1
                self._sleep_before_retry(attempt, retry_after, f"HTTP {status}", request_id,
                                         cancelled=cancelled)
                continue
            try:
                return JsonAnswer(self._decode(response, request_id), request_id, status)
            except (ResponseFormatError, ServerError, RateLimited) as exc:
                # A 2xx whose body is cut short, is a proxy's HTML page, or reports a server-side
                # failure in its envelope is as transient as a 5xx.
                if not 200 <= status < 300 or attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep_before_retry(attempt, None, type(exc).__name__, request_id,
                                         cancelled=cancelled)

    def generate_token(self, client_key: str, client_secret: str) -> tuple[str, float]:
        """Buy an OAuth token: ``(token, ttl_seconds)``; the ``TokenGenerator`` of
        :class:`capnb.api.auth.OAuth`. The TTL defaults to an hour when the answer has none.

        Raises
        ------
        AuthenticationError
            HTTP 401: the client key or secret was rejected.
        ResponseFormatError
            The answer has no ``data.accessToken``.
        """
        try:
            answer = self.request_json(
                "POST", TOKEN_PATH, json_body={"key": client_key, "secret": client_secret},
                follow_redirects=False)
        except ApiError as exc:
            if exc.http_status != 401:
                raise
            raise AuthenticationError("OAuth client key or secret rejected", code=401,
                                      http_status=401, request_id=exc.request_id) from None
        data = answer.payload.get("data")
        token = data.get("accessToken") if isinstance(data, dict) else None
        ttl = data.get("ttlSeconds") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseFormatError("token response has no data.accessToken",
                                      http_status=answer.status, request_id=answer.request_id)
        if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl <= 0:
            ttl = DEFAULT_TOKEN_TTL
        return token, float(ttl)

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              headers: Mapping[str, str] | None = None,
              json_body: Any = None, redirect: bool = True) -> _Response:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        request_headers = {**self._pool.headers, **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            request_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        _attempt.deadline = deadline
        _attempt.armed = []
        try:
            raw = self._pool.request(method, url, body=body, headers=request_headers,
                                     preload_content=False, redirect=redirect)
            try:
                content = self._read_capped(raw, method, path)
            except BaseException:
                raw.close()  # a connection in an unknown state is closed, never reused
                raw.release_conn()
                raise
        except _Urllib3Error as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, _Urllib3Timeout) or _WATCHDOG.fired(_attempt.armed):
                raise TransportError(f"{method} {path} timed out after {self.timeout:g} s") from exc
            raise TransportError(f"{method} {path} failed: {type(reason).__name__}") from exc
        finally:
            _attempt.deadline = None
            for entry in _attempt.armed:
                _WATCHDOG.disarm(entry)
        if _WATCHDOG.fired(_attempt.armed):
            # The shut socket may read as an early end of the answer rather than an error.
            raise TransportError(f"{method} {path} timed out after {self.timeout:g} s")
        response = _Response(raw.status, raw.reason or "", raw.headers, content)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.0f ms (request id %s)", method, path, response.status,
                      (time.perf_counter() - started) * 1000,
                      response.headers.get(REQUEST_ID_HEADER))
        return response

    def _read_capped(self, raw: urllib3.BaseHTTPResponse, method: str, path: str) -> bytes:
        """Read the body in pieces, decoded, and stop once it passes ``max_body_bytes``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = raw.read(_READ_SIZE, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_body_bytes:
                raw.close()
                raw.release_conn()
                raise ResponseFormatError(
                    f"{method} {path}: the answer is larger than {self.max_body_bytes} bytes "
                    "(after decompression); not read further",
                    http_status=raw.status, request_id=raw.headers.get(REQUEST_ID_HEADER))
            chunks.append(chunk)
        raw.release_conn()
        return b"".join(chunks)

    def _sleep_before_retry(self, attempt: int, retry_after: float | None, reason: str,
                            request_id: str | None = None, *,
                            cancelled: threading.Event) -> None:
        if retry_after is not None:
            delay = min(retry_after, DEFAULT_MAX_BACKOFF)
        else:
            delay = random.uniform(0, min(DEFAULT_MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)))
        log.info("retry %d/%d in %.2f s after %s (request id %s)", attempt, self.max_retries,
                 delay, reason, request_id)
        cancelled.wait(delay)  # ends at once on cancel(); the loop then stops

    def _decode(self, response: _Response, request_id: str | None) -> dict[str, Any]:
        status = response.status
        body = response.content
        try:
            payload = json.loads(body) if body else None
        except (ValueError, RecursionError):
            # Not JSON, not text (UnicodeDecodeError is a ValueError) or nested too deep: for a
            # 2xx, a ResponseFormatError below; otherwise the status decides the error.
            payload = None
        if 200 <= status < 300:
            if not isinstance(payload, dict):
                raise ResponseFormatError("expected a JSON object", http_status=status,
                                          request_id=request_id, excerpt=excerpt(body))
            raise_for_envelope(payload, http_status=status, request_id=request_id)
            return payload
        if isinstance(payload, dict):
            raise_for_envelope(payload, http_status=status, request_id=request_id)
        error_class = api_error_class(None, status)
        reason = response.reason or "error"
        message = f"HTTP {status} {reason}"
        if error_class is ApiError and 300 <= status < 400:
            message = (f"unexpected redirect (HTTP {status}) to {_location_host(response)}; "
                       "not followed with credentials")
        raise error_class(message, code=None, http_status=status, request_id=request_id)


_attempt = threading.local()
"""The running attempt of this thread: ``deadline`` (monotonic) and its ``armed`` entries."""


class _Watchdog:
    """One daemon thread that shuts the socket of every attempt still running at its deadline.

    Entries are ``[deadline, sequence, connection, fired]``; a disarmed entry has no connection
    and is dropped when its deadline comes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, connection: HTTPConnection) -> list[Any]:
        entry = [deadline, next(self._sequence), connection, False]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="capnb-deadline",
                                                daemon=True)
                self._thread.start()
            if self._heap[0] is entry:
                self._cond.notify()
        return entry

    def disarm(self, entry: list[Any]) -> None:
        entry[2] = None

    @staticmethod
    def fired(entries: list[list[Any]]) -> bool:
        """True when the watchdog shut the connection of any of ``entries``."""
        return any(entry[3] for entry in entries)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                connection = entry[2]
                entry[3] = connection is not None
            sock = getattr(connection, "sock", None) if connection is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_WATCHDOG = _Watchdog()


class _StrictHTTPResponse(http.client.HTTPResponse):
    """Refuses an answer whose ``Content-Length`` headers disagree, closing it first (urllib3
    would raise ``InvalidHeader`` after http.client has handed it the socket, which then stays
    open until garbage collection)."""

    def begin(self) -> None:
        super().begin()
        lengths = {value.strip() for value in self.msg.get_all("Content-Length") or ()}
        if len(lengths) > 1:
            self.close()
            raise http.client.HTTPException("conflicting Content-Length headers")


class _DeadlineMixin:
    """Arms the watchdog with the running attempt's deadline when a request is sent, and reads
    answers with :class:`_StrictHTTPResponse`."""

    response_class = _StrictHTTPResponse

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_attempt, "deadline", None)
        if deadline is not None:
            _attempt.armed.append(_WATCHDOG.arm(deadline, self))  # type: ignore[arg-type]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


def _location_host(response: _Response) -> str:
    """The host a redirect points at, for its error message (never its path or userinfo)."""
    location = response.headers.get("Location")
    if not location:
        return "no Location"
    try:
        host = parse_url(location).host
    except LocationParseError:
        return "an unreadable Location"
    return f"host {host!r}" if host else "the same host"


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
