"""The page around a report's outputs (issue 14): heading anchors, the table of contents, the title,
screen and print CSS (:mod:`capnb.reports.page`); downloads (:mod:`capnb.reports.downloads`);
the kernel's environment and one-line cell errors (:mod:`capnb.reports.render`); and, in a real
browser, tables and charts that fit the screen and the printed page, and the PDF of
promotion_overview (:mod:`capnb.reports.pdf`), rasterised with pypdfium2.

The browser tests skip locally without chromium, playwright or pypdfium2, and fail in CI
(``CI`` set), like ``tests/test_browser.py``.
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
import types
from html.parser import HTMLParser

import nbformat
import numpy as np
import pandas as pd
import pytest

import capnb
from capnb.reports import downloads, page, render
from tests.report_runs import rendered

TITLE = "Promotion overview: Enrol &amp; Earn Stars (1133601377)"


class _Anchors(HTMLParser):
    """Every id, every h2/h3 (id, text), every href, the <title>, and the TOC's links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.headings: list[tuple[str, str | None, str]] = []
        self.toc_links: list[tuple[str, str]] = []
        self.title = ""
        self.styles = 0
        self._stack: list[str] = []
        self._in_toc = 0
        self._href = ""
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"])
        if values.get("id") == "capnb-page-css":
            self.styles += 1
        if tag == "nav" and "capnb-toc" in (values.get("class") or ""):
            self._in_toc += 1
        if tag in ("h2", "h3", "title") or (tag == "a" and self._in_toc):
            self._stack.append(tag)
            self._text = []
            self._href = values.get("href") or ""
            if tag in ("h2", "h3"):
                self.headings.append((tag, values.get("id"), ""))

    def handle_endtag(self, tag):
        if tag == "nav" and self._in_toc:
            self._in_toc -= 1
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
            text = " ".join("".join(self._text).split())
            if tag == "title":
                self.title = text
            elif tag == "a":
                self.toc_links.append((self._href, text))
            else:
                kind, anchor, _ = self.headings[-1]
                self.headings[-1] = (kind, anchor, text)

    def handle_data(self, data):
        if self._stack:
            self._text.append(data)


def _anchors(body: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(body)
    parser.close()
    return parser


def _page(*parts: str, title: str = "nbconvert title") -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'/><title>{title}</title>"
            f"<style>p {{ color: black; }}</style></head>\n<body class='jp-Notebook'><main>\n"
            + "\n".join(parts) + "\n</main></body></html>")


def _assert_toc_resolves(body: str) -> _Anchors:
    found = _anchors(body)
    assert found.toc_links, "no table of contents"
    for href, _ in found.toc_links:
        assert href.startswith("#") and found.ids.count(href[1:]) == 1, href
    heading_ids = [anchor for _, anchor, _ in found.headings]
    assert all(heading_ids) and len(set(heading_ids)) == len(heading_ids), heading_ids
    assert len(found.ids) == len(set(found.ids)), "duplicate ids"
    return found


# -- anchors, table of contents, title, CSS -------------------------------------------------------

def test_headings_get_unique_anchors_and_the_toc_links_to_them():
    body = page.finish_page(_page(
        '<div class="capnb-report-header"><h2>Promotion overview</h2><table></table></div>',
        "<h2>What was issued</h2><p>x</p>", "<h3>What was issued</h3>",
        '<h2 id="kept">Limit &amp; utilisation <a class="anchor-link" href="#kept">¶</a></h2>',
        "<h2>What was issued</h2>", "<h3>Ünïcode — säfe?</h3>", '<p id="What-was-issued-4">x</p>',
        "<h2>What was issued</h2>"))
    found = _assert_toc_resolves(body)
    assert [anchor for _, anchor, _ in found.headings] == [
        "Promotion-overview", "What-was-issued", "What-was-issued-2", "kept",
        "What-was-issued-3", "Unicode-safe", "What-was-issued-5"]
    # The header's own heading comes before the contents: not listed.
    assert found.toc_links == [
        ("#What-was-issued", "What was issued"), ("#What-was-issued-2", "What was issued"),
        ("#kept", "Limit & utilisation"), ("#What-was-issued-3", "What was issued"),
        ("#Unicode-safe", "Ünïcode — säfe?"), ("#What-was-issued-5", "What was issued")]
    # h3 nest under the h2 before them; the h2 after the contents start printed pages.
    assert re.search(r'<li><a href="#What-was-issued">What was issued</a><ol><li>'
                     r'<a href="#What-was-issued-2">', body)
    assert body.count('class="capnb-section"') == 4
    assert '<h2 id="Promotion-overview">' in body


