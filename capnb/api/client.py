"""``Client``: HTTP connection pool, timeouts, retries, and translation of responses into results
or errors.

This is the only module that does HTTP. It uses urllib3 (the transport under requests) directly:
requests' per-request session machinery cost 3.0 ms of CPU per summary against 1.3 ms for
urllib3 on this project's 2-core machines, and cohort fetches are CPU-bound on the client.
urllib3's exceptions are translated here, once.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import TimeoutError as _Urllib3Timeout

from capnb._version import __version__
from capnb.api.auth import OAUTH_HEADER, TOKEN_PATH, Auth, BasicAuth, OAuth
from capnb.api.catalog import parse_programs, parse_promotion_page, promotion_list_frame
from capnb.api.envelope import raise_for_envelope
from capnb.api.lookup import parse_lookup, parse_v2_action_summary
from capnb.api.promotion import parse_promotion
from capnb.api.promotion_data import promotion_data_rows, usage_frame
from capnb.api.summary import parse_action_summary
from capnb.config import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    is_loopback,
    resolve_host,
    settings_from_env,
)
from capnb.errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    TransportError,
    ValidationError,
    api_error_class,
)
from capnb.models import ActionSummary, Promotion
from capnb.validation import (
    check_activity_id,
    check_id,
    check_identifier,
    check_identifier_name,
    check_non_negative_int,
    check_positive_number,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Client", "Throttle", "connect"]

log = logging.getLogger("capnb")

RETRYABLE_STATUSES = frozenset({429, 461, 500, 502, 503, 504, 521})
REQUEST_ID_HEADER = "X-Cap-Requestid"
SUMMARY_PATH = "/v3/customers/{customer_id}/customerPromotionDetails/actionSummary"
PROMOTION_PATH = "/api_gateway/loyalty/v1/programs/{program_id}/promotions/{promotion_id}/get"
LOOKUP_PATH = "/v2/customers/lookup"
V2_SUMMARY_PATH = "/v2/customers/lookup/customerPromotionDetails/actionSummary"
PROMOTION_DATA_PATH = "/v2/customers/lookup/promotionData"
PROGRAMS_PATH = "/v2/organization/programs"
PROMOTION_LIST_PATH = "/api_gateway/loyalty/v1/programs/promotions/list"
MAX_PAGES = 10_000
"""Safety stop for list endpoints whose pages never run out."""


class Throttle(Protocol):
    """What a rate limiter offers the client: one permit per HTTP attempt, news of each 429."""

    def acquire(self) -> None: ...

    def on_rate_limited(self, retry_after: float | None) -> None: ...


@dataclass(frozen=True)
class _Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class Client:
    """A connection to one Capillary cluster (or the sandbox; the client cannot tell).

    Parameters
    ----------
    host : str
        A cluster preset (``eu``, ``apac``, ``apac2``, ``us``, ``north-america``, ``china``) or a
        URL. Plain ``http://`` is only accepted for loopback addresses.
    auth : BasicAuth or OAuth
    timeout : float
        Seconds for connecting and for each read; every request has one.
    max_retries : int
        Retries after the first attempt on connection errors, timeouts, 429, 461, 500, 502, 503,
        504 and 521, with exponential backoff and full jitter, honouring ``Retry-After``.
    user_agent : str, optional
    pool_size : int
        Keep-alive connections kept open, at least the number of threads sharing the client.

    Examples
    --------
    >>> client = Client("eu", BasicAuth("store.server", "server123"))  # doctest: +SKIP
    >>> client.action_summary(388597285, 3334, 1133600978).points      # doctest: +SKIP
    """

    def __init__(
        self,
        host: str,
        auth: Auth,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        user_agent: str | None = None,
        pool_size: int = DEFAULT_WORKERS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        if not isinstance(auth, Auth):
            raise ConfigError("auth must be capnb.BasicAuth or capnb.OAuth, got "
                              f"{type(auth).__name__}")
        self.base_url = resolve_host(host)
        self.auth = auth
        self.timeout = float(check_positive_number("timeout", timeout))
        self.max_retries = check_non_negative_int("max_retries", max_retries)
        self.backoff = float(check_positive_number("backoff", backoff))
        self.user_agent = user_agent or f"capnb/{__version__}"
        self.pool_size = int(check_positive_number("pool_size", pool_size, integer=True))
        # Retries are ours (below); urllib3 only follows redirects, and drops the credentials
        # (Authorization and the OAuth header) when a redirect leaves the original host.
        redirects = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5,
                                  raise_on_redirect=False, remove_headers_on_redirect=[
                                      "Authorization", "Cookie", "Proxy-Authorization",
                                      OAUTH_HEADER])
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=self.pool_size, retries=redirects,
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            ca_certs=certifi.where(), cert_reqs="CERT_REQUIRED",
            headers={"User-Agent": self.user_agent, "Accept": "application/json"})

    @property
    def is_loopback(self) -> bool:
        """True when the host is this machine (the sandbox, typically)."""
        return is_loopback(self.base_url)

    def __repr__(self) -> str:
        return f"Client(host={self.base_url!r}, auth={self.auth!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()

    # -- endpoints ---------------------------------------------------------------------------

    def action_summary(self, customer_id: int | str, program_id: int | str,
                       promotion_id: int | str, activity_id: str | None = None) -> ActionSummary:
        """Fetch one customer's benefits in one promotion.

        Returns an ``ActionSummary``; a customer with no benefits (warning 8116) gives one with
        ``empty == True``. Raises ``CustomerNotFound``, ``ProgramNotFound``,
        ``PromotionNotFound`` or another ``ApiError``.
        """
        payload, request_id = self.fetch_summary_payload(customer_id, program_id, promotion_id,
                                                         activity_id)
        return parse_action_summary(payload, request_id=request_id)

    def fetch_summary_payload(
        self, customer_id: int | str, program_id: int | str, promotion_id: int | str,
        activity_id: str | None = None, *, throttle: Throttle | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Fetch the decoded, error-checked JSON of one action summary and its request id."""
        path = SUMMARY_PATH.format(customer_id=check_id("customer_id", customer_id))
        params: dict[str, Any] = {"programId": check_id("program_id", program_id),
                                  "promotionId": check_id("promotion_id", promotion_id)}
        activity = check_activity_id(activity_id)
        if activity is not None:
            params["activityId"] = activity
        return self.get_json(path, params, throttle=throttle)

    def promotion(self, program_id: int | str, promotion_id: int | str) -> Promotion:
        """Fetch a promotion's configuration, rules and restrictions."""
        path = PROMOTION_PATH.format(program_id=check_id("program_id", program_id),
                                     promotion_id=check_id("promotion_id", promotion_id))
        payload, request_id = self.get_json(path)
        return parse_promotion(payload, request_id=request_id)

    def lookup_customer(self, identifier_name: str, identifier_value: str | int,
                        source: str = "INSTORE", *, throttle: Throttle | None = None) -> int:
        """The customer id of an identifier (``GET /v2/customers/lookup``).

        Parameters
        ----------
        identifier_name : str
            ``mobile``, ``email``, ``externalId``, ``cardnumber`` or ``id``.
        identifier_value : str or int
        source : str
            The identifier's source (``INSTORE`` for the org's own customers).

        Raises
        ------
        CustomerNotFound
            Error 8015: nobody has this identifier.
        ValidationError
            Bad arguments (before any request).
        """
        params = _identifier_params(identifier_name, identifier_value, source)
        payload, request_id = self.get_json(LOOKUP_PATH, params, throttle=throttle)
        return parse_lookup(payload, request_id=request_id)

    def action_summary_by_identifier(
        self, identifier_name: str, identifier_value: str | int, program_id: int | str,
        promotion_id: int | str, *, source: str = "INSTORE", activity_id: str | None = None,
    ) -> ActionSummary:
        """One customer's benefits in one promotion, by identifier (the v2 summary).

        Returns the same ``ActionSummary`` frames as :meth:`action_summary` (see
        :func:`capnb.api.lookup.parse_v2_action_summary`). Raises ``CustomerNotFound`` (8015),
        ``PromotionNotFound`` (8874), ``BadRequest`` (8883) or another ``ApiError``.
        """
        params = _identifier_params(identifier_name, identifier_value, source)
        params["programId"] = check_id("program_id", program_id)
        params["promotionId"] = check_id("promotion_id", promotion_id)
        activity = check_activity_id(activity_id)
        if activity is not None:
            params["activityId"] = activity
        payload, request_id = self.get_json(V2_SUMMARY_PATH, params)
        return parse_v2_action_summary(payload, request_id=request_id)

    def programs(self) -> pd.DataFrame:
        """The org's loyalty programs (``GET /v2/organization/programs``).

        Returns a DataFrame with ``capnb.schema.PROGRAM_COLUMNS``: ``program_id`` (Int64),
        ``name``, ``description`` (str), ``points_to_currency_ratio`` (float64),
        ``is_default`` (boolean), ``partner_programs`` (object).
        """
        payload, request_id = self.get_json(PROGRAMS_PATH)
        return parse_programs(payload, request_id=request_id)

    def promotion_payloads(self, program_id: int | str, status: str | list[str] | None = None,
                           page_size: int = 100) -> list[dict[str, Any]]:
        """Every promotion object of a program, from the paginated promotions list.

        ``offset`` is a page number: pages 0, 1, ... are fetched until ``pageDetails.pageCount``
        is reached or a page is empty; a promotion seen twice is kept once.
        """
        params: dict[str, Any] = {"program": check_id("program_id", program_id),
                                  "limit": int(check_positive_number("page_size", page_size,
                                                                     integer=True))}
        if status is not None:
            statuses = [status] if isinstance(status, str) else status
            if (isinstance(statuses, str | bytes) or not isinstance(statuses, list | tuple)
                    or not statuses
                    or not all(isinstance(s, str) and s.strip() for s in statuses)):
                raise ValidationError("status", "must be a status such as 'LIVE' or a list of "
                                      f"them, got {status!r}")
            params["status"] = ",".join(s.strip().upper() for s in statuses)
        items: list[dict[str, Any]] = []
        seen: set[Any] = set()
        for page_number in range(MAX_PAGES):
            payload, request_id = self.get_json(PROMOTION_LIST_PATH,
                                                {**params, "offset": page_number})
            page = parse_promotion_page(payload, request_id=request_id)
            fresh = [p for p in page.items if p.get("id", id(p)) not in seen]
            seen.update(p.get("id", id(p)) for p in fresh)
            items += fresh
            if not page.items or (page.page_count is not None
                                  and page_number + 1 >= page.page_count):
                break
        return items

    def promotions(self, program_id: int | str, status: str | list[str] | None = None,
                   page_size: int = 100) -> pd.DataFrame:
        """Every promotion of a program, one row each (see :meth:`promotion_payloads`).

        Returns a DataFrame with ``capnb.schema.PROMOTION_LIST_COLUMNS``: ``promotion_id,
        program_id`` (Int64), ``name, type, status`` (str), ``is_active`` (boolean), ``start,
        end`` (datetime64[us, UTC]), ``identifier`` (str). Raises ``ProgramNotFound`` (2010).
        """
        return promotion_list_frame(self.promotion_payloads(program_id, status, page_size))

    def customer_promotion_usage(self, customer_id: int | str,
                                 program_id: int | str | None = None) -> pd.DataFrame:
        """Exact usage of every restriction of every promotion for one customer
        (``GET /v2/customers/lookup/promotionData``), period-based caps included.

        Returns a DataFrame with ``capnb.schema.PROMOTION_USAGE_COLUMNS`` (see
        :func:`capnb.api.promotion_data.parse_promotion_data`). Raises ``CustomerNotFound`` (8015).
        """
        rows, _ = self.customer_promotion_usage_rows(customer_id, program_id)
        return usage_frame(rows)

    def customer_promotion_usage_rows(
        self, customer_id: int | str, program_id: int | str | None = None, *,
        throttle: Throttle | None = None,
    ) -> tuple[list[tuple[Any, ...]], str | None]:
        """The rows of :meth:`customer_promotion_usage` and the request id, for collecting many
        customers into one frame (:func:`capnb.api.promotion_data.usage_frame`)."""
        customer = check_id("customer_id", customer_id)
        params: dict[str, Any] = {"source": "INSTORE", "identifierName": "id",
                                  "identifierValue": customer}
        if program_id is not None:
            params["programs"] = check_id("program_id", program_id)
        payload, request_id = self.get_json(PROMOTION_DATA_PATH, params, throttle=throttle)
        return (promotion_data_rows(payload, customer_id=customer, request_id=request_id),
                request_id)

    # -- transport ---------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 throttle: Throttle | None = None) -> tuple[dict[str, Any], str | None]:
        """GET ``path`` with auth, retries and error translation; return ``(json, request_id)``."""
        renewed = False
        attempt = 0
        while True:
            headers = self.auth.headers(self._generate_token)
            if throttle is not None:
                throttle.acquire()
            try:
                response = self._send("GET", path, params=params, headers=headers)
            except TransportError as exc:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep_before_retry(attempt, None, str(exc))
                continue
            status = response.status
            request_id = response.headers.get(REQUEST_ID_HEADER)
            if status == 401 and not renewed and self.auth.renew_after_401(headers):
                renewed = True
                continue
            if status in RETRYABLE_STATUSES and attempt < self.max_retries:
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                if status == 429 and throttle is not None:
                    throttle.on_rate_limited(retry_after)
                attempt += 1
                self._sleep_before_retry(attempt, retry_after, f"HTTP {status}", request_id)
                continue
            try:
                return self._decode(response, request_id), request_id
            except (ResponseFormatError, ServerError, RateLimited) as exc:
                # A 2xx whose body is cut short, is a proxy's HTML page, or reports a server-side
                # failure in its envelope is as transient as a 5xx.
                if not 200 <= status < 300 or attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep_before_retry(attempt, None, type(exc).__name__, request_id)

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              headers: Mapping[str, str] | None = None,
              json_body: Any = None) -> _Response:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        request_headers = {**self._pool.headers, **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            request_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            raw = self._pool.request(method, url, body=body, headers=request_headers,
                                     preload_content=True)
        except _Urllib3Error as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, _Urllib3Timeout):
                raise TransportError(f"{method} {path} timed out after {self.timeout:g} s") from exc
            raise TransportError(f"{method} {path} failed: {type(reason).__name__}") from exc
        response = _Response(raw.status, raw.reason or "", raw.headers, raw.data or b"")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.0f ms (request id %s)", method, path, response.status,
                      (time.perf_counter() - started) * 1000,
                      response.headers.get(REQUEST_ID_HEADER))
        return response

    def _sleep_before_retry(self, attempt: int, retry_after: float | None, reason: str,
                            request_id: str | None = None) -> None:
        if retry_after is not None:
            delay = min(retry_after, DEFAULT_MAX_BACKOFF)
        else:
            delay = random.uniform(0, min(DEFAULT_MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)))
        log.info("retry %d/%d in %.2f s after %s (request id %s)", attempt, self.max_retries,
                 delay, reason, request_id)
        time.sleep(delay)

    def _decode(self, response: _Response, request_id: str | None) -> dict[str, Any]:
        status = response.status
        body = response.content
        try:
            payload = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        if 200 <= status < 300:
            if not isinstance(payload, dict):
                raise ResponseFormatError("expected a JSON object", http_status=status,
                                          request_id=request_id, excerpt=_excerpt(body))
            raise_for_envelope(payload, http_status=status, request_id=request_id)
            return payload
        if isinstance(payload, dict):
            raise_for_envelope(payload, http_status=status, request_id=request_id)
        error_class = api_error_class(None, status)
        reason = response.reason or "error"
        message = f"HTTP {status} {reason}"
        if error_class is ApiError and 300 <= status < 400:
            message = f"unexpected redirect (HTTP {status}); not followed with credentials"
        raise error_class(message, code=None, http_status=status, request_id=request_id)

    def _generate_token(self, client_key: str, client_secret: str) -> tuple[str, float]:
        attempt = 0
        while True:
            try:
                response = self._send("POST", TOKEN_PATH,
                                      json_body={"key": client_key, "secret": client_secret})
            except TransportError:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep_before_retry(attempt, None, "token request failed")
                continue
            request_id = response.headers.get(REQUEST_ID_HEADER)
            if response.status in RETRYABLE_STATUSES and attempt < self.max_retries:
                attempt += 1
                self._sleep_before_retry(
                    attempt, _retry_after_seconds(response.headers.get("Retry-After")),
                    f"HTTP {response.status} on token request", request_id)
                continue
            if response.status == 401:
                raise AuthenticationError("OAuth client key or secret rejected", code=401,
                                          http_status=401, request_id=request_id)
            payload = self._decode(response, request_id)
            data = payload.get("data")
            token = data.get("accessToken") if isinstance(data, dict) else None
            ttl = data.get("ttlSeconds") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise ResponseFormatError("token response has no data.accessToken",
                                          http_status=response.status, request_id=request_id)
            if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl <= 0:
                ttl = 3600  # documented default lifetime
            return token, float(ttl)


