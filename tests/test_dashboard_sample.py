"""The dashboard's sample mode (issue 16): a random sample fetched in rounds, the running
estimate and its interval narrowing after each round, the stop at a precision target.

Against the sandbox (1,200 customers); every test builds its own app and compares the
sandbox's request counters before and after.
"""

from __future__ import annotations

import math
import re

import pytest

import capnb

pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")

from capnb.errors import ValidationError  # noqa: E402
from capnb.reports.widgets import Dashboard, dashboard  # noqa: E402

CUSTOMERS = 1200
ENROL = 1133601377
SUMMARY_PATH = "/v3/customers/{customerId}/customerPromotionDetails/actionSummary"
INTERVAL = re.compile(r"\d+\.\d% \(\d+\.\d–\d+\.\d%\)")  # "87.6% (85.7–89.3%)"


@pytest.fixture(scope="module")
def sb():
    from capnb.sandbox import Sandbox

    with Sandbox(customers=CUSTOMERS, seed=0, latency_ms=1) as sandbox:
        yield sandbox


def make_app(sb, **kwargs) -> Dashboard:
    from capnb.sandbox import SANDBOX_AS_OF

    ids = list(sb.catalog()["customer_ids"])
    return dashboard(capnb.connect(sb.environ()), program_id=sb.data.program_id,
                     promotion_id=ENROL, customers=ids, as_of=SANDBOX_AS_OF, workers=8,
                     **kwargs)


def summaries(sb) -> int:
    return sb.stats()["by_path"].get(SUMMARY_PATH, 0)


def reach(app: Dashboard):
    running = app.running
    return running[running["figure"] == "customers_reached"].set_index("round")


def test_a_sample_fetch_shows_the_running_estimate_narrowing(sb):
    from capnb.reports.traffic import MessageCounter

    with MessageCounter() as counter:
        app = make_app(sb, sample=1000)
        assert app.sample_input.value == 1000 and app.precision_input.value == 0
        before, estimate_comm = summaries(sb), app.estimate.comm.comm_id
        counter.reset()
        app.fetch_button.click()
        assert app.wait(120)
    assert summaries(sb) - before == 1000  # the sample, each customer once
    rounds = reach(app)
    # 400, then 10% more each round, up to the whole sample
    assert rounds["fetched"].tolist() == [400, 440, 484, 533, 587, 646, 711, 783, 862, 949,
                                          1000]
    widths = rounds["half_width"]
    assert widths.iloc[-1] < widths.iloc[0] and widths.is_monotonic_decreasing
    assert (rounds["low"] <= rounds["estimate"]).all() and (
        rounds["estimate"] <= rounds["high"]).all()
    assert {"share_of_limit", "points_issued"} <= set(app.running["figure"])
    # what was fetched is the sample: the first 1,000 of the random order
    sample = capnb.draw_sample(list(sb.catalog()["customer_ids"]), 1000, seed=0)
    assert set(app.cohort.fetched_customer_ids) == set(sample.ids)
    assert app.cohort.design is not None and app.cohort.design.population_size == CUSTOMERS
    # the final line: estimates with their intervals, the last round's
    text = app.estimate.value
    assert "Estimate from 1,000 of 1,000 sampled customers (random sample of 1,200)" in text
    assert len(INTERVAL.findall(text)) >= 2 and "Budget: " in text
    assert "the whole sample fetched" in text
    last = rounds.iloc[-1]
    assert f"customers reached {last['estimate']:.1%}" in text
    assert "a random sample of 1,000 of 1,200 customers" in app.showing.value
    # every chart estimates the population, with its intervals (filters keep the design)
    assert app.results["issuance"]["cohort_customers"].iloc[0] == CUSTOMERS
    for name in ("utilisation", "issuance", "points", "timeline", "recency"):
        assert any(c.endswith("_low") for c in app.results[name].columns), name
    bars = [t for t in app.figures["issuance"].data if t.type == "bar"]
    assert bars and all(t.error_y.array is not None for t in bars)
    assert "Fetched 1,000 of 1,000 customers in random order" in app.message.value
    # one message per round on the estimate line, plus the first and the final one
    assert counter.per_comm[estimate_comm] == len(rounds) + 2


