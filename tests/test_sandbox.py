"""The sandbox: documented shapes over real HTTP, auth, limits, determinism and the data model."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import requests

import capnb
from capnb.sandbox import (
    SANDBOX_AS_OF,
    SANDBOX_CLIENT_KEY,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_TILL_ID,
    Event,
    Sandbox,
    SandboxData,
)
from capnb.sandbox.app import Request, SandboxApp
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS

SUMMARY = "/v3/customers/{}/customerPromotionDetails/actionSummary"
PROMOTION = "/api_gateway/loyalty/v1/programs/{}/promotions/{}/get"
TOKEN = "/v3/oauth/token/generate"
BASIC = {"Authorization": "Basic " + base64.b64encode(
    f"{SANDBOX_TILL_ID}:{hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()}".encode()).decode()}
DATA_START_MS = int(datetime(2025, 6, 12, tzinfo=SANDBOX_AS_OF.tzinfo).timestamp() * 1000)
AS_OF_MS = int(SANDBOX_AS_OF.timestamp() * 1000)
WINDOW_MS = {"DAILY": 86_400_000, "WEEKLY": 7 * 86_400_000, "MONTHLY": 30 * 86_400_000}
PACKAGE = Path(__file__).resolve().parents[1] / "capnb" / "sandbox"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(customers=5000, seed=0) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def cohort() -> tuple[SandboxData, dict[int, dict[int, list[Event]]]]:
    """2,000 customers' events in every promotion, generated once for the data-model tests."""
    data = SandboxData(customers=2000, seed=0)
    events = {pid: {cid: data.events(cid, pid) for cid in data.customer_ids}
              for pid in data.promotion_ids}
    return data, events


def summary(session: requests.Session, sb: Sandbox, customer_id: int, promotion_id: int,
            **params: Any) -> requests.Response:
    query = {"programId": PROGRAM, "promotionId": promotion_id, **params}
    return session.get(sb.url + SUMMARY.format(customer_id), params=query, headers=BASIC)


def first_customer(data: SandboxData, promotion_id: int, *, empty: bool = False) -> int:
    return next(cid for cid in data.customer_ids
                if bool(data.events(cid, promotion_id)) != empty)


def v3_error(code: int | str, message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"code": code, "message": message}], "warnings": None}


# ---- package hygiene -----------------------------------------------------------------------


def test_sandbox_never_imports_the_client_at_module_level() -> None:
    forbidden = ("capnb.api.client", "capnb.api.auth", "requests", "numpy", "pandas")
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_catalog_is_lazy_and_describes_the_program(sb: Sandbox) -> None:
    catalog = sb.catalog()
    assert catalog["org_id"] == 51948 and catalog["program_id"] == PROGRAM
    assert isinstance(catalog["customer_ids"], range) and len(catalog["customer_ids"]) == 5000
    promotions = catalog["promotions"]
    assert [p["id"] for p in promotions] == sb.data.promotion_ids
    assert {p["offer_type"] for p in promotions} == {"GENERIC", "LOYALTY", "LOYALTY_EARNING"}
    assert "Double Points Weekend" in {p["name"] for p in promotions}
    assert {p["status"] for p in promotions} >= {"LIVE", "COMPLETED"}
    for promotion in promotions:
        assert {"id", "program_id", "name", "offer_type", "status"} <= promotion.keys()


def test_sandbox_lifecycle() -> None:
    sandbox = Sandbox(customers=10)
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    with sandbox:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
        assert requests.get(sandbox.url + "/__sandbox__/stats", timeout=5).status_code == 200
    sandbox.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = sandbox.url


def test_serve_forever_until_stopped_from_another_thread() -> None:
    sandbox = Sandbox(customers=10)
    urls: list[str] = []
    thread = threading.Thread(target=sandbox.serve_forever, kwargs={"ready": urls.append})
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not urls and time.monotonic() < deadline:
            time.sleep(0.01)
        with requests.Session() as session:
            assert session.get(urls[0] + "/__sandbox__/stats", timeout=5).status_code == 200
            sandbox.stop()
            thread.join(5)
            assert not thread.is_alive()
            with pytest.raises(requests.ConnectionError):  # keep-alive hung up, port closed
                session.get(urls[0] + "/__sandbox__/stats", timeout=5)
    finally:
        sandbox.stop()
        thread.join(5)


@pytest.mark.parametrize("kwargs", [{"summary_envelope": "v2"}, {"error_status": 200},
                                    {"token_ttl": 0}, {"rate_limit_per_min": 0},
                                    {"latency_ms": -1}, {"customers": 0},
                                    {"rate_limit_window": 0}])
def test_bad_settings_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Sandbox(**{"customers": 10, **kwargs})


