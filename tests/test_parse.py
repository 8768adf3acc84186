"""parse: documented examples cell by cell, envelopes, odd-but-valid inputs, error bodies, and
property tests that nothing but ResponseFormatError/ApiError ever escapes."""

from __future__ import annotations

import collections
import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capnb.api.envelope import raise_for_envelope, unwrap_summary
from capnb.api.promotion import parse_promotion
from capnb.api.summary import frames_from_rows, parse_action_summary, summary_rows
from capnb.errors import (
    ApiError,
    BadRequest,
    CustomerNotFound,
    NotFound,
    ProgramNotFound,
    PromotionNotFound,
    ResponseFormatError,
    ServerError,
)
from capnb.models import ActionSummary, ApiWarning, Promotion
from capnb.schema import (
    ACTION_COLUMNS,
    CURRENCY_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    empty_frame,
    epoch_ms_to_utc,
    typed_frame,
)

DATA = Path(__file__).parent / "data"
SUMMARY_TEXT = (DATA / "parse_action_summary_example.json").read_text()
NO_SUMMARY_TEXT = (DATA / "parse_action_summary_8116.json").read_text()
PROMOTION_TEXT = (DATA / "parse_promotion_example.json").read_text()
STAMP = pd.Timestamp("2024-12-18 14:48:29", tz="UTC")
SUMMARY_FRAMES = {"incentives": INCENTIVE_COLUMNS, "points": POINTS_COLUMNS,
                  "alternate_currencies": CURRENCY_COLUMNS}
PROMOTION_FRAMES = {"restrictions": RESTRICTION_COLUMNS, "rules": RULE_COLUMNS,
                    "actions": ACTION_COLUMNS}


def summary() -> dict[str, Any]:
    return json.loads(SUMMARY_TEXT)


def promotion() -> dict[str, Any]:
    """The promotion object inside the documented api_gateway envelope."""
    return json.loads(PROMOTION_TEXT)["data"][0]


def gateway(obj: Any) -> dict[str, Any]:
    return {"status": {"code": 200, "message": "success"}, "validationErrors": None, "data": [obj]}


def v3(obj: Any, warnings: Any = None) -> dict[str, Any]:
    return {"data": obj, "errors": None, "warnings": warnings}


