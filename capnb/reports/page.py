"""The page around a report's outputs: anchors, a table of contents, the title, and the screen
and print styles, applied by :func:`capnb.reports.render.export_html` to nbconvert's HTML.

:func:`finish_page` changes only what it must (it splices the document; it never parses and
re-serialises it, so plotly's data and the outputs' HTML stay byte for byte as exported):

- every ``h2`` and ``h3`` gets a unique ``id`` (nbconvert gives markdown headings none when
  anchor links are excluded, and outputs' headings never have one);
- a table of contents linking to every ``h2``/``h3`` after it goes right after the report's
  headline (the first ``.capnb-headline``) when no section comes before it, else after its
  header (``.capnb-report-header``), else at the top of the page; the ``h2`` it lists start a
  printed page each;
- the page ``<title>`` becomes the text of the first ``.capnb-title`` element, if any;
- one ``<style>`` (this module's :data:`CSS`, then the CSS of
  :mod:`capnb.reports.tables` and :mod:`capnb.reports.headline` when those modules exist) and
  one small script go at the end of ``<head>``. The script draws every plotly chart at the
  printed width before printing (``beforeprint``, or ``window.capnbPrint.before()``, which
  :mod:`capnb.reports.pdf` awaits) and back at the window's width afterwards.

Text from the page (headings, the title) is unescaped when read and escaped again when written.
"""

from __future__ import annotations

import html
import importlib
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["CSS", "PRINT_WIDTH_PX", "PRINT_SCRIPT", "finish_page", "page_css"]

PRINT_WIDTH_PX = 680
"""Width plotly charts are drawn at for print: A4 (210 mm) less 2 x 12 mm margins is 703 CSS
pixels; a little less leaves room for the cells' padding."""

CSS = """
/* capnb report page: screen */
main { max-width: 1200px; margin: 0 auto; }
.jp-RenderedMarkdown p, .jp-RenderedMarkdown li { max-width: 110ch; }
.jp-OutputArea-child { display: block; }
.jp-OutputArea-output { display: block; overflow-x: auto; }
.jp-RenderedHTMLCommon table { table-layout: auto; max-width: 100%; }
/* Cells wrap between words, and long snake_case words after an underscore (finish_page adds
   <wbr>); a table of many columns that capnb did not lay out (.capnb-table: see
   capnb.reports.grid) may also break a word between letters rather than be wider than the page. */
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th {
  white-space: normal; overflow-wrap: break-word; padding: 0.3em 0.6em;
}
.jp-RenderedHTMLCommon table:has(tr > :nth-child(10)) { font-size: 12px; }
.jp-RenderedHTMLCommon table:not(.capnb-table):has(tr > :nth-child(10)) :is(td, th) {
  overflow-wrap: anywhere;
}
.capnb-report-header th { white-space: nowrap; }
.capnb-figure { max-width: 100%; }
nav.capnb-toc {
  margin: 1em 0 1.5em; padding: 0.6em 1.2em; border-left: 4px solid #0072b2;
  background: #f4f7fa; font-size: 14px; width: fit-content; min-width: 20em;
  max-width: 60em; box-sizing: border-box;
}
nav.capnb-toc .capnb-toc-title { font-weight: bold; margin: 0 0 0.3em; }
nav.capnb-toc ol { margin: 0; padding-left: 1.4em; }
nav.capnb-toc ol ol { list-style: lower-alpha; }
nav.capnb-toc li { margin: 0.15em 0; }
a.capnb-top {
  position: fixed; right: 1.2em; bottom: 1.2em; padding: 0.3em 0.7em; font-size: 13px;
  background: #fff; border: 1px solid #bbb; border-radius: 4px; text-decoration: none;
  opacity: 0.85; z-index: 1000;
}
a.capnb-top:hover { opacity: 1; }
a.capnb-download {
  display: inline-block; margin: 0.3em 0 0.8em; padding: 0.35em 0.9em; font-size: 13px;
  border: 1px solid #0072b2; border-radius: 4px; color: #0072b2; text-decoration: none;
}
a.capnb-download::before { content: "\\2193\\00a0"; }
a.capnb-download:hover { background: #eaf3fa; }
:target { scroll-margin-top: 0.5em; }

/* capnb report page: print (A4) */
@page { size: A4; margin: 12mm; }
@media print {
  body, main, .jp-Notebook { max-width: none; margin: 0; padding: 0; overflow: visible; }
  body { font-size: 10pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .jp-Cell { padding: 2px 0; }
  .jp-OutputArea-output { overflow: visible; }
  h2.capnb-section { break-before: page; }
  h1, h2, h3, h4 { break-after: avoid; }
  .capnb-figure, .js-plotly-plot, .capnb-headline { break-inside: avoid; }
  .capnb-figure, .js-plotly-plot, .plotly-graph-div { width: 100% !important; max-width: 100%; }
  .jp-RenderedHTMLCommon table { font-size: 8pt; width: auto; max-width: 100%; }
  .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 0.15em 0.35em; }
  .jp-RenderedHTMLCommon table:has(tr > :nth-child(7)) { font-size: 7.5pt; }
  .jp-RenderedHTMLCommon table:not(.capnb-table):has(tr > :nth-child(7)) :is(td, th) {
    overflow-wrap: anywhere;
  }
  /* capnb's own tables never break a word or a figure: wide ones print smaller instead. */
  .capnb-table.capnb-table:has(tr > :nth-child(10)) { font-size: 6.8pt; }
  .capnb-table.capnb-table:has(tr > :nth-child(10)) :is(td, th) { padding: 0.12em 0.22em; }
  .jp-RenderedHTMLCommon tr { break-inside: avoid; }
  .jp-RenderedHTMLCommon thead { display: table-header-group; }
  .jp-RenderedHTMLCommon tbody tr:hover { background: inherit; }
  nav.capnb-toc { background: none; border-left-color: #999; font-size: 9pt; }
  a.capnb-top, a.capnb-download, .capnb-widget-note { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
"""
"""The page's own CSS (the report's tables and headline add theirs, see :func:`page_css`)."""