# ---- authentication ------------------------------------------------------------------------


def test_basic_auth_accepts_till_id_and_md5_of_password(sb: Sandbox, http: requests.Session
                                                        ) -> None:
    cid = sb.catalog()["customer_ids"][0]
    assert summary(http, sb, cid, DOUBLE_POINTS).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic " + base64.b64encode(
        f"{SANDBOX_TILL_ID}:{hashlib.md5(b'wrong').hexdigest()}".encode()).decode()},
    {"Authorization": "Basic " + base64.b64encode(  # the plain password is not accepted
        f"{SANDBOX_TILL_ID}:{SANDBOX_PASSWORD}".encode()).decode()},
    {"Authorization": "Basic !!not-base64!!"},
    {"Authorization": "Bearer abc"},
    {"X-CAP-API-OAUTH-TOKEN": "not-a-token"},
])
def test_bad_credentials_get_401(sb: Sandbox, http: requests.Session,
                                 headers: dict[str, str]) -> None:
    for path in (SUMMARY.format(sb.catalog()["customer_ids"][0])
                 + f"?programId={PROGRAM}&promotionId={DOUBLE_POINTS}",
                 PROMOTION.format(PROGRAM, DOUBLE_POINTS)):
        response = http.get(sb.url + path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"data": None, "errors": [{"code": 401,
                                   "message": "Unauthorized"}], "warnings": None}


def test_oauth_token_flow_and_expiry(sb: Sandbox, http: requests.Session) -> None:
    sb.reset_stats()
    bad = http.post(sb.url + TOKEN, json={"key": SANDBOX_CLIENT_KEY, "secret": "nope"})
    assert bad.status_code == 401
    assert bad.json() == {"data": None, "errors": [{"code": 401,
                          "message": "Invalid key or secret"}]}
    answer = http.post(sb.url + TOKEN, json={"key": SANDBOX_CLIENT_KEY,
                                             "secret": SANDBOX_CLIENT_SECRET})
    assert answer.status_code == 200
    body = answer.json()
    assert body["errors"] is None and body["data"]["ttlSeconds"] == 3600
    token = body["data"]["accessToken"]
    assert isinstance(token, str) and token.count(".") == 2
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["client_id"] == SANDBOX_CLIENT_KEY and claims["org_id"] == 51948
    headers = {"X-CAP-API-OAUTH-TOKEN": token}
    cid = sb.catalog()["customer_ids"][0]
    url = sb.url + SUMMARY.format(cid)
    query = {"programId": PROGRAM, "promotionId": DOUBLE_POINTS}
    assert http.get(url, params=query, headers=headers).status_code == 200
    assert http.get(sb.url + PROMOTION.format(PROGRAM, DOUBLE_POINTS),
                    headers=headers).status_code == 200
    sb.expire_tokens()
    expired = http.get(url, params=query, headers=headers)
    assert expired.status_code == 401 and expired.json()["errors"][0]["code"] == 401
    assert sb.stats()["tokens_issued"] == 1
    assert http.post(sb.url + TOKEN, data="not json").status_code == 400


def test_tokens_expire_after_their_ttl() -> None:
    now = [1000.0]
    app = SandboxApp(SandboxData(customers=10), token_ttl=60, clock=lambda: now[0])
    answer = app.respond(Request("POST", TOKEN, {}, json.dumps(
        {"key": SANDBOX_CLIENT_KEY, "secret": SANDBOX_CLIENT_SECRET}).encode()))
    token = json.loads(answer.body)["data"]["accessToken"]
    get = Request("GET", PROMOTION.format(PROGRAM, GOLD_TIER), {"X-CAP-API-OAUTH-TOKEN": token})
    assert app.respond(get).status == 200
    now[0] += 59.9
    assert app.respond(get).status == 200
    now[0] += 0.2
    assert app.respond(get).status == 401


# ---- action summary ------------------------------------------------------------------------