def assert_schema(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    pdt.assert_series_equal(frame.dtypes, empty_frame(columns).dtypes)


def assert_valid_summary(result: ActionSummary) -> None:
    assert isinstance(result, ActionSummary)
    for name, columns in SUMMARY_FRAMES.items():
        assert_schema(getattr(result, name), columns)
    for value in (result.org_id, result.customer_id, result.program_id, result.promotion_id):
        assert value is None or type(value) is int
    no_rows = len(result.incentives) + len(result.points) + len(result.alternate_currencies) == 0
    assert result.empty == (no_rows or any(w.code == 8116 for w in result.warnings))
    assert all(isinstance(w, ApiWarning) for w in result.warnings)


def assert_valid_promotion(result: Promotion) -> None:
    assert isinstance(result, Promotion)
    for name, columns in PROMOTION_FRAMES.items():
        assert_schema(getattr(result, name), columns)
    for stamp in (result.start, result.end):
        assert stamp is pd.NaT or (isinstance(stamp, pd.Timestamp) and str(stamp.tz) == "UTC")
    assert result.id is None or type(result.id) is int
    assert result.program_id is None or type(result.program_id) is int
    assert result.is_active in (True, False, None)


# -- the documented examples ---------------------------------------------------------------------

def test_doc_summary_example_cell_by_cell():
    result = parse_action_summary(SUMMARY_TEXT.encode(), request_id="req-1")
    assert (result.org_id, result.customer_id, result.program_id, result.promotion_id) == (
        51948, 388597285, 3334, 1133600978)
    assert result.empty is False and result.warnings == [] and result.request_id == "req-1"
    ids = {"customer_id": [388597285] * 3, "program_id": [3334] * 3,
           "promotion_id": [1133600978] * 3}
    pdt.assert_frame_equal(result.incentives, typed_frame({
        **ids, "activity_id": ["activity_reward_1", "activity_badge_1", "activity_coupon_1"],
        "action": ["REWARD", "BADGES", "COUPONS"],
        "action_id": ["133423", "SomeBadgeId", "5231232"],
        "issued_count": [1, 1, 1], "last_issued_on": [1734533309000] * 3}, INCENTIVE_COLUMNS))
    assert result.incentives["last_issued_on"].tolist() == [STAMP] * 3
    one = {key: values[:1] for key, values in ids.items()}
    pdt.assert_frame_equal(result.points, typed_frame({
        **one, "points_category": ["REGULAR_POINTS"], "total_points": [1234.0],
        "times_issued": [1], "last_issued_on": [1734533309000]}, POINTS_COLUMNS))
    pdt.assert_frame_equal(result.alternate_currencies, typed_frame({
        **one, "currency_name": ["some_ac"], "total_issued": [1234.0], "times_issued": [1],
        "last_issued_on": [1734533309000]}, CURRENCY_COLUMNS))
    assert result.points.loc[0, "last_issued_on"] == STAMP
    assert result.raw == summary()


def test_doc_8116_example_is_an_empty_summary_with_the_warning():
    result = parse_action_summary(NO_SUMMARY_TEXT)
    assert result.empty is True
    assert (result.customer_id, result.program_id, result.promotion_id) == (
        388597285, 3334, 1133600978)
    assert [(w.code, w.message) for w in result.warnings] == [
        (8116, "No promotion action summary found for the given promotionId")]
    for name, columns in SUMMARY_FRAMES.items():
        pdt.assert_frame_equal(getattr(result, name), empty_frame(columns))


def test_doc_promotion_example_cell_by_cell():
    result = parse_promotion(PROMOTION_TEXT, request_id="req-2")
    assert (result.id, result.name, result.description) == (
        57099, "test enroll and issue", "Promotion Description")
    assert (result.program_id, result.program_name, result.status, result.offer_type) == (
        469, "Default Program", "LIVE", "LOYALTY_EARNING")
    assert result.start == pd.Timestamp("2024-04-10 00:00", tz="UTC")
    assert result.end == pd.Timestamp("2024-05-31 23:59:59", tz="UTC")
    assert result.is_active is True and result.request_id == "req-2"
    assert result.raw == promotion()
    pdt.assert_frame_equal(result.restrictions, typed_frame({
        "family": ["redemption", "issual", "earn", "earn", "expiry", "expiry"],
        "name": ["MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER",
                 "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", "MAX_POINTS_PER_EARN_PER_CUSTOMER",
                 "EARN_PROMOTION_EXPIRY_BASED_ON", "ISSUAL_PROMOTION_EXPIRY_BASED_ON"],
        "value": [10, 10, 10, -1, 0, 0],
        "unlimited": [False, False, False, True, False, False],
        "type": ["NON_PERIOD_BASED", None, None, None, "PROMOTION", "PROMOTION"],
        "period_type": ["MOVING_WINDOW", None, None, None, None, None],
        "period_unit": ["DAILY", None, None, None, None, None],
        "source": ["promotionRestrictions"] * 6}, RESTRICTION_COLUMNS))
    assert "limits" not in set(result.restrictions["family"])  # all four legacy limits are 0
    pdt.assert_frame_equal(result.rules, typed_frame({
        "ruleset_id": [126289300], "rule_id": [126450375], "name": ["Rule 1"],
        "expression": ["true"], "is_active": [True], "priority": [-1],
        "start": [1081601860018], "end": [None]}, RULE_COLUMNS))
    assert result.rules.loc[0, "start"] == pd.Timestamp("2004-04-10 12:57:40.018", tz="UTC")
    assert result.rules.loc[0, "end"] is pd.NaT  # 33585195460018 ms, year 3034
    pdt.assert_frame_equal(result.actions, typed_frame({
        "rule_id": [126450375], "case": ["true"], "action_name": ["PE_ISSUE_VOUCHER_ACTION"],
        "description": ["17% off on all products"],
        "properties": [{"VoucherSeriesId": "349357"}]}, ACTION_COLUMNS))


# -- envelopes and warnings ----------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [lambda o: o, v3, gateway, lambda o: json.dumps(v3(o)),
                                  lambda o: json.dumps(gateway(o)).encode("utf-16")])
def test_every_envelope_gives_the_same_summary(wrap):
    expected = parse_action_summary(summary())
    result = parse_action_summary(wrap(summary()))
    for name in SUMMARY_FRAMES:
        pdt.assert_frame_equal(getattr(result, name), getattr(expected, name))
    assert result.customer_id == 388597285


