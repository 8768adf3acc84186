"""The sandbox's HTTP side: a local emulation of the two documented Capillary endpoints.

:class:`SandboxApp` decides every answer (routing, authentication, rate limiting, latency and the
endpoints themselves) without touching a socket; :meth:`SandboxApp.respond` is the single place
where a response is chosen, so fault injection can be added there later. ``_Handler`` and
``_Server`` only move bytes (HTTP/1.1 keep-alive, one write per response, no Nagle delay), and
:class:`Sandbox` runs them in a background thread.

Routes::

    POST /v3/oauth/token/generate                                          no auth
    GET  /v3/customers/{customerId}/customerPromotionDetails/actionSummary  Basic or OAuth
    GET  /api_gateway/loyalty/v1/programs/{programId}/promotions/{promotionId}/get
         (also without the trailing /get, the older form)                   Basic or OAuth
    GET  /v2/customers/lookup                                              Basic or OAuth
    GET  /v2/customers/lookup/customerPromotionDetails/actionSummary        Basic or OAuth
    GET  /v2/customers/lookup/promotionData                                Basic or OAuth
    GET  /v2/organization/programs                                         Basic or OAuth
    GET  /api_gateway/loyalty/v1/programs/promotions/list                  Basic or OAuth
         (the bodies of these five come from :mod:`capnb.sandbox.v2`)
    GET  /__sandbox__/stats, /__sandbox__/catalog                           no auth, not counted
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import itertools
import json
import logging
import math
import random
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from capnb.sandbox import v2
from capnb.sandbox.data import SandboxData
from capnb.sandbox.faults import HTML_ERROR_PAGE, FaultPlan

__all__ = [
    "SANDBOX_CLIENT_KEY",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PASSWORD",
    "SANDBOX_TILL_ID",
    "Request",
    "Response",
    "Sandbox",
    "SandboxApp",
]

logger = logging.getLogger("capnb.sandbox")

SANDBOX_TILL_ID = "sandbox.till"
SANDBOX_PASSWORD = "sandbox-password"
SANDBOX_CLIENT_KEY = "sandbox-key"
SANDBOX_CLIENT_SECRET = "sandbox-secret"

_BASIC_CREDENTIALS = f"{SANDBOX_TILL_ID}:{hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()}"
_TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"
_SUMMARY_ENVELOPES = ("v3", "bare")


@dataclass(frozen=True)
class Request:
    """What the app needs of an HTTP request. ``headers`` must be case-insensitive on get."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        """First value of each query parameter (blank values kept)."""
        parsed = parse_qs(urlsplit(self.target).query, keep_blank_values=True)
        return {name: values[0] for name, values in parsed.items()}


@dataclass
class Response:
    """A decided answer: status, JSON body bytes and extra headers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    reset_after: int | None = None  # send only this many body bytes, then hang up
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None
             ) -> Response:
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), headers or [])


def _v3_error(status: int, code: int | str, message: str,
              headers: list[tuple[str, str]] | None = None) -> Response:
    return Response.json(status, {"data": None, "errors": [{"code": code, "message": message}],
                                  "warnings": None}, headers)


def _gateway_error(status: int, code: int, message: str) -> Response:
    return Response.json(status, {"status": {"code": code, "message": message},
                                  "validationErrors": None, "data": None})


def _digits(value: str | None) -> int | None:
    """The integer in ``value`` when it is a plain run of ASCII digits, else None."""
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class _Route:
    name: str
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    handler: Callable[[Request, dict[str, str]], Response]
    auth: bool = True
    internal: bool = False


