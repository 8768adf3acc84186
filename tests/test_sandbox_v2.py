"""The sandbox's related endpoints (lookup, v2 summary, programs, promotions list,
promotionData): documented shapes and errors, and agreement with the v3 data and the truth."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID, SandboxData
from capnb.sandbox.app import Request, SandboxApp
from capnb.sandbox.v2 import IDENTIFIER_NAMES, identifier_of, resolve
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS

BASIC = {"Authorization": "Basic " + base64.b64encode(
    f"{SANDBOX_TILL_ID}:{hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()}".encode()).decode()}
LOOKUP = "/v2/customers/lookup"
V2_SUMMARY = "/v2/customers/lookup/customerPromotionDetails/actionSummary"
PROMOTION_DATA = "/v2/customers/lookup/promotionData"
PROGRAMS = "/v2/organization/programs"
LIST = "/api_gateway/loyalty/v1/programs/promotions/list"


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(SandboxData(300, seed=0))


def get(app: SandboxApp, path: str, **query: Any) -> tuple[int, dict[str, Any]]:
    target = path + (f"?{urlencode(query)}" if query else "")
    response = app.respond(Request("GET", target, BASIC))
    return response.status, json.loads(response.body)


def ident(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"source": "INSTORE", "identifierName": name, "identifierValue": value, **extra}



def error_code(body: dict[str, Any]) -> int:
    assert body["errors"][0]["status"] is False and body["warnings"] == []
    return body["errors"][0]["code"]


# -- lookup ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", IDENTIFIER_NAMES)
def test_lookup_resolves_every_identifier(app: SandboxApp, name: str) -> None:
    customer = app.data.customer_ids[17]
    status, body = get(app, LOOKUP, **ident(name, identifier_of(customer, name)))
    assert status == 200 and body == {"entity": customer, "warnings": []}
    assert resolve(app.data, name, identifier_of(customer, name)) == customer


def test_identifiers_have_the_documented_forms() -> None:
    assert identifier_of(388000001, "mobile") == "910388000001"
    assert identifier_of(388000001, "email") == "c388000001@example.com"
    assert identifier_of(388000001, "externalId") == "EXT388000001"
    with pytest.raises(ValueError):
        identifier_of(1, "passport")


@pytest.mark.parametrize("name, value", [
    ("mobile", "910388000002"),           # not a customer (ids step by 7)
    ("mobile", "91038800000"),            # too short
    ("email", "x388000001@example.com"),
    ("externalId", "EXT0388000001"),      # not the canonical spelling
    ("id", "999"),
    ("mobile", "9103880000０1"),          # non-ASCII digits
])
def test_unknown_identifier_is_8015(app: SandboxApp, name: str, value: str) -> None:
    status, body = get(app, LOOKUP, **ident(name, value))
    assert 400 <= status < 500 and error_code(body) == 8015
    assert body["errors"][0]["message"] == "Customer not found"


@pytest.mark.parametrize("query", [
    {"identifierName": "mobile", "identifierValue": "910388000001"},   # no source
    {"source": "INSTORE", "identifierValue": "910388000001"},
    {"source": "INSTORE", "identifierName": "mobile"},
    ident("passport", "X1"),
])
def test_lookup_missing_or_bad_parameters_are_8883(app: SandboxApp, query: dict) -> None:
    status, body = get(app, LOOKUP, **query)
    assert status == 400 and error_code(body) == 8883


def test_v2_endpoints_need_auth(app: SandboxApp) -> None:
    response = app.respond(Request("GET", LOOKUP + "?" + urlencode(ident("id", 388000001))))
    assert response.status == 401


# -- v2 action summary -------------------------------------------------------------------------

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_v2_summary_carries_the_same_benefits_as_v3(app: SandboxApp, promotion_id: int) -> None:
    data = app.data
    checked = 0
    for customer in data.customer_ids[:40]:
        v3 = data.summary_payload(customer, promotion_id)
        status, v2 = get(app, V2_SUMMARY, **ident("mobile", identifier_of(customer, "mobile"),
                                                  programId=PROGRAM, promotionId=promotion_id))
        assert status == 200 and v2["customerId"] == customer and "entityId" not in v2
        if v3["warnings"]:
            assert [w["code"] for w in v2["warnings"]] == [8116]
            assert v2["points"] == v2["rewards"] == v2["badges"] == v2["incentives"] == []
            continue
        checked += 1
        assert v2["warnings"] == []
        for item in v2["points"]:
            assert isinstance(item["totalPointsIssued"], float) and ISO.fullmatch(
                item["lastIssuedOn"])
        assert [(p["pointsCategory"], p["totalPointsIssued"], p["numberOfTimesIssued"],
                 _ms(p["lastIssuedOn"])) for p in v2["points"]] == [
            (p["pointsCategory"], float(p["totalPointsIssued"]), p["numberOfTimesIssued"],
             p["lastIssuedOn"]) for p in v3["points"]]
        incentives = sorted(
            [(i["activityId"], i["action"], i["actionId"], i["actionIssuedCount"],
              _ms(i["lastIssuedOn"])) for i in v2["incentives"]]
            + [(r["activityId"], "REWARD", r["rewardSeriesId"], r["numberOfTimesIssued"],
                _ms(r["lastIssuedOn"])) for r in v2["rewards"]]
            + [(b["activityId"], "BADGES", b["badgeSeriesId"], b["numberOfTimesIssued"],
                _ms(b["lastIssuedOn"])) for b in v2["badges"]], key=repr)
        assert incentives == sorted([(i["activityId"], i["action"], i["actionId"],
                                      i["actionIssuedCount"], i["lastIssuedOn"])
                                     for i in v3["incentives"]], key=repr)
        assert all(i["action"] not in ("REWARD", "BADGES") for i in v2["incentives"])
        currencies = [(c["alternateCurrencyName"], s["totalIssued"], s["numberOfTimesIssued"],
                       _ms(s["lastIssuedOn"])) for c in v2["alternateCurrencies"]
                      for s in c["alternateCurrencySubDetails"]]
        assert currencies == [(c["currencyName"], float(c["totalCurrencyIssued"]),
                               c["numberOfTimesIssued"], c["lastIssuedOn"])
                              for c in v3["alternateCurrencies"]]
    assert checked > 20


def test_v2_summary_by_promotion_identifier(app: SandboxApp) -> None:
    customer = app.data.customer_ids[3]
    uuid = app.data.promotion_payload(GOLD_TIER)["identifier"]
    by_id = get(app, V2_SUMMARY, **ident("id", customer, programId=PROGRAM,
                                         promotionId=GOLD_TIER))
    by_uuid = get(app, V2_SUMMARY, **ident("id", customer, programId=PROGRAM,
                                           promotionIdentifier=uuid))
    assert by_id == by_uuid


@pytest.mark.parametrize("query, status, code", [
    (ident("id", 388000001, programId=PROGRAM, promotionId=1), 404, 8874),
    (ident("id", 388000001, programId=999, promotionId=GOLD_TIER), 404, 8874),
    (ident("id", 388000001, programId=PROGRAM, promotionIdentifier="nope"), 404, 8874),
    (ident("id", 388000002, programId=PROGRAM, promotionId=GOLD_TIER), 404, 8015),
    (ident("id", 388000001, programId=PROGRAM), 400, 8883),
    (ident("id", 388000001, promotionId=GOLD_TIER), 400, 8883),
    ({"identifierName": "id", "identifierValue": 388000001, "programId": PROGRAM,
      "promotionId": GOLD_TIER}, 400, 8883),
])
def test_v2_summary_errors(app: SandboxApp, query: dict, status: int, code: int) -> None:
    got_status, body = get(app, V2_SUMMARY, **query)
    assert got_status == status and error_code(body) == code


# -- programs and the promotions list ------------------------------------------------------------

def test_programs(app: SandboxApp) -> None:
    status, body = get(app, PROGRAMS)
    assert status == 200 and body["warnings"] == [] and body["errors"] == []
    assert body["data"] == [{"programId": PROGRAM, "programName": "Sandbox Rewards",
                             "programDescription": "Sandbox Rewards loyalty program",
                             "pointsToCurrencyRatio": 1.0, "partnerPrograms": [],
                             "default": True}]


def test_promotions_list_pages(app: SandboxApp) -> None:
    seen = []
    for page in range(3):
        status, body = get(app, LIST, limit=3, offset=page, program=PROGRAM)
        assert status == 200 and body["status"] == {"code": 200, "message": "success"}
        assert body["pageDetails"] == {"pageNumber": page, "pageSize": 3, "totalEntries": 4,
                                       "pageCount": 2}
        seen += [p["id"] for p in body["data"]]
    assert seen == app.data.promotion_ids  # the third page is empty
    status, body = get(app, LIST, limit=10, offset=0)  # program defaults to the org's
    assert body["data"] == [app.data.promotion_payload(p) for p in app.data.promotion_ids]


def test_promotions_list_status_filter(app: SandboxApp) -> None:
    _, body = get(app, LIST, limit=10, offset=0, status="completed")
    assert [p["id"] for p in body["data"]] == [SUMMER_COUPONS]
    assert body["pageDetails"]["totalEntries"] == 1
    _, body = get(app, LIST, limit=10, offset=0, status="LIVE,COMPLETED")
    assert len(body["data"]) == 4
    _, body = get(app, LIST, limit=10, offset=0, status="UPCOMING")
    assert body["data"] == [] and body["pageDetails"]["pageCount"] == 0


@pytest.mark.parametrize("query, status, code", [
    ({"offset": 0}, 400, 4054), ({"limit": 10}, 400, 4054), ({}, 400, 4054),
    ({"limit": 0, "offset": 0}, 400, 4054), ({"limit": "x", "offset": 0}, 400, 4054),
    ({"limit": 10, "offset": 0, "program": 999}, 404, 2010),
])
def test_promotions_list_errors(app: SandboxApp, query: dict, status: int, code: int) -> None:
    got_status, body = get(app, LIST, **query)
    assert got_status == status and body["status"]["code"] == code and body["data"] is None


# -- promotionData -----------------------------------------------------------------------------

def test_promotion_data_usage_equals_the_truth(app: SandboxApp) -> None:
    data = app.data
    period_based = 0
    for customer in data.customer_ids[:60]:
        status, body = get(app, PROMOTION_DATA, **ident("id", customer))
        assert status == 200 and body["customerId"] == customer
        # every promotion the points engine runs, new-UI ones included (issue 15)
        assert [p["promotionId"] for p in body["data"]] == data.engine_promotion_ids
        for entry in body["data"]:
            truth = data.true_usage(customer, entry["promotionId"])
            items = [i for family in entry["promotionRestriction"].values() for i in family]
            customer_items = [i for i in items if i["limitOn"] == "CUSTOMER"]
            assert len(customer_items) == len([n for n in truth if "PER_EVENT" not in n
                                               and n != "MAX_POINTS_PER_EARN_PER_CUSTOMER"])
            for item in items:
                assert isinstance(item["maxLimit"], str)
                if item["limitOn"] == "EVENT":
                    assert "currentCustomerUsage" not in item
                else:
                    assert re.fullmatch(r"\d+\.000", item["currentCustomerUsage"])
                period_based += item["type"] == "PERIOD_BASED"
            usage = sorted(float(i["currentCustomerUsage"]) for i in customer_items)
            expected = sorted(v for n, v in truth.items() if "PER_EVENT" not in n
                              and n != "MAX_POINTS_PER_EARN_PER_CUSTOMER")
            assert usage == expected
    assert period_based > 0


def test_promotion_data_shape_of_limits(app: SandboxApp) -> None:
    customer = app.data.customer_ids[5]
    _, body = get(app, PROMOTION_DATA, **ident("email", identifier_of(customer, "email"),
                                               programs=str(PROGRAM)))
    entry = {p["promotionId"]: p for p in body["data"]}[GOLD_TIER]
    assert entry["limits"]["numberOFTimesPerCustomer"] == "12"
    assert entry["limits"]["pointsPerCustomer"] == "2000.000"
    events = app.data.events(customer, GOLD_TIER)
    assert entry["customerUsage"]["currentNumberOfTimesPerCustomer"] == str(len(events))
    assert float(entry["customerUsage"]["currentPointsPerCustomer"]) == sum(
        e.points for e in events)
    unlimited = [i for i in {p["promotionId"]: p for p in body["data"]}[DOUBLE_POINTS][
        "promotionRestriction"]["redemptionRestrictions"] if i["maxLimit"] == "-1"]
    assert len(unlimited) == 1 and unlimited[0]["kpi"] == "NUMBER_OF_TIMES"


def test_promotion_data_filters_and_pages(app: SandboxApp) -> None:
    customer = app.data.customer_ids[5]
    _, body = get(app, PROMOTION_DATA, **ident("id", customer, programs="999"))
    assert body["data"] == []
    _, body = get(app, PROMOTION_DATA, **ident("id", customer, limit=3, offset=1))
    assert [p["promotionId"] for p in body["data"]] == [GOLD_TIER,
                                                        *app.data.new_ui_promotion_ids]


@pytest.mark.parametrize("query, status, code", [
    (ident("id", 388000002), 404, 8015),
    (ident("mobile", "910388000002"), 404, 8015),
    ({"identifierName": "id", "identifierValue": 388000001}, 400, 8883),
])
def test_promotion_data_errors(app: SandboxApp, query: dict, status: int, code: int) -> None:
    got_status, body = get(app, PROMOTION_DATA, **query)
    assert got_status == status and error_code(body) == code
