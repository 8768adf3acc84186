"""The program portfolio: every promotion with dates, promotion-wide budgets and risk."""

from __future__ import annotations

import pandas as pd
import pytest

import capnb
from capnb import fetch_cohort
from capnb.analysis.portfolio import PORTFOLIO_COLUMNS, portfolio_frame, portfolio_view
from capnb.api.promotion import parse_promotion
from capnb.errors import ValidationError
from capnb.fetch.program import fetch_program
from capnb.models import PROMOTION_SOURCE_V3
from tests.sandbox_ids import PROGRAM

NEW_UI = [1133602011, 1133602023]


def test_portfolio_without_cohorts(sandbox, catalog):
    with capnb.connect(sandbox.environ()) as client:
        promotions, cohorts = fetch_program(client, PROGRAM)
    assert cohorts == {}
    table = portfolio_frame(promotions, as_of=sandbox.data.as_of)
    assert table.dtypes.astype(str).to_dict() == PORTFOLIO_COLUMNS
    new_ui = table["source"].eq(PROMOTION_SOURCE_V3)
    assert sorted(table.loc[~new_ui, "promotion_id"]) == sorted(
        p["id"] for p in catalog["promotions"])
    assert sorted(table.loc[new_ui, "promotion_id"]) == NEW_UI  # GET /v3/promotions
    assert table.loc[new_ui, "note"].str.contains("new UI: its limits").all()
    assert table["risk"].isna().all() and table["days_left"].is_monotonic_increasing
    with capnb.connect(sandbox.environ()) as client:
        old_only, _ = fetch_program(client, PROGRAM, new_ui=False)
    assert sorted(p.id for p in old_only) == sorted(p["id"] for p in catalog["promotions"])
    summer = table.set_index("promotion_id").loc[1133601204]
    assert summer["days_left"] == 0 and summer["time_elapsed_share"] == 1
    assert summer["times_limit"] > 0 and pd.isna(summer["points_limit"])
    gold = table.set_index("promotion_id").loc[1133601550]
    assert gold["days_left"] == pytest.approx(
        (pd.Timestamp("2026-12-31T18:30Z") - pd.Timestamp(sandbox.data.as_of)) / pd.Timedelta(
            days=1))


