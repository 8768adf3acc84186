"""Every decision of the sandbox's HTTP side, without sockets or threads.

:class:`SandboxApp` matches a :class:`Request` to a route, checks credentials (Basic, or OAuth
tokens it issues), applies the rate limit, the latency and the fault plan
(:mod:`capnb.sandbox.faults`), answers and counts (:meth:`SandboxApp.stats`);
:meth:`SandboxApp.respond` is the single place where a :class:`Response` is chosen. The v3
action summary and the token endpoint are answered here, the other bodies come from
:mod:`capnb.sandbox.v2` and :mod:`capnb.sandbox.gateway`. :mod:`capnb.sandbox.server` moves the
bytes.

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
    GET  /v3/promotions, /v3/promotions/{promotionId}                      Basic or OAuth
         (the bodies of the /v2 routes come from :mod:`capnb.sandbox.v2`, promotionData's
         from :mod:`capnb.sandbox.promotion_data`, those of the two api_gateway routes from
         :mod:`capnb.sandbox.gateway`, the new-UI promotions' from :mod:`capnb.sandbox.v3`)
    GET  /__sandbox__/stats, /__sandbox__/catalog                           no auth, not counted
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import itertools
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from capnb.sandbox import gateway, promotion_data, v2, v3
from capnb.sandbox.answer import digits
from capnb.sandbox.data import SandboxData
from capnb.sandbox.faults import HTML_ERROR_PAGE, FaultPlan

__all__ = [
    "SANDBOX_CLIENT_KEY",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PASSWORD",
    "SANDBOX_TILL_ID",
    "Request",
    "Response",
    "SandboxApp",
    "v3_error",
]

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


def v3_error(status: int, code: int | str, message: str,
             headers: list[tuple[str, str]] | None = None) -> Response:
    """A v3 error body ``{"data": null, "errors": [{code, message}], "warnings": null}``."""
    return Response.json(status, {"data": None, "errors": [{"code": code, "message": message}],
                                  "warnings": None}, headers)


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
        promotion_data_variant: str = "documented",
        extra_promotions: int = 0,
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
        if promotion_data_variant not in promotion_data.VARIANTS:
            raise ValueError(f"promotion_data_variant must be one of {promotion_data.VARIANTS}, "
                             f"got {promotion_data_variant!r}")
        if isinstance(extra_promotions, bool) or not isinstance(extra_promotions, int) or (
                extra_promotions < 0):
            raise ValueError(f"extra_promotions must be an integer >= 0, got {extra_promotions!r}")
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
        self._promotion_bodies = gateway.promotion_bodies(data)
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
                   self._v2(lambda d, q, s: promotion_data.promotion_data(
                       d, q, s, variant=promotion_data_variant,
                       extra_promotions=extra_promotions))),
            _Route("/v2/organization/programs", re.compile(r"/v2/organization/programs/?"),
                   ("GET",), lambda request, params: Response.json(*v2.programs(self.data))),
            _Route("/api_gateway/loyalty/v1/programs/promotions/list",
                   re.compile(r"/api_gateway/loyalty/v1/programs/promotions/list/?"), ("GET",),
                   self._v2(gateway.promotions_list)),
            _Route("/v3/promotions", re.compile(r"/v3/promotions/?"), ("GET",),
                   self._v2(v3.promotions)),
            _Route("/v3/promotions/{promotionId}",
                   re.compile(r"/v3/promotions/(?P<promotionId>[^/]+)/?"), ("GET",),
                   lambda request, params: Response.json(*v3.promotion(
                       self.data, params["promotionId"], self.error_status))),
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
                response = v3_error(404, 404, f"No such resource: {path}")
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
        customer = digits(params.get("customerId"))
        if customer is not None and self.faults.is_permanent(customer):
            kind: str | None = "500"
        else:
            kind = self.faults.draw()
        if kind is not None:
            with self._lock:
                self._faults[kind] = self._faults.get(kind, 0) + 1
        if kind in ("500", "502", "503", "521"):
            return v3_error(int(kind), int(kind), "Injected fault")
        if kind == "429":
            return v3_error(429, 429, "Too many requests", [("Retry-After", "1")])
        if kind == "429_no_retry_after":
            return v3_error(429, 429, "Too many requests")
        if kind == "html_200":
            return Response(200, HTML_ERROR_PAGE, content_type="text/html")
        if kind == "errors_200":
            return v3_error(200, 500, "Internal error")
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
                return v3_error(401, 401, "Unauthorized")
            retry_after = self._admit(api_key)
            if retry_after is not None:
                return v3_error(429, 429, "Too many requests",
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
        response = v3_error(405, 405, "Method not allowed")
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
            return v3_error(400, 400, "Request body must be JSON: {\"key\": ..., \"secret\": ...}")
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
        program_id = digits(query.get("programId"))
        promotion_id = digits(query.get("promotionId"))
        if program_id is None or promotion_id is None:
            return v3_error(400, 400, "Required query parameter programId or promotionId is "
                                       "missing")
        customer_id = digits(params["customerId"])
        if customer_id is None:
            return v3_error(400, "COMMON.INVALID_INPUT", "customerId must be a number")
        if program_id != self.data.program_id:
            return v3_error(self.error_status, 9001, "Program not found")
        if not self.data.has_promotion(promotion_id):
            return v3_error(self.error_status, 3013, "Promotion not found")
        if not self.data.has_customer(customer_id):
            return v3_error(self.error_status, 9002, "Customer not found")
        activity_id = query.get("activityId") or None
        summary = self.data.summary_payload(customer_id, promotion_id, activity_id)
        if self.summary_envelope == "bare":
            return Response.json(200, summary)
        return Response.json(200, {"data": summary, "errors": None, "warnings": None})

    def _promotion(self, request: Request, params: dict[str, str]) -> Response:
        status, body = gateway.promotion(self.data, self._promotion_bodies, params["programId"],
                                         params["promotionId"], self.error_status)
        return Response(status, body) if isinstance(body, bytes) else Response.json(status, body)

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
