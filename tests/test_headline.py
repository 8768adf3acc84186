"""The headline block: facts computed from the report's frames, checked against the frames and
the sandbox's truth; exactness copied, never upgraded; every text escaped in HTML."""

from __future__ import annotations

import dataclasses
import doctest
import re

import numpy as np
import pandas as pd
import pytest

import capnb
from capnb import analysis
from capnb.analysis import facts as facts_module
from capnb.analysis import notes as notes_module
from capnb.analysis.facts import MAX_FACTS
from capnb.analysis.headline import Fact, Headline
from capnb.errors import ValidationError
from capnb.fetch.program import fetch_program
from capnb.reports import headline as report_headline
from capnb.sandbox import SANDBOX_AS_OF
from tests.cohorts import (
    AS_OF,
    CURRENCIES,
    INCENTIVES,
    LIFETIME,
    POINTS,
    STATUSES,
    make_cohort,
    make_promotion,
)
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS

AS_OF_SANDBOX = pd.Timestamp(SANDBOX_AS_OF)


@pytest.fixture(scope="module")
def runs(sandbox):
    """Per sandbox promotion: (promotion, cohort of every customer, utilisation)."""
    out = {}
    with capnb.connect(sandbox.environ()) as client:
        for pid in sandbox.data.promotion_ids:
            promotion = client.promotion(PROGRAM, pid)
            cohort = capnb.fetch_cohort(client, sandbox.data.customer_ids, PROGRAM, pid,
                                        progress=False)
            out[pid] = (promotion, cohort,
                        analysis.utilisation(promotion, cohort, as_of=AS_OF_SANDBOX))
    return out


def by_label(headline: Headline) -> dict[str, Fact]:
    return {f.label: f for f in headline.facts}


def overview(runs, pid, utilisation=None) -> Headline:
    promotion, cohort, frame = runs[pid]
    return analysis.overview_headline(promotion, cohort,
                                      frame if utilisation is None else utilisation,
                                      as_of=AS_OF_SANDBOX)


def row_of(frame: pd.DataFrame, name: str) -> pd.Series:
    rows = frame[frame["name"] == name]
    assert len(rows) == 1, name
    return rows.iloc[0]


# -- the promotion overview -------------------------------------------------------------------

def test_reach_and_issued_totals_match_the_frames_and_the_truth(sandbox, runs):
    data = sandbox.data
    for pid, (_, cohort, _) in runs.items():
        facts = by_label(overview(runs, pid))
        truth = [data.events(cid, pid) for cid in data.customer_ids]
        reached = sum(1 for events in truth if events)
        fetched = int(cohort.customers["status"].isin(["ok", "no_benefits"]).sum())
        assert fetched == len(data.customer_ids)
        assert facts["Customers reached"].text == (
            f"{reached:,} of {fetched:,} fetched ({reached / fetched:.1%})"), pid
        points = sum(e.points for events in truth for e in events)
        summary = analysis.points_summary(cohort)
        assert points == summary.loc[summary["kind"] == "points", "total"].sum()
        assert facts["Points issued"].text.startswith(f"{points:,.0f} to "), pid
        for row in summary[summary["kind"] == "currency"].itertuples():
            total = sum(e.currency_amount for events in truth for e in events
                        if e.currency_name == row.name)
            assert facts[f"{row.name} issued"].text == (
                f"{total:,.0f} to {row.customers:,} customers"), pid
        assert len(facts) <= MAX_FACTS


def test_the_sandbox_promotion_says_who_is_at_the_cap(sandbox, runs):
    _, _, frame = runs[ENROL_EARN]
    headline = overview(runs, ENROL_EARN)
    row = row_of(frame, "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER")
    assert row["share_of_limit"] >= 0.8 and row["measurability"] == "exact"
    at, near, n = (int(row["customers_at_cap"]), int(row["customers_near_cap"]),
                   int(row["customers_measured"]))
    truth = [sandbox.data.true_usage(cid, ENROL_EARN)["MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"]
             for cid in sandbox.data.customer_ids]
    assert at == sum(u >= 6 for u in truth) > 0  # exact: the frame is the truth
    fact = by_label(headline)["Incentives per customer"]
    assert fact.text == (f"{at:,} customers ({at / n:.1%}) at the cap of 6; "
                         f"{near:,} ({near / n:.1%}) at 80% or more")
    assert fact.level == "warning" and fact.exactness == "exact"
    budget = by_label(headline)["Tightest budget"]
    wide = frame[frame["scope"] == "promotion"].sort_values("share_of_limit").iloc[-1]
    assert budget.text == (f"Earns in the whole promotion: {wide['usage_total']:,.0f} of "
                           f"{wide['limit']:,} used ({wide['share_of_limit']:.1%})")
    assert budget.exactness == wide["measurability"] == "lower_bound"
    days = (runs[ENROL_EARN][0].end - AS_OF_SANDBOX) / pd.Timedelta(days=1)
    assert by_label(headline)["Time left"].text == f"{round(days)} days left (ends 2027-01-31)"