def check_summary_shape(data: dict[str, Any], customer_id: int, promotion_id: int) -> None:
    assert list(data) == ["orgId", "programId", "entityId", "promotionId", "incentives",
                          "points", "alternateCurrencies", "warnings"]
    assert (data["orgId"], data["programId"], data["entityId"], data["promotionId"]) == (
        51948, PROGRAM, customer_id, promotion_id)
    assert data["warnings"] == []
    for item in data["incentives"]:
        assert set(item) == {"activityId", "action", "actionId", "actionIssuedCount",
                             "lastIssuedOn"}
        assert item["action"] in {"REWARD", "COUPONS", "BADGES", "ENROL", "OPTIN",
                                  "UPGRADE_TIER"}
        assert item["activityId"] is None or isinstance(item["activityId"], str)
        assert isinstance(item["actionId"], str)
        assert isinstance(item["actionIssuedCount"], int) and item["actionIssuedCount"] >= 1
    for item in data["points"]:
        assert list(item) == ["pointsCategory", "totalPointsIssued", "numberOfTimesIssued",
                              "lastIssuedOn"]
        assert re.fullmatch(r"\d+\.\d{3}", item["totalPointsIssued"])
    for item in data["alternateCurrencies"]:
        assert list(item) == ["currencyName", "totalCurrencyIssued", "numberOfTimesIssued",
                              "lastIssuedOn"]
        assert re.fullmatch(r"\d+\.\d{3}", item["totalCurrencyIssued"])
    for item in data["points"] + data["alternateCurrencies"] + data["incentives"]:
        assert type(item["lastIssuedOn"]) is int
        assert DATA_START_MS <= item["lastIssuedOn"] <= AS_OF_MS
    for item in data["points"] + data["alternateCurrencies"]:
        assert type(item["numberOfTimesIssued"]) is int and item["numberOfTimesIssued"] >= 1


@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_summary_success_shape(sb: Sandbox, http: requests.Session, promotion_id: int) -> None:
    cid = first_customer(sb.data, promotion_id)
    response = summary(http, sb, cid, promotion_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["data", "errors", "warnings"]
    assert body["errors"] is None and body["warnings"] is None
    check_summary_shape(body["data"], cid, promotion_id)
    assert body["data"] == sb.data.summary_payload(cid, promotion_id)


def test_summary_covers_every_incentive_action_and_unusual_categories(
        cohort: tuple[SandboxData, dict]) -> None:
    data, events = cohort
    actions = {e.action for per in events.values() for evs in per.values() for e in evs}
    categories = {e.points_category for per in events.values() for evs in per.values()
                  for e in evs}
    currencies = {e.currency_name for per in events.values() for evs in per.values() for e in evs}
    assert actions == {None, "REWARD", "COUPONS", "BADGES", "ENROL", "OPTIN", "UPGRADE_TIER"}
    assert categories == {None, "REGULAR_POINTS", "BONUS_POINTS", "PROMISED_POINTS"}
    assert currencies == {None, "STARS", "COINS"}


def test_summary_is_the_aggregation_of_events(cohort: tuple[SandboxData, dict]) -> None:
    data, events = cohort
    checked = 0
    for pid in data.promotion_ids:
        for cid in data.customer_ids[:150]:
            evs = events[pid][cid]
            if not evs:
                continue
            payload = data.summary_payload(cid, pid)
            check_summary_shape(payload, cid, pid)
            points = {p["pointsCategory"]: p for p in payload["points"]}
            for category in {e.points_category for e in evs if e.points > 0}:
                mine = [e for e in evs if e.points_category == category and e.points > 0]
                assert float(points[category]["totalPointsIssued"]) == sum(e.points for e in mine)
                assert points[category]["numberOfTimesIssued"] == len(mine)
                assert points[category]["lastIssuedOn"] == max(e.timestamp for e in mine)
            assert sum(i["actionIssuedCount"] for i in payload["incentives"]) == sum(
                e.action is not None for e in evs)
            currencies = {c["currencyName"]: c for c in payload["alternateCurrencies"]}
            for name, item in currencies.items():
                mine = [e for e in evs if e.currency_name == name]
                assert float(item["totalCurrencyIssued"]) == sum(e.currency_amount for e in mine)
            checked += 1
    assert checked > 400


def test_bare_summary_envelope() -> None:
    with Sandbox(customers=50, summary_envelope="bare") as bare, requests.Session() as session:
        cid = first_customer(bare.data, ENROL_EARN)
        response = summary(session, bare, cid, ENROL_EARN)
        assert response.status_code == 200
        assert response.json() == bare.data.summary_payload(cid, ENROL_EARN)
        empty = first_customer(bare.data, ENROL_EARN, empty=True)
        assert summary(session, bare, empty, ENROL_EARN).json()["warnings"][0]["code"] == 8116


def test_customer_without_benefits_gets_8116(sb: Sandbox, http: requests.Session) -> None:
    cid = first_customer(sb.data, DOUBLE_POINTS, empty=True)
    response = summary(http, sb, cid, DOUBLE_POINTS)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "orgId": 51948, "programId": PROGRAM, "entityId": cid, "promotionId": DOUBLE_POINTS,
            "incentives": [],
            "warnings": [{"status": False, "code": 8116,
                          "message": "No promotion action summary found for the given "
                                     "promotionId"}],
        },
        "errors": None,
        "warnings": None,
    }


