"""Issue 13, property-based: whatever a server on loopback answers (any status, lying or missing
``Content-Length``, any ``Retry-After`` form, real, false or unknown encodings, valid, mutated or
random bodies), the client path returns typed results or ``CapnbError``s within a bounded time,
and ``fetch_cohort`` ends with exactly one row and one status per requested customer."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capnb.api.transport
from capnb import BasicAuth, Client, fetch_cohort
from capnb.errors import CapnbError
from capnb.models import ActionSummary
from tests.parser_bodies import NO_SUMMARY_TEXT, summary_example, v3
from tests.scripted import RawServer

PROGRAM, PROMOTION = 3334, 1133600978
TIMEOUT = 0.5
RETRIES = 1
SLEEP_CAP = 0.05  # Retry-After is honoured up to 30 s in real use; the test caps it to stay fast
# One request can take an attempt's deadline per attempt plus the capped sleeps between them.
REQUEST_BOUND = (RETRIES + 1) * (TIMEOUT + SLEEP_CAP)
STATUSES = [200, 200, 200, 200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 408, 429, 461, 500,
            502, 503, 504, 521, 599, 999]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)


@dataclass(frozen=True)
class Answer:
    """One planned HTTP answer; ``body`` is built per request (it may name the customer)."""

    status: int
    body: str  # "summary", "mutated", "empty_8116", "json", "bytes", "deep", "nothing"
    mutation: tuple[str, Any] | None
    junk: bytes
    encoding: str  # "identity", "gzip", "deflate", "false-gzip", "unknown"
    length: str  # "right", "absent", "short", "long", "garbage", "twice"
    retry_after: str | None

    def raw(self, customer_id: int) -> bytes:
        body = self._body(customer_id)
        headers = [f"HTTP/1.1 {self.status} Planned", "Content-Type: application/json",
                   "Connection: close"]
        if self.encoding == "gzip":
            body = gzip.compress(body)
        elif self.encoding == "deflate":
            body = zlib.compress(body)
        if self.encoding != "identity":
            name = {"false-gzip": "gzip", "unknown": "x-unheard-of"}.get(self.encoding,
                                                                        self.encoding)
            headers.append(f"Content-Encoding: {name}")
        size = len(body)
        length = {"right": str(size), "short": str(max(0, size // 2)), "long": str(size + 50),
                  "garbage": "12abc", "twice": str(size), "absent": None}[self.length]
        if length is not None:
            headers.append(f"Content-Length: {length}")
        if self.length == "twice":
            headers.append(f"Content-Length: {size + 7}")
        if self.retry_after is not None:
            headers.append(f"Retry-After: {self.retry_after}")
        return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body

    def _body(self, customer_id: int) -> bytes:
        summary = summary_example() | {"entityId": customer_id}
        if self.body == "summary":
            return json.dumps(v3(summary)).encode()
        if self.body == "mutated":
            key, value = self.mutation or ("promotionId", None)
            return json.dumps(v3(summary | {key: value})).encode()
        if self.body == "empty_8116":
            return NO_SUMMARY_TEXT.replace("388597285", str(customer_id)).encode()
        if self.body == "json":
            return json.dumps(self.mutation[1] if self.mutation else None).encode()
        if self.body == "deep":
            return b'{"data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        if self.body == "nothing":
            return b""
        return self.junk


answers = st.builds(
    Answer,
    status=st.sampled_from(STATUSES),
    body=st.sampled_from(["summary", "summary", "mutated", "empty_8116", "json", "bytes", "deep",
                          "nothing"]),
    mutation=st.none() | st.tuples(
        st.sampled_from(["promotionId", "programId", "entityId", "incentives", "points",
                         "alternateCurrencies", "warnings", "orgId"]), json_values),
    junk=st.binary(max_size=64),
    encoding=st.sampled_from(["identity", "identity", "gzip", "deflate", "false-gzip",
                              "unknown"]),
    length=st.sampled_from(["right", "right", "absent", "short", "long", "garbage", "twice"]),
    retry_after=st.none() | st.sampled_from(
        ["0", "1", "-5", "1e9", "inf", "nan", "soon", "Fri, 31 Dec 2099 23:59:59 GMT",
         "Thu, 01 Jan 1970 00:00:00 GMT", ""]))


class PlannedServer(RawServer):
    """A loopback server answering request ``n`` with ``plan[n % len(plan)]``; it reads the
    customer id from the request path, so a valid body names the customer asked for."""

    def __init__(self) -> None:
        self.plan: list[Answer] = []
        self.count = 0
        self.lock = threading.Lock()
        super().__init__(self._answer)

    def _answer(self, conn: socket.socket, stop: threading.Event, head: bytes) -> None:
        target = head.split(b" ", 2)[1].decode()
        with self.lock:
            answer = self.plan[self.count % len(self.plan)]
            self.count += 1
        conn.sendall(answer.raw(_customer_of(target)))
        conn.shutdown(socket.SHUT_WR)


def _customer_of(target: str) -> int:
    parts = urlsplit(target)
    digits = [p for p in parts.path.split("/") if p.isdigit()]
    return int(digits[0]) if digits else int(parse_qs(parts.query).get("id", ["0"])[0])


@pytest.fixture(scope="module")
def planned():
    server = PlannedServer()
    yield server
    server.close()


@pytest.fixture(autouse=True, scope="module")
def short_sleeps():
    saved = capnb.api.transport.DEFAULT_MAX_BACKOFF
    capnb.api.transport.DEFAULT_MAX_BACKOFF = SLEEP_CAP
    yield
    capnb.api.transport.DEFAULT_MAX_BACKOFF = saved


def _client(planned: PlannedServer) -> Client:
    return Client(planned.url, BasicAuth("till", "pw"), timeout=TIMEOUT, max_retries=RETRIES,
                  backoff=0.01)


COMMON = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])


@COMMON
@given(plan=st.lists(answers, min_size=1, max_size=3))
def test_action_summary_returns_a_summary_or_a_capnb_error_in_bounded_time(
        planned: PlannedServer, plan: list[Answer]) -> None:
    planned.plan, planned.count = plan, 0
    client = _client(planned)
    started = time.monotonic()
    try:
        summary = client.action_summary(388597285, PROGRAM, PROMOTION)
    except CapnbError as error:
        assert str(error)
    else:
        assert isinstance(summary, ActionSummary)
        assert summary.customer_id == 388597285 and summary.promotion_id == PROMOTION
        for frame in (summary.incentives, summary.points, summary.alternate_currencies):
            assert not frame.isna().all(axis=1).any(), "an all-NaN row"
    finally:
        client.close()
    assert time.monotonic() - started < REQUEST_BOUND + 1.5


@COMMON
@given(plan=st.lists(answers, min_size=1, max_size=5),
       customers=st.lists(st.integers(1, 10**9), min_size=1, max_size=6, unique=True))
def test_fetch_cohort_keeps_one_row_and_status_per_customer_in_bounded_time(
        planned: PlannedServer, plan: list[Answer], customers: list[int]) -> None:
    planned.plan, planned.count = plan, 0
    client = _client(planned)
    started = time.monotonic()
    try:
        cohort = fetch_cohort(client, customers, PROGRAM, PROMOTION, workers=4, progress=False)
    finally:
        client.close()
    elapsed = time.monotonic() - started
    rows = cohort.customers
    assert sorted(rows["customer_id"].tolist()) == sorted(customers)
    assert rows["status"].notna().all()
    assert set(rows["status"]) <= {"ok", "no_benefits", "not_found", "failed"}
    failed = rows[rows["status"] == "failed"]
    assert failed["error_message"].notna().all()
    batches = -(-len(customers) // 4)
    assert elapsed < batches * REQUEST_BOUND + 2.0
