"""capnb.reports.widgets: drive the dashboard by setting values and clicking, no browser.

Every test gets its own app (building one offline takes a few tens of milliseconds; against the
sandbox, one programs request and one promotions listing), so no test depends on another's
clicks. The sandbox server is shared by the module; tests compare its request counters before
and after.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pandas as pd
import pytest

import capnb

pytest.importorskip("anywidget", reason="plotly's FigureWidget needs anywidget")

from capnb.errors import ValidationError  # noqa: E402
from capnb.reports.widgets import FIGURES, Dashboard, dashboard  # noqa: E402
from tests.cohorts import (  # noqa: E402
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


def offline_app() -> Dashboard:
    cohort = make_cohort(STATUSES, INCENTIVES, POINTS, CURRENCIES)
    return dashboard(cohort, promotion=make_promotion(LIFETIME + PERIODIC, name="<b>Offline</b>"),
                     as_of=AS_OF)


@pytest.fixture
def app() -> Dashboard:
    """An offline app of its own, for a test that sets controls."""
    return offline_app()


@pytest.fixture(scope="module")
def untouched_app() -> Dashboard:
    """An offline app shared by the tests that only read it."""
    return offline_app()


def bars(app: Dashboard, name: str) -> dict:
    """A figure's bars as {(trace name, x): y}."""
    return {(trace.name, x): y for trace in app.figures[name].data
            if trace.type == "bar" for x, y in zip(trace.x, trace.y, strict=True)}


def traces(app: Dashboard, name: str) -> list:
    """A figure's traces as (type, name, y values)."""
    return [(trace.type, trace.name, list(trace.y)) for trace in app.figures[name].data]


def test_offline_dashboard_draws_every_figure(untouched_app):
    app = untouched_app
    assert list(app.figures) == list(FIGURES)
    assert all(len(app.figures[name].data) for name in FIGURES)
    # what the figures draw is what the analysis returned
    issued = app.results["issuance"].set_index(["activity_id", "action"])["issued"]
    assert sum(bars(app, "issuance").values()) == issued.sum() == 7
    assert not any("No data" in str(app.figures[name].layout.annotations) for name in FIGURES)
    assert app.fetch_button.disabled and app.promotion_input.value == "1"
    assert app.activity_dropdown.options == ("All activities", "act_coupon", "act_reward",
                                             "(no activity)")
    assert app.action_select.options == ("BADGES", "COUPONS", "REWARD")
    assert bars(app, "issuance")[("act_reward", "REWARD")] == 5
    title = app.figures["utilisation"].layout.title.text
    assert "&lt;b&gt;Offline&lt;/b&gt; (1)" in title
    assert "MAX_ALLOWED_POINTS_PER_CUSTOMER (daily)" in app.restriction_dropdown.options
    rows = [cells for cells in (re.findall(r"<td>(.*?)</td>", row, re.S)
                                for row in app.notes.value.split("<tr")) if cells]
    assert [name for name, _, _ in rows] == list(app.results["utilisation"]["name"])
    (foo,) = [row for row in rows if row[0] == "MAX_FOO_PER_CUSTOMER"]
    assert foo[1] == "not_measurable" and foo[2].startswith("Not measurable")
    assert '<table class="capnb-table">' in app.notes.value  # capnb.reports.tables' layout


def test_filters_update_the_figures_in_place(app):
    issuance, everything = app.figures["issuance"], bars(app, "issuance")
    timeline, drawn = app.results["timeline"], traces(app, "timeline")
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
    first = app.results["timeline"]["period"].dt.strftime("%Y-%m").tolist()[0]
    assert first == "2025-12"  # the points of 2025-12-20 count too
    app.freq_dropdown.value = "D"
    app.tz_input.value = "UTC"
    assert bars(app, "issuance") == everything  # back to the whole cohort
    pd.testing.assert_frame_equal(app.results["timeline"], timeline)
    assert traces(app, "timeline") == drawn


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
    first = app.restriction_dropdown.value  # opens on a restriction with something to draw
    table = app.results["utilisation"].set_index("restriction")
    assert table.loc[first, "measurability"] != "not_measurable"
    assert "No data" not in str(app.figures["customer_utilisation"].layout.annotations)
    app.restriction_dropdown.value = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
    figure = app.figures["customer_utilisation"]
    assert "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER" in figure.layout.title.subtitle.text
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
def sb():
    """A sandbox shared by the module's tests (they only read it and count its requests)."""
    from capnb.sandbox import Sandbox

    with Sandbox(customers=200, seed=0, latency_ms=4) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox_app(sb):
    """A fresh app on the sandbox: ENROL preselected, its 200 customers the default cohort."""
    from capnb.sandbox import SANDBOX_AS_OF

    ids = list(sb.catalog()["customer_ids"])
    app = dashboard(capnb.connect(sb.environ()), program_id=sb.data.program_id,
                    promotion_id=1133601377, customers=ids, as_of=SANDBOX_AS_OF, workers=4)
    yield sb, app
    app.cancel()
    assert app.wait(60)