@pytest.mark.parametrize("wrap", [lambda o: o, v3, gateway])
def test_every_envelope_gives_the_same_promotion(wrap):
    result = parse_promotion(wrap(promotion()))
    assert (result.id, len(result.restrictions), len(result.rules), len(result.actions)) == (
        57099, 6, 1, 1)


def test_warnings_as_strings_objects_and_nulls_from_envelope_and_data():
    obj = summary() | {"warnings": ["inner text", None, {"code": "8116", "message": "none"}]}
    body = v3(obj, warnings=[{"status": False, "code": 9999, "message": "outer"}, "plain", None])
    result = parse_action_summary(body)
    assert [(w.code, w.message) for w in result.warnings] == [
        (9999, "outer"), (None, "plain"), (None, "inner text"), (8116, "none")]
    assert result.empty is True and len(result.incentives) == 3  # 8116 says empty; rows kept
    for warnings in (None, [], [None], ""):
        assert parse_action_summary(v3(summary() | {"warnings": warnings}, warnings)).warnings == []
    single = parse_action_summary(summary() | {"warnings": {"code": 1, "message": "m"}})
    assert [(w.code, w.message) for w in single.warnings] == [(1, "m")]


def test_8116_next_to_null_data_is_an_empty_summary():
    result = parse_action_summary({"data": None, "errors": None,
                                   "warnings": [{"code": 8116, "message": "no summary"}]})
    assert result.empty and result.customer_id is None and result.warnings[0].code == 8116


def test_errors_next_to_data_are_warnings_not_exceptions():
    result = parse_action_summary({"data": summary(), "errors": [{"code": 1, "message": "soft"}]})
    assert [(w.code, w.message) for w in result.warnings] == [(1, "soft")]


@pytest.mark.parametrize("lists", [{}, {"incentives": None, "points": None,
                                        "alternateCurrencies": None},
                                   {"incentives": [], "points": [], "alternateCurrencies": []},
                                   {"incentives": [None]}])
def test_missing_or_empty_lists_give_typed_empty_frames(lists):
    obj = {"orgId": 1, "entityId": 2, "programId": 3, "promotionId": 4} | lists
    result = parse_action_summary(obj)
    assert result.empty is True and result.warnings == []
    for name, columns in SUMMARY_FRAMES.items():
        pdt.assert_frame_equal(getattr(result, name), empty_frame(columns))


# -- odd but valid values ------------------------------------------------------------------------

def test_unknown_enum_values_and_fields_are_kept_or_ignored():
    obj = summary() | {"someNewField": {"x": [1]}}
    obj["incentives"][0]["action"] = "SPIN_THE_WHEEL"
    obj["incentives"][0]["brandNew"] = 1
    obj["points"][0]["pointsCategory"] = "EXTERNAL_TRIGGER_BASED_POINTS"
    result = parse_action_summary(obj)
    assert result.incentives["action"].tolist() == ["SPIN_THE_WHEEL", "BADGES", "COUPONS"]
    assert result.points["points_category"].tolist() == ["EXTERNAL_TRIGGER_BASED_POINTS"]

    promo = promotion()
    restrictions = promo["promotionRestrictions"]["restrictions"]
    restrictions["earnRestrictions"][0]["name"] = "MAX_NUMBER_OF_EARN_PER_PROMOTION"
    restrictions["earnRestrictions"][0]["type"] = "SOME_NEW_TYPE"
    restrictions["referralRestrictions"] = [{"name": "MAX_REFERRALS", "value": 50000}]
    promo["pointsOfferType"], promo["promotionStatus"] = "NEW_KIND", "ARCHIVED"
    result = parse_promotion(gateway(promo))
    rows = result.restrictions
    assert rows.loc[2, "name"] == "MAX_NUMBER_OF_EARN_PER_PROMOTION"
    assert rows.loc[2, "type"] == "SOME_NEW_TYPE"
    assert rows.iloc[-1][["family", "name", "value"]].tolist() == ["referral", "MAX_REFERRALS",
                                                                   50000]
    assert (result.offer_type, result.status) == ("NEW_KIND", "ARCHIVED")


@pytest.mark.parametrize(("total", "expected"), [
    ("1234.000", 1234.0), (1234, 1234.0), (12.5, 12.5), ("0", 0.0), (None, math.nan),
    ("", math.nan), (2**70, float(2**70)), (-3, -3.0)])