def test_toc_goes_after_the_headline_else_the_header_else_the_top():
    header = '<div class="capnb-report-header"><h2>Header</h2><div><p>t</p></div></div>'
    headline = '<div class="capnb-headline"><div><p>Issued 1,234</p></div></div>'
    section = "<h2>Section</h2>"
    with_both = page.finish_page(_page(header, "<p>between</p>", headline, section))
    assert re.search(r"Issued 1,234</p></div></div><nav class=\"capnb-toc\"", with_both)
    only_header = page.finish_page(_page(header, section))
    assert re.search(r"<p>t</p></div></div><nav class=\"capnb-toc\"", only_header)
    neither = page.finish_page(_page("<p>intro</p>", section))
    assert re.search(r"<main>\s*<nav class=\"capnb-toc\"", neither)
    for body in (with_both, only_header, neither):
        assert _assert_toc_resolves(body).toc_links == [("#Section", "Section")]
    assert '<nav class="capnb-toc"' not in page.finish_page(_page("<p>no headings</p>"))


def test_a_headline_after_the_first_section_leaves_the_toc_after_the_header():
    header = '<div class="capnb-report-header"><h1 class="capnb-title">T</h1><p>t</p></div>'
    headline = ('<div class="capnb-headline"><h2 class="capnb-headline-heading">At a glance</h2>'
                '<p>Issued 1,234</p></div>')
    body = page.finish_page(_page(header, "<h2>Dashboard</h2>", headline, "<h2>Details</h2>"))
    assert re.search(r"<p>t</p></div><nav class=\"capnb-toc\"", body)
    assert _assert_toc_resolves(body).toc_links == [("#Dashboard", "Dashboard"),
                                                    ("#Details", "Details")]


def test_title_comes_from_the_capnb_title_element():
    body = page.finish_page(_page(f'<h1 class="capnb-title">{TITLE}</h1>', "<h2>A</h2>",
                                  '<h1 class="capnb-title">Second</h1>'))
    assert "<title>Promotion overview: Enrol &amp; Earn Stars (1133601377)</title>" in body
    assert _anchors(body).title == "Promotion overview: Enrol & Earn Stars (1133601377)"
    hostile = page.finish_page(_page('<p class="capnb-title">&lt;/title&gt;&lt;script&gt;'
                                     "alert(1)&lt;/script&gt;</p>"))
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in hostile
    assert "<title>nbconvert title</title>" in page.finish_page(_page("<h2>A</h2>"))


def test_css_and_print_script_are_injected_once_into_the_head():
    body = page.finish_page(_page("<h2>A</h2>"))
    head = body[:body.index("</head>")]
    assert head.count('id="capnb-page-css"') == 1 and head.count("window.capnbPrint = {") == 1
    assert page.finish_page(body) == body  # idempotent
    for rule in ("@page { size: A4; margin: 12mm; }", "@media print", "break-before: page",
                 "overflow-wrap: anywhere", "max-width: 1200px", "a.capnb-download"):
        assert rule in head, rule
    assert f"var WIDTH = {page.PRINT_WIDTH_PX};" in head
    assert "addEventListener('beforeprint'" in head and "Plotly.relayout" in head


def test_table_and_headline_css_are_included_when_those_modules_exist(monkeypatch):
    for name in ("capnb.reports.tables", "capnb.reports.headline"):
        monkeypatch.setitem(sys.modules, name, None)  # absent: import fails
    assert page.page_css() == page.CSS.replace("</", "<\\/")
    tables = types.ModuleType("capnb.reports.tables")
    tables.CSS = ".capnb-table td { color: red; } /* </style><script>x</script> */"
    monkeypatch.setitem(sys.modules, "capnb.reports.tables", tables)
    monkeypatch.setitem(sys.modules, "capnb.reports.headline", types.ModuleType("headline"))
    css = page.page_css()
    assert ".capnb-table td { color: red; }" in css and "</style" not in css
    body = page.finish_page(_page("<h2>A</h2>"))
    assert body.count(".capnb-table td { color: red; }") == 1
    assert body.count("</style>") == 2  # the page's own and capnb's