def test_every_limit_fact_copies_the_frames_exactness(runs):
    headline = overview(runs, GOLD_TIER)
    _, _, frame = runs[GOLD_TIER]
    facts = by_label(headline)
    times, points = row_of(frame, "numberOfTimesPerCustomer"), row_of(frame, "pointsPerCustomer")
    assert times["measurability"] == "lower_bound" and points["measurability"] == "exact"
    assert facts["Activities per customer"].exactness == "lower_bound"  # not upgraded
    assert facts["Points per customer"].exactness == "exact"
    assert facts["Points per customer"].text.startswith(
        f"{points['customers_at_cap']:,} customers ")
    # Most used first.
    labels = [f.label for f in headline.facts]
    assert labels.index("Activities per customer") < labels.index("Points per customer")
    # Whatever the frame says is what the fact says: the frame is not re-judged.
    for level in ("proxy", "lower_bound", "not_measurable"):
        changed = frame.copy()
        changed.loc[changed["name"] == "pointsPerCustomer", "measurability"] = level
        assert by_label(overview(runs, GOLD_TIER, changed))[
            "Points per customer"].exactness == level
    wide = frame.copy()
    wide.loc[wide["scope"] == "promotion", "measurability"] = "proxy"
    assert by_label(overview(runs, GOLD_TIER, wide))["Tightest budget"].exactness == "proxy"


def test_no_limit_near_its_cap_is_one_fact(runs):
    _, _, frame = runs[DOUBLE_POINTS]
    assert not frame["share_of_limit"].ge(0.8).any()
    headline = overview(runs, DOUBLE_POINTS)
    limits = by_label(headline)["Limits"]
    assert limits.text == "No limit is at 80% or more of its cap"
    measured = frame.loc[frame["share_of_limit"].notna(), "measurability"]
    assert limits.exactness == "proxy" and "proxy" in set(measured)  # the weakest, kept
    at_cap = frame.loc[frame["scope"] == "customer", "customers_at_cap"].max()
    assert f"{at_cap:,} customers reached the cap" in limits.note
    assert [f.level for f in headline.facts] == ["info"] * len(headline.facts)
    # The promotion started before 2025-06-12: what the summary shows is at least the truth.
    assert by_label(headline)["Customers reached"].exactness == "lower_bound"
    assert by_label(headline)["Points issued"].exactness == "lower_bound"
    # The same promotion with its limits lowered below the usage: no more "no limit".
    near = frame.assign(share_of_limit=frame["share_of_limit"] * 2)
    assert "Limits" not in by_label(overview(runs, DOUBLE_POINTS, near))


def test_an_ended_promotion_and_one_without_an_end(runs):
    promotion, cohort, frame = runs[SUMMER_COUPONS]
    headline = overview(runs, SUMMER_COUPONS)
    days = (AS_OF_SANDBOX - promotion.end) / pd.Timedelta(days=1)
    assert by_label(headline)["Time left"].text == f"Ended {round(days)} days ago (2025-09-30)"
    limits = by_label(headline)["Limits"]  # a redemption cap the summary cannot measure
    assert limits.text == "No measurable limit is at 80% or more of its cap"
    assert "Not measurable: Redemptions per earn." in limits.note
    endless = dataclasses.replace(promotion, end=pd.NaT)
    facts = by_label(analysis.overview_headline(endless, cohort, frame, as_of=AS_OF_SANDBOX))
    assert facts["Time left"].text == "No end date"
    early = analysis.overview_headline(promotion, cohort, frame, as_of="2025-06-01")
    assert by_label(early)["Time left"].text == "Starts in 14 days (2025-06-15), ends 2025-09-30"