def test_totals_as_decimal_strings_or_numbers(total, expected):
    obj = summary()
    obj["points"][0]["totalPointsIssued"] = total
    obj["alternateCurrencies"][0]["totalCurrencyIssued"] = total
    result = parse_action_summary(obj)
    for value in (result.points.loc[0, "total_points"],
                  result.alternate_currencies.loc[0, "total_issued"]):
        assert value == expected or (math.isnan(expected) and math.isnan(value))


def test_ids_and_counts_as_strings_floats_and_numpy_numbers():
    obj = summary() | {"entityId": "388597285", "programId": "3334.0", "promotionId": 1133600978.0,
                       "orgId": np.int64(51948)}
    obj["incentives"][0] |= {"actionIssuedCount": "2", "actionId": 133423,
                             "lastIssuedOn": "1734533309000"}
    obj["incentives"][1] |= {"actionIssuedCount": 3.0, "actionId": 5231232.0}
    obj["incentives"][2] |= {"actionIssuedCount": None, "lastIssuedOn": None, "activityId": None}
    result = parse_action_summary(obj)
    assert (result.org_id, result.customer_id, result.program_id, result.promotion_id) == (
        51948, 388597285, 3334, 1133600978)
    assert all(type(v) is int for v in (result.org_id, result.program_id, result.promotion_id))
    assert result.incentives["customer_id"].tolist() == [388597285] * 3
    assert result.incentives["issued_count"].tolist() == [2, 3, pd.NA]
    assert result.incentives["action_id"].tolist() == ["133423", "5231232", "5231232"]
    assert result.incentives["last_issued_on"].tolist() == [STAMP, STAMP, pd.NaT]
    assert pd.isna(result.incentives.loc[2, "activity_id"])
    assert_valid_summary(result)


def test_customer_id_falls_back_to_customerId():
    obj = summary()
    del obj["entityId"]
    obj["customerId"] = 42
    result = parse_action_summary(obj)
    assert result.customer_id == 42 and result.points["customer_id"].tolist() == [42]


def test_negative_and_zero_counts_are_kept():
    obj = summary()
    obj["incentives"][0]["actionIssuedCount"] = -5
    obj["points"][0]["numberOfTimesIssued"] = 0
    result = parse_action_summary(obj)
    assert result.incentives.loc[0, "issued_count"] == -5
    assert result.points.loc[0, "times_issued"] == 0


def test_legacy_limits_give_rows_when_non_zero():
    promo = promotion()
    promo["promotionRestrictions"] = None
    promo["limits"] = {"pointsPerCustomer": 500, "numberOfTimesPerCustomer": -1,
                       "totalPointsInPromotion": 0, "totalPointsPerEventLimit": "410.000",
                       "someNewCap": 7, "note": "not a number", "flag": True, "nothing": None}
    rows = parse_promotion(promo).restrictions
    pdt.assert_frame_equal(rows, typed_frame({
        "family": ["limits"] * 4,
        "name": ["pointsPerCustomer", "numberOfTimesPerCustomer", "totalPointsPerEventLimit",
                 "someNewCap"],
        "value": [500, -1, 410, 7], "unlimited": [False, True, False, False],
        "source": ["limits"] * 4}, RESTRICTION_COLUMNS))


def test_values_above_the_documented_maximum_are_kept():
    promo = promotion()
    promo["promotionRestrictions"]["restrictions"]["issualRestrictions"][0]["value"] = 50000
    assert parse_promotion(promo).restrictions.loc[1, "value"] == 50000


@pytest.mark.parametrize("change", [
    lambda p: p.update(promotionRestrictions=None),
    lambda p: p["promotionRestrictions"].update(restrictions=None),
    lambda p: p["promotionRestrictions"].pop("restrictions"),
    lambda p: p["promotionRestrictions"]["restrictions"].update(
        redemptionRestrictions=None, issualRestrictions=[], earnRestrictions=None,
        expiryRestrictions=[None]),
])
def test_null_restrictions_give_no_rows(change):
    promo = promotion()
    change(promo)
    result = parse_promotion(promo)
    pdt.assert_frame_equal(result.restrictions, empty_frame(RESTRICTION_COLUMNS))


