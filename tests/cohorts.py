"""Small hand-made cohorts and promotions shared by the analysis, chart and restriction tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from capnb.fetch.cohort import Cohort
from capnb.models import Promotion
from capnb.schema import (
    ACTION_COLUMNS,
    CURRENCY_COLUMNS,
    CUSTOMER_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    typed_frame,
)

AS_OF = pd.Timestamp("2026-01-10", tz="UTC")


def _ts(values):
    return pd.to_datetime(pd.Series(values, dtype="object"), utc=True)


def make_cohort(statuses: dict[int, str], incentives=(), points=(), currencies=(),
                activity_id: str | None = None) -> Cohort:
    """incentives: (customer, activity, action, action_id, count, last); points: (customer,
    category, total, times, last); currencies: (customer, name, total, times, last)."""
    def frame(rows, names, columns):
        data = {name: [r[i] for r in rows] for i, name in enumerate(names)}
        data["last_issued_on"] = _ts(data["last_issued_on"])
        data.update(program_id=[3334] * len(rows), promotion_id=[1] * len(rows))
        return typed_frame(data, columns)

    return Cohort(
        program_id=3334, promotion_id=1, activity_id=activity_id, host="test",
        customers=typed_frame({"customer_id": list(statuses), "status": list(statuses.values())},
                              CUSTOMER_COLUMNS),
        incentives=frame(incentives, ["customer_id", "activity_id", "action", "action_id",
                                      "issued_count", "last_issued_on"], INCENTIVE_COLUMNS),
        points=frame(points, ["customer_id", "points_category", "total_points", "times_issued",
                              "last_issued_on"], POINTS_COLUMNS),
        alternate_currencies=frame(currencies, ["customer_id", "currency_name", "total_issued",
                                                "times_issued", "last_issued_on"],
                                   CURRENCY_COLUMNS))


def make_promotion(rows, start="2025-07-01", name="Test promotion") -> Promotion:
    """rows: (family, name, value, type, period_type, period_unit)."""
    frame = pd.DataFrame(list(rows), columns=["family", "name", "value", "type", "period_type",
                                              "period_unit"])
    frame["unlimited"] = frame["value"].eq(-1)
    frame["source"] = np.where(frame["family"].eq("limits"), "limits", "promotionRestrictions")
    return Promotion(id=1, name=name, program_id=3334, status="LIVE", offer_type="GENERIC",
                     start=pd.Timestamp(start, tz="UTC") if start else pd.NaT,
                     end=pd.Timestamp("2026-12-31", tz="UTC"), is_active=True,
                     restrictions=typed_frame(frame, RESTRICTION_COLUMNS),
                     rules=typed_frame({}, RULE_COLUMNS), actions=typed_frame({}, ACTION_COLUMNS))


# Customers 1, 2 have benefits, 3 none; 4 failed and 5 not found are outside the denominator.
STATUSES = {1: "ok", 2: "ok", 3: "no_benefits", 4: "failed", 5: "not_found"}
INCENTIVES = [
    (1, "act_reward", "REWARD", "133423", 2, "2026-01-01T10:00Z"),
    (1, "act_coupon", "COUPONS", "5231232", 1, "2026-01-03T10:00Z"),
    (2, "act_reward", "REWARD", "133423", 3, "2026-01-01T23:30Z"),
    (2, None, "BADGES", "EarlyBird", 1, None),
    (2, "act_coupon", "COUPONS", "5231232", 0, "2026-01-02T00:00Z"),  # a count of 0
    (4, "act_reward", "REWARD", "133423", 9, "2026-01-01T00:00Z"),  # failed customer
]
POINTS = [
    (1, "REGULAR_POINTS", 100.0, 2, "2026-01-09T12:00Z"),
    (1, "BONUS_POINTS", 50.0, 1, "2026-01-02T00:00Z"),
    (2, "REGULAR_POINTS", 300.0, 3, "2025-12-20T00:00Z"),
]
CURRENCIES = [(1, "STARS", 5.0, 1, "2026-01-02T00:00Z")]


LIFETIME = [
    ("redemption", "MAX_ALLOWED_POINTS_PER_CUSTOMER", 300, "NON_PERIOD_BASED", None, None),
    ("issual", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", 3, None, None, None),
    ("earn", "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", -1, None, None, None),
    ("redemption", "MAX_ALLOWED_TIMES_PER_CUSTOMER", 5, "NON_PERIOD_BASED", "MOVING_WINDOW",
     "DAILY"),  # a stray period unit on a NON_PERIOD_BASED item: ignored
    ("redemption", "MAX_ALLOWED_POINTS_PER_EVENT", 100, "NON_PERIOD_BASED", None, None),
    ("redemption", "MAX_ALLOWED_POINTS_PER_PROMOTION", 1000, "NON_PERIOD_BASED", None, None),
    ("earn", "MAX_NUMBER_OF_EARN_PER_PROMOTION", 20, None, None, None),
    ("redemption", "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", 1, "NON_PERIOD_BASED", None, None),
    ("expiry", "EARN_PROMOTION_EXPIRY_BASED_ON", 90, "CUSTOM", None, None),
    ("earn", "MAX_FOO_PER_CUSTOMER", 7, None, None, None),
    ("limits", "pointsPerCustomer", 300, None, None, None),
    ("limits", "totalPointsPerEventLimit", 100, None, None, None),
]


PERIODIC = [
    ("earn", "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", 2, "PERIOD_BASED", "MOVING_WINDOW", "WEEKLY"),
    ("redemption", "MAX_ALLOWED_POINTS_PER_CUSTOMER", 100, "PERIOD_BASED", "MOVING_WINDOW",
     "DAILY"),
    ("redemption", "MAX_ALLOWED_TIMES_PER_CUSTOMER", 10, "PERIOD_BASED", None, "MONTHLY"),
    ("redemption", "MAX_ALLOWED_TIMES_PER_PROMOTION", 50, "PERIOD_BASED", "MOVING_WINDOW",
     "YEARLY"),
]