class SandboxApp:
    """Every decision of the sandbox server, independent of sockets and threads.

    Thread-safe: the server calls :meth:`respond` from one thread per connection. ``clock``
    (seconds, monotonic) drives token expiry and the rate-limit window; tests may replace it.
    """

    def __init__(
        self,
        data: SandboxData,
        *,
        latency_ms: float = 0,
        rate_limit_per_min: int | None = None,
        token_ttl: float = 3600,
        error_status: int = 404,
        summary_envelope: str = "v3",
        rate_limit_window: float = 60.0,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        if rate_limit_per_min is not None and rate_limit_per_min < 1:
            raise ValueError(f"rate_limit_per_min must be >= 1 or None, got {rate_limit_per_min!r}")
        if rate_limit_window <= 0:
            raise ValueError(f"rate_limit_window must be > 0, got {rate_limit_window!r}")
        if token_ttl <= 0:
            raise ValueError(f"token_ttl must be > 0, got {token_ttl!r}")
        if not 400 <= error_status <= 599:
            raise ValueError(f"error_status must be an HTTP error status, got {error_status!r}")
        if summary_envelope not in _SUMMARY_ENVELOPES:
            raise ValueError(f"summary_envelope must be one of {_SUMMARY_ENVELOPES}, "
                             f"got {summary_envelope!r}")
        self.data = data
        self.latency_ms = latency_ms
        self.rate_limit_per_min = rate_limit_per_min
        self.rate_limit_window = rate_limit_window
        self.token_ttl = token_ttl
        self.error_status = error_status
        self.summary_envelope = summary_envelope
        self.faults = faults or FaultPlan()
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._token_serials = itertools.count(1)
        self._jitter = random.Random()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._windows: dict[str, collections.deque[float]] = {}
        self._promotion_bodies = {
            pid: json.dumps({"status": {"code": 200, "message": "success"},
                             "validationErrors": None, "data": [data.promotion_payload(pid)]},
                            separators=(",", ":")).encode()
            for pid in data.promotion_ids
        }
        self._routes = (
            _Route("/v3/oauth/token/generate", re.compile(r"/v3/oauth/token/generate/?"),
                   ("POST",), self._generate_token, auth=False),
            _Route("/v3/customers/{customerId}/customerPromotionDetails/actionSummary",
                   re.compile(r"/v3/customers/(?P<customerId>[^/]+)"
                              r"/customerPromotionDetails/actionSummary/?"),
                   ("GET",), self._action_summary),
            _Route("/api_gateway/loyalty/v1/programs/{programId}/promotions/{promotionId}/get",
                   re.compile(r"/api_gateway/loyalty/v1/programs/(?P<programId>[^/]+)"
                              r"/promotions/(?P<promotionId>[^/]+)(?:/get)?/?"),
                   ("GET",), self._promotion),
            _Route("/v2/customers/lookup", re.compile(r"/v2/customers/lookup/?"), ("GET",),
                   self._v2(v2.lookup)),
            _Route("/v2/customers/lookup/customerPromotionDetails/actionSummary",
                   re.compile(r"/v2/customers/lookup/customerPromotionDetails/actionSummary/?"),
                   ("GET",), self._v2(v2.v2_action_summary)),
            _Route("/v2/customers/lookup/promotionData",
                   re.compile(r"/v2/customers/lookup/promotionData/?"), ("GET",),
                   self._v2(v2.promotion_data)),
            _Route("/v2/organization/programs", re.compile(r"/v2/organization/programs/?"),
                   ("GET",), lambda request, params: Response.json(*v2.programs(self.data))),
            _Route("/api_gateway/loyalty/v1/programs/promotions/list",
                   re.compile(r"/api_gateway/loyalty/v1/programs/promotions/list/?"), ("GET",),
                   self._v2(v2.promotions_list)),
            _Route("/__sandbox__/stats", re.compile(r"/__sandbox__/stats/?"), ("GET",),
                   lambda request, params: Response.json(200, self.stats()),
                   auth=False, internal=True),
            _Route("/__sandbox__/catalog", re.compile(r"/__sandbox__/catalog/?"), ("GET",),
                   self._catalog, auth=False, internal=True),
        )
        self.reset_stats()

    # ---- counters and tokens ---------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset (requests to ``/__sandbox__/*`` are not counted)."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_path": dict(self._by_path),
                "status_counts": dict(self._status_counts),
                "rate_limited": self._rate_limited,
                "tokens_issued": self._tokens_issued,
                "max_window_requests": self._max_window,
                "faults": dict(self._faults),
            }

    def reset_stats(self) -> None:
        """Zero every counter (tokens and rate-limit windows are kept)."""
        with self._lock:
            self._requests = 0
            self._by_path: dict[str, int] = {}
            self._status_counts: dict[str, int] = {}
            self._rate_limited = 0
            self._tokens_issued = 0
            # Most requests one key had admitted within one rate-limit window (when limiting).
            self._max_window = 0
            self._faults: dict[str, int] = {}

    def expire_tokens(self) -> None:
        """Invalidate every OAuth token issued so far."""
        with self._lock:
            self._tokens.clear()

    def next_request_id(self) -> str:
        return f"sbx-{next(self._ids)}"

    # ---- the decision ----------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        """Decide the answer to ``request``: the one place where responses are chosen."""
        path = request.path
        route, params = self._match(path)
        if route is not None and route.internal:
            response = (route.handler(request, params) if request.method in route.methods
                        else self._not_allowed(route))
        else:
            self._sleep()
            if route is None:
                response = _v3_error(404, 404, f"No such resource: {path}")
            elif request.method not in route.methods:
                response = self._not_allowed(route)
            elif route.auth:
                response = self._with_faults(route, params, request)
            else:
                response = self._authorised(route, params, request)
            self._count(route.name if route else "<unknown>", response.status)
        response.headers.append(("X-Cap-Requestid", self.next_request_id()))
        return response

    def _with_faults(self, route: _Route, params: dict[str, str], request: Request) -> Response:
        """The API answer, unless the fault plan says this request fails (see ``faults``)."""
        customer = _digits(params.get("customerId"))
        if customer is not None and self.faults.is_permanent(customer):
            kind: str | None = "500"
        else:
            kind = self.faults.draw()
        if kind is not None:
            with self._lock:
                self._faults[kind] = self._faults.get(kind, 0) + 1
        if kind in ("500", "502", "503", "521"):
            return _v3_error(int(kind), int(kind), "Injected fault")
        if kind == "429":
            return _v3_error(429, 429, "Too many requests", [("Retry-After", "1")])
        if kind == "429_no_retry_after":
            return _v3_error(429, 429, "Too many requests")
        if kind == "html_200":
            return Response(200, HTML_ERROR_PAGE, content_type="text/html")
        if kind == "errors_200":
            return _v3_error(200, 500, "Internal error")
        if kind == "slow":
            time.sleep(self.faults.slow_seconds)
        response = self._authorised(route, params, request)
        if kind == "truncated":
            response.body = response.body[: len(response.body) // 2]
        elif kind == "reset":
            response.reset_after = len(response.body) // 2
        return response

    def _authorised(self, route: _Route, params: dict[str, str], request: Request) -> Response:
        if route.auth:
            api_key = self._authenticate(request.headers)
            if api_key is None:
                return _v3_error(401, 401, "Unauthorized")
            retry_after = self._admit(api_key)
            if retry_after is not None:
                return _v3_error(429, 429, "Too many requests",
                                 [("Retry-After", str(retry_after))])
        return route.handler(request, params)

    def _match(self, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None, {}

    @staticmethod
    def _not_allowed(route: _Route) -> Response:
        response = _v3_error(405, 405, "Method not allowed")
        response.headers.append(("Allow", ", ".join(route.methods)))
        return response

    def _sleep(self) -> None:
        if self.latency_ms:
            with self._lock:
                factor = self._jitter.uniform(0.8, 1.2)
            time.sleep(self.latency_ms * factor / 1000)

    def _count(self, name: str, status: int) -> None:
        with self._lock:
            self._requests += 1
            self._by_path[name] = self._by_path.get(name, 0) + 1
            key = str(status)
            self._status_counts[key] = self._status_counts.get(key, 0) + 1
            if status == 429:
                self._rate_limited += 1

    def _authenticate(self, headers: Mapping[str, str]) -> str | None:
        """The API key (till id or OAuth client key) of valid credentials, else None."""
        token = headers.get(_TOKEN_HEADER)
        if token is not None:
            with self._lock:
                entry = self._tokens.get(token.strip())
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]
        scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            credentials = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if hmac.compare_digest(credentials.encode(), _BASIC_CREDENTIALS.encode()):
            return SANDBOX_TILL_ID
        return None

    def _admit(self, api_key: str) -> int | None:
        """None when the key may make a request now (and count it), else Retry-After seconds."""
        if self.rate_limit_per_min is None:
            return None
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault(api_key, collections.deque())
            while window and window[0] <= now - self.rate_limit_window:
                window.popleft()
            if len(window) >= self.rate_limit_per_min:
                return max(1, math.ceil(window[0] + self.rate_limit_window - now))
            window.append(now)
            self._max_window = max(self._max_window, len(window))
            return None

    # ---- endpoints -------------------------------------------------------------------------

    def _generate_token(self, request: Request, params: dict[str, str]) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _v3_error(400, 400, "Request body must be JSON: {\"key\": ..., \"secret\": ...}")
        key = body.get("key") if isinstance(body, dict) else None
        secret = body.get("secret") if isinstance(body, dict) else None
        if not (isinstance(key, str) and isinstance(secret, str)
                and hmac.compare_digest(key.encode(), SANDBOX_CLIENT_KEY.encode())
                and hmac.compare_digest(secret.encode(), SANDBOX_CLIENT_SECRET.encode())):
            return Response.json(401, {"data": None, "errors": [
                {"code": 401, "message": "Invalid key or secret"}]})
        token = self._new_token(key)
        return Response.json(200, {"data": {"accessToken": token, "ttlSeconds": self.token_ttl},
                                   "errors": None})

    def _new_token(self, client_key: str) -> str:
        """A JWT-shaped opaque token with the documented claims, valid for ``token_ttl``."""
        issued = time.time()
        with self._lock:
            self._tokens_issued += 1
            serial = next(self._token_serials)
        claims = {"iat": int(issued), "exp": int(issued + self.token_ttl),
                  "org_id": self.data.org_id, "client_id": client_key, "jti": f"sbx-{serial}"}

        def part(obj: Any) -> str:
            raw = json.dumps(obj, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        unsigned = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
        signature = hmac.new(SANDBOX_CLIENT_SECRET.encode(), unsigned.encode(),
                             hashlib.sha256).digest()
        token = unsigned + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
        now = self._clock()
        with self._lock:
            # Forget expired tokens so a long-running sandbox does not grow.
            for old in [t for t, (_, expiry) in self._tokens.items() if expiry <= now]:
                del self._tokens[old]
            self._tokens[token] = (client_key, now + self.token_ttl)
        return token

    def _action_summary(self, request: Request, params: dict[str, str]) -> Response:
        query = request.query
        program_id = _digits(query.get("programId"))
        promotion_id = _digits(query.get("promotionId"))
        if program_id is None or promotion_id is None:
            return _v3_error(400, 400, "Required query parameter programId or promotionId is "
                                       "missing")
        customer_id = _digits(params["customerId"])
        if customer_id is None:
            return _v3_error(400, "COMMON.INVALID_INPUT", "customerId must be a number")
        if program_id != self.data.program_id:
            return _v3_error(self.error_status, 9001, "Program not found")
        if not self.data.has_promotion(promotion_id):
            return _v3_error(self.error_status, 3013, "Promotion not found")
        if not self.data.has_customer(customer_id):
            return _v3_error(self.error_status, 9002, "Customer not found")
        activity_id = query.get("activityId") or None
        summary = self.data.summary_payload(customer_id, promotion_id, activity_id)
        if self.summary_envelope == "bare":
            return Response.json(200, summary)
        return Response.json(200, {"data": summary, "errors": None, "warnings": None})

    def _promotion(self, request: Request, params: dict[str, str]) -> Response:
        if _digits(params["programId"]) != self.data.program_id:
            return _gateway_error(self.error_status, 2010, "Program ID is invalid.")
        body = self._promotion_bodies.get(_digits(params["promotionId"]) or -1)
        if body is None:
            return _gateway_error(self.error_status, 4029, "Promotion ID is invalid.")
        return Response(200, body)

    def _v2(self, shape: Callable[[SandboxData, dict[str, str], int], tuple[int, Any]],
            ) -> Callable[[Request, dict[str, str]], Response]:
        """A route handler answering with ``shape(data, query, error_status)``."""
        def handler(request: Request, params: dict[str, str]) -> Response:
            return Response.json(*shape(self.data, request.query, self.error_status))
        return handler

    def _catalog(self, request: Request, params: dict[str, str]) -> Response:
        catalog = self.data.catalog()
        ids = catalog["customer_ids"]
        catalog["customer_ids"] = {"start": ids.start, "stop": ids.stop, "step": ids.step,
                                   "count": len(ids)}
        return Response.json(200, catalog)


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between a socket and :class:`SandboxApp`; decides nothing itself."""

    protocol_version = "HTTP/1.1"
    server_version = "capnb-sandbox"
    # A buffered wfile plus no Nagle: headers and body leave in one segment, so keep-alive
    # clients never wait for a delayed ACK (40 ms per request otherwise).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def _dispatch(self) -> None:
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, "Invalid Content-Length")
            return
        body = self.rfile.read(size) if size else b""
        request = Request(self.command, self.path, self.headers, body)
        try:
            response = self.server.app.respond(request)
        except Exception:
            logger.exception("sandbox failed to answer %s %s", self.command, self.path)
            response = _v3_error(500, 500, "Internal server error")
            response.headers.append(("X-Cap-Requestid", self.server.app.next_request_id()))
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.reset_after is None:
            self.wfile.write(response.body)
        else:  # an injected fault: the connection dies mid-body
            self.wfile.write(response.body[: response.reset_after])
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """Malformed requests (bad request line, oversized headers...) also get JSON."""
        self.close_connection = True
        response = _v3_error(code, code, message or HTTPStatus(code).phrase)
        response.headers.append(("X-Cap-Requestid", self.server.app.next_request_id()))
        response.headers.append(("Connection", "close"))
        self._write(response)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request stderr log of ``BaseHTTPRequestHandler``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on every open keep-alive connection so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Only socket-level failures reach here (the handler answers 500 for its own errors):
        # a client hanging up mid-request is normal, not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Sandbox:
    """A local Capillary API emulation serving :class:`~capnb.sandbox.data.SandboxData`.

    Parameters
    ----------
    customers, seed
        Size and seed of the generated data (see :class:`SandboxData`).
    host, port
        Where to listen; ``port=0`` picks a free port (read it back from :attr:`url`).
    latency_ms
        Each API request waits ``latency_ms * uniform(0.8, 1.2)`` milliseconds before answering.
    rate_limit_per_min
        Requests accepted per API key (till id or OAuth client key) in any sliding 60-second
        window; more get HTTP 429 with ``Retry-After`` (whole seconds until the oldest accepted
        request leaves the window, at least 1). Refused requests do not count; token generation
        is never limited. None disables the limit.
    token_ttl
        Lifetime in seconds of OAuth tokens.
    error_status
        HTTP status sent with codes 9001, 9002, 3013, 2010 and 4029 (the docs do not say).
    summary_envelope
        ``"v3"`` wraps the action summary in ``{"data", "errors", "warnings"}``; ``"bare"`` sends
        the bare object, as the docs' first example shows.
    rate_limit_window
        Length in seconds of the rate-limit window (60 = the documented per-minute limit; a
        shorter window lets tests exercise limits quickly).
    faults
        A :class:`~capnb.sandbox.faults.FaultPlan` (or its ``{kind: rate}`` dict, seeded with
        ``seed``): API requests fail at those rates in the ways real networks and APIs do.

    Use it as a context manager (``start``/``stop``), or ``serve_forever()`` to block.
    """

    def __init__(
        self,
        customers: int = 5000,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        rate_limit_per_min: int | None = None,
        token_ttl: float = 3600,
        error_status: int = 404,
        summary_envelope: str = "v3",
        rate_limit_window: float = 60.0,
        faults: FaultPlan | Mapping[str, float] | None = None,
    ) -> None:
        self.data = SandboxData(customers, seed)
        if faults is not None and not isinstance(faults, FaultPlan):
            faults = FaultPlan(faults, seed=seed)
        self._app = SandboxApp(self.data, latency_ms=latency_ms,
                               rate_limit_per_min=rate_limit_per_min, token_ttl=token_ttl,
                               error_status=error_status, summary_envelope=summary_envelope,
                               rate_limit_window=rate_limit_window, faults=faults)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        where = self.url if self._server else "not started"
        return (f"Sandbox(customers={self.data.customers}, seed={self.data.seed}, {where})")

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (the sandbox must be started)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() or use `with Sandbox()`")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _bind(self) -> _Server:
        if self._server is None:
            self._server = _Server(self._address, self._app)
        return self._server

    def start(self) -> Sandbox:
        """Listen and serve in a daemon thread; returns self."""
        if self._thread is None and not self._serving:
            server = self._bind()
            self._serving = True
            self._thread = threading.Thread(target=server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name=f"capnb-sandbox-{self.url}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (from any thread), hang up open connections, release the port.

        Idempotent.
        """
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        if self._serving:
            server.shutdown()  # returns once serve_forever, in whichever thread, has ended
            self._serving = False
        if thread is not None:
            thread.join()
        server.server_close()
        server.close_connections()

    def serve_forever(self, ready: Callable[[str], object] | None = None) -> None:
        """Serve in the calling thread until interrupted or :meth:`stop` is called (for
        ``capnb sandbox --port``).

        ``ready``, if given, is called with :attr:`url` once the port is bound (useful with
        ``port=0``), just before serving starts.
        """
        server = self._bind()
        self._serving = True
        try:
            if ready is not None:
                ready(self.url)
            server.serve_forever(poll_interval=0.25)
        finally:
            with self._lifecycle:
                owned = self._server is server
                if owned:
                    self._server = None
                    self._serving = False
            if owned:
                server.server_close()
                server.close_connections()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- data and counters -----------------------------------------------------------------

    def catalog(self) -> dict[str, Any]:
        """``org_id``, ``program_id``, ``promotions`` (id, program_id, name, offer_type, status,
        start, end) and ``customer_ids`` (a ``range``, never materialised)."""
        return self.data.catalog()

    def stats(self) -> dict[str, Any]:
        """``requests``, ``by_path`` (route template -> n), ``status_counts`` ("200" -> n),
        ``rate_limited`` (429s sent) and ``tokens_issued`` since the last reset."""
        return self._app.stats()

    def reset_stats(self) -> None:
        self._app.reset_stats()

    def expire_tokens(self) -> None:
        """Make every OAuth token issued so far invalid (the API then answers 401)."""
        self._app.expire_tokens()

    def environ(self, auth: str = "basic") -> dict[str, str]:
        """The ``CAPILLARY_*`` variables that point a client here, with ``"basic"`` or
        ``"oauth"`` credentials: ``capnb.connect(sb.environ())`` configures a client exactly as
        for a real cluster, so the client never knows it talks to the sandbox."""
        if auth == "basic":
            credentials = {"CAPILLARY_TILL_ID": SANDBOX_TILL_ID,
                           "CAPILLARY_PASSWORD": SANDBOX_PASSWORD}
        elif auth == "oauth":
            credentials = {"CAPILLARY_CLIENT_KEY": SANDBOX_CLIENT_KEY,
                           "CAPILLARY_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
        else:
            raise ValueError(f"auth must be 'basic' or 'oauth', got {auth!r}")
        return {"CAPILLARY_HOST": self.url, **credentials}
