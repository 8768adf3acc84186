"""Client: validation, auth, retries and error mapping, over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

import capnb
from capnb import BasicAuth, Client, OAuth
from capnb.sandbox import (
    SANDBOX_CLIENT_KEY,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_TILL_ID,
)
from tests.scripted import Scripted

SUMMARY = {"data": {"orgId": 1, "programId": 3334, "entityId": 5, "promotionId": 7,
                    "incentives": [], "points": [{"pointsCategory": "REGULAR_POINTS",
                                                  "totalPointsIssued": "10.000",
                                                  "numberOfTimesIssued": 1,
                                                  "lastIssuedOn": 1750000000000}],
                    "alternateCurrencies": [], "warnings": []},
           "errors": None, "warnings": None}


def fast_client(url: str, auth=None, **kwargs) -> Client:
    kwargs.setdefault("backoff", 0.01)
    return Client(url, auth or BasicAuth("till", "pw"), **kwargs)


# -- validation -------------------------------------------------------------------------------

BAD_IDS = [True, False, None, "", "  ", -1, 0, 1.0, 3.5, "12a", "-5", "1e3", [1], 2**63]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("parameter", ["customer_id", "program_id", "promotion_id"])
def test_bad_ids_rejected_before_any_request(scripted, parameter, bad):
    client = fast_client(scripted.url)
    args = {"customer_id": 5, "program_id": 3334, "promotion_id": 7, parameter: bad}
    with pytest.raises(capnb.ValidationError) as info:
        client.action_summary(**args)
    assert isinstance(info.value, ValueError)
    assert info.value.parameter == parameter and parameter in str(info.value)
    assert scripted.requests == []


@pytest.mark.parametrize("bad", ["", "   ", 5, b"x"], ids=repr)
def test_bad_activity_id_rejected(scripted, bad):
    with pytest.raises(capnb.ValidationError, match="activity_id"):
        fast_client(scripted.url).action_summary(5, 3334, 7, activity_id=bad)
    assert scripted.requests == []


def test_digit_string_ids_and_activity_sent(scripted):
    scripted.add(Scripted(body=SUMMARY))
    summary = fast_client(scripted.url).action_summary(" 5 ", "3334", 7, activity_id="act_1")
    assert summary.points["total_points"].tolist() == [10.0]
    path = scripted.requests[0]["path"]
    assert path.startswith("/v3/customers/5/customerPromotionDetails/actionSummary?")
    assert "programId=3334" in path and "promotionId=7" in path and "activityId=act_1" in path


# -- hosts --------------------------------------------------------------------------------------

def test_presets_and_https_rule():
    auth = BasicAuth("till", "pw")
    assert Client("eu", auth).base_url == "https://eu.api.capillarytech.com"
    assert Client("china", auth).base_url == "https://api.capillarytech.cn.com"
    assert Client("brand.intouch.capillarytech.com", auth).base_url.startswith("https://")
    assert Client("http://127.0.0.1:1/", auth).is_loopback
    for host in ("http://eu.api.capillarytech.com", "http://10.0.0.1", "ftp://x", ""):
        with pytest.raises(capnb.ConfigError):
            Client(host, auth)


# -- auth ---------------------------------------------------------------------------------------

def test_basic_header_matches_capillary_worked_example(scripted):
    scripted.add(Scripted(body=SUMMARY))
    fast_client(scripted.url, BasicAuth("store.server", "server123")).action_summary(5, 3334, 7)
    expected = "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
    assert scripted.requests[0]["headers"]["Authorization"] == expected
    same = BasicAuth.from_md5("store.server", "8a16a6b70505eb1f1ff7cdc0cd5559a7")
    assert same.headers(lambda k, s: ("", 0)) == {"Authorization": expected}


def test_oauth_token_flow_and_renewal_after_401(scripted):
    token = {"data": {"accessToken": "tok-1", "ttlSeconds": 3600}, "errors": None}
    scripted.add(Scripted(body=token), Scripted(body=SUMMARY), Scripted(status=401, body={}),
                 Scripted(body={"data": {"accessToken": "tok-2", "ttlSeconds": 3600}}),
                 Scripted(body=SUMMARY))
    client = fast_client(scripted.url, OAuth("key", "secret"))
    client.action_summary(5, 3334, 7)
    client.action_summary(5, 3334, 7)
    methods = [(r["method"], r["path"].split("?")[0]) for r in scripted.requests]
    assert methods[0] == ("POST", "/v3/oauth/token/generate")
    assert scripted.requests[0]["body"] == b'{"key": "key", "secret": "secret"}'
    assert "Authorization" not in scripted.requests[0]["headers"]
    sent = [r["headers"].get("X-CAP-API-OAUTH-TOKEN") for r in scripted.requests]
    assert sent == [None, "tok-1", "tok-1", None, "tok-2"]


def test_oauth_renews_shortly_before_expiry(scripted):
    scripted.add(Scripted(body={"data": {"accessToken": "a", "ttlSeconds": 1}}),
                 Scripted(body=SUMMARY),
                 Scripted(body={"data": {"accessToken": "b", "ttlSeconds": 1}}),
                 Scripted(body=SUMMARY))
    client = fast_client(scripted.url, OAuth("key", "secret"))
    client.action_summary(5, 3334, 7)
    time.sleep(0.95)  # renewal margin is a tenth of a 1 s lifetime
    client.action_summary(5, 3334, 7)
    assert [r["headers"].get("X-CAP-API-OAUTH-TOKEN") for r in scripted.requests] == [
        None, "a", None, "b"]


def test_oauth_one_token_for_many_threads(sandbox, catalog):
    client = capnb.connect(sandbox.environ("oauth"))
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    ids = list(catalog["customer_ids"][:40])
    threads = [threading.Thread(target=client.action_summary, args=(cid, program, promotion))
               for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.auth.tokens_generated == 1


def test_both_auth_schemes_against_sandbox(sandbox, catalog):
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    customer = catalog["customer_ids"][0]
    basic = Client(sandbox.url, BasicAuth(SANDBOX_TILL_ID, SANDBOX_PASSWORD))
    oauth = Client(sandbox.url, OAuth(SANDBOX_CLIENT_KEY, SANDBOX_CLIENT_SECRET))
    a = basic.action_summary(customer, program, promotion)
    b = oauth.action_summary(customer, program, promotion)
    assert a.raw == b.raw and a.request_id and a.request_id != b.request_id
    sandbox.expire_tokens()
    oauth.action_summary(customer, program, promotion)
    assert oauth.auth.tokens_generated == 2
    with pytest.raises(capnb.AuthenticationError) as info:
        Client(sandbox.url, BasicAuth(SANDBOX_TILL_ID, "wrong")).promotion(program, promotion)
    assert info.value.http_status == 401 and info.value.request_id
    with pytest.raises(capnb.AuthenticationError):
        Client(sandbox.url, OAuth(SANDBOX_CLIENT_KEY, "wrong")).promotion(program, promotion)


def test_secrets_absent_from_reprs():
    basic = BasicAuth("till.1", "s3cret-pw")
    oauth = OAuth("key.1", "s3cret-client")
    md5 = "0b7bc8ec6d6df0c8e1c1e3f2ab2e9fd4"
    text = " ".join([repr(basic), str(basic), repr(oauth), repr(Client("eu", basic)),
                     repr(Client("eu", oauth)), repr(BasicAuth.from_md5("t", md5))])
    for secret in ("s3cret-pw", "s3cret-client", md5, basic._header.split()[1]):
        assert secret not in text


# -- retries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 503, 504, 461, 521, 429])
def test_retryable_status_then_success(scripted, status):
    scripted.add(Scripted(status=status, body={"errors": [{"code": status, "message": "x"}]}),
                 Scripted(status=status, body=b"<html>busy</html>"), Scripted(body=SUMMARY))
    summary = fast_client(scripted.url).action_summary(5, 3334, 7)
    assert len(scripted.requests) == 3 and summary.request_id == "req-3"


def test_retry_after_is_honoured(scripted):
    scripted.add(Scripted(status=429, body={}, headers={"Retry-After": "1"}),
                 Scripted(body=SUMMARY))
    started = time.monotonic()
    fast_client(scripted.url).action_summary(5, 3334, 7)
    assert 0.95 <= time.monotonic() - started < 3


@pytest.mark.parametrize(("status", "error"), [(500, capnb.ServerError),
                                               (429, capnb.RateLimited),
                                               (503, capnb.ServerError)])
def test_retries_exhausted(scripted, status, error):
    scripted.add(*[Scripted(status=status, body={}) for _ in range(3)])
    with pytest.raises(error) as info:
        fast_client(scripted.url, max_retries=2).action_summary(5, 3334, 7)
    assert info.value.http_status == status and info.value.request_id == "req-3"
    assert len(scripted.requests) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_never_retried(scripted, status):
    scripted.add(Scripted(status=status, body={}))
    with pytest.raises(capnb.ApiError):
        fast_client(scripted.url).action_summary(5, 3334, 7)
    assert len(scripted.requests) == 1


def test_connection_refused_is_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(capnb.TransportError):
        fast_client(f"http://127.0.0.1:{port}", max_retries=2).action_summary(5, 3334, 7)


def test_timeout_is_transport_error_after_retries():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections but never answers
    try:
        client = fast_client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2,
                             max_retries=1)
        started = time.monotonic()
        with pytest.raises(capnb.TransportError, match="timed out"):
            client.action_summary(5, 3334, 7)
        assert time.monotonic() - started < 2
    finally:
        silent.close()


# -- error mapping ------------------------------------------------------------------------------

V3_ERRORS = [(9002, capnb.CustomerNotFound), (9001, capnb.ProgramNotFound),
             (3013, capnb.PromotionNotFound), (400, capnb.BadRequest),
             (4000, capnb.PermissionDenied)]


@pytest.mark.parametrize(("code", "error"), V3_ERRORS)
@pytest.mark.parametrize("http_status", [400, 404])
def test_v3_error_codes(scripted, code, error, http_status):
    body = {"data": None, "errors": [{"code": code, "message": "nope"}], "warnings": None}
    scripted.add(Scripted(status=http_status, body=body))
    with pytest.raises(error) as info:
        fast_client(scripted.url).action_summary(5, 3334, 7)
    assert (info.value.code, info.value.http_status, info.value.request_id) == (
        code, http_status, "req-1")


@pytest.mark.parametrize(("code", "error"), [(2010, capnb.ProgramNotFound),
                                             (4029, capnb.PromotionNotFound)])
@pytest.mark.parametrize("http_status", [200, 400])
def test_api_gateway_error_codes(scripted, code, error, http_status):
    body = {"status": {"code": code, "message": "invalid"}, "validationErrors": None, "data": []}
    scripted.add(Scripted(status=http_status, body=body))
    # "not found" sends client.promotion to the new-UI list (issue 15), empty here
    scripted.add(Scripted(body={"data": {"content": [], "totalPages": 0, "totalElements": 0}}))
    with pytest.raises(error) as info:
        fast_client(scripted.url).promotion(3334, 7)
    assert info.value.code == code


@pytest.mark.parametrize(("status", "error"), [(401, capnb.AuthenticationError),
                                               (403, capnb.PermissionDenied),
                                               (400, capnb.BadRequest)])
def test_bodyless_http_errors(scripted, status, error):
    scripted.add(Scripted(status=status, body=b""))
    with pytest.raises(error):
        fast_client(scripted.url).promotion(3334, 7)


def test_html_with_200_is_response_format_error(scripted):
    scripted.add(*[Scripted(body=b"<html><body>Maintenance</body></html>")] * 2)
    with pytest.raises(capnb.ResponseFormatError) as info:
        fast_client(scripted.url, max_retries=1).action_summary(5, 3334, 7)
    assert info.value.http_status == 200 and "Maintenance" in str(info.value)
    assert info.value.request_id == "req-2" and len(scripted.requests) == 2


@pytest.mark.parametrize("broken", [
    Scripted(body=b"<html>Bad gateway</html>"),
    Scripted(body=json.dumps(SUMMARY).encode()[:50]),
    Scripted(body={"data": None, "errors": [{"code": 500, "message": "Internal error"}]}),
], ids=["html", "truncated", "errors-envelope"])
def test_broken_200_bodies_are_retried(scripted, broken):
    scripted.add(broken, Scripted(body=SUMMARY))
    assert fast_client(scripted.url).action_summary(5, 3334, 7).request_id == "req-2"


def test_not_found_in_200_envelope_is_not_retried(scripted):
    scripted.add(Scripted(body={"data": None, "errors": [{"code": 9002, "message": "no"}]}))
    with pytest.raises(capnb.CustomerNotFound):
        fast_client(scripted.url).action_summary(5, 3334, 7)
    assert len(scripted.requests) == 1


def test_sandbox_errors_and_8116(sandbox, catalog):
    client = capnb.connect(sandbox.environ())
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    with pytest.raises(capnb.CustomerNotFound) as info:
        client.action_summary(1, program, promotion)
    assert info.value.code == 9002 and info.value.request_id
    with pytest.raises(capnb.ProgramNotFound):
        client.action_summary(catalog["customer_ids"][0], 1, promotion)
    with pytest.raises(capnb.PromotionNotFound):
        client.action_summary(catalog["customer_ids"][0], program, 1)
    with pytest.raises(capnb.ProgramNotFound):
        client.promotion(1, promotion)
    with pytest.raises(capnb.PromotionNotFound):
        client.promotion(program, 1)
    empties = [client.action_summary(c, program, promotion) for c in catalog["customer_ids"][:60]]
    empty = [s for s in empties if s.empty]
    assert empty, "the sandbox seeds customers without benefits"
    assert all(8116 in [w.code for w in s.warnings] for s in empty)
    assert all(len(s.incentives) == len(s.points) == 0 for s in empty)


# -- redirects ----------------------------------------------------------------------------------

def test_auth_dropped_on_redirect_to_other_host(scripted):
    from tests.scripted import ScriptedServer

    other = ScriptedServer()
    try:
        target = other.url.replace("127.0.0.1", "localhost") + "/elsewhere"
        redirect = Scripted(status=302, body=b"", headers={"Location": target})
        scripted.add(Scripted(body={"data": {"accessToken": "tok", "ttlSeconds": 60}}),
                     redirect, redirect)
        other.add(Scripted(body=SUMMARY), Scripted(body=SUMMARY))
        fast_client(scripted.url, OAuth("key", "secret")).action_summary(5, 3334, 7)
        fast_client(scripted.url, BasicAuth("till", "pw")).action_summary(5, 3334, 7)
        assert scripted.requests[1]["headers"].get("X-CAP-API-OAUTH-TOKEN") == "tok"
        for request in other.requests[:2]:
            assert "Authorization" not in request["headers"]
            assert "X-CAP-API-OAUTH-TOKEN" not in request["headers"]
    finally:
        other.close()


# -- connect ------------------------------------------------------------------------------------

def test_connect_without_environment_names_variables_and_sandbox():
    with pytest.raises(capnb.ConfigError) as info:
        capnb.connect()
    message = str(info.value)
    for name in ("CAPILLARY_HOST", "CAPILLARY_TILL_ID", "CAPILLARY_PASSWORD",
                 "CAPILLARY_CLIENT_KEY", "CAPILLARY_CLIENT_SECRET", "sandbox"):
        assert name in message


def test_connect_with_host_only_refuses(monkeypatch):
    monkeypatch.setenv("CAPILLARY_HOST", "eu")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "pw-only")
    with pytest.raises(capnb.ConfigError) as info:
        capnb.connect()
    assert "CAPILLARY_PASSWORD" in str(info.value) and "pw-only" not in str(info.value)


def test_connect_from_environment(monkeypatch, sandbox, catalog):
    monkeypatch.setenv("CAPILLARY_HOST", sandbox.url)
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", SANDBOX_CLIENT_KEY)
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", SANDBOX_CLIENT_SECRET)
    client = capnb.connect(timeout=5)
    assert isinstance(client.auth, OAuth) and client.timeout == 5
    assert client.promotion(catalog["program_id"], catalog["promotions"][0]["id"]).id
    for name in ("CAPILLARY_CLIENT_KEY", "CAPILLARY_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    import hashlib

    monkeypatch.setenv("CAPILLARY_TILL_ID", SANDBOX_TILL_ID)
    monkeypatch.setenv("CAPILLARY_PASSWORD_MD5", hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest())
    assert capnb.connect().promotion(catalog["program_id"], catalog["promotions"][0]["id"]).id


def test_the_sandbox_reward_action_joins_its_incentives(sandbox, catalog):
    sandbox_client = capnb.connect(sandbox.environ())
    promotion = sandbox_client.promotion(3334, 1133601377)
    reward_ids = {p["rewardId"] for p in promotion.actions["properties"] if "rewardId" in p}
    issued = set()
    for customer in catalog["customer_ids"][:40]:
        summary = sandbox_client.action_summary(customer, 3334, 1133601377)
        issued |= set(summary.incentives.loc[summary.incentives["action"] == "REWARD",
                                             "action_id"])
    assert reward_ids and issued and issued <= reward_ids, (reward_ids, issued)