def test_portfolio_with_cohorts_is_sorted_by_risk(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        cohorts = {pid: fetch_cohort(client, sandbox.data.customer_ids, PROGRAM, pid,
                                     progress=False)
                   for pid in [*sandbox.data.promotion_ids, *NEW_UI]}
        promotions, _ = fetch_program(client, PROGRAM)
    table = portfolio_frame(promotions, cohorts, as_of=sandbox.data.as_of)
    new_ui = table["source"].eq(PROMOTION_SOURCE_V3)
    assert table.loc[~new_ui, "risk"].notna().all() and table.loc[new_ui, "risk"].isna().all()
    assert table.loc[~new_ui, "risk"].is_monotonic_decreasing and not new_ui.iloc[0]
    breakfast = table.set_index("promotion_id").loc[1133602011]  # measured, limit unknown
    assert breakfast["points_used"] == cohorts[1133602011].points["total_points"].sum()
    assert pd.isna(breakfast["budget_used_share"])
    view = portfolio_view(table).set_index("promotion")
    assert view.loc["Weekday Breakfast Club (1133602011)", "points"].endswith(
        "(limit unknown)")
    gold = table.set_index("promotion_id").loc[1133601550]
    assert gold["points_used"] == cohorts[1133601550].points["total_points"].sum()
    assert gold["budget_used_share"] == pytest.approx(gold["points_used"] / gold["points_limit"])
    assert gold["risk"] == pytest.approx(gold["budget_used_share"] / gold["time_elapsed_share"])
    # the sandbox sizes budgets so that the whole cohort stays well below them
    assert (table.loc[~new_ui, "budget_used_share"] < 1).all()
    ended = table.set_index("promotion_id").loc[1133601204]
    assert ended["days_left"] == 0 and pd.isna(ended["projected_exhaustion"])
    with capnb.connect(sandbox.environ()) as client:
        promotions, fetched_cohorts = fetch_program(client, PROGRAM,
                                                    customers=sandbox.data.customer_ids,
                                                    progress=False)
    fetched = portfolio_frame(promotions, fetched_cohorts, as_of=sandbox.data.as_of)
    pd.testing.assert_frame_equal(fetched, table)


def test_portfolio_argument_errors(sandbox):
    with capnb.connect(sandbox.environ()) as client:
        with pytest.raises(ValidationError, match="pass customers"):
            fetch_program(client, PROGRAM, store="x")
        with pytest.raises(ValidationError, match="program_id"):
            fetch_program(client, "3334x")


def test_portfolio_frame_edge_cases():
    items = [
        {"id": 1, "name": "No dates", "limits": {"totalPointsInPromotion": 100}},
        {"id": 2, "name": "Future", "startDate": "2030-01-01T00:00Z",
         "endDate": "2030-02-01T00:00Z", "promotionRestrictions": {"restrictions": {
             "redemptionRestrictions": [{"name": "MAX_ALLOWED_TIMES_PER_PROMOTION",
                                         "value": -1}]}}},
    ]
    promotions = [parse_promotion(item) for item in items]
    table = portfolio_frame(promotions, as_of="2026-01-01")
    assert table["promotion_id"].tolist() == [2, 1]
    future = table.iloc[0]
    assert future["time_elapsed_share"] == 0 and future["days_left"] == 31
    assert pd.isna(future["times_limit"])  # -1: no limit
    assert table.iloc[1]["points_limit"] == 100 and "no usable" in table.iloc[1]["note"]
    assert portfolio_frame([]).empty
    with pytest.raises(ValidationError):
        portfolio_frame(promotions, cohorts=[1])
    with pytest.raises(ValidationError):
        fetch_program("client", PROGRAM)


def test_budget_burn_chart(sandbox):
    from capnb.reports.charts import budget_burn_chart

    with capnb.connect(sandbox.environ()) as client:
        cohorts = {1133601550: fetch_cohort(client, sandbox.data.customer_ids[:200], PROGRAM,
                                            1133601550, progress=False)}
        promotions, _ = fetch_program(client, PROGRAM)
    table = portfolio_frame(promotions, cohorts, as_of=sandbox.data.as_of)
    figure = budget_burn_chart(table, program="Sandbox <Rewards>")
    assert figure.layout.title.text == "Budget burn — Sandbox &lt;Rewards&gt;"
    bars = {trace.name: trace for trace in figure.data}
    assert list(bars["budget used"].y) == ["Gold Tier Fast Track (1133601550)"]
    assert len(bars["time elapsed"].y) == 6 and len(bars["no budget share"].y) == 5
    assert list(bars["no budget share"].text).count("limits unknown (new UI)") == 2
    assert budget_burn_chart(table).to_json() == budget_burn_chart(table).to_json()
    assert "No data" in budget_burn_chart(table.iloc[:0]).layout.annotations[0].text
    with pytest.raises(ValidationError):
        budget_burn_chart(table[["name"]])


def test_portfolio_view_reads_as_text():
    from capnb.analysis.portfolio import portfolio_view

    items = [
        {"id": 1, "name": "Capped", "startDate": "2026-01-01T00:00Z",
         "endDate": "2026-01-11T00:00Z", "limits": {"totalPointsInPromotion": 1000}},
        {"id": 2, "name": "Open", "startDate": "2026-01-01T00:00Z",
         "endDate": "2026-12-31T00:00Z"},
    ]
    frame = portfolio_frame([parse_promotion(item) for item in items], as_of="2026-01-06")
    frame.loc[0, ["points_used", "budget_used_share", "risk"]] = [750.0, 0.75, 1.5]
    frame.loc[0, "projected_exhaustion"] = pd.Timestamp("2026-01-07T16:00Z")
    view = portfolio_view(frame)
    capped, open_ = view.iloc[0], view.iloc[1]
    assert capped["promotion"] == "Capped (1)" and capped["days left"] == "5"
    assert capped["points"] == "750 of 1,000" and capped["budget used"] == "75.0%"
    assert (capped["time elapsed"], capped["risk"], capped["runs out"]) == (
        "50.0%", "1.50", "2026-01-07")
    assert open_["points"] == "no cap" and open_["risk"] == "—" and open_["runs out"] == ""
    assert (view.dtypes == "str").all() and portfolio_view(frame.iloc[:0]).empty
    with pytest.raises(ValidationError, match="portfolio"):
        portfolio_view(frame[["name"]])