def test_a_single_restriction_object_instead_of_a_list():
    promo = promotion()
    promo["promotionRestrictions"]["restrictions"] = {
        "issualRestrictions": {"name": "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "value": "3",
                               "type": "PERIOD_BASED", "periodType": "MOVING_WINDOW",
                               "periodUnit": "WEEKLY"}}
    row = parse_promotion(promo).restrictions.iloc[0]
    assert row[["family", "value", "type", "period_unit"]].tolist() == [
        "issual", 3, "PERIOD_BASED", "WEEKLY"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-04-10T00:00Z", "2024-04-10 00:00:00"),
    ("2025-06-23T09:25:04Z", "2025-06-23 09:25:04"),
    ("2021-06-15T00:00+05:30", "2021-06-14 18:30:00"),
    ("2024-10-31T18:30:00.000Z", "2024-10-31 18:30:00"),
    ("2024-10-31T18:30:00", "2024-10-31 18:30:00"),  # naive: taken as UTC
    (1712707200000, "2024-04-10 00:00:00"),
    ("1712707200000", "2024-04-10 00:00:00"),
    (1712707200000.0, "2024-04-10 00:00:00"),
    (None, None), ("", None), (33585195460018, None), ("9999-12-31T23:59:59Z", None),
    (2**70, None),
])
def test_promotion_date_formats(raw, expected):
    promo = promotion() | {"startDate": raw, "endDate": raw}
    result = parse_promotion(promo)
    for stamp in (result.start, result.end):
        if expected is None:
            assert stamp is pd.NaT
        else:
            assert stamp == pd.Timestamp(expected, tz="UTC") and str(stamp.tz) == "UTC"


def test_rule_dates_sentinels_and_fallback_ruleset_id():
    promo = promotion()
    ruleset = promo["rulesetInfos"][0]
    del ruleset["id"]
    ruleset["rules"][0] |= {"startDate": -5, "endDate": 2**80, "isActive": "false"}
    rules = parse_promotion(promo).rules
    assert rules.loc[0, "ruleset_id"] == 126289300  # from the rule's ruleSetId
    assert rules.loc[0, "start"] is pd.NaT and rules.loc[0, "end"] is pd.NaT
    assert bool(rules.loc[0, "is_active"]) is False


def test_several_cases_and_actions_per_rule():
    promo = promotion()
    rule = promo["rulesetInfos"][0]["rules"][0]
    rule["caseToActions"]["false"] = [
        {"actionName": "AWARD_POINTS_ACTION", "mandatoryPropertiesValues": None},
        {"actionName": "BADGE_EARN_ACTION", "mandatoryPropertiesValues": {"badgeMetaId": "b1"}}]
    actions = parse_promotion(promo).actions
    assert actions["case"].tolist() == ["true", "false", "false"]
    assert actions["properties"].tolist() == [{"VoucherSeriesId": "349357"}, {},
                                              {"badgeMetaId": "b1"}]


def test_rulesets_null_or_missing_give_empty_rules_and_actions():
    for rulesets in (None, [], [{"id": 1, "rules": None}]):
        result = parse_promotion(promotion() | {"rulesetInfos": rulesets})
        pdt.assert_frame_equal(result.rules, empty_frame(RULE_COLUMNS))
        pdt.assert_frame_equal(result.actions, empty_frame(ACTION_COLUMNS))


def test_lone_surrogates_in_strings_become_replacement_characters():
    body = SUMMARY_TEXT.replace("activity_reward_1", "activity\\ud800reward").replace(
        '"some_ac"', '"some\\udfffac"')
    result = parse_action_summary(body)
    assert result.incentives.loc[0, "activity_id"] == "activity\ufffdreward"
    assert result.alternate_currencies.loc[0, "currency_name"] == "some\ufffdac"


# -- error bodies --------------------------------------------------------------------------------

def v3_error(code: Any, message: str = "boom") -> dict[str, Any]:
    return {"data": None, "errors": [{"code": code, "message": message}], "warnings": None}


def gateway_error(code: Any, message: str = "boom") -> dict[str, Any]:
    return {"status": {"code": code, "message": message}, "validationErrors": None, "data": None}


