"""capnb.widgets: drive the dashboard by setting values and clicking, no browser."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")

from capnb.errors import ValidationError  # noqa: E402
from capnb.widgets import FIGURES, Dashboard, dashboard  # noqa: E402
from tests.test_analysis import (  # noqa: E402
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


@pytest.fixture(scope="module")
def app() -> Dashboard:
    cohort = make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES)
    return dashboard(cohort, promotion=make_promotion(LIFETIME + PERIODIC, name="<b>Offline</b>"),
                     as_of=AS_OF)


def bars(app: Dashboard, name: str) -> dict:
    return {(trace.name, x): y for trace in app.figures[name].data
            if trace.type == "bar" for x, y in zip(trace.x, trace.y, strict=True)}


def test_offline_dashboard_draws_every_figure(app):
    assert set(app.figures) == set(FIGURES)
    assert all(len(app.figures[name].data) for name in FIGURES)
    assert app.fetch_button.disabled and app.promotion_input.value == "1"
    assert app.activity_dropdown.options == ("All activities", "act_coupon", "act_reward",
                                             "(no activity)")
    assert app.action_select.options == ("BADGES", "COUPONS", "REWARD")
    assert bars(app, "issuance")[("act_reward", "REWARD")] == 5
    title = app.figures["utilisation"].layout.title.text
    assert "&lt;b&gt;Offline&lt;/b&gt; (1)" in title
    assert "MAX_ALLOWED_POINTS_PER_CUSTOMER (daily)" in app.restriction_dropdown.options
    assert "not measurable" in app.notes.value.lower() or "Not measurable" in app.notes.value


def test_filters_update_the_figures_in_place(app):
    issuance = app.figures["issuance"]
    app.action_select.value = ("REWARD",)
    assert app.figures["issuance"] is issuance
    assert set(x for _, x in bars(app, "issuance")) == {"REWARD"}
    app.action_select.value = ()
    app.activity_dropdown.value = "(no activity)"
    assert bars(app, "issuance") == {("(none)", "BADGES"): 1}
    app.activity_dropdown.value = "All activities"
    app.tz_input.value = "Asia/Kolkata"
    assert "Asia/Kolkata" in app.figures["timeline"].layout.xaxis.title.text
    app.freq_dropdown.value = "M"
    assert app.results["timeline"]["period"].dt.strftime("%Y-%m").tolist()[0] == "2026-01"
    app.freq_dropdown.value = "D"
    app.tz_input.value = "UTC"


def test_date_range_keeps_benefits_last_issued_inside(app):
    app.date_from.value = dt.date(2026, 1, 2)
    app.date_to.value = dt.date(2026, 1, 9)
    try:
        counts = app.results["issuance"].set_index("action")["issued"]
        assert counts.to_dict() == {"COUPONS": 1}  # both REWARDs were last issued on 01-01
        points = app.results["points"].set_index("name")["total"].to_dict()
        assert points == {"BONUS_POINTS": 50.0, "REGULAR_POINTS": 100.0, "STARS": 5.0}
        assert app.results["issuance"]["cohort_customers"].iloc[0] == 3  # same denominator
    finally:
        app.date_from.value = app.date_to.value = None
    assert app.results["issuance"]["issued"].sum() == 7


def test_bad_inputs_show_a_message_not_a_traceback(app, capsys):
    before = app.figures["timeline"].to_plotly_json()
    app.tz_input.value = "Mars/Base"
    assert "capnb-error" in app.message.value and "Mars/Base" in app.message.value
    assert app.figures["timeline"].to_plotly_json() == before
    app.tz_input.value = "UTC"
    assert app.message.value == ""
    app.date_from.value, app.date_to.value = dt.date(2026, 2, 1), dt.date(2026, 1, 1)
    assert "after" in app.message.value
    app.date_from.value = app.date_to.value = None
    assert capsys.readouterr() == ("", "")  # callbacks never print


def test_restriction_dropdown_switches_the_histogram(app):
    app.restriction_dropdown.value = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
    figure = app.figures["customer_utilisation"]
    assert "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER" in figure.layout.title.text
    assert [shape.x0 for shape in figure.layout.shapes][-1] == 3
    app.restriction_dropdown.value = "MAX_FOO_PER_CUSTOMER"
    assert "not measurable" in figure.layout.annotations[0].text


def test_offline_without_promotion_and_argument_checks():
    cohort = make_cohort({1: "ok"}, points=[(1, "R", 1.0, 1, "2026-01-01T00:00Z")])
    app = dashboard(cohort, as_of=AS_OF)
    assert app.figures["utilisation"].layout.annotations[0].text.startswith("No data")
    assert "promotion 1" in app.figures["points"].layout.title.text
    with pytest.raises(ValidationError) as info:
        dashboard("http://example.com")
    assert info.value.parameter == "source"
    with pytest.raises(ValidationError, match="tz"):
        dashboard(cohort, tz="Nowhere/Land")


# -- against the sandbox ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox_app():
    from capnb.sandbox import SANDBOX_AS_OF, Sandbox

    with Sandbox(customers=200, seed=0, latency_ms=4) as sb:
        ids = list(sb.catalog()["customer_ids"])
        yield sb, dashboard(sb.client(), program_id=sb.data.program_id,
                            promotion_id=1133601377, customers=ids, as_of=SANDBOX_AS_OF,
                            workers=4)


def test_fetch_fills_the_app(sandbox_app):
    sb, app = sandbox_app
    assert app.figures["issuance"].layout.annotations[0].text.startswith("No data")
    app.fetch_button.click()
    assert app.wait(60)
    assert "Fetched 200 of 200" in app.message.value
    assert app.progress.value == app.progress.max == 200
    assert len(app.cohort.fetched_customer_ids) == 200
    assert "activity_badge_1" in app.activity_dropdown.options
    assert "ENROL" in app.action_select.options
    assert app.promotion.name == "Enrol & Earn Stars"
    assert "Enrol &amp; Earn Stars (1133601377)" in app.figures["issuance"].layout.title.text
    util = app.results["utilisation"].set_index("name")
    assert util.loc["MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "measurability"] == "exact"
    assert not app.fetch_button.disabled and app.cancel_button.disabled


def test_api_errors_and_bad_inputs_are_readable(sandbox_app):
    sb, app = sandbox_app
    app.promotion_input.value = "999"
    app.fetch_button.click()
    assert app.wait(60)
    assert "Could not fetch promotion 999" in app.message.value
    assert "Traceback" not in app.message.value
    app.program_input.value = "abc"
    app.fetch_button.click()
    assert "program_id" in app.message.value
    app.program_input.value, app.promotion_input.value = "3334", "1133601377"
    app.customers_input.value = "388000001, 388000008 nonsense"
    app.fetch_button.click()
    assert "customer" in app.message.value.lower()
    app.customers_input.value = ""


def test_cancel_keeps_what_was_fetched(sandbox_app):
    sb, app = sandbox_app
    app.customers_input.value = " ".join(str(c) for c in sb.catalog()["customer_ids"])

    def cancel_after_twenty(change):  # runs in the fetch thread
        if change["new"] >= 20 and not app.cancel_button.disabled:
            app.cancel_button.click()

    app.progress.observe(cancel_after_twenty, names="value")
    app.fetch_button.click()
    assert app.cancel_button.disabled is False
    assert app.wait(60)
    app.progress.unobserve(cancel_after_twenty, names="value")
    fetched = len(app.cohort.customers)
    assert 20 <= fetched < 200  # the requests already sent when Cancel came are kept
    assert "Cancelled" in app.message.value and f"{fetched} of 200" in app.message.value
    assert app.results["issuance"]["cohort_customers"].iloc[0] == fetched
    app.customers_input.value = ""


def test_display_bundle(app):
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.widget.model_id


def test_views_do_not_touch_the_cohort(app):
    before = len(app.cohort.incentives)
    app.action_select.value = ("BADGES",)
    app.action_select.value = ()
    assert len(app.cohort.incentives) == before
    assert isinstance(app.results["recency"], pd.DataFrame)
