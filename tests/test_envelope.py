"""Envelopes: warnings from envelope and object, error bodies -> ApiError classes, malformed
bodies, unwrap_summary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from capnb.api.envelope import raise_for_envelope, unwrap_summary
from capnb.api.promotion import parse_promotion
from capnb.api.summary import parse_action_summary
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
from tests.parser_bodies import NO_SUMMARY_TEXT, gateway, promotion_example, summary_example, v3

# -- envelopes and warnings ----------------------------------------------------------------------

def test_warnings_as_strings_objects_and_nulls_from_envelope_and_data():
    obj = summary_example() | {"warnings": ["inner text", None,
                                            {"code": "8116", "message": "none"}]}
    body = v3(obj, warnings=[{"status": False, "code": 9999, "message": "outer"}, "plain", None])
    result = parse_action_summary(body)
    assert [(w.code, w.message) for w in result.warnings] == [
        (9999, "outer"), (None, "plain"), (None, "inner text"), (8116, "none")]
    assert result.empty is True and len(result.incentives) == 3  # 8116 says empty; rows kept
    for warnings in (None, [], [None], ""):
        body = v3(summary_example() | {"warnings": warnings}, warnings)
        assert parse_action_summary(body).warnings == []
    single = parse_action_summary(summary_example() | {"warnings": {"code": 1, "message": "m"}})
    assert [(w.code, w.message) for w in single.warnings] == [(1, "m")]


def test_8116_next_to_null_data_is_an_empty_summary():
    result = parse_action_summary({"data": None, "errors": None,
                                   "warnings": [{"code": 8116, "message": "no summary"}]})
    assert result.empty and result.customer_id is None and result.warnings[0].code == 8116


def test_errors_next_to_data_are_warnings_not_exceptions():
    result = parse_action_summary({"data": summary_example(),
                                   "errors": [{"code": 1, "message": "soft"}]})
    assert [(w.code, w.message) for w in result.warnings] == [(1, "soft")]


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
    {}, summary_example(), v3(summary_example()), gateway(promotion_example()),
    {"errors": [], "data": None},
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
                                     "[" * 100_000, None, [summary_example()], 12, b'{"a": '])
def test_invalid_json_or_not_an_object(payload):
    for parse in (parse_action_summary, parse_promotion):
        with pytest.raises(ResponseFormatError) as caught:
            parse(payload, request_id="rid")
        assert caught.value.request_id == "rid"


def test_invalid_json_error_quotes_the_start_of_the_body():
    with pytest.raises(ResponseFormatError) as caught:
        parse_action_summary("<html>Bad gateway</html>")
    assert caught.value.excerpt.startswith("<html>Bad gateway")


def test_unwrap_summary_returns_the_object_and_warnings():
    obj, warnings = unwrap_summary(NO_SUMMARY_TEXT)
    assert obj["entityId"] == 388597285 and [w.code for w in warnings] == [8116]
    obj, warnings = unwrap_summary(gateway(summary_example()))
    assert obj == summary_example() and warnings == []
