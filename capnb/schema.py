"""Column names and dtypes of every frame capnb returns, and constructors for them.

Every frame is built through :func:`typed_frame` so that columns and dtypes are identical whether
the frame has a million rows or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

UTC_TIMESTAMP = "datetime64[us, UTC]"

INCENTIVE_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "activity_id": "str",
    "action": "str",
    "action_id": "str",
    "issued_count": "Int64",
    "last_issued_on": UTC_TIMESTAMP,
}

POINTS_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "points_category": "str",
    "total_points": "float64",
    "times_issued": "Int64",
    "last_issued_on": UTC_TIMESTAMP,
}

CURRENCY_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "currency_name": "str",
    "total_issued": "float64",
    "times_issued": "Int64",
    "last_issued_on": UTC_TIMESTAMP,
}

RESTRICTION_COLUMNS: dict[str, str] = {
    "family": "str",
    "name": "str",
    "value": "Int64",
    "unlimited": "bool",
    "type": "str",
    "period_type": "str",
    "period_unit": "str",
    "source": "str",
}

RULE_COLUMNS: dict[str, str] = {
    "ruleset_id": "Int64",
    "rule_id": "Int64",
    "name": "str",
    "expression": "str",
    "is_active": "boolean",
    "priority": "Int64",
    "start": UTC_TIMESTAMP,
    "end": UTC_TIMESTAMP,
}

ACTION_COLUMNS: dict[str, str] = {
    "rule_id": "Int64",
    "case": "str",
    "action_name": "str",
    "description": "str",
    "properties": "object",
}

PROGRAM_COLUMNS: dict[str, str] = {
    "program_id": "Int64",
    "name": "str",
    "description": "str",
    "points_to_currency_ratio": "float64",
    "is_default": "boolean",
    "partner_programs": "object",
}

PROMOTION_LIST_COLUMNS: dict[str, str] = {
    "promotion_id": "Int64",
    "program_id": "Int64",
    "name": "str",
    "type": "str",
    "status": "str",
    "is_active": "boolean",
    "start": UTC_TIMESTAMP,
    "end": UTC_TIMESTAMP,
    "identifier": "str",
}

PROMOTION_USAGE_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "family": "str",
    "name": "str",
    "kpi": "str",
    "limit_on": "str",
    "type": "str",
    "period_unit": "str",
    "max_limit": "float64",
    "unlimited": "bool",
    "usage": "float64",
    "source": "str",
}

ISSUAL_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "enrolment_id": "Int64",
    "enrolled_at": UTC_TIMESTAMP,
    "enrolment_expiry": UTC_TIMESTAMP,
    "enrol_event_log_id": "Int64",
    "issual_id": "Int64",
    "issued_at": UTC_TIMESTAMP,
    "issual_expiry": UTC_TIMESTAMP,
    "issual_event_log_id": "Int64",
    "redeemed_count": "Int64",
}
"""promotionData ``customerPromotionTimelines``: one row per issual (an enrolment without
issuals: one row whose issual columns are null)."""

TIMELINE_STATUS_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "program_id": "Int64",
    "promotion_id": "Int64",
    "has_timelines": "bool",
    "enrolments": "Int64",
    "issuals": "Int64",
}
"""Per customer and promotion of a promotionData answer: whether it carried
``customerPromotionTimelines``, and how many enrolments and issuals they list (null without)."""

V3_PROMOTION_COLUMNS: dict[str, str] = {
    "hex_id": "str",
    "promotion_id": "Int64",
    "name": "str",
    "description": "str",
    "program_id": "Int64",
    "org_id": "Int64",
    "start": UTC_TIMESTAMP,
    "end": UTC_TIMESTAMP,
    "timezone": "str",
    "promotion_type": "str",
    "status": "str",
    "identifier": "str",
    "created_on": UTC_TIMESTAMP,
    "last_modified_on": UTC_TIMESTAMP,
    "enrolment_method": "str",
}

V3_ACTIVITY_COLUMNS: dict[str, str] = {
    "hex_id": "str",
    "promotion_id": "Int64",
    "activity_id": "str",
    "name": "str",
    "type": "str",
    "event": "str",
    "milestones": "Int64",
}

V3_MILESTONE_COLUMNS: dict[str, str] = {
    "hex_id": "str",
    "promotion_id": "Int64",
    "activity_id": "str",
    "position": "Int64",
    "name": "str",
    "tracking_type": "str",
    "target_evaluation_type": "str",
    "frequency_type": "str",
    "target_entity": "str",
    "target_type": "str",
    "raw": "str",
}

V3_LIMIT_COLUMNS: dict[str, str] = {
    "hex_id": "str",
    "promotion_id": "Int64",
    "position": "Int64",
    "raw": "str",
}

CUSTOMER_STATUSES = ("ok", "no_benefits", "not_found", "failed", "invalid")

CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "Int64",
    "status": "str",
    "fetched_at": UTC_TIMESTAMP,
    "request_id": "str",
    "error_code": "str",
    "error_message": "str",
}


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    """Return a frame with no rows and exactly ``columns`` (name -> dtype)."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in columns.items()})


def typed_frame(
    data: Mapping[str, Iterable[Any]] | pd.DataFrame, columns: Mapping[str, str]
) -> pd.DataFrame:
    """Build a frame holding exactly ``columns`` in order, each cast to its dtype.

    ``data`` maps column names to values (missing columns become all-null). Timestamps given as
    epoch milliseconds (integers) are converted; values out of pandas' range become NaT.
    """
    source = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
    n = len(source)
    out: dict[str, pd.Series] = {}
    for name, dtype in columns.items():
        if name in source:
            values = source[name]
        else:
            values = pd.Series([None] * n, dtype="object")
        out[name] = _cast(pd.Series(values).reset_index(drop=True), dtype)
    return pd.DataFrame(out, copy=False)  # the casts above already made any copy needed


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    if str(values.dtype) == dtype:
        return values  # already right: no copy (frames of millions of rows pass through here)
    if dtype == UTC_TIMESTAMP:
        return epoch_ms_to_utc(values)
    if dtype == "object":
        return values.astype("object")
    if dtype == "Int64" and (values.dtype == "object" or pd.api.types.is_string_dtype(values)):
        try:  # exact for ints beyond 2**53, which to_numeric would round through float64
            return pd.Series(pd.array(values.tolist(), dtype="Int64"))
        except (TypeError, ValueError, OverflowError):
            values = pd.to_numeric(values, errors="coerce")
    return values.astype(dtype)


# Timestamps beyond these bounds (sentinels such as 33585195460018 ms, year 3034) become NaT:
# datetime64[us] could hold them, but they mean "no end", not a date an analyst should see.
MIN_EPOCH_MS = pd.Timestamp("1970-01-01", tz="UTC").value // 1_000_000
MAX_EPOCH_MS = pd.Timestamp("2262-04-11", tz="UTC").value // 1_000_000


def epoch_ms_to_utc(values: pd.Series) -> pd.Series:
    """Convert epoch milliseconds (or timestamps) to ``datetime64[us, UTC]``; junk becomes NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        converted = pd.to_datetime(values, utc=True)
        return converted.astype(UTC_TIMESTAMP)
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    numeric = numeric.where((numeric >= MIN_EPOCH_MS) & (numeric <= MAX_EPOCH_MS))
    millis = numeric.round().astype("Int64")
    micros = (millis * 1000).astype("float64")
    return pd.to_datetime(micros, unit="us", utc=True).astype(UTC_TIMESTAMP)