@pytest.mark.parametrize(("query", "customer", "status", "body"), [
    ({"promotionId": DOUBLE_POINTS}, 0, 400,
     v3_error(400, "Required query parameter programId or promotionId is missing")),
    ({"programId": PROGRAM}, 0, 400,
     v3_error(400, "Required query parameter programId or promotionId is missing")),
    ({"programId": "abc", "promotionId": DOUBLE_POINTS}, 0, 400,
     v3_error(400, "Required query parameter programId or promotionId is missing")),
    ({"programId": PROGRAM, "promotionId": ""}, 0, 400,
     v3_error(400, "Required query parameter programId or promotionId is missing")),
    ({"programId": 9999, "promotionId": DOUBLE_POINTS}, 0, 404,
     v3_error(9001, "Program not found")),
    ({"programId": PROGRAM, "promotionId": 42}, 0, 404, v3_error(3013, "Promotion not found")),
    ({"programId": PROGRAM, "promotionId": DOUBLE_POINTS}, 388_000_002, 404,
     v3_error(9002, "Customer not found")),
    ({"programId": PROGRAM, "promotionId": DOUBLE_POINTS}, 1, 404,
     v3_error(9002, "Customer not found")),
    ({"programId": PROGRAM, "promotionId": DOUBLE_POINTS}, "abc", 400,
     v3_error("COMMON.INVALID_INPUT", "customerId must be a number")),
])
def test_summary_errors(sb: Sandbox, http: requests.Session, query: dict, customer: Any,
                        status: int, body: dict) -> None:
    cid = sb.catalog()["customer_ids"][0] if customer == 0 else customer
    response = http.get(sb.url + SUMMARY.format(cid), params=query, headers=BASIC)
    assert response.status_code == status
    assert response.json() == body


def test_error_status_is_configurable() -> None:
    with Sandbox(customers=10, error_status=400) as other, requests.Session() as session:
        response = summary(session, other, 1, DOUBLE_POINTS)
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == 9002
        gateway = session.get(other.url + PROMOTION.format(PROGRAM, 7), headers=BASIC)
        assert gateway.status_code == 400 and gateway.json()["status"]["code"] == 4029


def test_activity_filter_scopes_incentives_and_points(sb: Sandbox, http: requests.Session
                                                      ) -> None:
    data = sb.data
    cid = next(c for c in data.customer_ids
               if {"activity_reward_1", "activity_points_1"}
               <= {e.activity_id for e in data.events(c, ENROL_EARN)})
    everything = summary(http, sb, cid, ENROL_EARN).json()["data"]
    scoped = summary(http, sb, cid, ENROL_EARN, activityId="activity_reward_1").json()["data"]
    assert {i["activityId"] for i in everything["incentives"]} > {"activity_reward_1"}
    assert [i["activityId"] for i in scoped["incentives"]] == ["activity_reward_1"]
    rewards = [e for e in data.events(cid, ENROL_EARN) if e.activity_id == "activity_reward_1"]
    assert scoped["points"][0]["numberOfTimesIssued"] == len(rewards)
    assert float(scoped["points"][0]["totalPointsIssued"]) == sum(e.points for e in rewards)
    assert float(scoped["points"][0]["totalPointsIssued"]) < float(
        everything["points"][0]["totalPointsIssued"])
    unknown = summary(http, sb, cid, ENROL_EARN, activityId="activity_nope").json()["data"]
    assert unknown["warnings"][0]["code"] == 8116 and unknown["incentives"] == []
    assert summary(http, sb, cid, ENROL_EARN, activityId="").json()["data"] == everything


# ---- promotion by id -----------------------------------------------------------------------


PROMOTION_KEYS = ["id", "name", "description", "promotionStatus", "lastUpdateDate",
                  "lastUpdatedBy", "rulesetInfos", "programName", "programId", "startDate",
                  "endDate", "identifier", "isActive", "eventName", "allocatePointsOn", "limits",
                  "useProportions", "pointsOfferType", "promotionRestrictions"]


