"""The page around a report's outputs (issue 14): heading anchors, the table of contents, the title,
and the screen and print CSS and script (:mod:`capnb.reports.page`), on small pages and on the
exported promotion_overview; the one-line summary of a failed cell."""

from __future__ import annotations

import re
import sys
import types
from html.parser import HTMLParser

import nbformat
import pytest

from capnb.reports import page, render
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
    assert {"The promotion", "What was issued", "Limit utilisation"} <= set(listed)
    assert found.styles == 1 and body.count("window.capnbPrint = {") == 1
    toc = body.index('<nav class="capnb-toc"')
    assert body.rindex('class="capnb-report-header"', 0, toc) < toc
    after = [text for _, _, text in _anchors(body[toc:]).headings if text]
    assert listed == after  # every h2 and h3 after the contents, in order


# -- one-line errors ------------------------------------------------------------------------------

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
