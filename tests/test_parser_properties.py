"""Property tests of both parsers: nothing but ResponseFormatError/ApiError ever escapes, and
every result has the typed frames."""

from __future__ import annotations

import collections
import copy
import json
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capnb.api.promotion import parse_promotion
from capnb.api.summary import parse_action_summary
from capnb.errors import (
    ApiError,
    ResponseFormatError,
)
from capnb.models import Promotion
from capnb.schema import (
    ACTION_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
)
from tests.parser_bodies import (
    NO_SUMMARY_TEXT,
    PROMOTION_TEXT,
    SUMMARY_TEXT,
    assert_schema,
    assert_valid_summary,
    gateway,
    promotion_example,
    summary_example,
    v3,
)

PROMOTION_FRAMES = {"restrictions": RESTRICTION_COLUMNS, "rules": RULE_COLUMNS,
                    "actions": ACTION_COLUMNS}


def assert_valid_promotion(result: Promotion) -> None:
    assert isinstance(result, Promotion)
    for name, columns in PROMOTION_FRAMES.items():
        assert_schema(getattr(result, name), columns)
    for stamp in (result.start, result.end):
        assert stamp is pd.NaT or (isinstance(stamp, pd.Timestamp) and str(stamp.tz) == "UTC")
    assert result.id is None or type(result.id) is int
    assert result.program_id is None or type(result.program_id) is int
    assert result.is_active in (True, False, None)


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
# objects that name what they are (a summary's three ids, a promotion's id), as a real answer
# does: without them a rowless object is no summary and no promotion (issue 13)
NAMED = st.sampled_from([{"entityId": 1, "programId": 2, "promotionId": 3}, {"id": 4}])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | ODD_VALUES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    | st.builds(lambda named, rest: named | rest, NAMED,
                st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4)),
    max_leaves=12)
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def has_error_envelope(body: Any) -> bool:
    return isinstance(body, dict) and (bool(body.get("errors"))
                                       or isinstance(body.get("status"), dict)
                                       or bool(body.get("validationErrors")))


BOTH = ((parse_action_summary, assert_valid_summary), (parse_promotion, assert_valid_promotion))


Cases = collections.Counter[str]
# Each property test must see a minimum of parser outcomes (it runs 300 examples, one to four
# parser calls each), so that a property that silently ran few examples fails; the three
# minimums add up to the 900 outcomes the three properties always had to reach together.
MIN_JSON_OUTCOMES, MIN_BYTES_OUTCOMES, MIN_DOCUMENTED_OUTCOMES = 350, 350, 200


def check_outcome(cases: Cases, body: Any, payload: Any, parsers: tuple = BOTH) -> None:
    for parse, validate in parsers:
        try:
            result = parse(payload)
        except ResponseFormatError:
            cases["ResponseFormatError"] += 1
            continue
        except ApiError:
            assert has_error_envelope(body)
            cases["ApiError (error envelope)"] += 1
            continue
        validate(result)
        cases["typed frames"] += 1


def assert_outcomes(cases: Cases, record_property: Any, minimum: int, *expected: str) -> None:
    """Record the outcome counts; fail unless there are ``minimum`` and every ``expected`` kind."""
    record_property("parser_cases", dict(cases))
    print(f"\nparser property cases: {sum(cases.values())} outcomes, {dict(cases)}")
    assert sum(cases.values()) >= minimum and all(cases[kind] for kind in expected), cases


def test_arbitrary_json_values(record_property):
    cases = Cases()

    @PROPERTY
    @given(JSON)
    def check(body: Any) -> None:
        check_outcome(cases, body, body)
        try:
            text = json.dumps(body)  # NaN/inf are written as JSON's NaN/Infinity, which loads reads
        except ValueError:
            return
        check_outcome(cases, body, text)

    check()
    assert_outcomes(cases, record_property, MIN_JSON_OUTCOMES, "typed frames",
                    "ResponseFormatError")


def test_arbitrary_bytes_and_text(record_property):
    cases = Cases()

    @PROPERTY
    @given(st.binary(max_size=64) | st.text(max_size=64))
    def check(payload: Any) -> None:
        check_outcome(cases, None, payload)

    check()
    assert_outcomes(cases, record_property, MIN_BYTES_OUTCOMES, "ResponseFormatError")


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in items:
        found += _paths(child, prefix + (key,))
    return found


DOCUMENTED = [(json.loads(SUMMARY_TEXT), BOTH[:1]), (json.loads(NO_SUMMARY_TEXT), BOTH[:1]),
              (v3(summary_example()), BOTH[:1]), (gateway(summary_example()), BOTH[:1]),
              (json.loads(PROMOTION_TEXT), BOTH[1:]), (v3(promotion_example()), BOTH[1:]),
              (promotion_example(), BOTH[1:])]
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


def test_documented_shapes_with_fields_removed_nulled_or_retyped(record_property):
    cases = Cases()

    @PROPERTY
    @given(st.sampled_from(range(len(DOCUMENTED))), MUTATIONS)
    def check(which: int, mutations: list) -> None:
        original, parsers = DOCUMENTED[which]
        body = mutate(copy.deepcopy(original), mutations)
        check_outcome(cases, body, body, parsers)

    check()
    assert_outcomes(cases, record_property, MIN_DOCUMENTED_OUTCOMES, "typed frames",
                    "ResponseFormatError")
