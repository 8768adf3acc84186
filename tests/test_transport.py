"""Transport: the OAuth token request goes through the same retry loop as every GET, over real
HTTP; Retry-After parsing; the throttle hears of each 429."""

from __future__ import annotations

import email.utils
import logging
import socket
import time

import pytest

import capnb
from capnb import BasicAuth, Client, OAuth
from capnb.api.transport import Transport
from tests.scripted import Scripted

TOKEN = {"data": {"accessToken": "tok", "ttlSeconds": 60}, "errors": None}
BODY = {"data": {"ok": 1}, "errors": None, "warnings": None}


def transport(url: str, **kwargs) -> Transport:
    options = {"timeout": 5.0, "max_retries": 2, "user_agent": None, "pool_size": 2,
               "backoff": 0.01} | kwargs
    return Transport(url, **options)


class CountingThrottle:
    def __init__(self) -> None:
        self.permits = 0
        self.rate_limited: list[float | None] = []

    def acquire(self) -> None:
        self.permits += 1

    def on_rate_limited(self, retry_after: float | None) -> None:
        self.rate_limited.append(retry_after)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_token_request_retried_on_retryable_status_honouring_retry_after(scripted, status):
    scripted.add(Scripted(status=status, body={}, headers={"Retry-After": "0.3"}),
                 Scripted(body=TOKEN))
    started = time.monotonic()
    assert transport(scripted.url).generate_token("key", "secret") == ("tok", 60.0)
    assert 0.29 <= time.monotonic() - started < 3
    assert [r["method"] for r in scripted.requests] == ["POST", "POST"]
    assert all(r["path"] == "/v3/oauth/token/generate" for r in scripted.requests)


def test_token_request_retries_exhausted(scripted):
    scripted.add(*[Scripted(status=503, body={}) for _ in range(3)])
    with pytest.raises(capnb.ServerError) as info:
        transport(scripted.url).generate_token("key", "secret")
    assert info.value.http_status == 503 and len(scripted.requests) == 3


@pytest.mark.parametrize("body", [{}, b"", {"errors": [{"code": 9002, "message": "x"}]}])
def test_token_401_is_rejected_credentials_and_never_retried(scripted, body):
    scripted.add(Scripted(status=401, body=body))
    with pytest.raises(capnb.AuthenticationError) as info:
        transport(scripted.url).generate_token("key", "s3cret")
    assert str(info.value).startswith("OAuth client key or secret rejected")
    assert (info.value.code, info.value.http_status, info.value.request_id) == (401, 401, "req-1")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "s3cret" not in repr(info.value) and len(scripted.requests) == 1


@pytest.mark.parametrize("data", [None, {}, {"accessToken": ""}, {"accessToken": 5}])
def test_token_answer_without_access_token(scripted, data):
    scripted.add(Scripted(status=201, body={"data": data}))
    with pytest.raises(capnb.ResponseFormatError, match="accessToken") as info:
        transport(scripted.url).generate_token("key", "secret")
    assert info.value.http_status == 201 and info.value.request_id == "req-1"


@pytest.mark.parametrize("ttl", [None, 0, -5, "60", True])
def test_token_ttl_defaults_to_an_hour(scripted, ttl):
    scripted.add(Scripted(body={"data": {"accessToken": "tok", "ttlSeconds": ttl}}))
    assert transport(scripted.url).generate_token("key", "secret") == ("tok", 3600.0)


def test_token_request_retried_after_connection_errors(caplog):
    caplog.set_level(logging.INFO, logger="capnb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(capnb.TransportError, match="POST /v3/oauth/token/generate"):
        transport(f"http://127.0.0.1:{port}", timeout=0.2).generate_token("key", "s3cret")
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retry ")]
    assert [m.split(" in ")[0] for m in retries] == ["retry 1/2", "retry 2/2"]
    assert not any("s3cret" in r.getMessage() for r in caplog.records)


def test_token_request_is_not_throttled_and_gets_no_auth_header(scripted):
    scripted.add(Scripted(body=TOKEN), Scripted(body=BODY))
    throttle = CountingThrottle()
    client = Client(scripted.url, OAuth("key", "secret"), backoff=0.01)
    assert client.get_json("/x", {"a": 1}, throttle=throttle) == (BODY, "req-2")
    assert throttle.permits == 1  # the GET only
    token_request, get = scripted.requests
    assert token_request["method"] == "POST" and "X-CAP-API-OAUTH-TOKEN" not in token_request[
        "headers"]
    assert get["path"] == "/x?a=1" and get["headers"]["X-CAP-API-OAUTH-TOKEN"] == "tok"


def test_each_attempt_takes_a_permit_and_429_is_reported(scripted):
    scripted.add(Scripted(status=429, body={}, headers={"Retry-After": "0"}),
                 Scripted(status=500, body={}), Scripted(status=429, body={}),
                 Scripted(body=BODY))
    throttle = CountingThrottle()
    client = Client(scripted.url, BasicAuth("till", "pw"), backoff=0.01)
    assert client.get_json("/x", throttle=throttle) == (BODY, "req-4")
    assert throttle.permits == 4 and throttle.rate_limited == [0.0, None]


def test_get_401_renews_once_then_fails(scripted):
    scripted.add(Scripted(body=TOKEN), Scripted(status=401, body={}), Scripted(body=TOKEN),
                 Scripted(status=401, body={}))
    client = Client(scripted.url, OAuth("key", "secret"), backoff=0.01)
    with pytest.raises(capnb.AuthenticationError) as info:
        client.get_json("/x")
    assert info.value.http_status == 401 and info.value.request_id == "req-4"
    assert [r["method"] for r in scripted.requests] == ["POST", "GET", "POST", "GET"]
    assert client.auth.tokens_generated == 2


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None), ("0.25", 0.25), (" 0.1 ", 0.1), ("-3", 0.0), ("soon", None)])
def test_retry_after_seconds(scripted, header, expected):
    headers = {} if header is None else {"Retry-After": header}
    scripted.add(Scripted(status=429, body={}, headers=headers), Scripted(body=BODY))
    throttle = CountingThrottle()
    transport(scripted.url).request_json("GET", "/x", throttle=throttle)
    assert throttle.rate_limited == [expected]


def test_retry_after_as_an_http_date(scripted):
    later = email.utils.formatdate(time.time() + 1, usegmt=True)
    scripted.add(Scripted(status=429, body={}, headers={"Retry-After": later}),
                 Scripted(body=BODY))
    throttle = CountingThrottle()
    answer = transport(scripted.url).request_json("GET", "/x", throttle=throttle)
    assert answer.payload == BODY and answer.status == 200
    assert 0.0 <= throttle.rate_limited[0] <= 1.0