PRINT_SCRIPT = """
(function () {
  var WIDTH = PRINT_WIDTH_PX;
  function plots() {
    return Array.prototype.slice.call(document.querySelectorAll('.js-plotly-plot'));
  }
  function each(update) {
    if (!window.Plotly) { return Promise.resolve(); }
    return Promise.all(plots().map(function (gd) {
      try { return Promise.resolve(update(gd)); } catch (error) { return Promise.resolve(); }
    }));
  }
  window.capnbPrint = {
    width: WIDTH,
    before: function () {
      return each(function (gd) { return Plotly.relayout(gd, {width: WIDTH, autosize: false}); });
    },
    after: function () {
      return each(function (gd) { return Plotly.relayout(gd, {width: null, autosize: true}); });
    }
  };
  window.addEventListener('beforeprint', window.capnbPrint.before);
  window.addEventListener('afterprint', window.capnbPrint.after);
})();
""".replace("PRINT_WIDTH_PX", str(PRINT_WIDTH_PX))
"""Draws plotly charts at :data:`PRINT_WIDTH_PX` for print and back at the window's width after
(``Plotly.relayout`` draws synchronously, so the browser's print snapshot sees the new size)."""

_LONG_WORD = re.compile(r"[^\s<&]{13,}")
_STYLE_ID = "capnb-page-css"
_TOC_ID = "capnb-toc"
_MODULES_WITH_CSS = ("capnb.reports.tables", "capnb.reports.headline")


def page_css() -> str:
    """:data:`CSS`, then ``capnb.reports.tables.CSS`` and ``capnb.reports.headline.CSS`` (each
    only if that module exists and defines ``CSS``)."""
    parts = [CSS]
    for name in _MODULES_WITH_CSS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        extra = getattr(module, "CSS", "")
        if isinstance(extra, str) and extra.strip():
            parts.append(f"/* {name} */\n{extra.strip()}\n")
    # Nothing in a stylesheet may end the <style> element early.
    return "\n".join(parts).replace("</", "<\\/")


