"""parse_action_summary and its building blocks: the documented examples cell by cell,
odd-but-valid values, structurally wrong summaries, rows and batched frames."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from capnb.api.envelope import unwrap_summary
from capnb.api.promotion import parse_promotion
from capnb.api.summary import (
    check_summary_ids,
    frames_from_rows,
    parse_action_summary,
    summary_rows,
)
from capnb.errors import (
    ResponseFormatError,
)
from capnb.schema import (
    CURRENCY_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    empty_frame,
    epoch_ms_to_utc,
    typed_frame,
)
from tests.parser_bodies import (
    NO_SUMMARY_TEXT,
    SUMMARY_FRAMES,
    SUMMARY_TEXT,
    assert_valid_summary,
    gateway,
    promotion_example,
    set_path,
    summary_example,
    v3,
)

STAMP = pd.Timestamp("2024-12-18 14:48:29", tz="UTC")


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
    assert result.raw == summary_example()


def test_doc_8116_example_is_an_empty_summary_with_the_warning():
    result = parse_action_summary(NO_SUMMARY_TEXT)
    assert result.empty is True
    assert (result.customer_id, result.program_id, result.promotion_id) == (
        388597285, 3334, 1133600978)
    assert [(w.code, w.message) for w in result.warnings] == [
        (8116, "No promotion action summary found for the given promotionId")]
    for name, columns in SUMMARY_FRAMES.items():
        pdt.assert_frame_equal(getattr(result, name), empty_frame(columns))


@pytest.mark.parametrize("wrap", [lambda o: o, v3, gateway, lambda o: json.dumps(v3(o)),
                                  lambda o: json.dumps(gateway(o)).encode("utf-16")])
def test_every_envelope_gives_the_same_summary(wrap):
    expected = parse_action_summary(summary_example())
    result = parse_action_summary(wrap(summary_example()))
    for name in SUMMARY_FRAMES:
        pdt.assert_frame_equal(getattr(result, name), getattr(expected, name))
    assert result.customer_id == 388597285


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
    obj = summary_example() | {"someNewField": {"x": [1]}}
    obj["incentives"][0]["action"] = "SPIN_THE_WHEEL"
    obj["incentives"][0]["brandNew"] = 1
    obj["points"][0]["pointsCategory"] = "EXTERNAL_TRIGGER_BASED_POINTS"
    result = parse_action_summary(obj)
    assert result.incentives["action"].tolist() == ["SPIN_THE_WHEEL", "BADGES", "COUPONS"]
    assert result.points["points_category"].tolist() == ["EXTERNAL_TRIGGER_BASED_POINTS"]

    promo = promotion_example()
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
    obj = summary_example()
    obj["points"][0]["totalPointsIssued"] = total
    obj["alternateCurrencies"][0]["totalCurrencyIssued"] = total
    result = parse_action_summary(obj)
    for value in (result.points.loc[0, "total_points"],
                  result.alternate_currencies.loc[0, "total_issued"]):
        assert value == expected or (math.isnan(expected) and math.isnan(value))


def test_ids_and_counts_as_strings_floats_and_numpy_numbers():
    obj = summary_example() | {"entityId": "388597285", "programId": "3334.0",
                               "promotionId": 1133600978.0, "orgId": np.int64(51948)}
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
    obj = summary_example()
    del obj["entityId"]
    obj["customerId"] = 42
    result = parse_action_summary(obj)
    assert result.customer_id == 42 and result.points["customer_id"].tolist() == [42]


def test_negative_and_zero_counts_are_kept():
    obj = summary_example()
    obj["incentives"][0]["actionIssuedCount"] = -5
    obj["points"][0]["numberOfTimesIssued"] = 0
    result = parse_action_summary(obj)
    assert result.incentives.loc[0, "issued_count"] == -5
    assert result.points.loc[0, "times_issued"] == 0


def test_lone_surrogates_in_strings_become_replacement_characters():
    body = SUMMARY_TEXT.replace("activity_reward_1", "activity\\ud800reward").replace(
        '"some_ac"', '"some\\udfffac"')
    result = parse_action_summary(body)
    assert result.incentives.loc[0, "activity_id"] == "activity\ufffdreward"
    assert result.alternate_currencies.loc[0, "currency_name"] == "some\ufffdac"


# -- structurally wrong summaries ----------------------------------------------------------------

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
        parse_action_summary(set_path(summary_example(), path, value))


@pytest.mark.parametrize("data", ["x", 5, [], [summary_example(), summary_example()], [5], True])
def test_data_of_the_wrong_type(data):
    with pytest.raises(ResponseFormatError):
        parse_action_summary({"data": data, "errors": None})


# -- the row-level building blocks ---------------------------------------------------------------

def test_summary_rows_are_plain_tuples_in_schema_order():
    incentives, points, currencies = summary_rows(summary_example())
    ids = (388597285, 3334, 1133600978)
    assert incentives[0] == ids + ("activity_reward_1", "REWARD", "133423", 1, 1734533309000)
    assert points == [ids + ("REGULAR_POINTS", 1234.0, 1, 1734533309000)]
    assert currencies == [ids + ("some_ac", 1234.0, 1, 1734533309000)]
    assert all(len(row) == len(INCENTIVE_COLUMNS) for row in incentives)


def test_batched_frames_equal_the_concatenated_single_results():
    other = summary_example() | {"entityId": 7}
    other["points"] = None
    bodies = [v3(summary_example()), other, json.loads(NO_SUMMARY_TEXT)]
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


# -- issue 13: what counts as "no benefits" ------------------------------------------------------

@pytest.mark.parametrize("body", [
    {}, {"data": {}}, v3({}), gateway({}), {"data": {}, "errors": None, "warnings": None},
    promotion_example(), gateway(promotion_example()),
    {"org_id": 1, "entity_id": 2, "program_id": 3, "promotion_id": 4, "incentives": [],
     "points": [], "alternate_currencies": []},
    {"incentives": [], "points": [], "alternateCurrencies": []},
])
def test_bodies_without_a_summary_are_not_no_benefits(body):
    with pytest.raises(ResponseFormatError, match="not an action summary"):
        parse_action_summary(body)


def test_no_benefits_needs_8116_or_the_documented_ids():
    ids = {"orgId": 1, "entityId": 2, "programId": 3, "promotionId": 4}
    assert parse_action_summary(ids | {"incentives": []}).empty
    assert parse_action_summary(v3({}, warnings=[{"code": 8116, "message": "none"}])).empty
    for missing in ("entityId", "programId", "promotionId"):
        body = {k: v for k, v in ids.items() if k != missing} | {"incentives": []}
        with pytest.raises(ResponseFormatError, match="not an action summary"):
            parse_action_summary(body)


# -- issue 13: answers for another promotion or customer -----------------------------------------

@pytest.mark.parametrize(("key", "value", "named"), [
    ("promotionId", 1, "promotionId 1"), ("programId", "1.0", "programId 1"),
    ("entityId", 7, "customer 7")])
def test_a_summary_naming_other_ids_than_the_request_is_a_format_error(key, value, named):
    request = {"customer_id": 388597285, "program_id": 3334, "promotion_id": 1133600978}
    assert parse_action_summary(summary_example(), **request).promotion_id == 1133600978
    with pytest.raises(ResponseFormatError, match=named):
        parse_action_summary(set_path(summary_example(), (key,), value), **request)
    with pytest.raises(ResponseFormatError, match=named):
        check_summary_ids(set_path(summary_example(), (key,), value), **request)


# -- issue 13: the v2 benefits shape and ids such as "118221.0" ---------------------------------

V2_BODY = {
    "customerId": 388597285, "programId": 3334, "promotionId": 1133600978, "orgId": 51948,
    "points": [], "badges": None,
    "rewards": [{"rewardSeriesId": "118221.0", "numberOfTimesIssued": 2,
                 "lastIssuedOn": "2024-12-18T20:18:29+05:30"}],
    "alternateCurrencies": [{"alternateCurrencyName": "STARS", "alternateCurrencySubDetails": [
        {"alternateCurrencyType": "ISSUED", "totalIssued": 5, "numberOfTimesIssued": 1,
         "lastIssuedOn": "2024-12-18T14:48:29Z"}]}],
    "warnings": [],
}


def test_the_v2_shape_given_to_the_v3_parser_is_normalised_not_a_nan_row():
    from capnb.api.lookup import parse_v2_action_summary

    result = parse_action_summary(V2_BODY)
    assert result.incentives[["action", "action_id", "issued_count"]].values.tolist() == [
        ["REWARD", "118221", 2]]
    assert result.incentives["last_issued_on"].tolist() == [STAMP]
    assert result.alternate_currencies[["currency_name", "total_issued"]].values.tolist() == [
        ["STARS", 5.0]]
    assert result.customer_id == 388597285
    v2 = parse_v2_action_summary(V2_BODY)
    for name in SUMMARY_FRAMES:
        pdt.assert_frame_equal(getattr(result, name), getattr(v2, name))
    rows = summary_rows(V2_BODY)
    assert rows[0][0][5] == "118221" and rows[2][0][3] == "STARS"


def test_integral_decimal_ids_are_spelled_the_same_in_v2_and_v3():
    from capnb.api.lookup import parse_v2_action_summary

    obj = summary_example()
    obj["incentives"][0]["actionId"] = "118221.0"
    v3_ids = parse_action_summary(obj).incentives["action_id"].tolist()
    assert v3_ids == ["118221", "SomeBadgeId", "5231232"]
    v2 = parse_v2_action_summary(V2_BODY | {"rewards": [{"rewardSeriesId": 118221.0,
                                                         "numberOfTimesIssued": 1}]})
    assert v2.incentives["action_id"].tolist() == ["118221"]


@pytest.mark.parametrize(("key", "item"), [
    ("alternateCurrencies", {"currency": "STARS", "total": "5"}), ("points", {"category": "X"}),
    ("incentives", {"action_id": "9", "action_issued_count": 1}), ("incentives", {})])
def test_list_items_without_any_documented_field_are_format_errors(key, item):
    with pytest.raises(ResponseFormatError, match="no documented field"):
        parse_action_summary(summary_example() | {key: [item]})


# -- issue 13: implausible issuance times and counts ---------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("lastIssuedOn", 1734533309),  # seconds where milliseconds are documented
    ("lastIssuedOn", "1734533309"), ("lastIssuedOn", 1734533309.0),
    ("lastIssuedOn", "0001-01-01T00:00:00Z"), ("lastIssuedOn", -62135596800000),
    ("lastIssuedOn", "2150-01-01T00:00:00Z"), ("lastIssuedOn", 33585195460018),
    ("lastIssuedOn", 2**63), ("lastIssuedOn", ""), ("lastIssuedOn", "  "),
    ("lastIssuedOn", "\u0661\u0667\u0663\u0664\u0665\u0663\u0663\u0663\u0660\u0669\u0660\u0660"
                     "\u0660"),  # 1734533309000 in Arabic-Indic digits
    ("actionIssuedCount", "1e2"), ("actionIssuedCount", ""), ("actionIssuedCount", " "),
    ("actionIssuedCount", "\u0663"), ("actionIssuedCount", "\uff13"),
])
def test_implausible_issuance_times_and_counts_are_format_errors(key, value):
    with pytest.raises(ResponseFormatError):
        parse_action_summary(set_path(summary_example(), ("incentives", 0, key), value))
    points_key = "numberOfTimesIssued" if key == "actionIssuedCount" else key
    with pytest.raises(ResponseFormatError):
        parse_action_summary(set_path(summary_example(), ("points", 0, points_key), value))


@pytest.mark.parametrize("value", ["\u0661\u0662", "\uff11\uff12.5", "1_000"])
def test_totals_in_non_ascii_digits_are_format_errors(value):
    with pytest.raises(ResponseFormatError):
        parse_action_summary(set_path(summary_example(), ("points", 0, "totalPointsIssued"),
                                      value))


def test_plausible_issuance_times_and_a_documented_null_still_parse():
    obj = summary_example()
    obj["incentives"][0]["lastIssuedOn"] = None
    obj["incentives"][1]["lastIssuedOn"] = "2024-12-18T20:18:29+05:30"
    obj["incentives"][2]["lastIssuedOn"] = "946684800000"  # 2000-01-01, the lower bound
    result = parse_action_summary(obj)
    assert result.incentives["last_issued_on"].tolist() == [
        pd.NaT, STAMP, pd.Timestamp("2000-01-01", tz="UTC")]
