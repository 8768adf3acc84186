"""``Client``: one Capillary cluster (or the sandbox), one typed method per endpoint; ``connect``.

Each method checks its arguments (:mod:`capnb.validation`) before any request, builds the
request's path and parameters, sends it through the :class:`~capnb.api.transport.Transport`
(pool, retries, error translation) and hands the body to the endpoint's parser. The fetch layer
calls :meth:`Client.fetch_summary_payload`, :meth:`Client.lookup_customer` and
:meth:`Client.customer_promotion_data` with a :class:`Throttle`; request parameters are
built here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capnb.api.auth import Auth, BasicAuth, OAuth
from capnb.api.catalog import parse_programs, parse_promotion_page, promotion_list_frame
from capnb.api.lookup import parse_lookup, parse_v2_action_summary
from capnb.api.newui import fetch_v3_pages, find_new_ui_promotion, flag, statuses
from capnb.api.promotion import parse_promotion
from capnb.api.promotion_data import (
    PromotionDataRows,
    collect_pages,
    issual_frame,
    usage_frame,
)
from capnb.api.promotion_v3 import check_hex_id, parse_v3_promotion, promotions_from_v3
from capnb.api.summary import parse_action_summary
from capnb.api.transport import Throttle, Transport
from capnb.config import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    is_loopback,
    settings_from_env,
)
from capnb.errors import ConfigError, NotFound, PromotionNotFound, ValidationError
from capnb.models import ActionSummary, Promotion, PromotionsV3
from capnb.validation import (
    check_activity_id,
    check_id,
    check_identifier,
    check_identifier_name,
    check_positive_number,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Client", "Throttle", "connect"]

SUMMARY_PATH = "/v3/customers/{customer_id}/customerPromotionDetails/actionSummary"
PROMOTION_PATH = "/api_gateway/loyalty/v1/programs/{program_id}/promotions/{promotion_id}/get"
LOOKUP_PATH = "/v2/customers/lookup"
V2_SUMMARY_PATH = "/v2/customers/lookup/customerPromotionDetails/actionSummary"
PROMOTION_DATA_PATH = "/v2/customers/lookup/promotionData"
PROGRAMS_PATH = "/v2/organization/programs"
PROMOTION_LIST_PATH = "/api_gateway/loyalty/v1/programs/promotions/list"
PROMOTION_STATUSES = ("AVAILABLE_TO_ENROL", "AVAILABLE_TO_EARN", "AVAILABLE_TO_REDEEM", "EXPIRED")
"""promotionData's documented ``promotionStatusForCustomer`` values."""
V3_PROMOTIONS_PATH = "/v3/promotions"
V3_PROMOTION_PATH = "/v3/promotions/{promotion_id}"
MAX_PAGES = 10_000
"""Safety stop for list endpoints whose pages never run out."""
V3_MAX_PAGES = 1_000
"""Default bound on the pages of ``GET /v3/promotions`` read before giving up."""