def finish_page(page: str, *, css: str | None = None) -> str:
    """nbconvert's HTML ``page`` with heading anchors, a table of contents, the report's title and
    the page's styles and print script (see the module docstring). Idempotent: a page finished
    already is returned unchanged. ``css`` replaces :func:`page_css`."""
    scan = _Scan()
    scan.feed(page)
    scan.close()
    if _STYLE_ID in scan.ids:
        return page
    anchor = scan.after_header or scan.main_start or scan.body_start
    sections = [h.start for h in scan.headings
                if h.level == 2 and h.start >= anchor and not _in_headline(h)]
    if scan.after_headline and (not sections or scan.after_headline <= sections[0]):
        anchor = scan.after_headline  # a headline opening the report: the contents follow it
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    ids = set(scan.ids)
    listed: list[tuple[int, str, str]] = []  # (level, id, text) of the TOC's entries
    for heading in scan.headings:
        given = heading.attrs.get("id") or ""
        keep = given and scan.id_counts.get(given, 0) == 1
        anchor_id = given if keep else _unique(_slug(heading.text), ids)
        ids.add(anchor_id)
        classes = heading.attrs.get("class") or ""
        in_toc = heading.start >= anchor and bool(heading.text) and not _in_headline(heading)
        if in_toc and heading.level == 2:
            classes = f"{classes} capnb-section".strip()
        if anchor_id != given or classes != (heading.attrs.get("class") or ""):
            attrs = {**heading.attrs, "id": anchor_id}
            if classes:
                attrs["class"] = classes
            edits.append((heading.start, heading.tag_end, _start_tag(heading.tag, attrs)))
        if in_toc:
            listed.append((heading.level, anchor_id, heading.text))
    # Long snake_case words in tables (MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER, share_of_cohort)
    # may wrap after an underscore: the tables fit without breaking words between letters.
    edits += [(offset, offset, "<wbr>") for offset in scan.breaks]
    if listed and _TOC_ID not in ids:
        edits.append((anchor, anchor, _toc(listed)))
    if scan.title_text:
        title = f"<title>{html.escape(scan.title_text)}</title>"
        if scan.title_span:
            edits.append((*scan.title_span, title))
        elif scan.head_end is not None:
            edits.append((scan.head_end, scan.head_end, title))
    head = (f'<style type="text/css" id="{_STYLE_ID}">\n{page_css() if css is None else css}'
            f'</style>\n<script type="text/javascript">{PRINT_SCRIPT}</script>\n')
    at = scan.head_end if scan.head_end is not None else 0
    edits.append((at, at, head))
    return _splice(page, edits)


def _in_headline(heading: _Heading) -> bool:
    """The "At a glance" heading of a headline block: not a section of the page."""
    return "capnb-headline-heading" in (heading.attrs.get("class") or "").split()


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    return "".join(out)


def _toc(entries: list[tuple[int, str, str]]) -> str:
    """Nested ordered lists: ``h3`` entries under the ``h2`` before them."""
    items: list[str] = []
    open_sub = False
    top = min(level for level, _, _ in entries)
    for level, anchor_id, text in entries:
        link = f'<a href="#{anchor_id}">{html.escape(text)}</a>'
        if level > top and items:
            if not open_sub:
                items[-1] = items[-1].removesuffix("</li>") + "<ol>"
                open_sub = True
            items.append(f"<li>{link}</li>")
            continue
        if open_sub:
            items.append("</ol></li>")
            open_sub = False
        items.append(f"<li>{link}</li>")
    if open_sub:
        items.append("</ol></li>")
    return (f'<nav class="capnb-toc" id="{_TOC_ID}" aria-label="Contents">'
            f'<p class="capnb-toc-title">Contents</p><ol>{"".join(items)}</ol></nav>'
            f'<a class="capnb-top" href="#{_TOC_ID}" title="Back to the contents">'
            "&#8593; Contents</a>")