def test_many_limits_near_their_cap_are_collapsed():
    cohort = make_cohort(STATUSES, INCENTIVES, POINTS,
                         [*CURRENCIES, (2, "COINS", 7.0, 1, "2026-01-05T00:00Z")])
    promotion = make_promotion(LIFETIME)
    frame = analysis.utilisation(promotion, cohort, as_of=AS_OF)
    headline = analysis.overview_headline(promotion, cohort, frame, as_of=AS_OF)
    assert len(headline.facts) == MAX_FACTS
    facts = by_label(headline)
    assert facts["Customers reached"].text == "2 of 3 fetched (66.7%); 1 failed, 1 not found"
    assert facts["Customers reached"].level == "warning"
    assert facts["Incentives per customer"].text == (
        "2 customers (66.7%) at the cap of 3; 1 over it")
    more = facts["2 more limits at 80% or more"]
    assert more.text == "Points per customer (90.0%); Points per activity (90.0%)"
    assert more.exactness == "proxy"  # the weakest of an exact and a proxy figure
    # legacy ``limits`` rows that mirror a restriction are not counted twice
    assert sum("Points per customer" in f.text or f.label == "Points per customer"
               for f in headline.facts) == 1


def test_a_budget_alone_at_its_cap_is_said_once(runs):
    _, _, frame = runs[ENROL_EARN]
    changed = frame.copy()
    wide = changed["scope"] == "promotion"
    changed.loc[~wide, "share_of_limit"] = changed.loc[~wide, "share_of_limit"] / 2
    changed.loc[wide, "share_of_limit"] = 0.9
    headline = overview(runs, ENROL_EARN, changed)
    facts = by_label(headline)
    assert "Limits" not in facts and "Incentives per customer" not in facts
    assert facts["Tightest budget"].level == "warning"
    assert facts["Tightest budget"].text.endswith("used (90.0%)")
    assert sum(f.level == "warning" for f in headline.facts) == 1


def test_a_cohort_of_one_activity_gives_lower_bounds():
    cohort = make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES, activity_id="act_reward")
    promotion = make_promotion(LIFETIME)
    frame = analysis.utilisation(promotion, cohort, as_of=AS_OF)
    facts = by_label(analysis.overview_headline(promotion, cohort, frame, as_of=AS_OF))
    reached = facts["Customers reached"]
    assert reached.exactness == "lower_bound" and "'act_reward' only" in reached.note
    assert facts["Points issued"].exactness == facts["STARS issued"].exactness == "lower_bound"


def test_argument_errors(runs):
    promotion, cohort, frame = runs[ENROL_EARN]
    with pytest.raises(ValidationError, match="utilisation: must be a DataFrame from"):
        analysis.overview_headline(promotion, cohort, frame.drop(columns="measurability"),
                                   as_of=AS_OF_SANDBOX)
    with pytest.raises(ValidationError, match="promotion"):
        analysis.overview_headline(runs[GOLD_TIER][0], cohort, frame, as_of=AS_OF_SANDBOX)
    with pytest.raises(ValidationError, match="as_of"):
        analysis.overview_headline(promotion, cohort, frame, as_of="soon")
    with pytest.raises(ValidationError, match="exactness"):
        Fact("x", "y", "roughly")
    with pytest.raises(ValidationError, match="level"):
        Fact("x", "y", "exact", level="error")
    with pytest.raises(ValidationError, match="measurability"):
        analysis.overview_headline(promotion, cohort, frame.assign(
            measurability="guessed"), as_of=AS_OF_SANDBOX)


# -- one customer -----------------------------------------------------------------------------

def customer(runs, pid, customer_id):
    promotion, cohort, _ = runs[pid]
    one = cohort.subset([customer_id])
    per_limit = analysis.customer_utilisation(promotion, one, as_of=AS_OF_SANDBOX)
    return analysis.customer_headline(promotion, one, per_limit, as_of=AS_OF_SANDBOX), per_limit


def test_a_customer_at_the_cap(sandbox, runs):
    promotion, cohort, _ = runs[ENROL_EARN]
    per = analysis.customer_utilisation(promotion, cohort, as_of=AS_OF_SANDBOX)
    issuals = per[(per["name"] == "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER") & per["at_cap"]]
    customer_id = int(issuals["customer_id"].iloc[0])
    headline, per_limit = customer(runs, ENROL_EARN, customer_id)
    assert headline.title == f"Customer {customer_id} in Enrol & Earn Stars ({ENROL_EARN})"
    facts = by_label(headline)
    assert facts["Status"].text == "benefits found" and facts["Status"].level == "info"
    closest = facts["Closest limit"]
    assert closest.text == "Incentives per customer: 6 of 6 (100.0%), at the cap"
    row = per_limit[per_limit["name"] == "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"].iloc[0]
    assert closest.exactness == row["measurability"] and closest.level == "warning"
    events = sandbox.data.events(customer_id, ENROL_EARN)
    incentives = sum(e.action is not None for e in events)
    points = sum(e.points for e in events)
    assert facts["Benefits received"].text.startswith(
        f"{incentives} incentives, {points:,.0f} points, ")
    last = max(pd.Timestamp(e.timestamp, unit="ms", tz="UTC") for e in events)
    days = (AS_OF_SANDBOX - last) / pd.Timedelta(days=1)
    assert facts["Last issued"].text == (
        f"{round(days)} day{'' if round(days) == 1 else 's'} ago ({last:%Y-%m-%d})")


