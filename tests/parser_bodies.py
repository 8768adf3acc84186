"""The documented api bodies and the checks the parser tests share (test_summary_parser,
test_promotion_parser, test_envelope, test_parser_properties)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt

from capnb.models import ActionSummary, ApiWarning
from capnb.schema import CURRENCY_COLUMNS, INCENTIVE_COLUMNS, POINTS_COLUMNS, empty_frame

PARSER_DATA = Path(__file__).parent / "data"
SUMMARY_TEXT = (PARSER_DATA / "parse_action_summary_example.json").read_text()
NO_SUMMARY_TEXT = (PARSER_DATA / "parse_action_summary_8116.json").read_text()
PROMOTION_TEXT = (PARSER_DATA / "parse_promotion_example.json").read_text()
SUMMARY_FRAMES = {"incentives": INCENTIVE_COLUMNS, "points": POINTS_COLUMNS,
                  "alternate_currencies": CURRENCY_COLUMNS}


def summary_example() -> dict[str, Any]:
    """The documented action summary object (bare)."""
    return json.loads(SUMMARY_TEXT)


def promotion_example() -> dict[str, Any]:
    """The promotion object inside the documented api_gateway envelope."""
    return json.loads(PROMOTION_TEXT)["data"][0]


def gateway(obj: Any) -> dict[str, Any]:
    return {"status": {"code": 200, "message": "success"}, "validationErrors": None, "data": [obj]}


def v3(obj: Any, warnings: Any = None) -> dict[str, Any]:
    return {"data": obj, "errors": None, "warnings": warnings}


def set_path(obj: dict, path: tuple, value: Any) -> dict:
    """Set ``obj[path[0]][path[1]]...`` to ``value``; return ``obj``."""
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


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
