"""Issue 14, in a real browser: every report reads for a manager at 1280 px. The answer (the
headline block) is on the first screen, tables are for people (no ``e+0``, ``NaN``, ``<NA>``,
``True``/``False`` or pandas index), no table overflows, the table of contents resolves, the page
title names the promotion, and the at-or-near-cap download holds every such customer.

First screens are saved under ``reports/screenshots/`` for review.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from capnb import analysis
from capnb.reports import notebook
from tests.report_runs import PARAMETERS, rendered

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
FIRST_SCREEN = 900
SUBJECT = {"promotion_overview": "Enrol & Earn Stars (1133601377)",
           "customer_benefits": "Enrol & Earn Stars (1133601377)",
           "portfolio": "Sandbox Rewards (3334)",
           "explore": "Enrol & Earn Stars (1133601377)",
           "promotion_overview_new_ui": "Spring Step Challenge (1133602023)",
           "customer_benefits_new_ui": "Spring Step Challenge (1133602023)"}
WITH_HEADLINE = ("promotion_overview", "customer_benefits", "portfolio",
                 "promotion_overview_new_ui", "customer_benefits_new_ui")
# The key/value tables of the header and the run details hold their labels in <th>.
PEOPLE_TABLES = "table:not(.capnb-header-table):not(.capnb-details-table)"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def pages(browser):
    """One browser page per report at 1280 x 900, charts drawn."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": FIRST_SCREEN})
    opened = {}

    def open_report(name: str):
        if name not in opened:
            page = context.new_page()
            page.goto(rendered(name).html.as_uri(), wait_until="load")
            page.wait_for_function(
                """() => [...document.querySelectorAll('.plotly-graph-div')]
                         .every(div => div.querySelector('svg.main-svg'))""", timeout=30_000)
            opened[name] = page
        return opened[name]

    yield open_report
    context.close()


@pytest.mark.parametrize("name", WITH_HEADLINE)
def test_the_answer_is_on_the_first_screen(pages, name):
    page = pages(name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"first-screen-{name}.png"))
    box = page.locator(".capnb-headline").first.bounding_box()
    assert box is not None, "no headline block"
    assert box["y"] + box["height"] <= FIRST_SCREEN, box
    text = page.inner_text(".capnb-headline")
    expected = {"promotion_overview": ["Customers reached", "Points", "Days left"],
                "customer_benefits": ["Days", "limit"],
                "portfolio": ["Promotions", "risk"],
                "promotion_overview_new_ui": ["Customers reached", "Points"],
                "customer_benefits_new_ui": ["limit"]}[name]
    for words in expected:
        assert words.lower() in text.lower(), (words, text)
    assert any(level in text for level in ("exact", "lower bound", "proxy", "not measurable"))


def test_explore_shows_the_headline_of_what_its_dashboard_fetched(pages):
    # The dashboard comes first (its fetch makes the cohort); the headline opens its static copy.
    text = pages("explore").inner_text(".capnb-headline")
    assert "customers reached" in text.lower(), text
    assert re.search(r"[\d,]+ of [\d,]+ fetched", text), text


@pytest.mark.parametrize("name", [*WITH_HEADLINE, "explore"])
def test_the_page_title_and_header_name_the_subject(pages, name):
    page = pages(name)
    assert SUBJECT[name] in page.title(), page.title()
    assert SUBJECT[name] in page.inner_text(".capnb-title")


@pytest.mark.parametrize("name", [*WITH_HEADLINE, "explore"])
def test_tables_are_for_people(pages, name):
    page = pages(name)
    cells = page.eval_on_selector_all(
        f"{PEOPLE_TABLES} td, {PEOPLE_TABLES} th", "cells => cells.map(c => c.innerText.trim())")
    assert cells or name == "explore", "no table"  # explore's tables live in its widgets
    noise = [c for c in cells if "e+0" in c or "NaN" in c or "<NA>" in c or c in ("True",
                                                                                   "False")]
    assert not noise, noise[:10]
    index_headers = page.eval_on_selector_all(
        f"{PEOPLE_TABLES} tbody th, {PEOPLE_TABLES} th.blank, {PEOPLE_TABLES} th.index_name",
        "cells => cells.map(c => c.outerHTML.slice(0, 120))")
    assert not index_headers, index_headers[:5]


@pytest.mark.parametrize("name", [*WITH_HEADLINE, "explore"])
def test_no_table_overflows_its_container(pages, name):
    page = pages(name)
    overflowing = page.eval_on_selector_all("table", """tables => tables
        .filter(t => t.getBoundingClientRect().width > 0)
        .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1
                     || t.getBoundingClientRect().right > document.documentElement.clientWidth)
        .map(t => t.className + ': ' + t.innerText.slice(0, 80))""")
    assert not overflowing, overflowing
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.mark.parametrize("name", WITH_HEADLINE)
def test_the_table_of_contents_resolves(pages, name):
    page = pages(name)
    targets = page.eval_on_selector_all(
        ".capnb-toc a[href^='#']", "links => links.map(a => decodeURIComponent("
        "a.getAttribute('href').slice(1)))")
    assert len(targets) >= 3, targets
    missing = [t for t in targets if not page.evaluate("id => !!document.getElementById(id)", t)]
    assert not missing, missing
    headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.innerText)")
    assert any("How to read" in h for h in headings), headings
    order = page.eval_on_selector_all(
        ".capnb-headline, .capnb-toc, h2", "els => els.map(e => e.className || e.tagName)")
    assert order.index(next(c for c in order if "capnb-headline" in c)) == 0, order


def _near_cap_customers() -> int:
    """Customer-limit rows at or near a cap in the overview's cohort, computed independently."""
    values = dict(PARAMETERS["promotion_overview"])
    src = notebook.open_source("sandbox", int(values["customers"]), store=None)
    promotion = src.promotion(3334, 1133601377)
    cohort = src.cohort(3334, 1133601377)
    per_customer = analysis.customer_utilisation(promotion, cohort,
                                                 as_of=notebook.resolve_as_of(
                                                     "2026-11-15T00:00:00Z"))
    return int(per_customer["near_cap"].fillna(False).sum())


def test_the_near_cap_download_holds_every_such_customer(pages):
    page = pages("promotion_overview")
    link = page.locator("a.capnb-download[download='customers_near_cap.csv']")
    href = link.get_attribute("href")
    assert href and href.startswith("data:text/csv")
    head, _, payload = href.partition(",")
    text = (base64.b64decode(payload).decode("utf-8") if head.endswith(";base64")
            else unquote(payload))
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    expected = _near_cap_customers()
    assert expected > 20  # more than the table shows
    assert len(rows) == expected
    assert {"customer_id", "restriction"} <= set(rows[0])
    shown = page.locator("table.capnb-table", has_text=rows[0]["customer_id"]).count()
    assert shown >= 1