def test_a_precision_target_stops_before_the_whole_sample(sb):
    app = make_app(sb, precision=0.03)
    assert app.sample_input.value == 0 and app.precision_input.value == 3.0
    before = summaries(sb)
    app.fetch_button.click()
    assert app.wait(120)
    fetched = len(app.cohort.fetched_customer_ids)
    assert 400 <= fetched < CUSTOMERS and summaries(sb) - before == fetched
    rounds = reach(app)
    assert rounds["fetched"].iloc[-1] == fetched and len(rounds) >= 2
    # stopped at the first round where every watched interval was within 3 pp
    precise = app.running.loc[app.running["figure"].isin(["customers_reached",
                                                          "share_of_limit"])]
    widest = precise.groupby("round")["precision"].max()
    assert widest.iloc[-1] <= 0.03 < widest.iloc[:-1].min()
    assert "until every watched 95% interval was within" in app.cohort.design.note
    assert "stopped at the target" in app.estimate.value
    assert "(target ±3.0 pp)" in app.estimate.value
    assert f"a random sample of {fetched:,} of 1,200" in app.showing.value


@pytest.mark.parametrize(("sample", "precision", "words"), [
    (-1, 0.0, "sample: must be a whole number"),
    (CUSTOMERS + 1, 0.0, "asks for 1,201 customers but 1,200 were given"),
    (0, -1.0, "precision: must be from 0 (off) to below 50"),
    (0, 50.0, "precision: must be from 0 (off) to below 50"),
    (0, math.nan, "precision: must be from 0 (off)"),
])
def test_bad_sample_inputs_say_why_and_fetch_nothing(sb, sample, precision, words):
    app = make_app(sb)
    app.sample_input.value, app.precision_input.value = sample, precision
    sent = sb.stats()["requests"]
    app.fetch_button.click()
    assert app.wait(5)
    assert sb.stats()["requests"] == sent  # nothing requested, not even the promotion
    assert "capnb-error" in app.message.value and "Cannot fetch" in app.message.value
    assert words in app.message.value.replace("&#x27;", "'")
    assert app.cohort is None and app.running.empty and not app.fetch_button.disabled


def test_bad_sample_keywords_raise():
    from tests.cohorts import STATUSES, make_cohort

    cohort = make_cohort(STATUSES)
    for kwargs in ({"sample": -5}, {"sample": 1.5}, {"precision": 0.5}, {"precision": "1pp"},
                   {"seed": -1}):
        with pytest.raises(ValidationError):
            dashboard(cohort, **kwargs)


def test_cancel_mid_sample_keeps_a_cohort_with_its_design(sb):
    app = make_app(sb, sample=1000)

    def cancel_in_round_two(change):  # runs in the fetch thread
        if change["new"] >= 420 and not app.cancel_button.disabled:
            app.cancel_button.click()

    app.progress_interval = 0
    app.progress.observe(cancel_in_round_two, names="value")
    app.fetch_button.click()
    assert app.wait(120)
    app.progress.unobserve(cancel_in_round_two, names="value")
    fetched = len(app.cohort.fetched_customer_ids)
    assert 420 <= fetched < 1000
    assert app.cohort.design is not None and app.cohort.design.population_size == CUSTOMERS
    assert f"a random sample of {fetched:,} of 1,200 customers" in app.cohort.design.note
    assert "cancelled" in app.cohort.design.note
    assert capnb.analysis.population_estimates(app.promotion, app.cohort)["sampled"].iloc[0] \
        == fetched
    assert "Cancelled" in app.message.value
    assert app.estimate.value.count("Cancelled after 400 of 1,000 sampled customers") == 1
    assert "a random sample of" in app.showing.value and "cancelled" in app.showing.value
    assert reach(app)["fetched"].tolist() == [400]


def test_an_ordinary_fetch_shows_no_estimate(sb):
    app = make_app(sb)
    app.fetch_button.click()
    assert app.wait(120)
    assert "Fetched 1,200 of 1,200" in app.message.value
    assert app.estimate.value == "" and app.running.empty and app.cohort.design is None