def test_export_html_finishes_the_page():
    nb = nbformat.v4.new_notebook()
    header = ('<div class="capnb-report-header"><h1 class="capnb-title">'
              f'{TITLE}</h1><table><tr><td>x</td></tr></table></div>')
    nb.cells = [nbformat.v4.new_markdown_cell("# The notebook's title"),
                nbformat.v4.new_code_cell("header", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/html": header, "text/plain": "header"})]),
                nbformat.v4.new_markdown_cell("## What was issued\n\ntext"),
                nbformat.v4.new_markdown_cell("### By activity"),
                nbformat.v4.new_markdown_cell("## What was issued")]
    body = render.export_html(nb, title="The notebook's title")
    found = _assert_toc_resolves(body)
    assert found.title == "Promotion overview: Enrol & Earn Stars (1133601377)"
    assert [text for _, text in found.toc_links] == ["What was issued", "By activity",
                                                     "What was issued"]
    assert found.styles == 1


@pytest.mark.slow
def test_the_exported_overview_has_anchors_a_toc_and_one_stylesheet():
    body = rendered("promotion_overview").html.read_text()
    found = _assert_toc_resolves(body)
    listed = [text for _, text in found.toc_links]
    sections = {"The promotion as configured", "What was issued", "Limits: how much is used"}
    assert sections <= set(listed)
    assert found.styles == 1 and body.count("window.capnbPrint = {") == 1
    toc = body.index('<nav class="capnb-toc"')
    assert body.rindex('class="capnb-report-header"', 0, toc) < toc
    after = [text for _, _, text in _anchors(body[toc:]).headings if text]
    assert listed == after  # every h2 and h3 after the contents, in order


# -- downloads ------------------------------------------------------------------------------------

def _decoded(link: str) -> bytes:
    match = re.fullmatch(r'<a class="capnb-download" download="([\w-]+)\.csv" '
                         r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)">'
                         r"(.*)</a>", link)
    assert match, link[:200]
    return base64.b64decode(match.group(2), validate=True)


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": np.arange(388_000_000, 388_000_000 + rows, dtype="int64"),
        "usage": np.linspace(-2.5, 10, rows),
        "activity_id": [f"activity, \"{i % 7}\"\nline two é\rend" for i in range(rows)],
        "near_cap": np.arange(rows) % 2 == 0,
    })


def test_download_link_holds_the_whole_frame():
    frame = _frame(5000)  # more rows than any table shows
    shown = downloads.download(frame, "at_cap_customers", "Customers <at> a cap")
    link = shown._repr_html_()
    assert link.endswith(">Customers &lt;at&gt; a cap (5,000 rows, CSV)</a>")
    data = _decoded(link)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(data), dtype={"activity_id": "str"}),
                                  frame, check_dtype=False)
    assert repr(shown) == "Customers <at> a cap: at_cap_customers.csv, 5,000 rows"
    assert shown.files == ()


def test_a_named_index_becomes_columns():
    frame = _frame(3).set_index(["customer_id", "near_cap"])
    data = _decoded(downloads.download(frame, "x", "x")._repr_html_())
    assert data.decode("utf-8-sig").splitlines()[0] == "customer_id,near_cap,usage,activity_id"


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1+cmd|' /C calc'!A0",
                                  "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_looks_like_a_formula_is_defused(cell):
    frame = pd.DataFrame({"activity_id": [cell, "plain"], "delta": [-1, 2],
                          cell: ["column", "name"]})
    text = downloads.csv_bytes(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["activity_id"].tolist() == ["'" + cell, "plain"]
    assert back["delta"].tolist() == [-1, 2]  # numbers stay numbers
    assert list(back.columns)[2] == "'" + cell


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "a.csv", "a b", "é", "x" * 101,
                                  None, ".hidden"])
def test_download_names_are_plain_file_stems(name):
    with pytest.raises(capnb.ValidationError, match="name"):
        downloads.download(_frame(1), name, "label")


def test_data_dir_gets_csv_and_parquet(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "data"
    monkeypatch.setenv("CAPNB_DATA_DIR", str(folder))
    frame = _frame(120)
    shown = downloads.download(frame, "at_cap_customers", "All customers")
    csv, parquet = folder / "at_cap_customers.csv", folder / "at_cap_customers.parquet"
    assert shown.files == (csv, parquet)
    assert csv.read_bytes() == _decoded(shown._repr_html_())
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), frame, check_dtype=False)
    assert sorted(p.name for p in folder.iterdir()) == [csv.name, parquet.name]  # no temp files
    assert repr(shown).endswith(f"; written to {csv}, {parquet}")
    explicit = tmp_path / "explicit"
    assert downloads.download(frame, "y", "y", data_dir=explicit).files[0].parent == explicit
    monkeypatch.setenv("CAPNB_DATA_DIR", str(csv))  # a file, not a folder
    with pytest.raises(capnb.ConfigError, match="CAPNB_DATA_DIR"):
        downloads.download(frame, "z", "z")