@pytest.mark.parametrize(("body", "http_status", "cls", "code"), [
    (v3_error(9002, "Customer not found"), 400, CustomerNotFound, 9002),
    (v3_error(9002), None, CustomerNotFound, 9002),
    (v3_error(9001), 404, ProgramNotFound, 9001),
    (gateway_error(2010), 400, ProgramNotFound, 2010),
    (v3_error(3013), 400, PromotionNotFound, 3013),
    (gateway_error(4029), 200, PromotionNotFound, 4029),
    (v3_error("COMMON.INVALID_INPUT"), 400, BadRequest, "COMMON.INVALID_INPUT"),
    (v3_error("9002"), None, CustomerNotFound, 9002),
    (v3_error(None, "no code"), 404, NotFound, None),
    (gateway_error(500, "internal"), 200, ServerError, 500),
    (gateway_error(500, "internal"), None, ServerError, 500),
    ({"errors": [{"status": False, "code": 8015, "message": "Customer not found"}]}, 400,
     CustomerNotFound, 8015),  # v2 lookup's code, whatever the HTTP status
    ({"status": {"code": 200}, "validationErrors": [{"code": 4054, "message": "limit"}],
      "data": []}, 200, BadRequest, 4054),
    ({"status": {"code": 200}, "validationErrors": {"programId": "must be a number"}}, None,
     BadRequest, None),
])
def test_error_bodies_raise_the_right_class(body, http_status, cls, code):
    with pytest.raises(cls) as caught:
        raise_for_envelope(body, http_status=http_status, request_id="rid-9")
    assert type(caught.value) is cls
    assert caught.value.code == code and caught.value.request_id == "rid-9"
    assert caught.value.http_status == http_status
    for parse in (parse_action_summary, parse_promotion):  # parsers never see the HTTP status
        with pytest.raises(ApiError) as again:
            parse(json.dumps(body), request_id="rid-10")
        assert again.value.code == code and again.value.request_id == "rid-10"
        if http_status in (None, 200):
            assert type(again.value) is cls


def test_string_code_without_http_status_is_a_plain_api_error():
    with pytest.raises(ApiError) as caught:
        parse_action_summary(v3_error("COMMON.INVALID_INPUT", "Invalid input"))
    assert type(caught.value) is ApiError and caught.value.message == "Invalid input"


@pytest.mark.parametrize("body", [
    {}, summary(), v3(summary()), gateway(promotion()), {"errors": [], "data": None},
    {"errors": None}, {"errors": [None]}, {"status": {"code": 201}}, {"status": "SUCCESS"},
    {"status": {"code": None}}, {"validationErrors": []}, [], "text", None,
])
def test_bodies_without_a_recognisable_error_pass(body):
    raise_for_envelope(body, http_status=404)  # the client then falls back to the HTTP status


def test_errors_next_to_data_raise_only_on_an_http_error_status():
    body = {"data": {"x": 1}, "errors": ["bad"]}
    raise_for_envelope(body, http_status=200)
    with pytest.raises(ServerError) as caught:
        raise_for_envelope(body, http_status=500)
    assert caught.value.message == "bad" and caught.value.code is None


# -- malformed bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"", "not json", b"\xff\xfe\x00", "[1, 2]", "5", "null",
                                     "[" * 100_000, None, [summary()], 12, b'{"a": '])
def test_invalid_json_or_not_an_object(payload):
    for parse in (parse_action_summary, parse_promotion):
        with pytest.raises(ResponseFormatError) as caught:
            parse(payload, request_id="rid")
        assert caught.value.request_id == "rid"


def test_invalid_json_error_quotes_the_start_of_the_body():
    with pytest.raises(ResponseFormatError) as caught:
        parse_action_summary("<html>Bad gateway</html>")
    assert caught.value.excerpt.startswith("<html>Bad gateway")


def _set(obj: dict, path: tuple, value: Any) -> dict:
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


@pytest.mark.parametrize(("path", "value"), [
    (("incentives",), {"action": "REWARD"}), (("incentives",), "x"), (("points",), 5),
    (("incentives", 0), "item"), (("incentives", 0), [1]),
    (("incentives", 0, "actionIssuedCount"), "abc"), (("incentives", 0, "actionIssuedCount"), 1.5),
    (("incentives", 0, "actionIssuedCount"), True), (("incentives", 0, "actionIssuedCount"), 2**70),
    (("incentives", 0, "actionIssuedCount"), 1e30), (("incentives", 0, "actionIssuedCount"), "nan"),
    (("incentives", 0, "actionIssuedCount"), float("inf")), (("entityId",), "12.5"),
    (("entityId",), [388597285]), (("programId",), False), (("incentives", 0, "action"), {}),
    (("incentives", 0, "actionId"), True), (("incentives", 0, "lastIssuedOn"), "yesterday"),
    (("incentives", 0, "lastIssuedOn"), False), (("points", 0, "totalPointsIssued"), "lots"),
    (("points", 0, "totalPointsIssued"), "Infinity"), (("points", 0, "totalPointsIssued"), True),
    (("points", 0, "totalPointsIssued"), 10**400), (("points", 0, "numberOfTimesIssued"), "1e30"),
])
def test_structurally_wrong_summaries(path, value):
    with pytest.raises(ResponseFormatError):
        parse_action_summary(_set(summary(), path, value))


