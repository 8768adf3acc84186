"""capnb.analysis.benefits: hand-computed small cohorts, edge cases, the sandbox's truth."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import capnb
from capnb.analysis import limits
from capnb.analysis.benefits import (
    POINTS_SUMMARY_COLUMNS,
    TIMELINE_COLUMNS,
    issuance_counts,
    points_summary,
    recency,
    timeline,
)
from capnb.analysis.limits import (
    CUSTOMER_UTILISATION_COLUMNS,
    UTILISATION_COLUMNS,
    customer_utilisation,
    restriction_metrics,
    utilisation,
)
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort
from capnb.schema import (
    typed_frame,
)
from tests.cohorts import (
    AS_OF,
    CURRENCIES,
    INCENTIVES,
    LIFETIME,
    PERIODIC,
    POINTS,
    STATUSES,
    make_cohort,
    make_promotion,
)


@pytest.fixture
def cohort() -> Cohort:
    return make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES)


@pytest.fixture
def empty() -> Cohort:
    return make_cohort({})


# -- issuance_counts -----------------------------------------------------------------------------

def test_issuance_counts_by_action(cohort):
    out = issuance_counts(cohort)
    expected = typed_frame({"action": ["BADGES", "COUPONS", "REWARD"], "customers": [1, 1, 2],
                            "issued": [1, 1, 5], "share_of_cohort": [1 / 3, 1 / 3, 2 / 3],
                            "cohort_customers": [3, 3, 3]},
                           {"action": "str", "customers": "Int64", "issued": "Int64",
                            "share_of_cohort": "float64", "cohort_customers": "Int64"})
    assert_frame_equal(out, expected)


def test_issuance_counts_two_columns_keeps_missing_activity_last(cohort):
    out = issuance_counts(cohort, by=["activity_id", "action"])
    assert out["activity_id"].tolist()[:2] == ["act_coupon", "act_reward"]
    assert pd.isna(out["activity_id"].iloc[2]) and out["action"].iloc[2] == "BADGES"
    assert out["issued"].tolist() == [1, 5, 1]


def test_issuance_counts_points_and_currency(cohort):
    points = issuance_counts(cohort, by="points_category")
    assert points["points_category"].tolist() == ["BONUS_POINTS", "REGULAR_POINTS"]
    assert points["customers"].tolist() == [1, 2] and points["issued"].tolist() == [1, 5]
    stars = issuance_counts(cohort, by="currency_name")
    assert stars.to_dict("records") == [{"currency_name": "STARS", "customers": 1, "issued": 1,
                                         "share_of_cohort": 1 / 3, "cohort_customers": 3}]


@pytest.mark.parametrize("by", ["nope", ("action", "points_category"), (), ("action", "action"),
                                5, [1]])
def test_issuance_counts_rejects_bad_by(cohort, by):
    with pytest.raises(ValidationError) as info:
        issuance_counts(cohort, by=by)
    assert info.value.parameter == "by"


def test_wrong_cohort_type_is_named():
    with pytest.raises(ValidationError) as info:
        issuance_counts({"customers": []})
    assert info.value.parameter == "cohort"


# -- points_summary ------------------------------------------------------------------------------

def test_points_summary_hand_computed(cohort):
    out = points_summary(cohort).set_index(["kind", "name"])
    regular = out.loc[("points", "REGULAR_POINTS")]
    assert regular["customers"] == 2 and regular["issuances"] == 5
    assert regular["total"] == 400.0 and regular["mean_per_cohort_customer"] == 400 / 3
    assert regular["mean_per_customer"] == 200.0 and regular["median_per_customer"] == 200.0
    assert regular["p90_per_customer"] == pytest.approx(100 + 0.9 * 200)
    assert regular["max_per_customer"] == 300.0
    assert regular["last_issued_on"] == pd.Timestamp("2026-01-09T12:00Z")
    assert out.loc[("points", "BONUS_POINTS"), "share_of_cohort"] == 1 / 3
    stars = out.loc[("currency", "STARS")]
    assert stars["total"] == 5.0 and stars["customers"] == 1
    assert list(points_summary(cohort)["kind"]) == ["points", "points", "currency"]


# -- timeline and recency ------------------------------------------------------------------------

def test_timeline_last_issuance_per_customer_in_local_days(cohort):
    out = timeline(cohort, freq="D", tz="Asia/Kolkata", by="action")
    assert str(out["period"].dtype) == "datetime64[us, Asia/Kolkata]"
    assert list(out.columns) == list(TIMELINE_COLUMNS) and set(out["kind"]) == {"incentives"}
    reward = out[out["benefit"] == "REWARD"]
    # customer 1's latest REWARD: 2026-01-01 15:30 IST; customer 2's: 2026-01-02 05:00 IST.
    days = reward["period"].dt.strftime("%Y-%m-%d").tolist()
    assert days == ["2026-01-01", "2026-01-02", "2026-01-03"]  # gaps filled up to the last day
    assert reward["customers_last_issued"].tolist() == [1, 1, 0]
    assert reward["cumulative_customers"].tolist() == [1, 2, 2]
    assert reward["cumulative_share"].tolist() == [1 / 3, 2 / 3, 2 / 3]
    badges = out[out["benefit"] == "BADGES"]  # only an undated issuance: one NaT row, counted
    assert badges["customers_last_issued"].tolist() == [0, 0, 0, 1]
    assert badges["period"].isna().tolist() == [False, False, False, True]
    assert pd.isna(badges["cumulative_customers"].iloc[-1])


def test_timeline_overall_weekly_starts_monday(cohort):
    out = timeline(cohort, freq="W", tz="UTC", by=None)
    assert set(out["kind"]) == {"any"} and set(out["benefit"]) == {"any"}
    assert (out["period"].dropna().dt.day_of_week == 0).all()
    # latest of anything: customer 1 on 2026-01-09 (week of 01-05), customer 2 on 01-01
    # (week of 2025-12-29); customer 2's undated badge does not hide the dated points.
    assert out["period"].dt.strftime("%Y-%m-%d").tolist() == ["2025-12-29", "2026-01-05"]
    assert out["customers_last_issued"].tolist() == [1, 1]


def test_timeline_covers_points_and_currencies(cohort):
    out = timeline(cohort, freq="D", tz="UTC")  # by="benefit": every kind of benefit
    groups = out[["kind", "benefit"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert groups == [("incentives", "BADGES"), ("incentives", "COUPONS"),
                      ("incentives", "REWARD"), ("points", "BONUS_POINTS"),
                      ("points", "REGULAR_POINTS"), ("currency", "STARS")]
    # every group spans the same days, 2025-12-20 (customer 2's points) .. 2026-01-09
    assert (out.dropna(subset=["period"]).groupby(["kind", "benefit"]).size() == 21).all()
    regular = out[out["benefit"] == "REGULAR_POINTS"].set_index("period")
    assert regular["customers_last_issued"].sum() == 2
    assert regular.loc["2025-12-20", "customers_last_issued"] == 1
    assert regular.loc["2026-01-09", "cumulative_customers"] == 2
    stars = out[out["kind"] == "currency"].set_index("period")
    assert stars.loc["2026-01-02", "cumulative_share"] == 1 / 3
    assert stars["cumulative_customers"].iloc[-1] == 1
    only_points = timeline(cohort, freq="W", by="points_category")
    assert set(only_points["kind"]) == {"points"}


@pytest.mark.parametrize("kwargs, parameter", [({"freq": "Y"}, "freq"), ({"freq": 7}, "freq"),
                                               ({"tz": "Mars/Base"}, "tz"), ({"tz": 5}, "tz"),
                                               ({"by": "colour"}, "by")])
def test_timeline_validation(cohort, kwargs, parameter):
    with pytest.raises(ValidationError) as info:
        timeline(cohort, **kwargs)
    assert info.value.parameter == parameter


def test_recency_buckets_add_up():
    cohort = make_cohort(
        {1: "ok", 2: "ok", 3: "no_benefits", 6: "ok", 7: "ok", 8: "failed"},
        points=[(1, "REGULAR_POINTS", 10.0, 1, "2026-01-09T12:00Z"),
                (2, "REGULAR_POINTS", 10.0, 1, "2026-01-01T23:30Z"),
                (6, "REGULAR_POINTS", 10.0, 1, None),
                (7, "REGULAR_POINTS", 10.0, 1, "2026-02-01T00:00Z"),
                (8, "REGULAR_POINTS", 10.0, 1, "2026-01-09T00:00Z")])
    out = recency(cohort, as_of="2026-01-10")  # naive = UTC
    counts = dict(zip(out["bucket"], out["customers"], strict=True))
    assert counts == {"today": 1, "1_7d": 0, "7_30d": 1, "30_90d": 0, "older": 0,
                      "after_as_of": 1, "no_date": 1, "no_issuance": 1}
    assert out["share_of_cohort"].sum() == pytest.approx(1.0)
    assert (out["as_of"] == AS_OF).all()
    with pytest.raises(ValidationError, match="as_of"):
        recency(cohort, as_of="not a date")


def test_recency_bucket_edges_are_half_open():
    cohort = make_cohort({1: "ok", 2: "ok"},
                         points=[(1, "R", 1.0, 1, "2026-01-09T00:00Z"),  # exactly 1 day
                                 (2, "R", 1.0, 1, "2025-10-12T00:00Z")])  # exactly 90 days
    counts = recency(cohort, as_of=AS_OF).set_index("bucket")["customers"]
    assert counts["1_7d"] == 1 and counts["older"] == 1 and counts["today"] == 0


# -- utilisation: lifetime limits ----------------------------------------------------------------

def test_utilisation_lifetime_hand_computed(cohort):
    out = utilisation(make_promotion(LIFETIME), cohort, as_of=AS_OF).set_index("name")
    assert list(out.index) == [r[1] for r in LIFETIME]  # every restriction, in order
    points = out.loc["MAX_ALLOWED_POINTS_PER_CUSTOMER"]  # usage 150, 300, 0: cap hit exactly
    assert points["measurability"] == "exact" and points["scope"] == "customer"
    assert points["customers_measured"] == 3 and points["customers_with_usage"] == 2
    assert (points["usage_total"], points["usage_median"], points["usage_max"]) == (450, 150, 300)
    assert points["usage_p90"] == pytest.approx(270.0)
    assert points["share_of_limit"] == pytest.approx(0.9) and points["share_median"] == 0.5
    assert (points["customers_at_cap"], points["customers_near_cap"],
            points["customers_over_cap"]) == (1, 1, 0)
    issuals = out.loc["MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"]  # 3 (at cap) and 4 (over)
    assert (issuals["usage_total"], issuals["customers_at_cap"],
            issuals["customers_over_cap"]) == (7, 2, 1)
    earns = out.loc["MAX_NUMBER_OF_EARNS_PER_CUSTOMER"]  # unlimited: measured, no share
    assert earns["unlimited"] and earns["limit"] == -1 and earns["usage_total"] == 6
    assert pd.isna(earns["share_of_limit"]) and pd.isna(earns["customers_at_cap"])
    times = out.loc["MAX_ALLOWED_TIMES_PER_CUSTOMER"]  # max(3, 3, 1) and max(3, 4, 0)
    assert times["measurability"] == "lower_bound" and pd.isna(times["period_unit"])
    assert (times["usage_total"], times["usage_max"]) == (7, 4)
    per_event = out.loc["MAX_ALLOWED_POINTS_PER_EVENT"]  # max(100/2, 50/1)=50, 300/3=100
    assert per_event["measurability"] == "proxy" and per_event["scope"] == "event"
    assert (per_event["usage_max"], per_event["customers_at_cap"],
            per_event["customers_over_cap"]) == (100, 1, 0)
    promo = out.loc["MAX_ALLOWED_POINTS_PER_PROMOTION"]
    assert promo["measurability"] == "lower_bound" and promo["share_of_limit"] == 0.45
    assert pd.isna(promo["customers_at_cap"]) and pd.isna(promo["share_median"])
    assert out.loc["MAX_NUMBER_OF_EARN_PER_PROMOTION", "usage_total"] == 6
    for name, scope in (("MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", "earn"),
                        ("EARN_PROMOTION_EXPIRY_BASED_ON", "expiry"),
                        ("MAX_FOO_PER_CUSTOMER", "customer")):
        row = out.loc[name]
        assert row["measurability"] == "not_measurable" and row["scope"] == scope
        assert pd.isna(row["usage_total"]) and row["note"].startswith(("Not measurable",
                                                                        "Expiry"))
    assert pd.isna(out.loc["EARN_PROMOTION_EXPIRY_BASED_ON", "limit"])
    assert "90 days" in out.loc["EARN_PROMOTION_EXPIRY_BASED_ON", "note"]
    legacy = out.loc["pointsPerCustomer"]
    assert legacy["canonical_name"] == "MAX_ALLOWED_POINTS_PER_CUSTOMER"
    assert legacy["family"] == "limits" and "Legacy" in legacy["note"]
    assert legacy[["usage_total", "customers_at_cap"]].tolist() == [450, 1]
    assert out.loc["totalPointsPerEventLimit", "measurability"] == "proxy"


def test_utilisation_whole_population_and_data_gaps(cohort):
    promotion = make_promotion(LIFETIME)
    whole = utilisation(promotion, cohort, as_of=AS_OF, whole_population=True).set_index("name")
    # customer 4 failed: even the whole population is only a lower bound
    assert whole.loc["MAX_ALLOWED_POINTS_PER_PROMOTION", "measurability"] == "lower_bound"
    assert "could not be fetched" in whole.loc["MAX_ALLOWED_POINTS_PER_PROMOTION", "note"]
    complete = dataclasses.replace(cohort, customers=cohort.customers[
        cohort.customers["status"] != "failed"])
    whole = utilisation(promotion, complete, as_of=AS_OF, whole_population=True)
    assert whole.set_index("name").loc["MAX_ALLOWED_POINTS_PER_PROMOTION",
                                       "measurability"] == "exact"
    for start in ("2025-06-01", None):  # before the summary's horizon, or unknown
        early = utilisation(make_promotion(LIFETIME, start=start), cohort, as_of=AS_OF)
        row = early.set_index("name").loc["MAX_ALLOWED_POINTS_PER_CUSTOMER"]
        assert row["measurability"] == "lower_bound" and "2025-06-12" in row["note"]
    scoped = dataclasses.replace(cohort, activity_id="act_reward")
    levels = utilisation(promotion, scoped, as_of=AS_OF)["measurability"]
    assert "exact" not in set(levels)
    assert "exact" not in set(customer_utilisation(promotion, scoped, as_of=AS_OF)[
        "measurability"].astype(str))


def test_utilisation_argument_checks(cohort):
    promotion = make_promotion(LIFETIME)
    for kwargs, parameter in (({"as_of": "soon"}, "as_of"), ({"whole_population": "yes"},
                                                             "whole_population")):
        with pytest.raises(ValidationError) as info:
            utilisation(promotion, cohort, **kwargs)
        assert info.value.parameter == parameter
    with pytest.raises(ValidationError) as info:
        utilisation("promotion", cohort)
    assert info.value.parameter == "promotion"
    other = dataclasses.replace(promotion, id=2)
    with pytest.raises(ValidationError, match="fetched for promotion 1"):
        customer_utilisation(other, cohort)


def test_a_missing_or_zero_limit_has_no_share(cohort):
    rows = [("redemption", "MAX_ALLOWED_POINTS_PER_CUSTOMER", None, None, None, None),
            ("issual", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", 0, None, None, None)]
    out = utilisation(make_promotion(rows), cohort).set_index("name")
    assert out["share_of_limit"].isna().all() and out["customers_at_cap"].isna().all()
    assert out["usage_total"].tolist() == [450, 7]
    assert all("without a share" in note for note in out["note"])


def test_promotion_without_restrictions(cohort):
    out = utilisation(make_promotion([]), cohort)
    assert out.empty and list(out.columns) == list(UTILISATION_COLUMNS)
    assert customer_utilisation(make_promotion([]), cohort).empty


# -- utilisation: period-based limits ------------------------------------------------------------

@pytest.fixture
def periodic() -> Cohort:
    return make_cohort(
        {10: "ok", 11: "ok", 12: "ok", 13: "ok", 14: "ok", 15: "ok", 16: "no_benefits"},
        points=[(10, "REGULAR_POINTS", 100.0, 1, "2026-01-09T06:00Z"),  # once, inside all
                (11, "REGULAR_POINTS", 300.0, 3, "2026-01-08T12:00Z"),  # 3x, last in week
                (12, "REGULAR_POINTS", 500.0, 5, "2025-12-01T00:00Z"),  # before every window
                (13, "REGULAR_POINTS", 20.0, 2, None),  # no date
                (14, "REGULAR_POINTS", 20.0, 1, "2026-01-12T00:00Z"),  # after as_of
                (15, "REGULAR_POINTS", 40.0, 1, "2026-01-09T08:00Z")],
        currencies=[(15, "STARS", 2.0, 1, "2026-01-09T08:00Z")])


def test_period_based_lower_bounds_hand_computed(periodic):
    per = customer_utilisation(make_promotion(PERIODIC), periodic, as_of=AS_OF)
    table = {(row.name, row.customer_id): (row.usage, row.measurability)
             for row in per.itertuples()}
    earns = "MAX_NUMBER_OF_EARNS_PER_CUSTOMER"
    assert [table[(earns, c)] for c in range(10, 17)] == [
        (1, "exact"), (1, "lower_bound"), (0, "exact"), (0, "lower_bound"),
        (0, "lower_bound"), (1, "exact"), (0, "exact")]
    points = "MAX_ALLOWED_POINTS_PER_CUSTOMER"  # window (2026-01-09 00:00, 2026-01-10 00:00]
    assert [table[(points, c)] for c in range(10, 17)] == [
        (100, "exact"), (0, "exact"), (0, "exact"), (0, "lower_bound"), (0, "lower_bound"),
        (40, "exact"), (0, "exact")]
    times = "MAX_ALLOWED_TIMES_PER_CUSTOMER"  # points and a currency in the window: >= 1
    assert table[(times, 15)] == (1, "lower_bound") and table[(times, 10)] == (1, "exact")
    assert table[(times, 11)] == (1, "lower_bound")
    out = utilisation(make_promotion(PERIODIC), periodic, as_of=AS_OF).set_index("name")
    assert (out.loc[[earns, points, times], "measurability"] == "lower_bound").all()
    assert out.loc[earns, "window_start"] == pd.Timestamp("2026-01-03", tz="UTC")
    assert out.loc[points, "period_unit"] == "DAILY" and out.loc[points, "usage_total"] == 140
    assert out.loc[points, "customers_at_cap"] == 1  # customer 10: exactly 100 in the day
    assert "lower bound" in out.loc[earns, "note"]
    yearly = out.loc["MAX_ALLOWED_TIMES_PER_PROMOTION"]
    assert yearly["measurability"] == "not_measurable" and "YEARLY" in yearly["note"]


def test_period_window_before_the_summary_horizon_is_never_exact(periodic):
    early = make_promotion(PERIODIC, start="2025-01-01")
    old = customer_utilisation(early, periodic, as_of="2025-06-12T12:00")
    none = old[old["customer_id"] == 16]  # no benefits: yet events before 2025-06-12 may hide
    assert set(none["measurability"].astype(str)) == {"lower_bound"}
    recent = customer_utilisation(early, periodic, as_of=AS_OF)  # windows after the horizon
    assert set(recent.loc[recent["customer_id"] == 16, "measurability"].astype(str)) == {
        "exact"}


# -- customer_utilisation -------------------------------------------------------------------------

def test_customer_utilisation_rows_and_dtypes(cohort):
    per = customer_utilisation(make_promotion(LIFETIME), cohort, as_of=AS_OF)
    assert dict(per.dtypes.astype(str)) == CUSTOMER_UTILISATION_COLUMNS
    names = list(dict.fromkeys(per["name"].astype(str)))
    assert "MAX_ALLOWED_POINTS_PER_PROMOTION" not in names
    assert "EARN_PROMOTION_EXPIRY_BASED_ON" not in names
    assert names[-1] == "totalPointsPerEventLimit" and "MAX_FOO_PER_CUSTOMER" in names
    assert per.groupby("name", observed=True)["customer_id"].apply(list).map(
        lambda ids: ids == [1, 2, 3]).all()  # fetched customers only, sorted
    points = per[per["name"] == "MAX_ALLOWED_POINTS_PER_CUSTOMER"]
    assert points["usage"].tolist() == [150, 300, 0]
    assert points["share_of_limit"].tolist() == [0.5, 1.0, 0.0]
    assert points["at_cap"].tolist() == [False, True, False]
    assert points["near_cap"].tolist() == [False, True, False]
    times = per[per["name"] == "MAX_ALLOWED_TIMES_PER_CUSTOMER"]
    assert times["measurability"].astype(str).tolist() == ["lower_bound", "lower_bound",
                                                            "exact"]
    unknown = per[per["name"] == "MAX_FOO_PER_CUSTOMER"]
    assert unknown["usage"].isna().all() and unknown["at_cap"].isna().all()
    earns = per[per["name"] == "MAX_NUMBER_OF_EARNS_PER_CUSTOMER"]
    assert earns["share_of_limit"].isna().all() and earns["unlimited"].all()


# -- empty cohorts and the mapping ---------------------------------------------------------------

def test_every_function_accepts_an_empty_cohort(empty):
    promotion = make_promotion(LIFETIME + PERIODIC)
    util = utilisation(promotion, empty, as_of=AS_OF)
    assert list(util.columns) == list(UTILISATION_COLUMNS) and len(util) == len(LIFETIME) + 4
    assert (util.loc[util["measurability"] != "not_measurable", "customers_measured"] == 0).all()
    per = customer_utilisation(promotion, empty, as_of=AS_OF)
    assert per.empty and list(per.columns) == list(CUSTOMER_UTILISATION_COLUMNS)
    assert list(points_summary(empty).columns) == list(POINTS_SUMMARY_COLUMNS)
    counts = issuance_counts(empty, by=("action", "activity_id"))
    assert counts.empty and list(counts.columns) == ["action", "activity_id", "customers",
                                                     "issued", "share_of_cohort",
                                                     "cohort_customers"]
    line = timeline(empty)
    assert line.empty and str(line["period"].dtype) == "datetime64[us, UTC]"
    assert list(line.columns) == list(TIMELINE_COLUMNS)
    recent = recency(empty, as_of=AS_OF)
    assert recent["customers"].sum() == 0 and recent["share_of_cohort"].isna().all()


def test_restriction_metrics_covers_every_known_name():
    table = restriction_metrics()
    names = set(table["name"])
    assert {"MAX_NUMBER_OF_EARNS_PER_PROMOTION", "MAX_NUMBER_OF_EARN_PER_PROMOTION",
            "numberOfTimesPerCustomer", "ISSUAL_PROMOTION_EXPIRY_BASED_ON"} <= names
    assert set(table["measurability"].str.split(" ").str[0]) == {
        "exact", "lower_bound", "proxy", "not_measurable"}
    result = doctest.testmod(limits)
    assert result.attempted and not result.failed


# -- ground truth on the sandbox -----------------------------------------------------------------

@pytest.fixture(scope="module")
def truth_run():
    from capnb.sandbox import Sandbox

    with Sandbox(customers=1500, seed=0) as sb:
        client = capnb.connect(sb.environ())
        ids = list(sb.catalog()["customer_ids"])
        runs = {}
        for promotion_id in sb.data.promotion_ids:
            cohort = capnb.fetch_cohort(client, ids, sb.data.program_id, promotion_id,
                                        progress=False)
            runs[promotion_id] = (cohort, client.promotion(sb.data.program_id, promotion_id))
        yield sb.data, runs


def test_customer_utilisation_matches_the_sandbox_truth(truth_run):
    from capnb.sandbox import SANDBOX_AS_OF

    data, runs = truth_run
    seen = {"exact": 0, "lower_bound": 0, "proxy": 0}
    for promotion_id, (cohort, promotion) in runs.items():
        assert cohort.errors.empty
        per = customer_utilisation(promotion, cohort, as_of=SANDBOX_AS_OF)
        assert per["customer_id"].nunique() == 1500
        truth = {cid: data.true_usage(cid, promotion_id) for cid in data.customer_ids}
        expected = np.array([truth[c].get(n, np.nan) for c, n in zip(
            per["customer_id"].astype("int64"), per["canonical_name"].astype(str),
            strict=True)])
        level = per["measurability"].astype(str).to_numpy()
        usage = per["usage"].to_numpy()
        measured = level != "not_measurable"
        assert not np.isnan(expected[measured]).any()  # the truth knows every measured name
        exact, lower = level == "exact", np.isin(level, ["lower_bound", "proxy"])
        assert np.array_equal(usage[exact], expected[exact]), promotion_id
        assert (usage[lower] <= expected[lower]).all(), promotion_id
        for key in seen:
            seen[key] += int((level == key).sum())
    assert all(seen.values())  # every kind of measurement was checked
    by_name = utilisation(runs[1133601550][1], runs[1133601550][0],
                          as_of=SANDBOX_AS_OF).set_index("name")
    assert by_name.loc["pointsPerCustomer", "customers_at_cap"] > 0  # the generator hits caps
    assert by_name.loc["pointsPerCustomer", "usage_max"] == 2000


def test_timeline_counts_every_kind_the_sandbox_issued(truth_run):
    _, runs = truth_run
    for promotion_id, (cohort, _) in runs.items():
        line = timeline(cohort, freq="W")
        totals = line.groupby(["kind", "benefit"])["customers_last_issued"].sum()
        for kind, frame, column in (("incentives", cohort.incentives, "action"),
                                    ("points", cohort.points, "points_category"),
                                    ("currency", cohort.alternate_currencies, "currency_name")):
            expected = frame.groupby(column)["customer_id"].nunique()
            got = totals[kind] if kind in totals.index.get_level_values(0) else totals[:0]
            assert got.to_dict() == expected.to_dict(), (promotion_id, kind)
    points_only = timeline(runs[1133600978][0], freq="W")  # Double Points Weekend
    assert set(points_only["kind"]) == {"points"}
    assert points_only["customers_last_issued"].sum() > 0