def test_a_customer_whose_closest_limit_is_a_proxy_keeps_it(runs):
    promotion, cohort, _ = runs[GOLD_TIER]
    per = analysis.customer_utilisation(promotion, cohort, as_of=AS_OF_SANDBOX)
    per = per[per["share_of_limit"].notna()]
    top = per.loc[per.groupby("customer_id")["share_of_limit"].idxmax()]
    pick = top[top["measurability"].astype(str) != "exact"].iloc[0]
    headline, _ = customer(runs, GOLD_TIER, int(pick["customer_id"]))
    closest = by_label(headline)["Closest limit"]
    assert closest.exactness == str(pick["measurability"])
    assert f"({pick['share_of_limit']:.1%})" in closest.text


def test_a_customer_over_the_cap_with_other_limits_near_it():
    promotion = make_promotion(LIFETIME)
    one = make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES).subset([2])
    per_limit = analysis.customer_utilisation(promotion, one, as_of=AS_OF)
    headline = analysis.customer_headline(promotion, one, per_limit, as_of=AS_OF)
    facts = by_label(headline)
    assert facts["Closest limit"].text == "Incentives per customer: 4 of 3 (133.3%), over the cap"
    assert facts["Points per customer"].text == "300 of 300 points (100.0%), at the cap"
    assert facts["Benefits received"].text == "4 incentives, 300 points"
    assert facts["Benefits received"].note == "By action: BADGES 1, REWARD 3."
    # as recency() counts it: the latest dated row (a count of 0 included), undated ones aside
    assert facts["Last issued"].text == "8 days ago (2026-01-02)"
    assert len(headline.facts) <= MAX_FACTS


def test_a_customer_not_found_and_argument_errors(sandbox, runs):
    promotion = runs[ENROL_EARN][0]
    with capnb.connect(sandbox.environ()) as client:
        missing = capnb.fetch_cohort(client, [1], PROGRAM, ENROL_EARN, progress=False)
    per_limit = analysis.customer_utilisation(promotion, missing, as_of=AS_OF_SANDBOX)
    headline = analysis.customer_headline(promotion, missing, per_limit, as_of=AS_OF_SANDBOX)
    facts = by_label(headline)
    assert facts["Status"].text == "not found" and facts["Status"].level == "warning"
    assert {facts[n].exactness for n in ("Benefits received", "Closest limit",
                                         "Last issued")} == {"not_measurable"}
    cohort = runs[ENROL_EARN][1]
    with pytest.raises(ValidationError, match="one customer"):
        analysis.customer_headline(promotion, cohort, per_limit, as_of=AS_OF_SANDBOX)
    ids = list(sandbox.data.customer_ids[:2])
    other = analysis.customer_utilisation(promotion, cohort.subset(ids[1:]), as_of=AS_OF_SANDBOX)
    with pytest.raises(ValidationError, match="per_limit: is for customer"):
        analysis.customer_headline(promotion, cohort.subset(ids[:1]), other,
                                   as_of=AS_OF_SANDBOX)


# -- the portfolio ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def budgets(sandbox, runs):
    with capnb.connect(sandbox.environ()) as client:
        promotions, _ = fetch_program(client, PROGRAM, new_ui=False)
    cohorts = {pid: cohort for pid, (_, cohort, _) in runs.items()}
    return analysis.portfolio_frame(promotions, cohorts, as_of=AS_OF_SANDBOX)


def test_the_portfolio_says_why_new_ui_promotions_have_no_budget(sandbox, runs):
    with capnb.connect(sandbox.environ()) as client:
        promotions, _ = fetch_program(client, PROGRAM)
    cohorts = {pid: cohort for pid, (_, cohort, _) in runs.items()}
    frame = analysis.portfolio_frame(promotions, cohorts, as_of=AS_OF_SANDBOX)
    fact = by_label(analysis.portfolio_headline(frame, as_of=AS_OF_SANDBOX))[
        "Without a measurable cap"]
    assert fact.text.startswith("2 of 6: ") and "Weekday Breakfast Club" in fact.text
    assert fact.note.endswith("2 promotions made in the new UI: their limits are not "
                              "documented.")