class Client:
    """A connection to one Capillary cluster (or the sandbox; the client cannot tell).

    Parameters
    ----------
    host : str
        A cluster preset (``eu``, ``apac``, ``apac2``, ``us``, ``north-america``, ``china``) or a
        URL. Plain ``http://`` is only accepted for loopback addresses.
    auth : BasicAuth or OAuth
    timeout : float
        Seconds each attempt of a request may take as a whole: connect, headers and body (a
        server trickling its answer is cut off there); also the limit for each single read.
    max_retries : int
        Retries after the first attempt on connection errors, timeouts, 429, 461, 500, 502, 503,
        504 and 521, with exponential backoff and full jitter, honouring ``Retry-After``.
    user_agent : str, optional
    pool_size : int
        Keep-alive connections kept open, at least the number of threads sharing the client.
    backoff : float
        Base of the exponential backoff between retries, in seconds.
    max_body_bytes : int
        Largest answer body read, counted after decompression (default 32 MiB); the body is
        read in a streaming way and a larger one is a ``ResponseFormatError``, not retried.

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
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if not isinstance(auth, Auth):
            raise ConfigError("auth must be capnb.BasicAuth or capnb.OAuth, got "
                              f"{type(auth).__name__}")
        self.auth = auth
        self._transport = Transport(host, timeout=timeout, max_retries=max_retries,
                                    user_agent=user_agent, pool_size=pool_size, backoff=backoff,
                                    max_body_bytes=max_body_bytes)

    @property
    def base_url(self) -> str:
        """The cluster's base URL, without trailing slash."""
        return self._transport.base_url

    @property
    def timeout(self) -> float:
        """Seconds each attempt may take as a whole (connect, headers and body)."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt of a request."""
        return self._transport.max_retries

    @property
    def max_body_bytes(self) -> int:
        """Largest answer body read, in bytes after decompression."""
        return self._transport.max_body_bytes

    @property
    def backoff(self) -> float:
        """Base of the exponential backoff between retries, in seconds."""
        return self._transport.backoff

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent with every request."""
        return self._transport.user_agent

    @property
    def pool_size(self) -> int:
        """Keep-alive connections kept open."""
        return self._transport.pool_size

    @property
    def is_loopback(self) -> bool:
        """True when the host is this machine (the sandbox, typically)."""
        return is_loopback(self.base_url)

    def cancel(self) -> None:
        """Stop the requests running now, in every thread: none makes a new attempt (a retry
        sleep ends at once) and each raises ``TransportError``. Requests started afterwards run as
        usual. A ``KeyboardInterrupt`` inside a request calls this itself."""
        self._transport.cancel()

    def __repr__(self) -> str:
        return f"Client(host={self.base_url!r}, auth={self.auth!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

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
        return parse_action_summary(payload, request_id=request_id,
                                    customer_id=check_id("customer_id", customer_id),
                                    program_id=check_id("program_id", program_id),
                                    promotion_id=check_id("promotion_id", promotion_id))

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
        """Fetch a promotion's configuration wherever it lives.

        *Get Loyalty Promotion by ID* first (old-UI promotions: configuration, rules and
        restrictions; ``source`` ``"v1 promotion by id"``). When it answers "not found" (4029,
        3013, or a 404 without a more specific code), the new-UI list ``GET /v3/promotions``
        is searched for the integer ``metadata.promotionId`` in this program, and the match
        read with ``GET /v3/promotions/{id}`` (``source`` ``"v3 promotions"``; its
        restrictions are empty, see :func:`capnb.analysis.with_sampled_limits`).

        Raises ``PromotionNotFound`` when neither knows it, ``ProgramNotFound`` (2010) for an
        unknown program, or another ``ApiError``.
        """
        program = check_id("program_id", program_id)
        promotion = check_id("promotion_id", promotion_id)
        path = PROMOTION_PATH.format(program_id=program, promotion_id=promotion)
        try:
            payload, request_id = self.get_json(path)
        except NotFound as exc:
            if type(exc) not in (NotFound, PromotionNotFound):
                raise  # an unknown program (or customer) is not a promotion to look for
            try:
                listed = self.promotions_v3()
            except NotFound:  # a cluster without the v3 promotions endpoint
                raise exc from None
            return find_new_ui_promotion(listed, program, promotion, exc, self.promotion_v3)
        return parse_promotion(payload, request_id=request_id)

    def promotion_v3(self, promotion_id: str, *, include_draft_details: bool = False,
                     ) -> PromotionsV3:
        """One new-UI promotion by its string id (``GET /v3/promotions/{promotionId}``).

        ``promotion_id`` is the 24-hex id (``"6903253184daf5486232dec9"``), checked before any
        request; the integer ``metadata.promotionId`` is the one the action summary and
        promotionData use. Returns :class:`~capnb.models.PromotionsV3` with one promotion.
        Raises ``PromotionNotFound`` when the id is unknown (the endpoint's error codes are not
        documented: any "not found" answer).
        """
        hex_id = check_hex_id(promotion_id)
        params = {"includeDraftDetails": "true"} if flag(include_draft_details) else None
        try:
            payload, request_id = self.get_json(V3_PROMOTION_PATH.format(promotion_id=hex_id),
                                                params)
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise
            raise PromotionNotFound(exc.message, code=exc.code, http_status=exc.http_status,
                                    request_id=exc.request_id) from None
        return parse_v3_promotion(payload, request_id=request_id)

    def promotions_v3(self, *, status: str | list[str] | None = None,
                      search_text: str | None = None, page_size: int = 50,
                      include_draft_details: bool = False,
                      max_pages: int = V3_MAX_PAGES) -> PromotionsV3:
        """Every new-UI promotion of the org (``GET /v3/promotions``, all pages).

        ``status`` (one or a list, sent comma-separated) and ``search_text`` (matched by the
        platform against names and descriptions) filter; ``page_size`` is each page's
        ``size`` (the platform's default is 10, its maximum is not documented: paging follows
        ``totalPages`` whatever size the server used). Pages are read until ``totalPages`` is
        reached, a page is empty or brings only promotions already seen; after ``max_pages``
        pages a ``ResponseFormatError`` says the server's paging never ends.
        """
        params: dict[str, Any] = {"size": int(check_positive_number(
            "page_size", page_size, integer=True))}
        limit = int(check_positive_number("max_pages", max_pages, integer=True))
        if status is not None:
            params["status"] = statuses(status)
        if search_text is not None:
            if not isinstance(search_text, str) or not search_text.strip():
                raise ValidationError("search_text", f"must be a non-empty string, got "
                                      f"{search_text!r}")
            params["searchText"] = search_text.strip()
        if flag(include_draft_details):
            params["includeDraftDetails"] = "true"
        return fetch_v3_pages(self.get_json, V3_PROMOTIONS_PATH, params, limit)

    def new_ui_promotions(self, program_id: int | str,
                          status: str | list[str] | None = None) -> list[Promotion]:
        """The program's promotions made in the new UI (:meth:`promotions_v3`, ``status``
        filtered, those whose ``programId`` is ``program_id``), as :class:`Promotion`
        (``source`` ``"v3 promotions"``); none on a cluster without that endpoint (404)."""
        program = check_id("program_id", program_id)
        try:
            listed = self.promotions_v3(status=status)
        except NotFound:
            return []
        return [p for p in promotions_from_v3(listed) if p.program_id == program]

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
            params["status"] = statuses(status)
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
        answer = self.customer_promotion_data(customer_id, program_id, throttle=throttle)
        return answer.usage, answer.request_id

    def customer_issuals(self, customer_id: int | str,
                         program_id: int | str | None = None) -> pd.DataFrame:
        """Every enrolment and issual (with its ``redeemedCount``) promotionData's
        ``customerPromotionTimelines`` list for one customer.

        Returns a DataFrame with ``capnb.schema.ISSUAL_COLUMNS`` (see
        :func:`capnb.api.promotion_data.parse_promotion_timelines`).
        """
        return issual_frame(self.customer_promotion_data(customer_id, program_id).issuals)

    def customer_promotion_data(
        self, customer_id: int | str, program_id: int | str | None = None, *,
        status: str | None = None, throttle: Throttle | None = None,
    ) -> PromotionDataRows:
        """Every page of one customer's promotionData (``limit`` 100, ``fetchAllUsage=true``
        so disabled restrictions are listed with ``maxLimit`` -1) as rows: usage, issuals and
        whether each promotion carried timelines (see
        :func:`capnb.api.promotion_data.collect_pages` for the paging and its refusals).

        ``status`` is sent as ``promotionStatusForCustomer`` (``AVAILABLE_TO_ENROL``,
        ``AVAILABLE_TO_EARN``, ``AVAILABLE_TO_REDEEM``, ``EXPIRED``): only promotions in that
        state come back. The documentation shows ``customerPromotionTimelines`` only in
        answers filtered so; whether unfiltered ones carry them is not said.
        """
        customer = check_id("customer_id", customer_id)
        params: dict[str, Any] = {"source": "INSTORE", "identifierName": "id",
                                  "identifierValue": customer, "fetchAllUsage": "true"}
        if program_id is not None:
            params["programs"] = check_id("program_id", program_id)
        if status is not None:
            if status not in PROMOTION_STATUSES:
                raise ValidationError("status", f"must be one of {', '.join(PROMOTION_STATUSES)}"
                                      f" or None, got {status!r}")
            params["promotionStatusForCustomer"] = status

        def page(limit: int, offset: int) -> tuple[Any, str | None]:
            return self.get_json(PROMOTION_DATA_PATH, {**params, "limit": limit,
                                                       "offset": offset}, throttle=throttle)

        return collect_pages(page, customer)

    # -- transport ---------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 throttle: Throttle | None = None) -> tuple[dict[str, Any], str | None]:
        """GET ``path`` with auth, retries and error translation; return ``(json, request_id)``."""
        answer = self._transport.request_json("GET", path, params=params, auth=self.auth,
                                              throttle=throttle)
        return answer.payload, answer.request_id


def _identifier_params(identifier_name: Any, identifier_value: Any, source: Any
                       ) -> dict[str, Any]:
    return {"source": check_identifier("source", source),
            "identifierName": check_identifier_name(identifier_name),
            "identifierValue": check_identifier("identifier_value", identifier_value)}


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