@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_promotion_success_shape(sb: Sandbox, http: requests.Session, promotion_id: int) -> None:
    response = http.get(sb.url + PROMOTION.format(PROGRAM, promotion_id), headers=BASIC)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["status", "validationErrors", "data"]
    assert body["status"] == {"code": 200, "message": "success"}
    assert body["validationErrors"] is None
    assert isinstance(body["data"], list) and len(body["data"]) == 1
    promotion = body["data"][0]
    assert list(promotion) == PROMOTION_KEYS
    assert promotion["id"] == promotion_id and promotion["programId"] == PROGRAM
    assert promotion["pointsOfferType"] in {"GENERIC", "LOYALTY", "LOYALTY_EARNING"}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}",
                        promotion["identifier"])
    assert set(promotion["limits"]) == {"pointsPerCustomer", "numberOfTimesPerCustomer",
                                        "totalPointsInPromotion", "totalPointsPerEventLimit"}
    assert set(promotion["promotionRestrictions"]) == {
        "restrictions", "scope", "isStackable", "isConsideredForRanking", "loyaltyEarningType",
        "expiryReminder", "isExclusive", "isAlwaysApply"}
    ruleset = promotion["rulesetInfos"][0]
    assert ruleset["contextID"] == PROGRAM and ruleset["orgID"] == 51948
    for rule in ruleset["rules"]:
        assert isinstance(rule["startDate"], int) and isinstance(rule["endDate"], int)
        for action in rule["caseToActions"]["true"]:
            assert {"id", "actionName", "actionClass", "mandatoryPropertiesValues"} <= set(action)
    assert promotion == sb.data.promotion_payload(promotion_id)
    # The older form of the path, without /get, answers the same.
    older = http.get(sb.url + PROMOTION.format(PROGRAM, promotion_id)[:-4], headers=BASIC)
    assert older.json() == body


def test_promotion_errors(sb: Sandbox, http: requests.Session) -> None:
    bad_program = http.get(sb.url + PROMOTION.format(1, DOUBLE_POINTS), headers=BASIC)
    assert bad_program.status_code == 404
    assert bad_program.json() == {"status": {"code": 2010, "message": "Program ID is invalid."},
                                  "validationErrors": None, "data": None}
    for promotion in (12345, "abc"):
        bad = http.get(sb.url + PROMOTION.format(PROGRAM, promotion), headers=BASIC)
        assert bad.status_code == 404
        assert bad.json() == {"status": {"code": 4029, "message": "Promotion ID is invalid."},
                              "validationErrors": None, "data": None}


def test_promotions_cover_the_documented_restrictions(sb: Sandbox) -> None:
    payloads = [sb.data.promotion_payload(pid) for pid in sb.data.promotion_ids]
    items = []
    for payload in payloads:
        restrictions = payload["promotionRestrictions"]["restrictions"]
        for family in ("issualRestrictions", "earnRestrictions", "redemptionRestrictions",
                       "expiryRestrictions"):
            items += (restrictions or {}).get(family) or []
    names = {item["name"] for item in items}
    assert names >= {
        "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "MAX_NUMBER_OF_EARNS_PER_CUSTOMER",
        "MAX_ALLOWED_POINTS_PER_CUSTOMER", "MAX_ALLOWED_TIMES_PER_CUSTOMER",
        "MAX_ALLOWED_POINTS_PER_PROMOTION", "MAX_NUMBER_OF_EARNS_PER_PROMOTION",
        "MAX_ALLOWED_TIMES_PER_PROMOTION", "MAX_ALLOWED_POINTS_PER_EVENT",
        "MAX_POINTS_PER_EARN_PER_CUSTOMER", "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER",
        "ISSUAL_PROMOTION_EXPIRY_BASED_ON", "EARN_PROMOTION_EXPIRY_BASED_ON"}
    periodic = [i for i in items if i.get("type") == "PERIOD_BASED"]
    assert {i["periodUnit"] for i in periodic} == {"DAILY", "WEEKLY", "MONTHLY"}
    assert {i["periodType"] for i in periodic} == {"MOVING_WINDOW"}
    assert any(i["value"] == -1 for i in items)
    assert any(i["value"] > 100 for i in items)
    assert sum(p["promotionRestrictions"]["restrictions"] is None for p in payloads) == 1
    legacy = [p["limits"] for p in payloads]
    assert any(all(v == 0 for v in limits.values()) for limits in legacy)
    assert any(all(v > 0 for v in limits.values()) for limits in legacy)


# ---- the data model --------------------------------------------------------------------------


def limits_of(payload: dict) -> list[dict]:
    """Per-customer / per-event limits as the module docstring defines them."""
    restrictions = payload["promotionRestrictions"]["restrictions"]
    if restrictions is None:
        legacy = {"pointsPerCustomer": "MAX_ALLOWED_POINTS_PER_CUSTOMER",
                  "numberOfTimesPerCustomer": "MAX_ALLOWED_TIMES_PER_CUSTOMER",
                  "totalPointsPerEventLimit": "MAX_ALLOWED_POINTS_PER_EVENT"}
        return [{"name": name, "value": payload["limits"][key]}
                for key, name in legacy.items() if payload["limits"][key]]
    return [item for family in ("issualRestrictions", "earnRestrictions",
                                "redemptionRestrictions") for item in restrictions[family]
            if item["name"] not in PROMOTION_QUANTITY]


