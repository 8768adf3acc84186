"""Exact usage from promotionData: equals the sandbox truth (period-based caps included) and
sits next to what the summaries derive."""

from __future__ import annotations

import pandas as pd
import pytest

import capnb
from capnb import ExactUsage, fetch_cohort, fetch_exact_usage
from capnb.analysis.limits import (
    CUSTOMER_UTILISATION_COLUMNS,
    DERIVED_VS_EXACT_COLUMNS,
    EXACT_UTILISATION_COLUMNS,
    UTILISATION_COLUMNS,
    customer_utilisation,
    derived_vs_exact,
    exact_utilisation,
    utilisation,
)
from capnb.errors import ValidationError
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS


@pytest.fixture(scope="module")
def customers(sandbox):
    return list(sandbox.data.customer_ids[:150])


@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_exact_utilisation_equals_the_truth(sandbox, customers, promotion_id):
    with capnb.connect(sandbox.environ()) as client:
        exact = fetch_exact_usage(client, customers, PROGRAM, promotion_id, workers=4)
    assert (exact.customers["status"] == "ok").all() and len(exact.customers) == len(customers)
    table = exact_utilisation(exact, promotion_id)
    assert table.dtypes.astype(str).to_dict() == EXACT_UTILISATION_COLUMNS
    truth = pd.DataFrame([sandbox.data.true_usage(c, promotion_id) for c in customers])
    per_earn = table["kpi"].eq("NUMBER_OF_REDEMPTIONS_PER_EARN")
    assert per_earn.any() == (promotion_id in (SUMMER_COUPONS, ENROL_EARN))
    assert (table.loc[per_earn, "measurability"] == "not_measurable").all()  # undocumented
    assert table.loc[per_earn, "usage_total"].isna().all()
    measured = table[(table["scope"] == "customer") & (table["source"] != "limits") & ~per_earn]
    assert len(measured) and (measured["measurability"] == "exact").all()
    for row in measured.itertuples():
        expected = truth[row.name]
        assert row.usage_total == pytest.approx(expected.sum())
        assert row.usage_max == pytest.approx(expected.max())
        if not row.unlimited:
            assert row.customers_at_cap == int((expected >= row.limit).sum())
    events = table[table["scope"] == "event"]
    assert (events["measurability"] == "not_measurable").all()
    assert events["usage_total"].isna().all()
    assert (table.loc[table["scope"] == "promotion", "measurability"] == "lower_bound").all()


@pytest.fixture(scope="module")
def double_points(sandbox, customers):
    """Cohort, exact usage and configuration of the promotion with a DAILY cap."""
    with capnb.connect(sandbox.environ()) as client:
        cohort = fetch_cohort(client, customers, PROGRAM, DOUBLE_POINTS, progress=False)
        exact = fetch_exact_usage(client, cohort, PROGRAM, DOUBLE_POINTS, progress=False)
        promotion = client.promotion(PROGRAM, DOUBLE_POINTS)
    return cohort, exact, promotion


def test_period_based_usage_is_exact_where_the_summary_only_bounds_it(sandbox, double_points):
    cohort, exact, promotion = double_points
    table = exact_utilisation(exact, DOUBLE_POINTS)
    daily = table[table["period_unit"] == "DAILY"].iloc[0]
    truth = [sandbox.data.true_usage(int(c), DOUBLE_POINTS)["MAX_ALLOWED_TIMES_PER_CUSTOMER"]
             for c in exact.measured_customer_ids]
    assert daily["measurability"] == "exact" and daily["usage_total"] == sum(truth)
    derived = utilisation(promotion, cohort, as_of=sandbox.data.as_of)
    measured = utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact",
                           exact=exact)
    both = derived_vs_exact(derived, measured)
    assert both.dtypes.astype(str).to_dict() == DERIVED_VS_EXACT_COLUMNS
    row = both[both["restriction"].str.contains("TIMES_PER_CUSTOMER")].iloc[0]
    assert (row["derived_measurability"], row["exact_measurability"]) == ("lower_bound", "exact")
    assert row["derived_total"] <= row["exact_total"] == sum(truth)
    points = both[both["restriction"] == "MAX_ALLOWED_POINTS_PER_CUSTOMER"].iloc[0]
    assert points["derived_total"] == points["exact_total"]