def test_a_frame_too_large_to_embed_says_where_it_is(tmp_path):
    shown = downloads.download(_frame(50), "big", "Big", max_embed_bytes=100)
    assert "data:" not in shown._repr_html_() and "--data-dir" in shown._repr_html_()
    written = downloads.download(_frame(50), "big", "Big", max_embed_bytes=100,
                                 data_dir=tmp_path)
    assert str(tmp_path / "big.csv") in written._repr_html_()
    assert "too large to embed" in repr(written)


# -- the kernel's environment and one-line errors -------------------------------------------------

def test_kernel_environment_is_set_then_restored(monkeypatch):
    monkeypatch.setenv("CAPNB_DATA_DIR", "/parent/choice")
    monkeypatch.delenv("CAPNB_PROGRESS", raising=False)
    with render._kernel_environment({"CAPNB_DATA_DIR": None, "CAPNB_PROGRESS": "0"}) as started:
        assert "CAPNB_DATA_DIR" not in os.environ and os.environ["CAPNB_PROGRESS"] == "0"
        started(notebook=None)  # nbclient's on_notebook_start: the kernel has its copy
        assert os.environ["CAPNB_DATA_DIR"] == "/parent/choice"
        assert "CAPNB_PROGRESS" not in os.environ
        started(notebook=None)
    with pytest.raises(RuntimeError), render._kernel_environment({"CAPNB_DATA_DIR": "/x"}):
        raise RuntimeError("kernel failed to start")
    assert os.environ["CAPNB_DATA_DIR"] == "/parent/choice"
    assert render._ENVIRONMENT_LOCK.acquire(blocking=False)  # released every time
    render._ENVIRONMENT_LOCK.release()


def test_render_report_gives_the_kernel_its_data_dir_only(tmp_path, monkeypatch):
    seen = []

    def execute(path, executed, values, **kwargs):
        seen.append(kwargs["environment"])
        raise capnb.ReportError("stop here")

    monkeypatch.setattr(render, "_execute", execute)
    monkeypatch.setenv("CAPNB_DATA_DIR", str(tmp_path / "inherited"))
    for data_dir in (None, tmp_path / "d"):
        with pytest.raises(capnb.ReportError):
            render.render_report("explore", tmp_path / "r.html", data_dir=data_dir)
    assert seen == [{"CAPNB_DATA_DIR": None}, {"CAPNB_DATA_DIR": str(tmp_path / "d")}]


def test_a_failed_cell_summary_names_the_parameter_and_what_it_takes():
    declared = {"timezone": {"help": "IANA timezone the weeks are cut in"}}
    path = render.PACKAGED_NOTEBOOKS / "promotion_overview.ipynb"
    assert render._summary(path, 2, "ValidationError", "timezone: unknown timezone 'Mars'; "
                           "use an IANA name", declared) == (
        "promotion_overview: parameter timezone: unknown timezone 'Mars'; use an IANA name "
        "(expected: IANA timezone the weeks are cut in)")
    assert render._summary(path, 5, "PromotionNotFound", "Promotion not\nfound", declared) == (
        "promotion_overview.ipynb: cell 5 failed: PromotionNotFound: Promotion not found")
    assert render._summary(path, 5, "KeyError", "'timezone: x'", declared).endswith(
        "KeyError: 'timezone: x' (capnb -v report ... shows the cell and its traceback)")


# -- a real browser: what fits the screen and the page; the PDF -----------------------------------

def _needs(*modules: str) -> None:
    from capnb.reports.pdf import find_chromium

    missing = []
    try:
        find_chromium()
    except capnb.ReportError:
        missing.append("Debian's chromium (apt-get install chromium)")
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the {module} Python package (pip install -e '.[dev]')")
    if missing:
        message = f"needs {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run it")
        pytest.skip(message)


_CHARTS_DRAWN = """() => [...document.querySelectorAll('.plotly-graph-div')]
    .every(div => div.querySelector('svg.main-svg'))"""