def _identifier_params(identifier_name: Any, identifier_value: Any, source: Any
                       ) -> dict[str, Any]:
    return {"source": check_identifier("source", source),
            "identifierName": check_identifier_name(identifier_name),
            "identifierValue": check_identifier("identifier_value", identifier_value)}


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


def _excerpt(body: bytes, limit: int = 120) -> str:
    return body[:limit].decode("utf-8", errors="replace")


def connect(environ: Mapping[str, str] | None = None, **client_kwargs: Any) -> Client:
    """Build a ``Client`` from ``CAPILLARY_*`` variables: ``environ`` (default ``os.environ``).

    ``capnb.connect(sb.environ())`` connects to an embedded sandbox the same way.
    ``CAPILLARY_HOST`` plus either ``CAPILLARY_TILL_ID`` + ``CAPILLARY_PASSWORD`` (or
    ``CAPILLARY_PASSWORD_MD5``) or ``CAPILLARY_CLIENT_KEY`` + ``CAPILLARY_CLIENT_SECRET``.
    Raises ``ConfigError`` naming the variables when they are missing; never falls back to the
    sandbox.
    """
    settings = settings_from_env(environ)
    auth: Auth
    if settings.client_key and settings.client_secret:
        auth = OAuth(settings.client_key, settings.client_secret)
    elif settings.password:
        auth = BasicAuth(settings.till_id or "", settings.password)
    else:
        auth = BasicAuth.from_md5(settings.till_id or "", settings.password_md5 or "")
    return Client(settings.host, auth, **client_kwargs)