@pytest.mark.parametrize("data", ["x", 5, [], [summary(), summary()], [5], True])
def test_data_of_the_wrong_type(data):
    with pytest.raises(ResponseFormatError):
        parse_action_summary({"data": data, "errors": None})


@pytest.mark.parametrize(("path", "value"), [
    (("promotionRestrictions",), []), (("promotionRestrictions", "restrictions"), "none"),
    (("promotionRestrictions", "restrictions", "earnRestrictions"), 5),
    (("promotionRestrictions", "restrictions", "earnRestrictions", 0, "value"), "ten"),
    (("promotionRestrictions", "restrictions", "earnRestrictions", 0, "value"), 2**64),
    (("limits",), [0, 0]), (("limits", "pointsPerCustomer"), "lots"),
    (("limits", "numberOfTimesPerCustomer"), 0.5), (("rulesetInfos",), 5),
    (("rulesetInfos", 0, "rules"), "rule"), (("rulesetInfos", 0, "rules", 0, "caseToActions"), []),
    (("rulesetInfos", 0, "rules", 0, "isActive"), 3),
    (("rulesetInfos", 0, "rules", 0, "caseToActions", "true", 0, "mandatoryPropertiesValues"),
     ["VoucherSeriesId"]),
    (("startDate",), "soon"), (("startDate",), {"ms": 1}), (("id",), "57099x"),
])
def test_structurally_wrong_promotions(path, value):
    with pytest.raises(ResponseFormatError):
        parse_promotion(gateway(_set(promotion(), path, value)))


# -- the row-level building blocks ---------------------------------------------------------------

def test_summary_rows_are_plain_tuples_in_schema_order():
    incentives, points, currencies = summary_rows(summary())
    ids = (388597285, 3334, 1133600978)
    assert incentives[0] == ids + ("activity_reward_1", "REWARD", "133423", 1, 1734533309000)
    assert points == [ids + ("REGULAR_POINTS", 1234.0, 1, 1734533309000)]
    assert currencies == [ids + ("some_ac", 1234.0, 1, 1734533309000)]
    assert all(len(row) == len(INCENTIVE_COLUMNS) for row in incentives)


def test_batched_frames_equal_the_concatenated_single_results():
    other = summary() | {"entityId": 7}
    other["points"] = None
    bodies = [v3(summary()), other, json.loads(NO_SUMMARY_TEXT)]
    rows: tuple[list, list, list] = ([], [], [])
    for body in bodies:
        obj, _ = unwrap_summary(body)
        for collected, new in zip(rows, summary_rows(obj), strict=True):
            collected.extend(new)
    frames = frames_from_rows(*rows)
    singles = [parse_action_summary(body) for body in bodies]
    for frame, name in zip(frames, SUMMARY_FRAMES, strict=True):
        expected = pd.concat([getattr(s, name) for s in singles if len(getattr(s, name))],
                             ignore_index=True)
        pdt.assert_frame_equal(frame, expected)
    assert frames[0]["customer_id"].tolist() == [388597285] * 3 + [7] * 3


def test_frames_from_no_rows_are_the_empty_schema_frames():
    for frame, columns in zip(frames_from_rows([], [], []), SUMMARY_FRAMES.values(), strict=True):
        pdt.assert_frame_equal(frame, empty_frame(columns))


def test_rows_of_the_wrong_length_are_a_programming_error():
    with pytest.raises(ValueError, match="8 fields"):
        frames_from_rows([(1, 2, 3)], [], [])


def test_timestamps_match_schema_epoch_ms_to_utc():
    rng = np.random.default_rng(7)
    millis = rng.integers(-10**13, 10**14, 2000).tolist() + [
        None, 0, -1, 1734533309000, 9223286400000, 9223286400001, 33585195460018, 2**63 - 1]
    rows = [(1, 2, 3, "c", 1.0, 1, ms) for ms in millis]
    _, points, _ = frames_from_rows([], rows, [])
    pdt.assert_series_equal(points["last_issued_on"],
                            epoch_ms_to_utc(pd.Series(millis, dtype=object)),
                            check_names=False)


def test_unwrap_summary_returns_the_object_and_warnings():
    obj, warnings = unwrap_summary(NO_SUMMARY_TEXT)
    assert obj["entityId"] == 388597285 and [w.code for w in warnings] == [8116]
    obj, warnings = unwrap_summary(gateway(summary()))
    assert obj == summary() and warnings == []


