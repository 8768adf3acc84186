"""capnb.reports.charts: titles, units, escaping, no-data figures, determinism and bounded size."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from capnb import analysis
from capnb.analysis import limits
from capnb.errors import ValidationError
from capnb.labels import restriction_label
from capnb.reports import charts
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
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def cohort():
    return make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES)


@pytest.fixture
def promotion():
    return make_promotion(LIFETIME + PERIODIC, name="Double Points Weekend")


def all_figures(cohort, promotion) -> dict[str, go.Figure]:
    per = limits.customer_utilisation(promotion, cohort, as_of=AS_OF)
    return {
        "issuance": charts.issuance_chart(analysis.issuance_counts(cohort), promotion=promotion),
        "points": charts.points_chart(analysis.points_summary(cohort), promotion=promotion),
        "timeline": charts.timeline_chart(analysis.timeline(cohort, tz="Asia/Kolkata"),
                                          promotion=promotion),
        "recency": charts.recency_chart(analysis.recency(cohort, as_of=AS_OF),
                                        promotion=promotion),
        "utilisation": charts.utilisation_chart(limits.utilisation(promotion, cohort,
                                                                     as_of=AS_OF),
                                                promotion=promotion),
        "histogram": charts.customer_utilisation_histogram(
            per, "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", promotion=promotion),
    }


def test_every_chart_says_what_and_for_which_promotion(cohort, promotion):
    for name, fig in all_figures(cohort, promotion).items():
        assert isinstance(fig, go.Figure), name
        assert fig.layout.title.text.replace("<br>", " ").endswith(
            "— Double Points Weekend (1)"), name
        assert fig.layout.template.layout.colorway == charts.OKABE_ITO, name
        assert fig.data, name
    figures = all_figures(cohort, promotion)
    assert figures["issuance"].layout.title.text.startswith("Incentives issued")
    assert figures["issuance"].layout.yaxis.title.text == "Incentives issued (count)"
    assert figures["points"].layout.yaxis.title.text == "Points issued (points)"
    assert "Asia/Kolkata" in figures["timeline"].layout.xaxis.title.text  # the bottom panel
    assert "last issuance" in figures["timeline"].layout.title.text
    assert "not every event" in figures["timeline"].layout.title.subtitle.text
    assert figures["histogram"].layout.xaxis.title.text == "Usage per customer (count)"


def test_figures_are_deterministic(cohort, promotion):
    first = {k: f.to_json() for k, f in all_figures(cohort, promotion).items()}
    second = {k: f.to_json() for k, f in all_figures(cohort, promotion).items()}
    assert first == second
    assert all('"uid"' not in text for text in first.values())


def test_issuance_values_and_hover(cohort):
    fig = charts.issuance_chart(analysis.issuance_counts(cohort))
    assert list(fig.data[0].x) == ["BADGES", "COUPONS", "REWARD"]
    assert list(fig.data[0].y) == [1, 1, 5]
    reached = charts.issuance_chart(analysis.issuance_counts(cohort), value="customers")
    assert list(reached.data[0].y) == [1, 1, 2]
    assert reached.layout.title.text == "Customers reached"
    two = charts.issuance_chart(analysis.issuance_counts(cohort, by=("action", "activity_id")))
    assert {t.name for t in two.data} == {"act_coupon", "act_reward", "(none)"}
    with pytest.raises(ValidationError, match="value"):
        charts.issuance_chart(analysis.issuance_counts(cohort), value="points")


def test_untrusted_text_is_escaped():
    cohort = make_cohort({1: "ok"}, incentives=[(1, "<i>act</i>", "<b>x</b>", "&id", 1,
                                                 "2026-01-01T00:00Z")],
                         points=[(1, "<b>x</b>", 10.0, 1, "2026-01-01T00:00Z")])
    promotion = make_promotion(LIFETIME, name=EVIL)
    figures = all_figures(cohort, promotion)
    figures["by activity"] = charts.issuance_chart(
        analysis.issuance_counts(cohort, by=("activity_id", "action")), promotion=promotion)
    for name, fig in figures.items():
        text = fig.to_json()
        assert "<script>" not in text and "<b>x</b>" not in text and "<i>act" not in text, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fig.layout.title.text, name
    assert list(figures["issuance"].data[0].x) == ["&lt;b&gt;x&lt;/b&gt;"]
    assert list(figures["points"].data[0].x) == ["&lt;b&gt;x&lt;/b&gt;"]
    assert figures["by activity"].data[0].name == "&lt;b&gt;x&lt;/b&gt;"
    assert charts.issuance_chart(analysis.issuance_counts(cohort), promotion="a & b"
                                 ).layout.title.text.endswith("a &amp; b")


def test_empty_input_gives_a_no_data_figure(promotion):
    empty = make_cohort({})
    for name, fig in all_figures(empty, make_promotion([], name="Empty")).items():
        assert fig.layout.annotations[0].text.startswith("No data"), name
        assert fig.layout.xaxis.visible is False, name
        assert not fig.data, name
    nothing = charts.customer_utilisation_histogram(
        limits.customer_utilisation(promotion, empty), "MAX_ALLOWED_POINTS_PER_CUSTOMER")
    assert nothing.layout.annotations[0].text.startswith("No data")


def test_undated_customers_are_mentioned_not_drawn():
    cohort = make_cohort({1: "ok", 2: "ok"}, points=[(1, "R", 1.0, 1, "2026-01-01T00:00Z"),
                                                     (2, "R", 1.0, 1, None)])
    fig = charts.timeline_chart(analysis.timeline(cohort, by=None))
    assert "1 customer(s) with no issuance time" in fig.layout.title.subtitle.text
    assert list(fig.data[0].y) == [1]
    only_undated = make_cohort({2: "ok"}, points=[(2, "R", 1.0, 1, None)])
    fig = charts.timeline_chart(analysis.timeline(only_undated))
    assert fig.layout.annotations[0].text.startswith("No data")


def test_too_many_periods_asks_for_a_coarser_one():
    cohort = make_cohort({1: "ok", 2: "ok"}, points=[(1, "R", 1.0, 1, "2025-07-01T00:00Z"),
                                                     (2, "R", 1.0, 1, "2026-07-01T00:00Z")])
    hourly = analysis.timeline(cohort, freq="h", by=None)
    assert len(hourly) > 8000
    fig = charts.timeline_chart(hourly)
    assert "coarser period" in fig.layout.annotations[0].text
    assert len(fig.to_json()) < 20_000


def test_utilisation_chart_shows_every_restriction(cohort, promotion):
    frame = limits.utilisation(promotion, cohort, as_of=AS_OF)
    fig = charts.utilisation_chart(frame, promotion=promotion)
    labels = [y for trace in fig.data for y in trace.y]
    for name in frame["name"]:  # in words where documented, else as the API gave it
        assert any(label.startswith(restriction_label(name)) for label in labels), name
    assert "Earns per customer (weekly)" in labels
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"exact", "lower bound", "proxy", "median customer", "no share"}
    flagged = dict(zip(by_name["no share"].y, by_name["no share"].text, strict=True))
    assert flagged["Redemptions per earn"] == "not measurable"
    assert flagged["MAX_FOO_PER_CUSTOMER"] == "not measurable"
    assert flagged["Earns per customer"] == "no limit (-1)"
    exact = dict(zip(by_name["exact"].y, by_name["exact"].x, strict=True))
    assert exact["Points per customer"] == pytest.approx(0.9)
    hover = dict(zip(by_name["exact"].y, by_name["exact"].hovertext, strict=True))
    assert "MAX_ALLOWED_POINTS_PER_CUSTOMER" in hover["Points per customer"]  # the API name too
    assert "Measurability: exact" in hover["Points per customer"]
    assert "Lifetime points issued" in hover["Points per customer"]
    assert "Customers at cap: 1" in hover["Points per customer"]
    marks = sorted(shape.x0 for shape in fig.layout.shapes)
    assert marks == [0.8, 1.0]
    assert fig.layout.xaxis.tickformat == ".0%"


def test_histogram_bins_customers_and_draws_the_cap(cohort, promotion):
    per = limits.customer_utilisation(promotion, cohort, as_of=AS_OF)
    fig = charts.customer_utilisation_histogram(per, "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER")
    bar = fig.data[0]
    assert list(bar.x) == [0, 1, 2, 3, 4] and list(bar.y) == [1, 0, 0, 1, 1]  # 0, 3 and 4
    assert sorted(shape.x0 for shape in fig.layout.shapes) == [pytest.approx(2.4), 3]
    assert "2 at or over the cap" in fig.layout.title.subtitle.text
    points = charts.customer_utilisation_histogram(per, "MAX_ALLOWED_POINTS_PER_CUSTOMER",
                                                   bins=10)
    assert len(points.data[0].x) == 10 and sum(points.data[0].y) == 3
    unmeasurable = charts.customer_utilisation_histogram(per, "MAX_FOO_PER_CUSTOMER")
    assert "not measurable" in unmeasurable.layout.annotations[0].text
    for kwargs, parameter in (({"restriction": "NOPE"}, "restriction"),
                              ({"restriction": "pointsPerCustomer", "bins": 0}, "bins")):
        with pytest.raises(ValidationError) as info:
            charts.customer_utilisation_histogram(per, **kwargs)
        assert info.value.parameter == parameter


def test_histogram_picks_one_of_twin_restrictions(cohort):
    twins = make_promotion([("redemption", "MAX_ALLOWED_POINTS_PER_CUSTOMER", 300, None, None,
                             None)] * 2 + [("earn", "MAX_ALLOWED_POINTS_PER_CUSTOMER", 200,
                                            None, None, None)])
    per = limits.customer_utilisation(twins, cohort, as_of=AS_OF)
    labels = list(per["restriction"].cat.categories)
    assert labels == ["MAX_ALLOWED_POINTS_PER_CUSTOMER [redemption] #1",
                      "MAX_ALLOWED_POINTS_PER_CUSTOMER [redemption] #2",
                      "MAX_ALLOWED_POINTS_PER_CUSTOMER [earn]"]
    with pytest.raises(ValidationError, match="names several restrictions"):
        charts.customer_utilisation_histogram(per, "MAX_ALLOWED_POINTS_PER_CUSTOMER")
    fig = charts.customer_utilisation_histogram(per, labels[2])
    assert "limit (200)" in [a.text for a in fig.layout.annotations]
    util = charts.utilisation_chart(limits.utilisation(twins, cohort, as_of=AS_OF))
    assert {y for t in util.data for y in t.y} == {restriction_label(x) for x in labels}


def test_wrong_frames_are_named():
    with pytest.raises(ValidationError) as info:
        charts.recency_chart(pd.DataFrame({"x": [1]}))
    assert info.value.parameter == "frame" and "bucket" in str(info.value)
    with pytest.raises(ValidationError):
        charts.points_chart([1, 2])


def test_figure_size_does_not_grow_with_the_cohort():
    """A 20,000-customer cohort makes figures as small as a 2,000-customer one."""
    rng = np.random.default_rng(0)
    promotion = make_promotion(LIFETIME, name="Size")

    def sizes(n: int) -> dict[str, int]:
        days = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
            rng.integers(0, 60, n), unit="D")
        ids = np.arange(1, n + 1)
        cohort = make_cohort(
            dict.fromkeys(ids.tolist(), "ok"),
            incentives=list(zip(ids, rng.choice(["a1", "a2"], n), rng.choice(
                ["REWARD", "COUPONS"], n), ["1"] * n, rng.integers(1, 5, n), days,
                strict=True)),
            points=list(zip(ids, ["REGULAR_POINTS"] * n, rng.integers(1, 400, n).astype(float),
                            rng.integers(1, 5, n), days, strict=True)))
        return {k: len(f.to_json()) for k, f in all_figures(cohort, promotion).items()}

    small, large = sizes(2_000), sizes(20_000)
    for name in small:
        assert large[name] < 200_000, name
        assert large[name] < small[name] * 1.1 + 1_000, name


def test_template_is_registered():
    import plotly.io as pio

    assert "capnb" in pio.templates
    assert json.loads(charts.no_data_figure("x", "y").to_json())["layout"]["template"]


# -- what the promotion issues, layout, single customers (issue 12) ------------------------------

def no_data(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations if "No data" in (a.text or "")
            or "issued" in (a.text or "")]


def test_timeline_chart_draws_points_and_currencies(cohort):
    fig = charts.timeline_chart(analysis.timeline(cohort, freq="D"))
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert set(bars) == {"BADGES", "COUPONS", "REWARD", "BONUS_POINTS", "REGULAR_POINTS",
                         "STARS"}
    assert {bars[n].meta for n in bars} == {"incentives", "points", "currency"}
    assert sum(bars["REGULAR_POINTS"].y) == 2 and sum(bars["STARS"].y) == 1
    titles = [a.text for a in fig.layout.annotations]
    assert sorted(titles) == ["Alternate currencies", "Incentives", "Points"]
    top = max(titles, key=lambda t: next(a.y for a in fig.layout.annotations if a.text == t))
    assert top == "Incentives"  # incentives on top, then points, then currencies
    assert bars["REWARD"].xaxis == "x3" and bars["STARS"].xaxis == "x"
    assert bars["STARS"].dx == 86_400_000  # evenly spaced days: x0 + dx, no date strings
    assert "not every event" in fig.layout.title.subtitle.text


@pytest.fixture(scope="module")
def sandbox_runs(sandbox):
    import capnb

    client = capnb.connect(sandbox.environ())
    ids = list(sandbox.catalog()["customer_ids"])[:300]
    runs = {}
    for promotion_id in (DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER):
        cohort = capnb.fetch_cohort(client, ids, PROGRAM, promotion_id, progress=False)
        one = capnb.fetch_cohort(client, ids[:1], PROGRAM, promotion_id, progress=False)
        runs[promotion_id] = (cohort, one, client.promotion(PROGRAM, promotion_id))
    return runs


def sandbox_figures(cohort, promotion) -> dict[str, go.Figure]:
    from capnb.sandbox import SANDBOX_AS_OF

    per = limits.customer_utilisation(promotion, cohort, as_of=SANDBOX_AS_OF)
    figures = {
        "issuance": charts.issuance_chart(analysis.issuance_counts(cohort, by=(
            "action", "activity_id")), promotion=promotion),
        "points": charts.points_chart(analysis.points_summary(cohort), promotion=promotion),
        "timeline": charts.timeline_chart(analysis.timeline(cohort, freq="W"),
                                          promotion=promotion),
        "recency": charts.recency_chart(analysis.recency(cohort, as_of=SANDBOX_AS_OF),
                                        promotion=promotion),
        "utilisation": charts.utilisation_chart(analysis.utilisation(
            promotion, cohort, as_of=SANDBOX_AS_OF), promotion=promotion),
    }
    for name in per["restriction"].cat.categories:
        figures[f"histogram {name}"] = charts.customer_utilisation_histogram(
            per, name, promotion=promotion)
    return figures


def test_points_only_promotion_draws_its_points(sandbox_runs):
    cohort, _, promotion = sandbox_runs[DOUBLE_POINTS]
    assert cohort.incentives.empty and cohort.alternate_currencies.empty  # points only
    figures = sandbox_figures(cohort, promotion)
    for name in ("points", "timeline", "recency"):
        assert figures[name].data and not no_data(figures[name]), name
    points = figures["points"]
    assert [t.name for t in points.data] == ["points"]
    assert sum(points.data[0].y) == pytest.approx(cohort.points["total_points"].sum())
    assert "no alternate currency issued" in points.layout.title.subtitle.text
    timeline = figures["timeline"]
    assert {t.meta for t in timeline.data} == {"points"}
    assert sum(sum(t.y) for t in timeline.data if t.type == "bar") == len(
        cohort.points[["customer_id", "points_category"]].drop_duplicates())
    # the incentive chart says honestly what was not issued
    assert no_data(figures["issuance"]) == [
        "No data: no incentive was issued to the fetched customers"]


@pytest.mark.parametrize("promotion_id", [DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER])
def test_no_data_only_when_nothing_of_that_kind_was_issued(sandbox_runs, promotion_id):
    cohort, one, promotion = sandbox_runs[promotion_id]
    for who, frame in (("cohort", cohort), ("one customer", one)):
        for name, fig in sandbox_figures(frame, promotion).items():
            assert bool(fig.data) != bool(no_data(fig)), (who, name, no_data(fig))
        issued = {"issuance": not frame.incentives.empty,
                  "points": not (frame.points.empty and frame.alternate_currencies.empty)}
        figures = sandbox_figures(frame, promotion)
        for name, expected in issued.items():
            assert bool(figures[name].data) == expected, (who, name)
        kinds = {t.meta for t in figures["timeline"].data}
        assert kinds == {k for k, f in (("incentives", frame.incentives), ("points",
                         frame.points), ("currency", frame.alternate_currencies)) if len(f)}


def test_no_figure_has_a_fixed_width_and_titles_clear_the_modebar(cohort, promotion):
    empty = make_cohort({})
    figures = [*all_figures(cohort, promotion).values(),
               *all_figures(empty, make_promotion([], name="Empty")).values()]
    for fig in figures:
        layout = fig.to_plotly_json()["layout"]
        assert "width" not in layout, layout.get("title")
        full = fig.layout.template.layout
        assert full.width is None and full.autosize is True
        assert full.title.yref == "container" and full.title.pad.t >= 30
        assert full.title.automargin is True
        assert (full.legend.yref, full.legend.y, full.legend.yanchor) == ("container", 0,
                                                                          "bottom")
        assert fig.layout.title.text.count("<br>") <= 1  # the subtitle is its own element


def test_single_customer_charts_speak_of_this_customer(promotion):
    one = make_cohort({1: "ok"}, INCENTIVES[:2], POINTS[:2], CURRENCIES)
    util = charts.utilisation_chart(limits.utilisation(promotion, one, as_of=AS_OF),
                                    promotion=promotion)
    text = util.to_json()
    assert "median customer" not in text and "90th-percentile" not in text
    assert "this customer" in util.layout.title.subtitle.text
    assert "median customer" not in {t.name for t in util.data}
    many = charts.utilisation_chart(limits.utilisation(promotion, make_cohort(
        STATUSES, INCENTIVES, POINTS, CURRENCIES), as_of=AS_OF))
    assert "median customer" in {t.name for t in many.data}
    per = limits.customer_utilisation(promotion, one, as_of=AS_OF)
    hist = charts.customer_utilisation_histogram(per, "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER")
    assert "this customer: 3 count" in hist.layout.title.subtitle.text
    assert hist.layout.xaxis.title.text == "Usage of this customer (count)"
    assert hist.layout.yaxis.title.text == "This customer"
    long = charts.issuance_chart(analysis.issuance_counts(one), promotion=make_promotion(
        [], name="A promotion with a rather long name, as some have"))
    assert long.layout.title.text == ("Incentives issued —<br>A promotion with a rather long "
                                      "name, as some have (1)")


def test_issual_timeline_chart(sandbox):
    import capnb

    customers = list(sandbox.data.customer_ids[:60])
    with capnb.connect(sandbox.environ()) as client:
        exact = capnb.fetch_exact_usage(client, customers, PROGRAM, ENROL_EARN, progress=False)
    weekly = analysis.issual_timeline(exact, ENROL_EARN, freq="W")
    fig = charts.issual_timeline_chart(weekly, promotion="Enrol <b>& Earn")
    assert isinstance(fig, go.Figure)
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert sum(bars["issuals"].y) == weekly["issuals"].sum() > 0
    assert "60 customer(s)" in fig.layout.title.subtitle.text
    assert "&lt;b&gt;" in fig.layout.title.text
    empty = charts.issual_timeline_chart(weekly.iloc[:0])
    assert "No data" in empty.layout.annotations[0].text
    with pytest.raises(ValidationError):
        charts.issual_timeline_chart(pd.DataFrame({"period": []}))
