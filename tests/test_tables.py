"""capnb.reports.tables: every report table, from real sandbox analysis frames, reads as words and
figures (no ``NaN``, ``e+06``, ``True``, index column), escapes API text, and fits 1280 px."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil

import pandas as pd
import pytest

import capnb
from capnb import analysis
from capnb.errors import ValidationError
from capnb.reports import tables
from capnb.reports.formats import formatter
from capnb.schema import ACTION_COLUMNS, typed_frame
from tests.cohorts import LIFETIME, PERIODIC, make_promotion
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS

RAW = re.compile(r"e\+0\d|\bNaN\b|<NA>|\bNaT\b|\bnan\b|\bTrue\b|\bFalse\b")


@pytest.fixture(scope="module")
def runs(sandbox) -> dict:
    """Every table of every sandbox promotion, built from the analysis frames the notebooks use."""
    from capnb.sandbox import SANDBOX_AS_OF as as_of

    client = capnb.connect(sandbox.environ())
    ids = list(sandbox.catalog()["customer_ids"])[:300]
    out: dict = {}
    promotions, cohorts = [], {}
    for promotion_id in (DOUBLE_POINTS, SUMMER_COUPONS, ENROL_EARN, GOLD_TIER):
        promotion = client.promotion(PROGRAM, promotion_id)
        cohort = capnb.fetch_cohort(client, ids, PROGRAM, promotion_id, progress=False)
        one = capnb.fetch_cohort(client, ids[:1], PROGRAM, promotion_id, progress=False)
        sample = cohort.sample(20, seed=0)
        exact = capnb.fetch_exact_usage(client, sample, PROGRAM, promotion_id, progress=False)
        util = analysis.utilisation(promotion, cohort, as_of=as_of)
        per = analysis.customer_utilisation(promotion, cohort, as_of=as_of)
        one_util = analysis.utilisation(promotion, one, as_of=as_of)
        limits = analysis.customer_utilisation(promotion, one, as_of=as_of).merge(
            one_util[["restriction", "note"]], on="restriction")
        comparison = analysis.derived_vs_exact(
            analysis.utilisation(promotion, sample, as_of=as_of),
            analysis.utilisation(promotion, sample, as_of=as_of, usage="exact", exact=exact))
        out[promotion_id] = {
            "frames": {"utilisation": util, "per_customer": per, "one": one},
            "tables": {
                "restrictions": tables.restrictions(promotion),
                "actions": tables.actions(promotion),
                "status_counts": tables.status_counts(cohort),
                "unanswered": tables.unanswered(cohort),
                "by_action": tables.issuance(analysis.issuance_counts(cohort, by=("action",))),
                "by_activity": tables.issuance(analysis.issuance_counts(
                    cohort, by=("activity_id",))),
                "points": tables.points(analysis.points_summary(cohort)),
                "recency": tables.recency(analysis.recency(cohort, as_of=as_of)),
                "utilisation": tables.utilisation(util),
                "comparison": tables.comparison(comparison),
                "near_cap": tables.near_cap(per),
                "incentives": tables.benefits(one.incentives, as_of=as_of,
                                              timezone="Asia/Kolkata"),
                "points_of_one": tables.benefits(one.points, as_of=as_of),
                "currencies": tables.benefits(one.alternate_currencies, as_of=as_of),
                "customer_limits": tables.customer_limits(limits),
            }}
        promotions.append(promotion)
        cohorts[promotion_id] = cohort
    budgets = analysis.portfolio_frame(promotions, cohorts, as_of=as_of)
    out["portfolio"] = {"frames": {"budgets": budgets},
                        "tables": {"portfolio": tables.portfolio(budgets)}}
    client.close()
    return out


def every_table(runs: dict):
    for key, run in runs.items():
        for name, table in run["tables"].items():
            yield f"{key} {name}", table


def grid(table: tables.Table) -> str:
    """The HTML of the table element alone (footnotes and notes quote analysis text)."""
    found = re.search(r"<table.*?</table>", table._repr_html_(), re.S)
    assert found, table._repr_html_()
    return found.group()


def rows(table: tables.Table) -> list[list[str]]:
    """Body cells as text (tags removed, entities decoded), the API-name line dropped."""
    body = re.search(r"<tbody>(.*?)</tbody>", grid(table), re.S).group(1)
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out.append([html.unescape(re.sub(r"<span class=\"api\">.*?</span>|<[^>]+>", "", c))
                    for c in cells])
    return out


def headers(table: tables.Table) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", grid(table))]


def test_every_sandbox_table_reads_as_words_and_figures(runs):
    shown = 0
    for name, table in every_table(runs):
        text = repr(table).split("\n[1] ")[0]  # footnotes quote analysis text
        assert not RAW.search(text), (name, RAW.search(text), text)
        if "<table" not in table._repr_html_():  # an empty table says so instead
            continue
        shown += 1
        cells = grid(table)
        assert not RAW.search(cells) and ">None<" not in cells, (name, RAW.search(cells))
        assert cells.startswith('<table class="capnb-table">'), name
        assert " id=" not in cells and "style=" not in cells, name  # no per-cell ids or CSS
        assert "<th></th>" not in cells and "" not in headers(table), name  # no index column
        assert len(headers(table)) == len(rows(table)[0]), name
        assert table._repr_html_().count("<style>") == 1, name
        assert len(table) == len(table.data), name
    assert shown >= 45  # 61 tables; unanswered, and some one-customer ones, are empty


def test_shares_read_as_percents_and_minus_one_as_no_limit(runs):
    util = runs[ENROL_EARN]["frames"]["utilisation"]
    table = runs[ENROL_EARN]["tables"]["utilisation"]
    assert headers(table)[:4] == ["restriction", "scope", "limit", "measured"]
    assert "near cap (≥80%)" in headers(table)
    by_label = {row[0].rstrip("0123456789"): row for row in rows(table)}
    points = by_label["Points per customer"]  # MAX_ALLOWED_POINTS_PER_CUSTOMER is -1
    assert util.loc[util["name"] == "MAX_ALLOWED_POINTS_PER_CUSTOMER", "limit"].item() == -1
    assert points[1:4] == ["per customer", "no limit", "exact"]
    issuals = by_label["Incentives per customer"]
    share = util.loc[util["name"] == "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "share_of_limit"]
    assert issuals[headers(table).index("share of limit")] == f"{share.item() * 100:.1f}%"
    total = util.loc[util["name"] == "MAX_ALLOWED_POINTS_PER_CUSTOMER", "usage_total"].item()
    assert total > 100_000 and points[4] == f"{total:,.0f}"  # not 1.9e+06
    api = "MAX_<wbr>NUMBER_<wbr>OF_<wbr>ISSUALS_<wbr>PER_<wbr>CUSTOMER"  # breakable at "_"
    assert f'<span class="api">{api}</span>' in grid(table)  # the API name is kept


def test_utilisation_notes_become_numbered_footnotes(runs):
    util = runs[SUMMER_COUPONS]["frames"]["utilisation"]
    table = runs[SUMMER_COUPONS]["tables"]["utilisation"]
    notes = list(dict.fromkeys(util["note"]))
    items = re.findall(r"<li>(.*?)</li>", table._repr_html_(), re.S)
    assert [html.unescape(i) for i in items] == notes
    assert "note" not in headers(table)
    marks = [int(m) for m in re.findall(r"<sup>(\d+)</sup>", grid(table))]
    assert marks == [notes.index(n) + 1 for n in util["note"]]
    assert "[1] " in repr(table)


def test_identical_notes_share_a_number_and_missing_ones_get_none():
    frame = pd.DataFrame({"what": ["a", "b", "c", "d"], "n": [1, 2, 3, 4],
                          "note": ["same", "other", "same", None]})
    table = tables.table(frame, footnotes="note")
    assert re.findall(r"<sup>(\d+)</sup>", grid(table)) == ["1", "2", "1"]
    assert re.findall(r"<li>(.*?)</li>", table._repr_html_()) == ["same", "other"]
    assert [r[0] for r in rows(table)] == ["a1", "b2", "c1", "d"]
    assert list(table.data.columns) == ["what", "n", "note"]


def test_hostile_api_text_is_escaped_everywhere():
    evil = "<script>alert(1)</script>"
    promotion = make_promotion(LIFETIME + [("earn", evil, 5, None, None, None)])
    promotion = dataclasses.replace(promotion, actions=typed_frame(
        {"rule_id": [1], "case": ["true"], "action_name": [evil], "description": [evil],
         "properties": [{evil: evil}]}, ACTION_COLUMNS))
    frame = pd.DataFrame({"name": [evil], "note": [evil], "when": [pd.Timestamp("2026-01-01")]})
    built = [tables.restrictions(promotion), tables.actions(promotion),
             tables.table(frame, columns={"name": evil, "when": "when"}, caption=evil,
                          footnotes="note", kinds={"name": "restriction"}),
             tables.table(frame.iloc[:0], caption=evil, empty=evil)]
    for table in built:
        page = table._repr_html_()
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert "<script>" in repr(table)  # plain text stays as it came


def test_near_cap_shows_the_first_rows_and_keeps_them_all(runs):
    per = runs[GOLD_TIER]["frames"]["per_customer"]
    table = runs[GOLD_TIER]["tables"]["near_cap"]
    near = per[per["near_cap"].fillna(False).astype(bool)]
    assert len(near) > 20
    assert len(table) == len(table.data) == len(near)
    shares = table.data["share_of_limit"].tolist()
    assert shares == sorted(shares, reverse=True)
    assert list(table.data.columns) == ["customer_id", "restriction", "usage", "limit",
                                        "share_of_limit", "at_cap", "over_cap", "measurability"]
    assert len(rows(table)) == 20
    assert f"Showing 20 of {len(near):,} customer-limit rows; the download has them all." in (
        table._repr_html_())
    assert rows(table)[0][0] == str(table.data["customer_id"].iloc[0])  # an id: no separators
    assert len(rows(tables.near_cap(per, limit=len(near)))) == len(near)
    with pytest.raises(ValidationError, match="limit"):
        tables.near_cap(per, limit=0)


def test_plain_repr_is_an_aligned_text_table(runs):
    text = repr(runs[ENROL_EARN]["tables"]["restrictions"])
    lines = text.splitlines()
    assert lines[0].split() == ["restriction", "limit", "period", "family"]
    assert set(lines[1]) == {"-", " "}
    assert "Incentives per customer" in text and "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER" in text
    assert "no limit" in text and "<" not in text
    status = repr(runs[ENROL_EARN]["tables"]["status_counts"])
    assert "benefits found" in status and "300 customers requested." in status


def test_benefits_show_one_customers_rows_in_the_reports_timezone(runs):
    from capnb.sandbox import SANDBOX_AS_OF as as_of

    one = runs[ENROL_EARN]["frames"]["one"]
    table = tables.benefits(one.incentives, as_of=as_of, timezone="Asia/Kolkata")
    expected = one.incentives.drop(columns=["customer_id", "program_id", "promotion_id"])
    assert list(table.data.columns) == [*expected.columns, "days_since_last"]
    assert str(table.data["last_issued_on"].dt.tz) == "Asia/Kolkata"
    assert "last issued (Asia/Kolkata)" in headers(table)
    last = table.data["last_issued_on"].iloc[0]
    assert f"{last:%Y-%m-%d %H:%M}" in grid(table)


def test_issuance_moves_the_cohort_size_under_the_table(runs):
    table = runs[ENROL_EARN]["tables"]["by_activity"]
    assert headers(table) == ["activity", "customers", "share of customers", "issued"]
    assert "Shares are of the 300 customers fetched." in table._repr_html_()
    assert "(no activity)" in [r[0] for r in rows(table)]
    assert table.data["activity_id"].isna().any()  # the download keeps the missing value


def test_portfolio_wraps_the_view_with_notes_as_footnotes(runs):
    budgets = runs["portfolio"]["frames"]["budgets"]
    table = runs["portfolio"]["tables"]["portfolio"]
    assert headers(table) == list(analysis.portfolio_view(budgets).columns)
    assert table.data is not budgets and table.data.equals(budgets.reset_index(drop=True))
    assert "<li>most used budget:" in table._repr_html_()


def test_cell_formats():
    def one(kind, value, column=None, tz="UTC"):
        return formatter(kind, pd.Series(column if column is not None else [value]), tz)(value)

    assert one("count", 57000) == "57,000" and one("count", 6.0) == "6"
    assert one("amount", 1093.653968) == "1,093.65" and one("amount", 4.851449e6) == "4,851,449"
    assert one("amount", 15.1, [15.1, 17.23]) == "15.10" and one("amount", 35.0, [2148.6]) == "35"
    assert one("share", 0.8872) == "88.7%" and one("days", 13.44) == "13.4"
    assert one("limit", -1) == "no limit" and one("limit", 26000) == "26,000"
    assert (one("flag", True), one("flag", False), one("flag", pd.NA)) == ("yes", "", "—")
    assert one("id", 388000001) == "388000001"
    assert one("measurability", "lower_bound") == "lower bound"
    assert one("status", "no_benefits") == "no benefits yet"
    assert one("restriction", "numberOfTimesPerCustomer") == (
        "Activities per customer (legacy limit)")
    assert one("pairs", {"a": 1, "b": None}) == "a: 1\nb: —"
    for kind in ("count", "amount", "share", "date", "text", "scope", "limit"):
        assert one(kind, None, [None, 1]) == "—"
    midnight = pd.Series(pd.to_datetime(["2026-11-15", "2026-11-16"], utc=True))
    assert one("date", midnight[0], midnight) == "2026-11-15"
    stamp = pd.Timestamp("2026-11-15 08:33", tz="UTC")
    assert one("date", stamp, [stamp], "Asia/Kolkata") == "2026-11-15 14:03"
    with pytest.raises(ValidationError, match="kind"):
        formatter("money", pd.Series([1]))


def test_generic_table_selects_orders_and_infers():
    frame = pd.DataFrame({"customer_id": pd.array([388000001, None], dtype="Int64"),
                          "share": [0.5, None], "flag": [True, False], "n": [1500, 2]},
                         index=["x", "y"])
    table = tables.table(frame, columns={"n": "count", "share": "share", "customer_id": "id"},
                         kinds={"share": "share"})
    assert headers(table) == ["count", "share", "id"]
    assert rows(table) == [["1,500", "50.0%", "388000001"], ["2", "—", "—"]]
    assert list(table.data.columns) == ["n", "share", "customer_id"]
    assert list(table.data.index) == [0, 1]
    assert rows(tables.table(frame[["flag"]])) == [["yes"], [""]]
    empty = tables.table(frame.iloc[:0], empty="Nothing yet.")
    assert "<table" not in empty._repr_html_() and repr(empty) == "Nothing yet."
    with pytest.raises(ValidationError, match="does not have: nope"):
        tables.table(frame, columns={"nope": "x"})
    with pytest.raises(ValidationError, match="timezone"):
        tables.table(frame, timezone="Mars/Base")
    with pytest.raises(ValidationError, match="kinds"):
        tables.table(frame, columns={"n": "n"}, kinds={"share": "share"})
    with pytest.raises(ValidationError, match="footnotes"):
        tables.table(frame, footnotes="note")


def test_css_is_shipped_once_and_scoped():
    table = tables.table(pd.DataFrame({"a": [1]}))
    assert "<style>" not in table.to_html(style=False)
    assert ".capnb-table" in tables.CSS and "tabular-nums" in tables.CSS
    style = re.search(r"<style>(.*?)</style>", table._repr_html_(), re.S).group(1)
    selectors = re.findall(r"(?:^|})([^{}]+)\{", style)
    assert selectors and all(s.strip().startswith(".capnb-") for sel in selectors
                             for s in sel.split(","))
    assert len(style) < 1200


def test_restrictions_name_periods_and_legacy_limits(runs):
    periodic = make_promotion(PERIODIC)
    cells = rows(tables.restrictions(periodic))
    assert [c[2] for c in cells] == ["rolling week", "rolling day", "each month", "rolling YEARLY"]
    legacy = rows(runs[GOLD_TIER]["tables"]["restrictions"])
    assert legacy[0][0] == "Points per customer (legacy limit)" and legacy[0][3] == "legacy limit"


@pytest.mark.slow
@pytest.mark.browser
def test_no_sandbox_table_overflows_1280_px(runs, tmp_path):
    """Headless Chromium lays every table out in a 1280 px page: none is wider."""
    chromium = os.environ.get("CAPNB_CHROMIUM") or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium is None or sync_playwright is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs chromium and playwright")
        pytest.skip("needs Debian's chromium and the playwright package")
    parts = [f'<section data-name="{name}">{table.to_html(style=False)}</section>'
             for name, table in every_table(runs)]
    page = tmp_path / "tables.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{{margin:0;'
                    f'font:13px sans-serif}}{tables.CSS}</style></head><body>{"".join(parts)}'
                    "</body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 800})
            view.goto(page.as_uri())
            widths = view.evaluate("""() => [...document.querySelectorAll('section')].map(
                s => [s.dataset.name, s.scrollWidth,
                      s.querySelector('table') ? s.querySelector('table').scrollWidth : 0])""")
        finally:
            browser.close()
    assert len(widths) == len(parts)
    too_wide = [(name, section, table) for name, section, table in widths
                if section > 1280 or table > 1280]
    assert too_wide == []


def test_issuals_table(sandbox):
    customer = sandbox.data.customer_ids[1]
    with capnb.connect(sandbox.environ()) as client:
        frame = client.customer_issuals(customer, PROGRAM)
    truth = sandbox.data.enrolment(customer, ENROL_EARN)
    shown = tables.issuals(frame[frame["promotion_id"] == ENROL_EARN], timezone="Asia/Kolkata")
    assert shown.data["redeemed_count"].tolist() == [i.redeemed for i in truth.issuals]
    assert "redeemed" in repr(shown)
    assert "no enrolment" in repr(tables.issuals(frame.iloc[:0]))
    with pytest.raises(ValidationError):
        tables.issuals(pd.DataFrame({"x": [1]}))