def test_utilisation_with_exact_usage_marks_the_rows_it_measured(sandbox, double_points):
    cohort, exact, promotion = double_points
    derived = utilisation(promotion, cohort, as_of=sandbox.data.as_of)
    table = utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact", exact=exact)
    assert table.dtypes.astype(str).to_dict() == UTILISATION_COLUMNS
    assert table["restriction"].tolist() == derived["restriction"].tolist()
    from_data = table[table["usage_source"] == "promotionData"]
    assert len(from_data) >= 2
    customer = from_data[from_data["scope"] == "customer"]
    assert len(customer) and (customer["measurability"] == "exact").all()
    assert customer["note"].str.startswith("Exact: the platform's own count").all()
    truth = pd.DataFrame([sandbox.data.true_usage(int(c), DOUBLE_POINTS)
                          for c in exact.measured_customer_ids])
    for row in customer.itertuples():
        assert row.usage_total == pytest.approx(truth[row.canonical_name].sum())
        assert row.customers_measured == len(truth)
    promotion_wide = from_data[from_data["scope"] == "promotion"]
    assert (promotion_wide["measurability"] == "lower_bound").all()
    rest = table[table["usage_source"] != "promotionData"]
    kept = derived.set_index("restriction").loc[rest["restriction"]]
    assert rest["measurability"].tolist() == kept["measurability"].tolist()
    everyone = utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact",
                           exact=exact, whole_population=True)
    assert (everyone.loc[everyone["usage_source"] == "promotionData", "measurability"]
            == "exact").all()


def test_customer_utilisation_with_exact_usage_is_the_truth_per_customer(sandbox, double_points):
    cohort, exact, promotion = double_points
    table = customer_utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact",
                                 exact=exact)
    assert table.dtypes.astype(str).to_dict() == CUSTOMER_UTILISATION_COLUMNS
    daily = table[table["restriction"] == "MAX_ALLOWED_TIMES_PER_CUSTOMER (daily)"]
    assert set(daily["customer_id"]) == set(exact.measured_customer_ids)
    assert (daily["usage_source"] == "promotionData").all()
    assert (daily["measurability"] == "exact").all()
    truth = {c: sandbox.data.true_usage(int(c), DOUBLE_POINTS)["MAX_ALLOWED_TIMES_PER_CUSTOMER"]
             for c in daily["customer_id"]}
    assert daily.set_index("customer_id")["usage"].to_dict() == truth
    derived = customer_utilisation(promotion, cohort, as_of=sandbox.data.as_of)
    assert (derived["usage_source"].dropna() == "summary").all()
    bounds = derived[derived["restriction"] == "MAX_ALLOWED_TIMES_PER_CUSTOMER (daily)"]
    merged = bounds.merge(daily, on="customer_id", suffixes=("_d", "_e"))
    assert (merged["usage_d"] <= merged["usage_e"]).all()
    assert (merged["usage_d"] < merged["usage_e"]).any()  # what the summary cannot see
    event = table[table["scope"] == "event"]  # promotionData has no usage per event
    assert len(event) and (event["usage_source"] == "summary").all()
    with pytest.raises(ValidationError, match="usage='exact' needs"):
        customer_utilisation(promotion, cohort, usage="exact")


def test_exact_usage_must_match_the_cohort(sandbox, double_points):
    cohort, exact, promotion = double_points
    with pytest.raises(ValidationError, match="usage='exact' needs"):
        utilisation(promotion, cohort, usage="exact")
    with pytest.raises(ValidationError, match="'derived' or 'exact'"):
        utilisation(promotion, cohort, usage="promotionData", exact=exact)
    with capnb.connect(sandbox.environ()) as client:
        others = fetch_exact_usage(client, list(sandbox.data.customer_ids[-3:]), PROGRAM,
                                   DOUBLE_POINTS, progress=False)
    with pytest.raises(ValidationError, match="no customer of this cohort"):
        utilisation(promotion, cohort, usage="exact", exact=others)
    failed = ExactUsage(usage=exact.usage.iloc[:0], customers=exact.customers.assign(
        status="failed"))  # promotionData answered for nobody: everything stays derived
    table = utilisation(promotion, cohort, usage="exact", exact=failed)
    assert table["usage_source"].isin(["summary"]).sum() == table["usage_source"].notna().sum()
    assert table["note"].str.contains("promotionData answered for none").all()
    derived = utilisation(promotion, cohort)
    with pytest.raises(ValidationError, match="other restrictions"):
        derived_vs_exact(derived, derived.iloc[1:])
    with pytest.raises(ValidationError):
        derived_vs_exact(derived, exact_utilisation(exact, DOUBLE_POINTS))


def test_unknown_and_invalid_customers_are_reported(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        exact = fetch_exact_usage(client, [388000001, 388000002, "x"], PROGRAM)
    assert exact.customers["status"].tolist() == ["ok", "not_found", "invalid"]
    assert exact.measured_customer_ids.tolist() == [388000001]
    assert set(exact.usage["customer_id"]) == {388000001}


def test_empty_and_bad_arguments(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        exact = fetch_exact_usage(client, [], PROGRAM)
        assert exact.usage.empty and exact.customers.empty
        assert exact_utilisation(exact, GOLD_TIER).empty
        with pytest.raises(ValidationError):
            fetch_exact_usage(client, [1], "x")
    with pytest.raises(ValidationError):
        fetch_exact_usage("client", [1])
    with pytest.raises(ValidationError):
        exact_utilisation("exact", GOLD_TIER)
