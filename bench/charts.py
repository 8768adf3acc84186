"""Chart sizes and build times for a 1,000,000-customer cohort.

The cohort is synthetic and built directly with numpy (nothing is fetched): 88% of customers
have benefits; incentives over six actions and nine activities, three points categories, two
currencies, last issuances spread over 2025-06-12 .. 2026-11-15. The promotion has every kind of
restriction (per customer, per promotion, per event, period-based, unlimited, legacy, expiry and
an unknown name). For each chart the table shows the analysis + figure time and the size of
``fig.to_json()``. Target: every figure under 200 KB, whatever the cohort size.

Run: ``python bench/charts.py [--customers 1000000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import report  # noqa: E402
from capnb import analysis  # noqa: E402
from capnb.analysis import limits  # noqa: E402
from capnb.fetch.cohort import Cohort  # noqa: E402
from capnb.models import Promotion  # noqa: E402
from capnb.reports import charts  # noqa: E402
from capnb.schema import (  # noqa: E402
    ACTION_COLUMNS,
    CURRENCY_COLUMNS,
    CUSTOMER_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    typed_frame,
)

AS_OF = pd.Timestamp("2026-11-15", tz="UTC")
START_MS = int(pd.Timestamp("2025-06-12", tz="UTC").value // 1_000_000)
END_MS = int(AS_OF.value // 1_000_000)
LIMIT_KB = 200


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    ms = rng.integers(START_MS, END_MS, n)
    return pd.Series(pd.to_datetime(ms, unit="ms", utc=True)).astype("datetime64[us, UTC]")


def _ids(frame_customers: np.ndarray, ids: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(ids[frame_customers], dtype="Int64"))


def synthetic_cohort(customers: int, seed: int = 0) -> Cohort:
    """A cohort of ``customers`` with the capnb.schema frames, built with numpy only."""
    rng = np.random.default_rng(seed)
    ids = 388_000_001 + 7 * np.arange(customers, dtype=np.int64)
    active = np.flatnonzero(rng.random(customers) < 0.88)
    status = np.full(customers, "no_benefits", dtype=object)
    status[active] = "ok"
    people = pd.DataFrame({"customer_id": pd.array(ids, dtype="Int64"), "status": status,
                           "fetched_at": AS_OF})
    common = {"program_id": 3334, "promotion_id": 1133600978}

    who = np.repeat(active, rng.integers(1, 3, len(active)))  # 1-2 incentive rows each
    action_ix = rng.integers(0, 6, len(who))
    actions = np.array(["REWARD", "COUPONS", "BADGES", "ENROL", "OPTIN", "UPGRADE_TIER"])
    activity = np.array([f"activity_{a.lower()}_{k}" for a in actions for k in (1, 2)])
    incentives = pd.DataFrame({
        "customer_id": _ids(who, ids), **common, "activity_id": activity[
            action_ix * 2 + rng.integers(0, 2, len(who))] if len(who) else [],
        "action": actions[action_ix], "action_id": (action_ix * 1000 + 5).astype(str),
        "issued_count": rng.integers(1, 6, len(who)), "last_issued_on": _times(rng, len(who))})
    categories = np.array(["BONUS_POINTS", "REGULAR_POINTS", "PROMISED_POINTS"])
    who_p = np.repeat(active, rng.integers(1, 3, len(active)))
    times = rng.integers(1, 12, len(who_p))
    points = pd.DataFrame({
        "customer_id": _ids(who_p, ids), **common,
        "points_category": categories[rng.integers(0, 3, len(who_p))],
        "total_points": np.round(times * rng.lognormal(4.8, 0.6, len(who_p)), 3),
        "times_issued": times, "last_issued_on": _times(rng, len(who_p))})
    points = points.drop_duplicates(["customer_id", "points_category"])
    who_c = active[rng.random(len(active)) < 0.6]
    times_c = rng.integers(1, 8, len(who_c))
    currencies = pd.DataFrame({
        "customer_id": _ids(who_c, ids), **common,
        "currency_name": np.array(["STARS", "COINS"])[rng.integers(0, 2, len(who_c))],
        "total_issued": times_c * rng.integers(1, 6, len(who_c)).astype(float),
        "times_issued": times_c, "last_issued_on": _times(rng, len(who_c))})
    return Cohort(program_id=3334, promotion_id=1133600978, activity_id=None, host="bench",
                  customers=typed_frame(people, CUSTOMER_COLUMNS),
                  incentives=typed_frame(incentives, INCENTIVE_COLUMNS),
                  points=typed_frame(points, POINTS_COLUMNS),
                  alternate_currencies=typed_frame(currencies, CURRENCY_COLUMNS))


def synthetic_promotion() -> Promotion:
    rows = [
        ("redemption", "MAX_ALLOWED_POINTS_PER_CUSTOMER", 5000, "NON_PERIOD_BASED", None, None),
        ("redemption", "MAX_ALLOWED_TIMES_PER_CUSTOMER", 2, "PERIOD_BASED", "MOVING_WINDOW",
         "DAILY"),
        ("redemption", "MAX_ALLOWED_POINTS_PER_EVENT", 400, "NON_PERIOD_BASED", None, None),
        ("redemption", "MAX_ALLOWED_POINTS_PER_PROMOTION", 900_000_000, "NON_PERIOD_BASED",
         None, None),
        ("redemption", "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", 1, "NON_PERIOD_BASED", None,
         None),
        ("issual", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", 6, None, None, None),
        ("earn", "MAX_NUMBER_OF_EARNS_PER_CUSTOMER", 4, "PERIOD_BASED", "MOVING_WINDOW",
         "WEEKLY"),
        ("earn", "MAX_NUMBER_OF_EARN_PER_PROMOTION", -1, None, None, None),
        ("expiry", "EARN_PROMOTION_EXPIRY_BASED_ON", 90, "CUSTOM", None, None),
        ("earn", "MAX_SOMETHING_NEW_PER_CUSTOMER", 3, None, None, None),
        ("limits", "pointsPerCustomer", 5000, None, None, None),
    ]
    frame = pd.DataFrame(rows, columns=["family", "name", "value", "type", "period_type",
                                        "period_unit"])
    frame["unlimited"] = frame["value"].eq(-1)
    frame["source"] = np.where(frame["family"].eq("limits"), "limits", "promotionRestrictions")
    return Promotion(id=1133600978, name="Double Points Weekend <1M bench>", program_id=3334,
                     status="LIVE", offer_type="GENERIC",
                     start=pd.Timestamp("2025-07-01", tz="UTC"),
                     end=pd.Timestamp("2026-12-31", tz="UTC"), is_active=True,
                     restrictions=typed_frame(frame, RESTRICTION_COLUMNS),
                     rules=typed_frame({}, RULE_COLUMNS), actions=typed_frame({}, ACTION_COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    cohort = synthetic_cohort(args.customers)
    promotion = synthetic_promotion()
    built = time.perf_counter() - started
    started = time.perf_counter()
    per_customer = limits.customer_utilisation(promotion, cohort, as_of=AS_OF)
    per_customer_s = time.perf_counter() - started
    jobs = {
        "issuance_chart": lambda: charts.issuance_chart(
            analysis.issuance_counts(cohort, by=("action", "activity_id")), promotion=promotion),
        "points_chart": lambda: charts.points_chart(analysis.points_summary(cohort),
                                                    promotion=promotion),
        "timeline_chart (daily, every benefit)": lambda: charts.timeline_chart(
            analysis.timeline(cohort, freq="D", tz="Asia/Kolkata"), promotion=promotion),
        "recency_chart": lambda: charts.recency_chart(analysis.recency(cohort, as_of=AS_OF),
                                                      promotion=promotion),
        "utilisation_chart": lambda: charts.utilisation_chart(
            limits.utilisation(promotion, cohort, as_of=AS_OF), promotion=promotion),
        "customer_utilisation_histogram (points)": lambda: charts.customer_utilisation_histogram(
            per_customer, "MAX_ALLOWED_POINTS_PER_CUSTOMER", promotion=promotion),
        "customer_utilisation_histogram (issuals)": lambda:
            charts.customer_utilisation_histogram(per_customer,
                                                  "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER",
                                                  promotion=promotion),
    }
    rows: list[tuple[str, object]] = [
        ("customers", args.customers),
        ("benefit rows (incentives, points, currencies)",
         f"{len(cohort.incentives):,}, {len(cohort.points):,}, "
         f"{len(cohort.alternate_currencies):,}"),
        ("synthetic cohort built in s", built),
        (f"customer_utilisation s ({len(per_customer):,} rows)", per_customer_s),
    ]
    largest = 0
    for name, job in jobs.items():
        started = time.perf_counter()
        figure = job()
        seconds = time.perf_counter() - started
        size = len(figure.to_json())
        largest = max(largest, size)
        rows += [(f"{name} KB", size / 1000), (f"{name} s (analysis + figure)", seconds)]
    rows.append((f"largest figure KB (target < {LIMIT_KB})", largest / 1000))
    report("charts: 1M-customer cohort", rows, target_kb=LIMIT_KB,
           passed=largest < LIMIT_KB * 1000)
    if largest >= LIMIT_KB * 1000:
        sys.exit(f"a figure is {largest / 1000:.1f} KB, over the {LIMIT_KB} KB target")


if __name__ == "__main__":
    main()