def test_the_portfolio_headline(budgets, catalog):
    headline = analysis.portfolio_headline(budgets, as_of=AS_OF_SANDBOX,
                                           program_name="Sandbox Rewards (3334)")
    assert headline.title == "Sandbox Rewards (3334)"
    facts = by_label(headline)
    live = sum(p["status"] == "LIVE" for p in catalog["promotions"])
    assert facts["Promotions"].text == f"4 promotions, {live} live (1 completed)"
    assert not budgets["risk"].gt(1).any()
    assert facts["At risk"].text == "None of the 4 promotions with a measured budget"
    assert facts["At risk"].exactness == "lower_bound"
    top = budgets.loc[budgets["budget_used_share"].idxmax()]
    assert facts["Most used budget"].text.startswith(f"{top['name']} ({top['promotion_id']}): ")
    assert facts["Most used budget"].text.endswith(f"({top['budget_used_share']:.1%})")
    assert facts["Without a measurable cap"].text == "None"
    running = budgets[budgets["end"] > AS_OF_SANDBOX].sort_values("end").iloc[0]
    assert facts["Next to end"].text.startswith(f"{running['name']} ({running['promotion_id']})")


def test_the_portfolio_names_the_riskiest_and_the_unmeasured(budgets):
    frame = budgets.copy()
    frame.loc[frame["promotion_id"] == ENROL_EARN, "risk"] = 1.5
    frame.loc[frame["promotion_id"] == GOLD_TIER, "risk"] = np.inf
    frame.loc[frame["promotion_id"] == DOUBLE_POINTS, ["budget_used_share", "risk"]] = np.nan
    facts = by_label(analysis.portfolio_headline(frame, as_of=AS_OF_SANDBOX))
    assert facts["At risk"].text == (
        f"2 promotions, the riskiest Gold Tier Fast Track ({GOLD_TIER}): budget used before "
        "its start")
    assert facts["At risk"].level == "warning"
    assert facts["Without a measurable cap"].text == (
        f"1 of 4: Double Points Weekend ({DOUBLE_POINTS})")
    one = frame[frame["promotion_id"] == ENROL_EARN]
    risk = by_label(analysis.portfolio_headline(one, as_of=AS_OF_SANDBOX))["At risk"].text
    assert risk.startswith(f"1 promotion: Enrol & Earn Stars ({ENROL_EARN}): risk 1.50")
    empty = analysis.portfolio_headline(frame.iloc[:0], as_of=AS_OF_SANDBOX)
    assert by_label(empty)["At risk"].exactness == "not_measurable"
    with pytest.raises(ValidationError, match="budgets: must be a DataFrame"):
        analysis.portfolio_headline(analysis.portfolio_view(budgets), as_of=AS_OF_SANDBOX)


# -- the block --------------------------------------------------------------------------------

def test_the_block_escapes_every_text_and_embeds_its_styles_once():
    hostile = "<script>alert(1)</script>"
    promotion = make_promotion(LIFETIME, name=hostile)
    cohort = make_cohort(STATUSES, INCENTIVES, POINTS,
                         [(1, '<img src=x onerror="alert(2)">', 5.0, 1, "2026-01-02T00:00Z")])
    frame = analysis.utilisation(promotion, cohort, as_of=AS_OF)
    headline = analysis.overview_headline(promotion, cohort, frame, as_of=AS_OF)
    shown = report_headline.block(headline)
    page = shown._repr_html_()
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt; issued" in page
    assert page.count("<style>") == 1 and report_headline.CSS in page
    assert page.startswith('<div class="capnb-headline">') and "At a glance" in page
    cards = re.findall(r'<div class="capnb-fact capnb-(\w+)">', page)
    assert cards == [f.level for f in headline.facts]
    badges = re.findall(r'capnb-badge-(\w+)"', page)
    assert badges == [f.exactness for f in headline.facts]
    text = repr(shown)
    lines = text.splitlines()
    assert lines[0] == f"At a glance: {hostile} (1)" and len(lines) == 1 + len(headline.facts)
    assert lines[1].startswith("! Customers reached: 2 of 3 fetched") and "[exact]" in lines[1]
    assert "[lower bound]" in text
    with pytest.raises(ValidationError, match="headline"):
        report_headline.block(headline.to_frame())


def test_the_frame_and_the_doctests():
    fact = Fact("Customers reached", "3,912 of 5,000 fetched (78.2%)", "exact")
    frame = Headline("x", [fact, Fact("b", "c", "proxy", "n", "warning")]).to_frame()
    assert list(frame.columns) == ["label", "text", "exactness", "note", "level"]
    assert frame.dtypes.astype(str).unique().tolist() == ["str"]
    assert frame["level"].tolist() == ["info", "warning"]
    for module in (facts_module, notes_module):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__
    assert {"Fact", "Headline", "overview_headline", "customer_headline",
            "portfolio_headline"} <= set(analysis.__all__)
