"""parse_promotion: the documented example cell by cell, restrictions, legacy limits, dates,
rules and actions, structurally wrong promotions."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from capnb.api.promotion import parse_promotion
from capnb.errors import (
    ResponseFormatError,
)
from capnb.schema import (
    ACTION_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    empty_frame,
    typed_frame,
)
from tests.parser_bodies import PROMOTION_TEXT, gateway, promotion_example, set_path, v3

# -- the documented example ----------------------------------------------------------------------

def test_doc_promotion_example_cell_by_cell():
    result = parse_promotion(PROMOTION_TEXT, request_id="req-2")
    assert (result.id, result.name, result.description) == (
        57099, "test enroll and issue", "Promotion Description")
    assert (result.program_id, result.program_name, result.status, result.offer_type) == (
        469, "Default Program", "LIVE", "LOYALTY_EARNING")
    assert result.start == pd.Timestamp("2024-04-10 00:00", tz="UTC")
    assert result.end == pd.Timestamp("2024-05-31 23:59:59", tz="UTC")
    assert result.is_active is True and result.request_id == "req-2"
    assert result.raw == promotion_example()
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


@pytest.mark.parametrize("wrap", [lambda o: o, v3, gateway])
def test_every_envelope_gives_the_same_promotion(wrap):
    result = parse_promotion(wrap(promotion_example()))
    assert (result.id, len(result.restrictions), len(result.rules), len(result.actions)) == (
        57099, 6, 1, 1)


# -- restrictions, dates, rules ------------------------------------------------------------------

def test_legacy_limits_give_rows_when_non_zero():
    promo = promotion_example()
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
    promo = promotion_example()
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
    promo = promotion_example()
    change(promo)
    result = parse_promotion(promo)
    pdt.assert_frame_equal(result.restrictions, empty_frame(RESTRICTION_COLUMNS))


def test_a_single_restriction_object_instead_of_a_list():
    promo = promotion_example()
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
    promo = promotion_example() | {"startDate": raw, "endDate": raw}
    result = parse_promotion(promo)
    for stamp in (result.start, result.end):
        if expected is None:
            assert stamp is pd.NaT
        else:
            assert stamp == pd.Timestamp(expected, tz="UTC") and str(stamp.tz) == "UTC"


def test_rule_dates_sentinels_and_fallback_ruleset_id():
    promo = promotion_example()
    ruleset = promo["rulesetInfos"][0]
    del ruleset["id"]
    ruleset["rules"][0] |= {"startDate": -5, "endDate": 2**80, "isActive": "false"}
    rules = parse_promotion(promo).rules
    assert rules.loc[0, "ruleset_id"] == 126289300  # from the rule's ruleSetId
    assert rules.loc[0, "start"] is pd.NaT and rules.loc[0, "end"] is pd.NaT
    assert bool(rules.loc[0, "is_active"]) is False


def test_several_cases_and_actions_per_rule():
    promo = promotion_example()
    rule = promo["rulesetInfos"][0]["rules"][0]
    rule["caseToActions"]["false"] = [
        {"actionName": "AWARD_POINTS_ACTION", "mandatoryPropertiesValues": None},
        {"actionName": "BADGE_EARN_ACTION", "mandatoryPropertiesValues": {"badgeMetaId": "b1"}}]
    actions = parse_promotion(promo).actions
    assert actions["case"].tolist() == ["true", "false", "false"]
    assert actions["properties"].tolist() == [{"VoucherSeriesId": "349357"}, {},
                                              {"badgeMetaId": "b1"}]


@pytest.mark.parametrize("spelling", [118221, 118221.0, "118221.0", "118221"])
def test_an_action_id_has_one_spelling_so_actions_join_incentives(spelling):
    promo = promotion_example()
    promo["rulesetInfos"][0]["rules"][0]["caseToActions"]["true"] = [
        {"actionName": "CONVERT_POINTS_TO_REWARD_ACTION",
         "mandatoryPropertiesValues": {"rewardId": spelling, "points": 10.0, "note": "1.0"}}]
    (properties,) = parse_promotion(promo).actions["properties"]
    # ids (keys ending in "id") as the summaries spell them; other values untouched
    assert properties == {"rewardId": "118221", "points": 10.0, "note": "1.0"}


def test_rulesets_null_or_missing_give_empty_rules_and_actions():
    for rulesets in (None, [], [{"id": 1, "rules": None}]):
        result = parse_promotion(promotion_example() | {"rulesetInfos": rulesets})
        pdt.assert_frame_equal(result.rules, empty_frame(RULE_COLUMNS))
        pdt.assert_frame_equal(result.actions, empty_frame(ACTION_COLUMNS))


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
        parse_promotion(gateway(set_path(promotion_example(), path, value)))


@pytest.mark.parametrize("body", [{}, {"data": {}}, gateway({}), gateway({"name": "x"}),
                                  gateway({"id": None, "programId": 3})])
def test_a_body_without_a_promotion_id_is_not_a_promotion(body):
    with pytest.raises(ResponseFormatError, match="no promotion id"):
        parse_promotion(body)