def summaries(sb) -> int:
    return requests_to(sb, SUMMARY_PATH)


def test_fetch_fills_the_app(sandbox_app):
    sb, app = sandbox_app
    assert app.figures["issuance"].layout.annotations[0].text.startswith("No data")
    before = summaries(sb)
    app.fetch_button.click()
    assert app.wait(60)
    assert summaries(sb) == before + 200  # one actionSummary per customer, none twice
    assert "Fetched 200 of 200" in app.message.value
    assert app.progress.value == app.progress.max == 200
    assert len(app.cohort.fetched_customer_ids) == 200
    assert "activity_badge_1" in app.activity_dropdown.options
    assert "ENROL" in app.action_select.options
    assert app.promotion.name == "Enrol & Earn Stars"
    assert "Enrol &amp; Earn Stars (1133601377)" in app.figures["issuance"].layout.title.text
    assert sum(bars(app, "issuance").values()) == app.results["issuance"]["issued"].sum() > 0
    assert set(app.results["issuance"]["cohort_customers"]) == {200}
    util = app.results["utilisation"].set_index("name")
    assert util.loc["MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "measurability"] == "exact"
    # its first restriction cannot be measured: the histogram opens on the next one
    assert util.index[0] == "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER"
    assert app.restriction_dropdown.value == "MAX_ALLOWED_POINTS_PER_CUSTOMER"
    assert not app.fetch_button.disabled and app.cancel_button.disabled


def test_api_errors_and_bad_inputs_are_readable(sandbox_app):
    sb, app = sandbox_app
    app.promotion_input.value = "999"
    app.fetch_button.click()
    assert app.wait(60)
    assert "Could not fetch promotion 999" in app.message.value
    assert "Traceback" not in app.message.value
    assert app.cohort is None and not app.fetch_button.disabled
    sent = sb.stats()["requests"]
    app.program_input.value = "abc"
    app.fetch_button.click()
    assert "program_id" in app.message.value
    app.program_input.value, app.promotion_input.value = "3334", "1133601377"
    app.customers_input.value = "388000001, 388000008 nonsense"
    app.fetch_button.click()
    assert "customer" in app.message.value.lower()
    assert "capnb-error" in app.message.value and "no file at" not in app.message.value
    assert "not customer ids: &#x27;nonsense&#x27;" in app.message.value
    # bad inputs are refused before any request (typing 3334 back lists its promotions once,
    # old and new UI)
    assert sb.stats()["requests"] == sent + 2 and requests_to(sb, LIST_PATH) >= 1
    assert app.cohort is None


def test_cancel_keeps_what_was_fetched(sandbox_app):
    sb, app = sandbox_app
    app.customers_input.value = " ".join(str(c) for c in sb.catalog()["customer_ids"])

    def cancel_after_twenty(change):  # runs in the fetch thread
        if change["new"] >= 20 and not app.cancel_button.disabled:
            app.cancel_button.click()

    app.progress.observe(cancel_after_twenty, names="value")
    before = summaries(sb)
    app.fetch_button.click()
    assert app.cancel_button.disabled is False
    assert app.wait(60)
    app.progress.unobserve(cancel_after_twenty, names="value")
    fetched = len(app.cohort.customers)
    assert 20 <= fetched < 200  # the requests already sent when Cancel came are kept
    assert "Cancelled" in app.message.value and f"{fetched} of 200" in app.message.value
    assert app.results["issuance"]["cohort_customers"].iloc[0] == fetched
    assert fetched <= summaries(sb) - before < 200  # Cancel stopped the requests


def test_display_bundle(untouched_app):
    app = untouched_app
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.widget.model_id


def test_views_do_not_touch_the_cohort(app):
    before, recency = app.cohort.incentives.copy(), app.results["recency"]
    app.action_select.value = ("BADGES",)
    assert set(app.results["issuance"]["action"]) == {"BADGES"}
    assert app.results["recency"]["customers"].sum() <= recency["customers"].sum()
    app.action_select.value = ()
    pd.testing.assert_frame_equal(app.cohort.incentives, before)
    pd.testing.assert_frame_equal(app.results["recency"], recency)


# -- program and promotion pickers --------------------------------------------------------------

SANDBOX_PROGRAM = 3334
ENROL = 1133601377
# The sandbox's promotions as the picker orders them: live first (newest start first), then the
# completed one.
PICKER_ORDER = [1133602011, 1133601550, ENROL, 1133600978, 1133602023, 1133601204]
NEW_UI = (1133602011, 1133602023)  # listed by GET /v3/promotions only
V3_LIST_PATH = "/v3/promotions"
LIST_PATH = "/api_gateway/loyalty/v1/programs/promotions/list"
PROGRAMS_PATH = "/v2/organization/programs"
SUMMARY_PATH = "/v3/customers/{customerId}/customerPromotionDetails/actionSummary"


def requests_to(sb, path: str) -> int:
    return sb.stats()["by_path"].get(path, 0)


def values(picker) -> list:
    return [value for _, value in picker.options]


def test_offline_pickers_show_the_cohort_ids(untouched_app):
    app = untouched_app
    assert app.program_picker.disabled and app.promotion_picker.disabled
    assert app.reload_button.disabled
    assert app.program_picker.options == (("3334", 3334),)
    assert app.program_picker.value == 3334
    assert app.promotion_picker.options == (("<b>Offline</b> (1) · GENERIC · LIVE", 1),)
    assert app.promotion_picker.value == 1


def test_pickers_list_the_sandbox_programs_and_promotions(sb, capsys):
    client = capnb.connect(sb.environ())
    programs, promotions = client.programs(), client.promotions(SANDBOX_PROGRAM)
    paths = (PROGRAMS_PATH, LIST_PATH, V3_LIST_PATH)
    before = [requests_to(sb, path) for path in paths]
    app = dashboard(client, promotion_id=str(ENROL))
    # building the app costs one programs request and one promotions listing of each UI
    assert [requests_to(sb, path) for path in paths] == [n + 1 for n in before]
    assert values(app.program_picker) == programs["program_id"].astype(int).tolist()
    assert app.program_picker.label == f"{programs['name'].iloc[0]} ({SANDBOX_PROGRAM})"
    assert sorted(values(app.promotion_picker)) == sorted(
        [*promotions["promotion_id"].astype(int).tolist(), *NEW_UI])
    assert values(app.promotion_picker) == PICKER_ORDER
    labels = dict((value, label) for label, value in app.promotion_picker.options)
    assert labels[ENROL] == "Enrol & Earn Stars (1133601377) · LOYALTY_EARNING · LIVE"
    assert labels[1133601204] == "Summer Coupon Blast (1133601204) · LOYALTY · COMPLETED"
    assert labels[1133602011] == "Weekday Breakfast Club (1133602011) · LOYALTY · LIVE · new UI"
    # the default program (is_default) is chosen; the given promotion is preselected
    assert bool(programs.set_index("program_id").loc[SANDBOX_PROGRAM, "is_default"])
    assert app.program_picker.value == SANDBOX_PROGRAM and app.program_input.value == "3334"
    assert app.promotion_picker.value == ENROL and app.promotion_input.value == str(ENROL)
    assert app.message.value == ""
    assert not app.program_picker.disabled and not app.promotion_picker.disabled
    assert capsys.readouterr() == ("", "")


def test_without_ids_the_default_program_is_chosen_and_no_promotion(sb):
    app = dashboard(capnb.connect(sb.environ()))
    assert app.program_picker.value == SANDBOX_PROGRAM and app.program_input.value == "3334"
    assert values(app.promotion_picker) == PICKER_ORDER
    assert app.promotion_picker.value is None and app.promotion_input.value == ""
    before = sb.stats()["requests"]
    app.fetch()
    assert "promotion_id" in app.message.value  # nothing fetched behind the analyst's back
    assert app.cohort is None and sb.stats()["requests"] == before


def test_picking_a_promotion_sets_what_fetch_fetches(sandbox_app, capsys):
    sb, app = sandbox_app
    assert app.wait(60)
    app.promotion_picker.value = 1133601550
    assert app.promotion_input.value == "1133601550"
    app.customers_input.value = " ".join(str(c) for c in sb.catalog()["customer_ids"][:5])
    app.fetch_button.click()
    assert app.wait(60)
    assert "Fetched 5 of 5" in app.message.value
    assert app.cohort.promotion_id == 1133601550 and app.promotion.id == 1133601550
    assert "Gold Tier Fast Track" in app.figures["issuance"].layout.title.text
    # typing a listed id selects it in the picker
    app.promotion_input.value = f" {ENROL} "
    assert app.promotion_picker.value == ENROL
    assert capsys.readouterr() == ("", "")


def test_changing_the_program_lists_its_promotions(sandbox_app, capsys):
    sb, app = sandbox_app
    listed = requests_to(sb, LIST_PATH)
    app.program_input.value = "999"  # a program the sandbox does not know
    assert requests_to(sb, LIST_PATH) == listed + 1
    assert app.program_picker.value is None and app.promotion_picker.options == ()
    assert "capnb-warning" in app.message.value
    assert "Could not list the promotions of program 999" in app.message.value
    assert "Program ID is invalid" in app.message.value
    assert app.promotion_input.value == str(ENROL)  # the box keeps the analyst's id
    app.program_picker.value = SANDBOX_PROGRAM
    assert app.program_input.value == "3334"
    assert requests_to(sb, LIST_PATH) == listed + 2
    assert values(app.promotion_picker) == PICKER_ORDER
    assert app.promotion_picker.value == ENROL
    assert app.message.value == ""  # the listing problem is solved, so its line goes
    app.program_input.value = " 3334 "  # the same program: nothing is listed again
    assert requests_to(sb, LIST_PATH) == listed + 2
    app.program_input.value = "not an id"
    assert app.program_picker.value is None and app.promotion_picker.options == ()
    app.program_input.value = "3334"
    assert app.promotion_picker.value == ENROL
    assert capsys.readouterr() == ("", "")


def test_an_unlisted_promotion_id_is_flagged_but_still_fetched(sandbox_app):
    sb, app = sandbox_app
    app.promotion_input.value = "999"
    assert app.promotion_picker.value is None
    assert "Promotion 999 is not among the promotions listed for program 3334" in \
        app.message.value
    app.promotion_picker.value = ENROL
    assert app.promotion_input.value == str(ENROL) and app.message.value == ""


def test_listing_failures_leave_the_id_boxes_working(capsys):
    from capnb.sandbox import SANDBOX_AS_OF, FaultPlan, Sandbox

    plan = FaultPlan({"503": 1.0})  # every API request fails, until the test heals it
    with Sandbox(customers=20, seed=0, faults=plan) as sb:
        ids = list(sb.catalog()["customer_ids"])[:5]
        app = dashboard(capnb.connect(sb.environ(), max_retries=0),
                        customers=ids, as_of=SANDBOX_AS_OF)
        assert "capnb-warning" in app.message.value
        assert "Could not list the programs" in app.message.value
        assert "503" in app.message.value and "type the ids" in app.message.value
        assert app.program_picker.options == () and app.program_picker.value is None
        assert app.promotion_picker.options == ()
        app.program_input.value = "3334"
        assert "Could not list the promotions of program 3334" in app.message.value
        assert app.promotion_picker.options == ()
        plan.rates = {}  # the network is back; the lists stay empty until asked again
        app.promotion_input.value = str(ENROL)
        assert app.promotion_picker.value is None
        # nothing was listed, so the id is not called "unlisted": the failure stays on the line
        assert "Could not list the promotions of program 3334" in app.message.value
        app.fetch()
        assert app.wait(60)
        assert "Fetched 5 of 5" in app.message.value
        assert app.cohort.program_id == 3334 and app.cohort.promotion_id == ENROL
        app.reload_button.click()
        assert app.program_picker.value == SANDBOX_PROGRAM
        assert values(app.promotion_picker) == PICKER_ORDER
        assert app.promotion_picker.value == ENROL
        assert "Fetched 5 of 5" in app.message.value  # only the pickers' own notes are cleared
    assert capsys.readouterr() == ("", "")


def test_offline_dashboard_makes_no_requests(sb):
    from capnb.fetch.summaries import fetch_cohort
    from capnb.sandbox import SANDBOX_AS_OF

    client = capnb.connect(sb.environ())
    promotion = client.promotion(SANDBOX_PROGRAM, ENROL)
    cohort = fetch_cohort(client, sb.catalog()["customer_ids"][:3], SANDBOX_PROGRAM, ENROL,
                          progress=False)
    before = sb.stats()["requests"]
    app = dashboard(cohort, promotion=promotion, as_of=SANDBOX_AS_OF)
    app.reload_lists()
    app.program_input.value, app.promotion_input.value = "999", "1133601550"
    assert sb.stats()["requests"] == before
    assert app.program_picker.disabled and app.promotion_picker.disabled
    assert app.program_picker.value == SANDBOX_PROGRAM
    assert app.program_picker.label.endswith("(3334)")
    assert app.promotion_picker.value == ENROL
    assert app.promotion_picker.label == "Enrol & Earn Stars (1133601377) · LOYALTY_EARNING · LIVE"


# -- traffic to the browser, stale charts, the customers box (issue 12) ---------------------------

GOLD = 1133601550  # "Gold Tier Fast Track", another live promotion of the sandbox


def titles(app: Dashboard) -> dict[str, str]:
    return {name: figure.layout.title.text or "" for name, figure in app.figures.items()}


def no_data(app: Dashboard) -> dict[str, str]:
    """The "No data: ..." text of each figure that shows one."""
    return {name: figure.layout.annotations[0].text for name, figure in app.figures.items()
            if figure.layout.annotations
            and figure.layout.annotations[0].text.startswith("No data")}


def test_a_5000_customer_fetch_sends_few_messages_and_ends_exact():
    from capnb.reports.traffic import MessageCounter
    from capnb.sandbox import SANDBOX_AS_OF, Sandbox

    with Sandbox(customers=5000, seed=0) as sb, MessageCounter() as counter:
        ids = list(sb.catalog()["customer_ids"])
        app = dashboard(capnb.connect(sb.environ()), program_id=SANDBOX_PROGRAM,
                        promotion_id=ENROL, customers=ids, as_of=SANDBOX_AS_OF)
        counter.reset()
        started = time.monotonic()
        app.fetch_button.click()
        assert app.wait(120)
        seconds = time.monotonic() - started
    assert "Fetched 5,000 of 5,000 customers" in app.message.value
    assert app.progress.value == app.progress.max == 5000
    assert app.progress_text.value == "5,000 / 5,000 customers"  # the last state, exactly
    by_class = counter.by_class()
    # was ~10,000 (bar and label for every customer); JupyterLab drops beyond 1,000 a second
    assert counter.total < 100, by_class
    # progress: at most 5 updates a second, plus the first and the exact last one
    assert by_class["IntProgress"] <= 5 * seconds + 3 and by_class["Label"] <= 5 * seconds + 3
    # each chart: one message saying "fetching...", one with the charts of the new cohort
    assert by_class["FigureWidget"] == 2 * len(FIGURES)
    assert all(counter.per_comm[figure.comm.comm_id] == 2 for figure in app.figures.values())


def test_throttle_lets_updates_through_a_few_times_a_second():
    from capnb.reports.traffic import Throttle

    now = [100.0]
    throttle = Throttle(0.2, clock=lambda: now[0])
    passed = []
    for step in range(1000):  # 1,000 updates in one second
        now[0] = 100.0 + step / 1000
        passed.append(throttle.ready(force=step == 999))
    assert passed[0] and passed[-1]  # the first and the forced last one always pass
    assert sum(passed) == 6


def test_filters_and_restrictions_redraw_each_chart_in_one_message():
    from capnb.reports.traffic import MessageCounter

    with MessageCounter() as counter:
        app = offline_app()
        counter.reset()
        app.action_select.value = ("REWARD",)
        changed = {name for name, figure in app.figures.items()
                   if counter.per_comm[figure.comm.comm_id]}
        assert changed and changed <= {"issuance", "points", "timeline", "recency"}
        assert all(counter.per_comm[app.figures[name].comm.comm_id] == 1 for name in changed)
        counter.reset()
        app.restriction_dropdown.value = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
        assert counter.per_comm[app.figures["customer_utilisation"].comm.comm_id] == 1
        # the histogram, the dropdown's value and its tooltip (the full name)
        assert counter.total <= 3, counter.counts
    assert app.restriction_dropdown.tooltip == "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"


class FrontEnd:
    """What plotly.js holds for one FigureWidget view: the number of traces, updated by the
    widget's messages the way the browser applies them (in key order)."""

    def __init__(self) -> None:
        self.traces = 0
        self.layout: dict = {}

    def apply(self, state: dict) -> None:
        for key, value in state.items():
            if value is None:
                continue
            if key == "_py2js_deleteTraces":
                # what raises "indices must be valid indices for gd.data" in the browser
                assert all(0 <= i < self.traces for i in value["delete_inds"]), value
                self.traces -= len(value["delete_inds"])
            elif key == "_py2js_addTraces":
                self.traces += len(value["trace_data"])
            elif key == "_py2js_relayout":
                for name, setting in value["relayout_data"].items():
                    if setting is None:
                        self.layout.pop(name, None)
                    else:
                        self.layout[name] = setting


def test_a_figure_replacement_is_one_consistent_message(monkeypatch):
    import ipywidgets
    import plotly.graph_objects as go

    from capnb.reports.traffic import figure_widget, replace_figure

    widget, browser, sent = figure_widget(), FrontEnd(), []
    monkeypatch.setattr(ipywidgets.Widget, "_send",
                        lambda self, msg, buffers=None: sent.append(msg))
    figures = [
        go.Figure(layout=dict(annotations=[dict(text="No data: fetching")], width=700)),
        go.Figure([go.Bar(y=[1, 2], name=str(i)) for i in range(5)],
                  layout=dict(title="five", shapes=[dict(type="line", x0=0, x1=1)])),
        go.Figure([go.Scatter(y=[1])], layout=dict(title="one")),
        go.Figure([go.Bar(y=[3]), go.Bar(y=[4]), go.Bar(y=[5])], layout=dict(height=300)),
    ]
    for figure in figures:
        sent.clear()
        replace_figure(widget, figure)
        assert len(sent) == 1
        browser.apply(sent[0]["state"])
        assert browser.traces == len(widget.data) == len(figure.data)
        assert browser.layout["autosize"] is True and "width" not in browser.layout
        assert widget.layout.autosize and widget.layout.width is None  # fills the page width
        # nothing of the previous figure is left drawn
        assert set(browser.layout) == set(widget.layout.to_plotly_json())
    assert widget._config["responsive"]  # redrawn to the new width when the window resizes


def test_charts_never_show_another_promotion_as_the_new_one(sandbox_app):
    sb, app = sandbox_app
    assert set(no_data(app)) == set(FIGURES)
    assert all("fetch a cohort first" in text for text in no_data(app).values())
    app.progress_interval = 0  # every step, so the checks below run during the fetch
    during = []

    def look(change):  # in the fetch thread, while the fetch runs
        if not during and threading.current_thread().name == "capnb-dashboard-fetch":
            during.append((app.showing.value, no_data(app), titles(app)))

    app.progress.observe(look, names="value")
    app.fetch_button.click()
    assert app.wait(60)
    showing, empty, _ = during.pop()
    assert set(empty) == set(FIGURES)  # the first fetch: nothing to show yet, and why
    assert all(f"fetching promotion {ENROL}" in text for text in empty.values())
    assert not no_data(app)
    assert "The charts show Enrol &amp; Earn Stars (1133601377), 200 customers." in \
        app.showing.value
    # another promotion: the previous charts stay, with a line saying what they are
    app.promotion_picker.value = GOLD
    app.fetch_button.click()
    assert app.wait(60)
    app.progress.unobserve(look, names="value")
    showing, empty, drawn = during.pop()
    assert not empty and all("Enrol &amp; Earn Stars" in title for title in drawn.values())
    assert "capnb-warning" in showing
    assert (f"Fetching promotion {GOLD}: until it ends, the charts below still show Enrol "
            "&amp; Earn Stars (1133601377), 200 customers.") in showing
    assert all("Gold Tier Fast Track" in title for title in titles(app).values()), titles(app)
    assert "The charts show Gold Tier Fast Track (1133601550), 200 customers." in \
        app.showing.value


def test_failed_and_cancelled_fetches_keep_the_charts_and_say_so(sandbox_app, monkeypatch):
    from capnb.fetch.summaries import fetch_cohort
    from capnb.reports import widgets

    sb, app = sandbox_app
    app.promotion_input.value = "999"  # no cohort yet: the charts say the fetch failed
    app.fetch_button.click()
    assert app.wait(60)
    assert set(no_data(app)) == set(FIGURES)
    assert all("the fetch of promotion 999 failed" in text for text in no_data(app).values())
    app.promotion_input.value = str(ENROL)
    app.fetch_button.click()
    assert app.wait(60)
    drawn = titles(app)
    app.promotion_input.value = "999"  # a cohort is drawn: it stays, named
    app.fetch_button.click()
    assert app.wait(60)
    assert titles(app) == drawn and not no_data(app)
    assert app.cohort.promotion_id == ENROL and "Could not fetch promotion 999" in \
        app.message.value
    assert ("The fetch of promotion 999 failed: the charts below still show Enrol &amp; Earn "
            "Stars (1133601377), 200 customers.") in app.showing.value

    def cancelled_at_once(client, source, program, promotion, *, cancel, **kwargs):
        cancel.set()  # Cancel pressed before the first customer came back
        return fetch_cohort(client, [], program, promotion, cancel=cancel, **kwargs)

    monkeypatch.setattr(widgets, "fetch_cohort", cancelled_at_once)
    app.promotion_input.value = str(GOLD)
    app.fetch_button.click()  # nothing replaces the charts
    assert app.wait(60)
    assert titles(app) == drawn and app.cohort.promotion_id == ENROL
    assert (f"The fetch of promotion {GOLD} cancelled before any customer was fetched: the "
            "charts below still show Enrol &amp; Earn Stars") in app.showing.value
    assert "Cancelled: no customer of promotion" in app.message.value
    assert not app.fetch_button.disabled and app.cancel_button.disabled


@pytest.mark.parametrize(("text", "expected"), [
    ("388000001, 12 ;388000008", [388000001, 12, 388000008]),
    ("388000001\n388000002\t388000003,,", [388000001, 388000002, 388000003]),
    ("42", [42]),
    ("cohort.csv", "cohort.csv"),  # a path, read (or reported missing) by the fetch
    ("~/data/cohort.parquet", "~/data/cohort.parquet"),
])
def test_customers_box_reads_ids_or_one_path(text, expected):
    from capnb.reports.customers import customer_source

    assert customer_source(text) == expected


def test_customers_box_names_what_is_not_an_id(tmp_path, sandbox_app):
    from capnb.reports.customers import customer_source

    with pytest.raises(ValidationError, match=r"not customer ids: 'abc'"):
        customer_source("388000001, 12, abc")
    with pytest.raises(ValidationError, match=r"not customer ids: 'abc'"):
        customer_source("abc")
    with pytest.raises(ValidationError, match=r"'x1', 'x2', 'x3', 'x4', 'x5' and 2 more"):
        customer_source("1 x1 x2 x3 x4 x5 x6 x7")
    assert customer_source("", default=[1]) == [1]
    path = tmp_path / "my cohort.csv"  # a file whose name has a space is still a file
    path.write_text("customer_id\n1\n")
    assert customer_source(f" {path} ") == str(path)
    sb, app = sandbox_app
    sent = sb.stats()["requests"]
    app.customers_input.value = "388000001, 12, abc"
    app.fetch_button.click()
    assert "capnb-error" in app.message.value and "no file at" not in app.message.value
    assert "not customer ids: &#x27;abc&#x27;" in app.message.value
    assert sb.stats()["requests"] == sent and app.cohort is None


def test_layout_fills_the_width_and_shows_full_names(untouched_app):
    app = untouched_app
    assert all(figure._config.get("responsive") for figure in app.figures.values())
    assert all(figure.layout.autosize and figure.layout.width is None
               for figure in app.figures.values())
    assert app.restriction_dropdown.layout.width == "auto"
    assert app.restriction_dropdown.tooltip == app.restriction_dropdown.label
    assert app.promotion_picker.tooltip == app.promotion_picker.label


def test_explore_notebook_shows_the_app_before_fetching():
    import nbformat

    from capnb.reports.render import find_notebook

    nb = nbformat.read(find_notebook("explore"), as_version=4)
    (cell,) = [c for c in nb.cells if "widgets.dashboard(" in c.source]
    lines = [line.split("#")[0].strip() for line in cell.source.splitlines()]
    assert lines.index("display(app)") < lines.index("app.fetch()") < lines.index("app.wait()")


def test_a_cohort_the_filters_cannot_draw_leaves_no_chart_of_the_previous_one(sandbox_app):
    sb, app = sandbox_app
    app.fetch_button.click()
    assert app.wait(60)
    app.tz_input.value = "Mars/Base"  # refused: the charts keep the cohort they show
    app.promotion_picker.value = GOLD
    app.fetch_button.click()
    assert app.wait(60)
    assert "Filters not applied" in app.message.value or "Fetched" in app.message.value
    for name, title in titles(app).items():  # new data, or no data saying why: never Enrol
        assert "Gold Tier Fast Track" in title, (name, title)
    assert {"issuance", "points", "timeline", "recency"} <= set(no_data(app))
    assert all("Mars/Base" in no_data(app)[name] for name in ("issuance", "timeline"))


def test_picker_changes_send_a_handful_of_messages(sb):
    from capnb.reports.traffic import MessageCounter

    with MessageCounter() as counter:
        app = dashboard(capnb.connect(sb.environ()), promotion_id=str(ENROL))
        counter.reset()
        app.promotion_picker.value = GOLD  # picker, id box, tooltip
        assert app.promotion_input.value == str(GOLD)
        assert counter.total <= 5, counter.counts
        counter.reset()
        app.program_input.value = "999"  # lists (and fails), empties the pickers, says so
        app.program_picker.value = SANDBOX_PROGRAM  # lists the promotions again
        assert counter.total <= 20, counter.counts
        assert not counter.by_class().get("FigureWidget")  # no chart redrawn for nothing


def test_a_failing_new_ui_listing_keeps_the_old_ui_promotions(sb, scripted):
    """The programs and promotions list answer as the sandbox does; GET /v3/promotions then
    fails: the picker still lists the old-UI promotions and the status line says what is
    missing."""
    from tests.scripted import Scripted

    real = capnb.connect(sb.environ())
    programs, _ = real.get_json(PROGRAMS_PATH)
    listing, _ = real.get_json(LIST_PATH, {"program": SANDBOX_PROGRAM, "limit": 100,
                                           "offset": 0})
    scripted.add(Scripted(body=programs), Scripted(body=listing),
                 Scripted(status=500, body={"errors": [{"code": 500, "message": "boom"}]}))
    client = capnb.Client(scripted.url, capnb.BasicAuth("till", "pw"), max_retries=0)
    app = dashboard(client, promotion_id=str(ENROL))
    assert [r["path"].split("?")[0] for r in scripted.requests] == [PROGRAMS_PATH, LIST_PATH,
                                                                     V3_LIST_PATH]
    assert sorted(values(app.promotion_picker)) == sorted(set(PICKER_ORDER) - set(NEW_UI))
    assert app.promotion_picker.value == ENROL
    assert "Could not list the new-UI promotions of program 3334" in app.message.value


def test_a_new_ui_promotion_says_why_it_shows_no_limits(sb):
    client = capnb.connect(sb.environ())
    app = dashboard(client, promotion_id=str(NEW_UI[0]),
                    customers=list(sb.catalog()["customer_ids"][:20]))
    app.fetch()
    assert app.wait(60) and "Fetched 20 of 20" in app.message.value
    assert app.promotion.source == "v3 promotions"
    (note,) = [a.text for a in app.figures["utilisation"].layout.annotations]
    assert "limits[] are not documented" in note