def _slug(text: str) -> str:
    """An id like JupyterLab's (spaces become hyphens, case kept), ASCII letters, digits, ``_``
    and ``-`` only, so it needs no escaping in a URL fragment."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text).strip("-")[:80].rstrip("-")
    return slug or "section"


def _unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    return candidate


def _start_tag(tag: str, attrs: dict[str, str | None]) -> str:
    parts = [tag]
    for name, value in attrs.items():
        parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    return f"<{' '.join(parts)}>"


@dataclass
class _Heading:
    tag: str
    level: int
    start: int  # offset of "<h2"
    tag_end: int  # offset after its start tag's ">"
    attrs: dict[str, str | None]
    text: str = ""


@dataclass
class _Open:
    """An element whose end is wanted: its tag, nesting depth of that tag, and what it is."""

    tag: str
    kind: str
    heading: _Heading | None = None
    depth: int = 1
    text: list[str] = field(default_factory=list)


class _Scan(HTMLParser):
    """Offsets of what :func:`finish_page` changes, in one pass over the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # offsets of text must be the page's
        self.headings: list[_Heading] = []
        self.ids: set[str] = set()
        self.id_counts: dict[str, int] = {}
        self.title_span: tuple[int, int] | None = None
        self.title_text = ""
        self.head_end: int | None = None
        self.body_start = 0
        self.main_start = 0
        self.after_header = 0
        self.after_headline = 0
        self.breaks: list[int] = []  # offsets after an underscore of a long word in a cell
        self._cells = 0
        self._open: list[_Open] = []
        self._title_start: int | None = None
        self._lines = [0]
        self._fed = ""

    def feed(self, data: str) -> None:
        self._fed += data
        self._lines = [0] + [m.end() for m in re.finditer("\n", self._fed)]
        super().feed(data)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        end = start + len(self.get_starttag_text() or "")
        values = dict(attrs)
        self._note_id(values.get("id"))
        for item in self._open:
            if item.tag == tag:
                item.depth += 1
        classes = (values.get("class") or "").split()
        if tag in ("td", "th"):
            self._cells += 1
        if tag in ("h2", "h3"):
            self.headings.append(_Heading(tag, int(tag[1]), start, end, values))
            self._open.append(_Open(tag, "heading", self.headings[-1]))
        if tag == "title" and self._title_start is None:
            self._title_start = start
        elif tag == "body" and not self.body_start:
            self.body_start = end
        elif tag == "main" and not self.main_start:
            self.main_start = end
        if "capnb-title" in classes and not self.title_text and not self._has("title"):
            self._open.append(_Open(tag, "title"))
        if "capnb-headline" in classes and not self.after_headline and not self._has("headline"):
            self._open.append(_Open(tag, "headline"))
        if "capnb-report-header" in classes and not self.after_header and not self._has("header"):
            self._open.append(_Open(tag, "header"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._note_id(dict(attrs).get("id"))  # <x/>: no content, nothing to close

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        end = self._fed.find(">", start) + 1 or len(self._fed)
        if tag == "title" and self._title_start is not None and self.title_span is None:
            self.title_span = (self._title_start, end)
        elif tag == "head" and self.head_end is None:
            self.head_end = start
        elif tag in ("td", "th") and self._cells:
            self._cells -= 1
        for item in [i for i in self._open if i.tag == tag]:
            item.depth -= 1
            if item.depth:
                continue
            self._open.remove(item)
            text = " ".join("".join(item.text).replace("\u00b6", "").split())
            if item.heading is not None:
                item.heading.text = text
            elif item.kind == "title":
                self.title_text = text
            elif item.kind == "headline":
                self.after_headline = end
            elif item.kind == "header":
                self.after_header = end

    def handle_data(self, data: str) -> None:
        self._text(data)
        if self._cells and self.cdata_elem is None:  # not inside a <script> or <style>
            start = self._offset()
            for word in _LONG_WORD.finditer(data):
                self.breaks += [start + word.start() + i + 1
                                for i, char in enumerate(word.group()[:-1]) if char == "_"]

    def handle_entityref(self, name: str) -> None:
        self._text(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._text(html.unescape(f"&#{name};"))

    def _text(self, text: str) -> None:
        for item in self._open:
            if item.kind in ("heading", "title"):
                item.text.append(text)

    def _has(self, kind: str) -> bool:
        return any(item.kind == kind for item in self._open)

    def _note_id(self, value: str | None) -> None:
        if value:
            self.ids.add(value)
            self.id_counts[value] = self.id_counts.get(value, 0) + 1