_OVERFLOWS = """() => {
  const main = document.querySelector('main').getBoundingClientRect();
  const tables = [...document.querySelectorAll('table')].filter(t => t.offsetParent)
    .filter(t => t.getBoundingClientRect().right > main.right + 1
                 || t.scrollWidth > t.parentElement.clientWidth + 1);
  return {tables: tables.length, page: document.documentElement.scrollWidth - innerWidth,
          charts: [...document.querySelectorAll('.js-plotly-plot')]
            .map(d => [d.querySelector('svg.main-svg').width.baseVal.value,
                       d.parentElement.getBoundingClientRect().width])};
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_tables_and_charts_fit_the_screen_and_the_printed_page():
    _needs("playwright")
    from playwright.sync_api import sync_playwright

    from capnb.reports.pdf import CHROMIUM_ARGS, find_chromium

    path = rendered("promotion_overview").html
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(),
                                             args=list(CHROMIUM_ARGS))
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 900})
            view.goto(path.as_uri(), wait_until="load")
            view.wait_for_function(_CHARTS_DRAWN)
            screen = view.evaluate(_OVERFLOWS)
            assert view.evaluate("document.querySelector('main').clientWidth") <= 1200
            # A4 less 12 mm margins, at 96 CSS pixels an inch: the printed page's width.
            view.set_viewport_size({"width": 703, "height": 1031})
            view.emulate_media(media="print")
            view.evaluate("() => window.capnbPrint.before()")
            printed = view.evaluate(_OVERFLOWS)
            hidden = view.evaluate("""() => [...document.querySelectorAll(
                'a.capnb-top')].map(a => getComputedStyle(a).display)""")
            breaks = view.evaluate("""() => [...document.querySelectorAll('h2.capnb-section')]
                .map(h => getComputedStyle(h).breakBefore)""")
            view.emulate_media(media="screen")
            view.set_viewport_size({"width": 1280, "height": 900})
            view.evaluate("() => window.capnbPrint.after()")
            after = view.evaluate(_OVERFLOWS)
        finally:
            browser.close()
    assert screen["tables"] == 0 and screen["page"] <= 0
    assert printed["tables"] == 0 and printed["page"] <= 0
    assert len(printed["charts"]) >= 6
    for width, room in printed["charts"]:
        assert width == page.PRINT_WIDTH_PX and width <= room + 1, (width, room)
    for width, room in after["charts"]:  # back to the window's width after printing
        assert width > page.PRINT_WIDTH_PX and width <= room + 1
    assert hidden == ["none"] and breaks and set(breaks) == {"page"}


def _colour_fraction(pixels: np.ndarray) -> float:
    """Share of clearly coloured pixels (chart marks; text and table stripes are grey)."""
    rgb = pixels[:, :, :3].astype(int)
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())


@pytest.mark.slow
@pytest.mark.browser
def test_promotion_overview_prints_to_a_pdf_with_its_charts(tmp_path):
    _needs("playwright", "pypdfium2")
    import pypdfium2

    from capnb.reports.pdf import print_pdf

    html = rendered("promotion_overview").html
    data = print_pdf(html)
    assert data.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(data)
    pages = len(document)
    assert 3 <= pages <= 30, pages
    texts = [document[i].get_textpage().get_text_range() for i in range(pages)]
    assert "Contents" in texts[0] and "Limits: how much is used" in texts[0]
    width, height = document[0].get_size()
    assert abs(width - 595) < 2 and abs(height - 842) < 2  # A4 in points
    chart_title = re.compile(r"—\s*Enrol & Earn Stars \(1133601377\)")  # "<what> — <promotion>"
    with_charts = [i for i, text in enumerate(texts) if chart_title.search(text)]
    assert len(with_charts) >= 3, texts
    for index in with_charts:
        pixels = document[index].render(scale=0.5).to_numpy()
        ink = float((pixels[:, :, :3].min(axis=2) < 200).mean())
        assert ink > 0.02, (index, ink)  # not blank
        assert _colour_fraction(pixels) > 0.01, index  # the charts' marks are drawn
    # Charts drawn at the printed width, not clipped: the timeline's right-hand axis titles (at
    # the charts' right edge) are on the page, inside the 12 mm margin.
    right = width - 12 / 25.4 * 72
    edges = [_right_edge(document[i], "Cumulative share") for i in range(pages)]
    found = [x for page_edges in edges for x in page_edges]
    assert len(found) >= 3 and all(width * 0.75 < x <= right + 1 for x in found), (found, right)


def _right_edge(pdf_page, text: str) -> list[float]:
    """The right edge (points) of every occurrence of ``text`` on ``pdf_page``."""
    textpage = pdf_page.get_textpage()
    searcher, edges = textpage.search(text, match_case=True), []
    while hit := searcher.get_next():
        start, count = hit
        edges.append(max(textpage.get_charbox(start + k)[2] for k in range(count)))
    return edges