QUANTITY = {
    "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER": lambda e: e.action is not None,
    "MAX_NUMBER_OF_EARNS_PER_CUSTOMER": lambda e: e.points > 0,
    "MAX_ALLOWED_POINTS_PER_CUSTOMER": lambda e: e.points,
    "MAX_ALLOWED_TIMES_PER_CUSTOMER": lambda e: 1,
}
PROMOTION_QUANTITY = {
    "MAX_ALLOWED_POINTS_PER_PROMOTION": QUANTITY["MAX_ALLOWED_POINTS_PER_CUSTOMER"],
    "MAX_NUMBER_OF_EARNS_PER_PROMOTION": QUANTITY["MAX_NUMBER_OF_EARNS_PER_CUSTOMER"],
    "MAX_ALLOWED_TIMES_PER_PROMOTION": QUANTITY["MAX_ALLOWED_TIMES_PER_CUSTOMER"],
}


def iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_events_obey_every_restriction(cohort: tuple[SandboxData, dict]) -> None:
    data, events = cohort
    for pid in data.promotion_ids:
        payload = data.promotion_payload(pid)
        limits = [i for i in limits_of(payload) if i["value"] >= 0]
        lo = max(iso_ms(payload["startDate"]), DATA_START_MS)
        hi = min(iso_ms(payload["endDate"]), AS_OF_MS)
        expiry = [i["value"] for i in (payload["promotionRestrictions"]["restrictions"] or {})
                  .get("expiryRestrictions", []) if i["type"] == "CUSTOM"]
        for evs in events[pid].values():
            stamps = [e.timestamp for e in evs]
            assert stamps == sorted(set(stamps))
            assert all(lo <= t <= hi for t in stamps)
            for e in evs:
                assert (e.points > 0) == (e.points_category is not None)
                assert (e.currency_amount > 0) == (e.currency_name is not None)
                assert (e.action is None) == (e.action_id is None)
            for days in expiry:
                assert all(t - stamps[0] <= days * 86_400_000 for t in stamps)
            for item in limits:
                name, value = item["name"], item["value"]
                if name in ("MAX_ALLOWED_POINTS_PER_EVENT", "MAX_POINTS_PER_EARN_PER_CUSTOMER"):
                    assert all(e.points <= value for e in evs), (pid, name)
                elif name in QUANTITY and item.get("type") == "PERIOD_BASED":
                    width = WINDOW_MS[item["periodUnit"]]
                    for i, last in enumerate(evs):
                        inside = [e for e in evs[: i + 1] if e.timestamp > last.timestamp - width]
                        assert sum(QUANTITY[name](e) for e in inside) <= value, (pid, name)
                elif name in QUANTITY:
                    assert sum(QUANTITY[name](e) for e in evs) <= value, (pid, name)
        # Promotion-wide caps hold for the whole cohort.
        for item in (payload["promotionRestrictions"]["restrictions"] or {}).get(
                "redemptionRestrictions", []) + (payload["promotionRestrictions"][
                "restrictions"] or {}).get("earnRestrictions", []):
            if item["name"] in PROMOTION_QUANTITY and item["value"] >= 0:
                used = sum(PROMOTION_QUANTITY[item["name"]](e) for evs in events[pid].values()
                           for e in evs)
                assert 0 < used <= item["value"], (pid, item["name"])
        if payload["limits"]["totalPointsInPromotion"]:
            used = sum(e.points for evs in events[pid].values() for e in evs)
            assert used <= payload["limits"]["totalPointsInPromotion"]


def test_realistic_shares_of_empty_and_capped_customers(cohort: tuple[SandboxData, dict]
                                                        ) -> None:
    data, events = cohort
    for pid in data.promotion_ids:
        lifetime = [i for i in limits_of(data.promotion_payload(pid)) if i["name"] in QUANTITY
                    and i.get("type") != "PERIOD_BASED" and i["value"] > 0]
        per_customer = events[pid].values()
        empty = sum(not evs for evs in per_customer)
        at_cap = sum(any(sum(QUANTITY[i["name"]](e) for e in evs) == i["value"] for i in lifetime)
                     for evs in per_customer)
        assert 0.08 <= empty / 2000 <= 0.22, pid
        assert 0.04 <= at_cap / 2000 <= 0.18, pid