# -- properties ----------------------------------------------------------------------------------

KEYS = sorted({"data", "errors", "warnings", "status", "code", "message", "validationErrors",
               "entityId", "customerId", "programId", "promotionId", "orgId", "incentives",
               "points", "alternateCurrencies", "action", "actionId", "activityId",
               "actionIssuedCount", "lastIssuedOn", "pointsCategory", "totalPointsIssued",
               "numberOfTimesIssued", "currencyName", "totalCurrencyIssued", "id", "name",
               "startDate", "endDate", "isActive", "limits", "pointsPerCustomer",
               "promotionRestrictions", "restrictions", "earnRestrictions", "value",
               "rulesetInfos", "rules", "caseToActions", "mandatoryPropertiesValues"})
ODD_VALUES = st.sampled_from(["", " ", "abc", "a\ud800", "1.5", "113336.0", "-1", "1e30", "NaN",
                              "Infinity",
                              "2024-04-10T00:00Z", "2021-06-15T00:00+05:30", "COMMON.X", -1, 0,
                              1.0, 1.5, 1e30, -1e30, 2**63, 2**70, -(2**64), 33585195460018,
                              float("nan"), float("inf"), True, False, None, [], {}, [{}],
                              [None], {"code": 8116}])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | ODD_VALUES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5),
    max_leaves=12)
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def has_error_envelope(body: Any) -> bool:
    return isinstance(body, dict) and (bool(body.get("errors"))
                                       or isinstance(body.get("status"), dict)
                                       or bool(body.get("validationErrors")))


BOTH = ((parse_action_summary, assert_valid_summary), (parse_promotion, assert_valid_promotion))


CASES: collections.Counter[str] = collections.Counter()
"""Outcomes of the property tests in this session, reported by the last test of the module."""


def check_outcome(body: Any, payload: Any, parsers: tuple = BOTH) -> None:
    for parse, validate in parsers:
        try:
            result = parse(payload)
        except ResponseFormatError:
            CASES["ResponseFormatError"] += 1
            continue
        except ApiError:
            assert has_error_envelope(body)
            CASES["ApiError (error envelope)"] += 1
            continue
        validate(result)
        CASES["typed frames"] += 1


@PROPERTY
@given(JSON)
def test_arbitrary_json_values(body):
    check_outcome(body, body)
    try:
        text = json.dumps(body)  # NaN/inf are written as JSON's NaN/Infinity, which loads reads
    except ValueError:
        return
    check_outcome(body, text)


@PROPERTY
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_arbitrary_bytes_and_text(payload):
    check_outcome(None, payload)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in items:
        found += _paths(child, prefix + (key,))
    return found


DOCUMENTED = [(json.loads(SUMMARY_TEXT), BOTH[:1]), (json.loads(NO_SUMMARY_TEXT), BOTH[:1]),
              (v3(summary()), BOTH[:1]), (gateway(summary()), BOTH[:1]),
              (json.loads(PROMOTION_TEXT), BOTH[1:]), (v3(promotion()), BOTH[1:]),
              (promotion(), BOTH[1:])]
MUTATIONS = st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(["del", "null", "set"]),
                               ODD_VALUES | JSON), min_size=1, max_size=4)


def mutate(body: Any, mutations: list) -> Any:
    for index, operation, value in mutations:
        paths = _paths(body)
        if not paths:
            return body
        *parents, last = paths[index % len(paths)]
        target = body
        for key in parents:
            target = target[key]
        if operation == "del":
            del target[last]
        else:
            target[last] = None if operation == "null" else copy.deepcopy(value)
    return body


@PROPERTY
@given(st.sampled_from(range(len(DOCUMENTED))), MUTATIONS)
def test_documented_shapes_with_fields_removed_nulled_or_retyped(which, mutations):
    original, parsers = DOCUMENTED[which]
    body = mutate(copy.deepcopy(original), mutations)
    check_outcome(body, body, parsers)


def test_property_cases_recorded(record_property):
    if not CASES:
        pytest.skip("counts the property tests above; run the whole module")
    record_property("parser_cases", dict(CASES))
    print(f"\nparser property cases: {sum(CASES.values())} outcomes, {dict(CASES)}")
    assert sum(CASES.values()) >= 900 and CASES["typed frames"] and CASES["ResponseFormatError"]
