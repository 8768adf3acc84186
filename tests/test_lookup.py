"""Client methods of the related endpoints (lookup, v2 summary, programs, promotions list,
promotionData) and their parsers: against the sandbox, and edge shapes from a scripted server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import capnb
from capnb import BasicAuth, Client
from capnb.api.lookup import parse_lookup, parse_v2_action_summary
from capnb.api.promotion_data import parse_promotion_data
from capnb.errors import (
    BadRequest,
    CustomerNotFound,
    NotFound,
    ProgramNotFound,
    PromotionNotFound,
    ResponseFormatError,
    ValidationError,
)
from capnb.sandbox.v2 import identifier_of
from capnb.schema import PROGRAM_COLUMNS, PROMOTION_LIST_COLUMNS, PROMOTION_USAGE_COLUMNS
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS
from tests.scripted import Scripted

LIST_ROUTE = "/api_gateway/loyalty/v1/programs/promotions/list"


def fast_client(url: str) -> Client:
    return Client(url, BasicAuth("till", "pw"), max_retries=1, backoff=0.001)


def sort_incentives(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["action", "action_id", "activity_id"],
                             kind="stable").reset_index(drop=True)


def query_of(request: dict) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request["path"]).query).items()}


# -- lookup ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mobile", "email", "externalId", "cardnumber", "id"])
def test_lookup_customer(sandbox, name):
    customer = sandbox.data.customer_ids[11]
    with capnb.connect(sandbox.environ()) as client:
        assert client.lookup_customer(name, identifier_of(customer, name)) == customer


def test_lookup_unknown_customer(sandbox):
    with capnb.connect(sandbox.environ()) as client, pytest.raises(CustomerNotFound) as info:
        client.lookup_customer("mobile", "910000000000")
    assert info.value.code == 8015 and info.value.request_id.startswith("sbx-")


@pytest.mark.parametrize("kwargs, parameter", [
    ({"identifier_name": "passport", "identifier_value": "1"}, "identifier_name"),
    ({"identifier_name": "mobile", "identifier_value": " "}, "identifier_value"),
    ({"identifier_name": "mobile", "identifier_value": None}, "identifier_value"),
    ({"identifier_name": "mobile", "identifier_value": "91", "source": ""}, "source"),
])
def test_lookup_validation_before_any_request(scripted, kwargs, parameter):
    with pytest.raises(ValidationError) as info:
        fast_client(scripted.url).lookup_customer(**kwargs)
    assert info.value.parameter == parameter and scripted.requests == []


@pytest.mark.parametrize("body, expected", [
    ({"entity": 42, "warnings": []}, 42),
    ({"entity": "42", "warnings": []}, 42),
    ({"entity": {"id": 42}}, 42),
    ({"data": {"entity": 42}, "errors": None}, 42),
])
def test_parse_lookup_shapes(body, expected):
    assert parse_lookup(body) == expected


@pytest.mark.parametrize("body", [{"warnings": []}, {"entity": "abc"}, {"entity": 0}, [1]])
def test_parse_lookup_rejects_bodies_without_an_id(body):
    with pytest.raises(ResponseFormatError):
        parse_lookup(body)


# -- v2 action summary -------------------------------------------------------------------------

@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_v2_and_v3_summaries_give_the_same_frames(sandbox, promotion_id):
    with capnb.connect(sandbox.environ()) as client:
        compared = 0
        for customer in sandbox.data.customer_ids[:25]:
            v3 = client.action_summary(customer, PROGRAM, promotion_id)
            v2 = client.action_summary_by_identifier(
                "mobile", identifier_of(customer, "mobile"), PROGRAM, promotion_id)
            assert (v2.customer_id, v2.program_id, v2.promotion_id, v2.org_id, v2.empty) == (
                v3.customer_id, v3.program_id, v3.promotion_id, v3.org_id, v3.empty)
            assert [w.code for w in v2.warnings] == [w.code for w in v3.warnings]
            assert_frame_equal(sort_incentives(v2.incentives), sort_incentives(v3.incentives))
            assert_frame_equal(v2.points, v3.points)
            assert_frame_equal(v2.alternate_currencies, v3.alternate_currencies)
            compared += not v3.empty
    assert compared > 10


def test_v2_summary_activity_filter(sandbox):
    customer = sandbox.data.customer_ids[2]
    with capnb.connect(sandbox.environ()) as client:
        v3 = client.action_summary(customer, PROGRAM, DOUBLE_POINTS, "activity_points_1")
        v2 = client.action_summary_by_identifier("id", customer, PROGRAM, DOUBLE_POINTS,
                                                 activity_id="activity_points_1")
    assert_frame_equal(v2.points, v3.points)


@pytest.mark.parametrize("args, error", [
    (("mobile", "910000000000", PROGRAM, GOLD_TIER), CustomerNotFound),
    (("id", 388000001, PROGRAM, 1), PromotionNotFound),
])
def test_v2_summary_errors(sandbox, args, error):
    with capnb.connect(sandbox.environ()) as client, pytest.raises(error):
        client.action_summary_by_identifier(*args)


def test_v2_summary_8883_is_bad_request(scripted):
    scripted.add(Scripted(400, {"errors": [{"status": False, "code": 8883,
                                            "message": "Missing parameters"}]}))
    with pytest.raises(BadRequest) as info:
        fast_client(scripted.url).action_summary_by_identifier("id", 5, PROGRAM, 7)
    assert info.value.code == 8883
    assert query_of(scripted.requests[0]) == {"source": "INSTORE", "identifierName": "id",
                                              "identifierValue": "5", "programId": "3334",
                                              "promotionId": "7"}


@pytest.mark.parametrize("status, error", [(400, BadRequest), (404, NotFound)])
def test_v2_summary_8105_keeps_its_code_and_message(scripted, status, error):
    # 8105 is listed among the endpoint's errors without a meaning: typed by its HTTP status
    scripted.add(Scripted(status, {"errors": [{"status": False, "code": 8105,
                                               "message": "Request could not be served"}]}))
    with pytest.raises(error) as info:
        fast_client(scripted.url).action_summary_by_identifier("id", 5, PROGRAM, 7)
    assert info.value.code == 8105 and "Request could not be served" in str(info.value)
    assert len(scripted.requests) == 1  # a 4xx is never retried


def test_v2_summary_validation(scripted):
    with pytest.raises(ValidationError) as info:
        fast_client(scripted.url).action_summary_by_identifier("id", 5, PROGRAM, "x")
    assert info.value.parameter == "promotion_id" and scripted.requests == []


def test_v2_summary_edge_shapes():
    body = {
        "customerId": "17", "programId": 3334, "promotionId": 9, "orgId": 1,
        "points": [{"pointsCategory": "BONUS_POINTS", "totalPointsIssued": 12,
                    "numberOfTimesIssued": 1, "lastIssuedOn": "2025-07-01T10:00:00+05:30"}],
        "rewards": [{"rewardSeriesId": "133423", "numberOfTimesIssued": 2,
                     "lastIssuedOn": None}],
        "badges": None,
        "alternateCurrencies": [{"alternateCurrencyName": "STARS",
                                 "alternateCurrenciesSubDetails": [
                                     {"alternateCurrencyType": "ISSUED", "totalIssued": "3.5",
                                      "numberOfTimesIssued": 2,
                                      "lastIssuedOn": "2025-07-02T00:00:00+05:30"},
                                     {"alternateCurrencyType": "ISSUED", "totalIssued": 1,
                                      "numberOfTimesIssued": 1,
                                      "lastIssuedOn": "2025-07-01T00:00:00+05:30"},
                                     {"alternateCurrencyType": "REDEEMED", "totalIssued": 99,
                                      "numberOfTimesIssued": 9, "lastIssuedOn": None}]}],
        "warnings": [], "errors": [],
    }
    summary = parse_v2_action_summary(body, request_id="r1")
    assert summary.customer_id == 17 and not summary.empty and summary.request_id == "r1"
    assert summary.points["last_issued_on"][0] == pd.Timestamp("2025-07-01T04:30:00Z")
    assert summary.incentives[["action", "action_id", "issued_count"]].values.tolist() == [
        ["REWARD", "133423", 2]]
    currency = summary.alternate_currencies.iloc[0]
    assert (currency["currency_name"], currency["total_issued"], currency["times_issued"]) == (
        "STARS", 4.5, 3)
    assert currency["last_issued_on"] == pd.Timestamp("2025-07-01T18:30:00Z")


def test_v2_summary_8116_warning_gives_an_empty_summary():
    summary = parse_v2_action_summary({
        "customerId": 17, "programId": 3334, "promotionId": 9, "points": [], "rewards": [],
        "badges": [], "alternateCurrencies": [], "errors": [],
        "warnings": [{"status": False, "code": 8116, "message": "No summary"}]})
    assert summary.empty and [w.code for w in summary.warnings] == [8116]
    assert summary.points.empty and list(summary.points.columns)[0] == "customer_id"


def test_v2_summary_bad_values_raise():
    with pytest.raises(ResponseFormatError):
        parse_v2_action_summary({"customerId": 1, "rewards": "many"})
    with pytest.raises(ResponseFormatError):
        parse_v2_action_summary({"customerId": 1, "alternateCurrencies": [
            {"alternateCurrencyName": "X", "alternateCurrencySubDetails": [
                {"totalIssued": "lots"}]}]})


# -- programs and promotions -------------------------------------------------------------------

def test_programs(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        programs = client.programs()
    assert list(programs.columns) == list(PROGRAM_COLUMNS)
    assert programs[["program_id", "name", "is_default"]].values.tolist() == [
        [PROGRAM, "Sandbox Rewards", True]]
    assert programs.dtypes.astype(str).to_dict() == PROGRAM_COLUMNS


@pytest.mark.parametrize("page_size, requests", [(1, 4), (3, 2), (100, 1)])
def test_promotions_iterate_every_page(sandbox, catalog, page_size, requests):
    sandbox.reset_stats()
    with capnb.connect(sandbox.environ()) as client:
        promotions = client.promotions(PROGRAM, page_size=page_size)
    assert sandbox.stats()["by_path"][LIST_ROUTE] == requests
    assert promotions["promotion_id"].tolist() == [p["id"] for p in catalog["promotions"]]
    assert promotions.dtypes.astype(str).to_dict() == PROMOTION_LIST_COLUMNS
    row = promotions.set_index("promotion_id").loc[SUMMER_COUPONS]
    assert (row["type"], row["status"], row["is_active"]) == ("LOYALTY", "COMPLETED", False)
    assert row["start"] == pd.Timestamp("2025-06-15T00:00:00Z")


def test_promotions_status_filter(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        assert client.promotions(PROGRAM, status="completed")["promotion_id"].tolist() == [
            SUMMER_COUPONS]
        assert len(client.promotions(PROGRAM, status=["LIVE", "COMPLETED"])) == 4
        empty = client.promotions(PROGRAM, status="UPCOMING")
    assert empty.empty and list(empty.columns) == list(PROMOTION_LIST_COLUMNS)


def test_promotions_unknown_program(sandbox):
    with capnb.connect(sandbox.environ()) as client, pytest.raises(ProgramNotFound) as info:
        client.promotions(999)
    assert info.value.code == 2010


@pytest.mark.parametrize("kwargs, parameter", [
    ({"program_id": "x"}, "program_id"), ({"program_id": 1, "page_size": 0}, "page_size"),
    ({"program_id": 1, "status": ""}, "status"), ({"program_id": 1, "status": [1]}, "status"),
    ({"program_id": 1, "status": []}, "status"),
])
def test_promotions_validation(scripted, kwargs, parameter):
    with pytest.raises(ValidationError) as info:
        fast_client(scripted.url).promotions(**kwargs)
    assert info.value.parameter == parameter and scripted.requests == []


def page(ids, details=None):
    body = {"status": {"code": 200, "message": "success"}, "validationErrors": None,
            "data": [{"id": i, "name": f"P{i}", "programId": 1} for i in ids]}
    if details is not None:
        body["pageDetails"] = details
    return Scripted(body=body)


def test_pagination_without_page_details_stops_on_an_empty_page(scripted):
    scripted.add(page([1, 2]), page([3]), page([]))
    frame = fast_client(scripted.url).promotions(1, page_size=2)
    assert frame["promotion_id"].tolist() == [1, 2, 3]
    assert [query_of(r)["offset"] for r in scripted.requests] == ["0", "1", "2"]
    assert query_of(scripted.requests[0])["limit"] == "2"


def test_pagination_with_one_based_pages_keeps_each_promotion_once(scripted):
    # a server counting pages from 1 answers offset 0 and 1 with the same first page
    scripted.add(page([1, 2], {"pageCount": 3}), page([1, 2], {"pageCount": 3}),
                 page([3], {"pageCount": 3}))
    frame = fast_client(scripted.url).promotions(1, page_size=2)
    assert frame["promotion_id"].tolist() == [1, 2, 3] and len(scripted.requests) == 3


def test_promotions_4054_is_bad_request(scripted):
    scripted.add(Scripted(400, {"status": {"code": 4054, "message": "limit is required"},
                                "validationErrors": None, "data": None}))
    with pytest.raises(BadRequest) as info:
        fast_client(scripted.url).promotions(1)
    assert info.value.code == 4054


# -- promotionData -----------------------------------------------------------------------------

def test_customer_promotion_usage_equals_the_truth(sandbox):
    customers = sandbox.data.customer_ids[:30]
    with capnb.connect(sandbox.environ()) as client:
        for customer in customers:
            usage = client.customer_promotion_usage(customer, PROGRAM)
            assert usage.dtypes.astype(str).to_dict() == PROMOTION_USAGE_COLUMNS
            assert set(usage["customer_id"]) == {customer}
            exact = usage[(usage["source"] == "promotionRestriction")
                          & (usage["limit_on"] == "CUSTOMER")]
            for promotion_id, rows in exact.groupby("promotion_id"):
                truth = sandbox.data.true_usage(customer, int(promotion_id))
                assert dict(zip(rows["name"], rows["usage"], strict=True)) == {
                    n: v for n, v in truth.items() if n in set(rows["name"])}
                assert set(rows["name"]) <= set(truth)
            assert usage.loc[usage["limit_on"] == "EVENT", "usage"].isna().all()


def test_customer_promotion_usage_errors(sandbox, scripted):
    with capnb.connect(sandbox.environ()) as client, pytest.raises(CustomerNotFound):
        client.customer_promotion_usage(388000002)
    with pytest.raises(ValidationError) as info:
        fast_client(scripted.url).customer_promotion_usage(-5)
    assert info.value.parameter == "customer_id" and scripted.requests == []


def test_parse_promotion_data_edge_shapes():
    body = {"data": [{
        "promotionId": "9.0", "programId": 1,
        "limits": {"pointsPerCustomer": "0", "numberOFTimesPerCustomer": "3",
                   "totalPointsInPromotion": None},
        "customerUsage": {"currentNumberOfTimesPerCustomer": "2"},
        "promotionRestriction": {
            "issualRestrictions": None,
            "earnRestrictions": [{"kpi": "NUMBER_OF_EARNS", "limitOn": "CUSTOMER",
                                  "maxLimit": "410.000", "currentCustomerUsage": "7.000",
                                  "type": "PERIOD_BASED", "periodType": "MOVING_WINDOW",
                                  "periodUnit": "WEEKLY"},
                                 {"kpi": "NEW_KPI", "limitOn": "CUSTOMER", "maxLimit": "-1",
                                  "currentCustomerUsage": None}],
            "redemptionRestrictions": [{"kpi": "NUMBER_OF_POINTS", "limitOn": "EVENT",
                                        "maxLimit": "100", "currentCustomerUsage": "5"}]}}],
        "warnings": []}
    usage = parse_promotion_data(body, customer_id=5)
    assert usage["name"].fillna("?").tolist() == ["MAX_NUMBER_OF_EARNS_PER_CUSTOMER", "?",
                                      "MAX_ALLOWED_POINTS_PER_EVENT",
                                      "numberOFTimesPerCustomer"]
    assert usage["max_limit"].tolist() == [410.0, -1.0, 100.0, 3.0]
    assert usage["unlimited"].tolist() == [False, True, False, False]
    assert usage["usage"].fillna(-9).tolist() == [7.0, -9, -9, 2.0]  # EVENT: no usage
    assert usage["customer_id"].tolist() == [5] * 4 and usage["promotion_id"].tolist() == [9] * 4
    assert parse_promotion_data({"data": [], "warnings": []}).empty
    with pytest.raises(ResponseFormatError):
        parse_promotion_data({"data": [{"promotionRestriction": {"earnRestrictions": [
            {"maxLimit": "many"}]}}]})
    with pytest.raises(CustomerNotFound):
        parse_promotion_data({"errors": [{"status": False, "code": 8015, "message": "x"}]})