def test_true_usage_follows_the_documented_mapping(cohort: tuple[SandboxData, dict]) -> None:
    data, events = cohort
    for pid in data.promotion_ids:
        items = limits_of(data.promotion_payload(pid))
        for cid in data.customer_ids[:300]:
            evs = events[pid][cid]
            usage = data.true_usage(cid, pid)
            assert set(usage) == {i["name"] for i in items}
            for item in items:
                name = item["name"]
                if name in ("MAX_ALLOWED_POINTS_PER_EVENT", "MAX_POINTS_PER_EARN_PER_CUSTOMER"):
                    expected = max((e.points for e in evs), default=0.0)
                elif name == "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER":
                    enrolment = data.enrolment(cid, pid)
                    expected = float(max((i.redeemed for i in enrolment.issuals), default=0)
                                     if enrolment else 0)
                    assert expected <= (item["value"] if item["value"] >= 0 else 3)
                elif item.get("type") == "PERIOD_BASED":
                    start = AS_OF_MS - WINDOW_MS[item["periodUnit"]]
                    expected = sum(QUANTITY[name](e) for e in evs if e.timestamp > start)
                else:
                    expected = sum(QUANTITY[name](e) for e in evs)
                assert usage[name] == expected and isinstance(usage[name], float), (pid, name)
    # The daily window ending at SANDBOX_AS_OF (a Sunday) sees Saturday's weekend purchases.
    assert any(data.true_usage(cid, DOUBLE_POINTS)["MAX_ALLOWED_TIMES_PER_CUSTOMER"] > 0
               for cid in data.customer_ids)


def test_data_is_deterministic_per_seed() -> None:
    first, again, other = SandboxData(120, seed=0), SandboxData(120, seed=0), SandboxData(120, 1)
    for pid in first.promotion_ids:
        assert first.promotion_payload(pid) == again.promotion_payload(pid)
        mine = [first.summary_payload(cid, pid) for cid in first.customer_ids]
        assert mine == [again.summary_payload(cid, pid) for cid in again.customer_ids]
        assert mine != [other.summary_payload(cid, pid) for cid in other.customer_ids]


def test_payloads_are_identical_across_sandboxes() -> None:
    def fetch(sandbox: Sandbox, session: requests.Session) -> list[bytes]:
        bodies = [session.get(sandbox.url + PROMOTION.format(PROGRAM, pid), headers=BASIC).content
                  for pid in sandbox.data.promotion_ids]
        for cid in sandbox.catalog()["customer_ids"][::20]:
            for pid in sandbox.data.promotion_ids:
                bodies.append(summary(session, sandbox, cid, pid).content)
        return bodies

    with requests.Session() as session:
        with Sandbox(customers=100, seed=7) as one:
            first = fetch(one, session)
        with Sandbox(customers=100, seed=7) as two:
            second = fetch(two, session)
        with Sandbox(customers=100, seed=8) as three:
            third = fetch(three, session)
    assert first == second
    assert first != third


# ---- server behaviour ------------------------------------------------------------------------


def test_rate_limit_per_api_key() -> None:
    now = [0.0]
    with Sandbox(customers=20, rate_limit_per_min=30) as limited, requests.Session() as session:
        url = limited.url + PROMOTION.format(PROGRAM, DOUBLE_POINTS)
        statuses = [session.get(url, headers=BASIC).status_code for _ in range(30)]
        assert statuses == [200] * 30
        refused = session.get(url, headers=BASIC)
        assert refused.status_code == 429
        assert refused.json() == v3_error(429, "Too many requests")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Another API key has its own window; token generation is never limited.
        token = session.post(limited.url + TOKEN, json={
            "key": SANDBOX_CLIENT_KEY, "secret": SANDBOX_CLIENT_SECRET}).json()["data"]
        oauth = {"X-CAP-API-OAUTH-TOKEN": token["accessToken"]}
        assert session.get(url, headers=oauth).status_code == 200
        stats = limited.stats()
        assert stats["rate_limited"] == 1 and stats["status_counts"]["429"] == 1
        assert stats["max_window_requests"] == 30
    # The window slides, and refused requests do not count towards it.
    app = SandboxApp(SandboxData(customers=10), rate_limit_per_min=3, clock=lambda: now[0])
    get = Request("GET", PROMOTION.format(PROGRAM, GOLD_TIER), BASIC)
    for moment in (0.0, 10.0, 20.0):
        now[0] = moment
        assert app.respond(get).status == 200
    now[0] = 30.0
    refused_response = app.respond(get)
    assert refused_response.status == 429
    assert dict(refused_response.headers)["Retry-After"] == "30"
    now[0] = 59.5
    assert dict(app.respond(get).headers)["Retry-After"] == "1"
    now[0] = 60.0
    assert app.respond(get).status == 200
    assert app.respond(get).status == 429
    assert app.stats()["rate_limited"] == 3
    # A shorter window (for fast tests elsewhere) slides the same way.
    now[0] = 0.0
    quick = SandboxApp(SandboxData(customers=10), rate_limit_per_min=2, rate_limit_window=2.0,
                       clock=lambda: now[0])
    assert [quick.respond(get).status for _ in range(3)] == [200, 200, 429]
    now[0] = 2.0
    assert quick.respond(get).status == 200


def test_latency_is_applied() -> None:
    with Sandbox(customers=10, latency_ms=60) as slow, requests.Session() as session:
        url = slow.url + PROMOTION.format(PROGRAM, DOUBLE_POINTS)
        session.get(url, headers=BASIC)
        elapsed = []
        for _ in range(5):
            start = time.perf_counter()
            session.get(url, headers=BASIC)
            elapsed.append(time.perf_counter() - start)
        stats_start = time.perf_counter()
        session.get(slow.url + "/__sandbox__/stats")
        stats_elapsed = time.perf_counter() - stats_start
    assert min(elapsed) >= 0.048
    assert sum(elapsed) / len(elapsed) < 0.2
    assert stats_elapsed < 0.048


def test_stats_endpoint_and_request_ids(sb: Sandbox, http: requests.Session) -> None:
    sb.reset_stats()
    cid = sb.catalog()["customer_ids"][1]
    ids = []
    for response in (summary(http, sb, cid, GOLD_TIER), summary(http, sb, cid, GOLD_TIER),
                     http.get(sb.url + PROMOTION.format(PROGRAM, 1), headers=BASIC),
                     http.get(sb.url + "/v3/nothing/here", headers=BASIC),
                     http.post(sb.url + SUMMARY.format(cid), headers=BASIC),
                     http.get(sb.url + TOKEN)):
        assert response.headers["Content-Type"] == "application/json"
        ids.append(response.headers["X-Cap-Requestid"])
    assert all(re.fullmatch(r"sbx-\d+", i) for i in ids) and len(set(ids)) == len(ids)
    stats = http.get(sb.url + "/__sandbox__/stats").json()
    assert stats == sb.stats()
    assert stats["requests"] == 6
    assert stats["by_path"] == {
        "/v3/customers/{customerId}/customerPromotionDetails/actionSummary": 3,
        "/api_gateway/loyalty/v1/programs/{programId}/promotions/{promotionId}/get": 1,
        "<unknown>": 1,
        "/v3/oauth/token/generate": 1,
    }
    assert stats["status_counts"] == {"200": 2, "404": 2, "405": 2}
    assert stats["rate_limited"] == 0 and stats["tokens_issued"] == 0
    sb.reset_stats()
    assert sb.stats() == {"requests": 0, "by_path": {}, "status_counts": {}, "rate_limited": 0,
                          "tokens_issued": 0, "max_window_requests": 0, "faults": {}}


def test_wrong_method_and_unknown_path(sb: Sandbox, http: requests.Session) -> None:
    wrong = http.post(sb.url + SUMMARY.format(1), headers=BASIC)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"
    assert wrong.json()["errors"][0]["code"] == 405
    assert http.delete(sb.url + TOKEN).status_code == 405
    missing = http.get(sb.url + "/v2/customers/get", headers=BASIC)
    assert missing.status_code == 404 and missing.json()["data"] is None


def test_keep_alive_answers_quickly(sb: Sandbox) -> None:
    host, port = sb.url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=10)
    try:
        start = time.perf_counter()
        for cid in sb.catalog()["customer_ids"][:200]:
            connection.request("GET", SUMMARY.format(cid) + f"?programId={PROGRAM}"
                               f"&promotionId={DOUBLE_POINTS}", headers=BASIC)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        per_request = (time.perf_counter() - start) / 200
    finally:
        connection.close()
    # A response split into two TCP writes would wait ~40 ms for a delayed ACK each time.
    assert per_request < 0.02


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_million_customers_cost_no_memory() -> None:
    before = rss_kib()
    with Sandbox(customers=1_000_000, seed=3) as big:
        ids = big.catalog()["customer_ids"]
        assert len(ids) == 1_000_000 and isinstance(ids, range)
        host, port = big.url.removeprefix("http://").split(":")
        connection = HTTPConnection(host, int(port), timeout=10)
        try:
            for k in range(2000):
                cid = ids[k * 499 + 17]
                pid = big.data.promotion_ids[k % 4]
                connection.request("GET", SUMMARY.format(cid) + f"?programId={PROGRAM}"
                                   f"&promotionId={pid}", headers=BASIC)
                response = connection.getresponse()
                assert response.status == 200
                response.read()
        finally:
            connection.close()
        assert big.data.has_customer(ids[-1]) and not big.data.has_customer(ids[-1] + 7)
        grown_mib = (rss_kib() - before) / 1024
    assert grown_mib < 50


def test_client_factory_uses_sandbox_credentials(sb: Sandbox) -> None:
    pytest.importorskip("capnb.api.client")
    pytest.importorskip("capnb.api.auth")
    assert capnb.connect(sb.environ()) is not None
    assert capnb.connect(sb.environ("oauth")) is not None
    with pytest.raises(ValueError):
        capnb.connect(sb.environ("kerberos"))
