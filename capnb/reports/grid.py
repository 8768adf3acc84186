"""The table layer's machinery: :class:`Table`, the generic :func:`table` and :data:`CSS`. A frame
is formatted for reading and rendered with pandas' Styler into compact, escaped HTML (class
``capnb-table``), with a plain-text twin. :mod:`capnb.reports.tables` re-exports these beside
one function per report table; import them from there.

Counts get thousands separators, shares read as percents, -1 as "no limit", missing values as
"—", flags as "yes", API names as words (:mod:`capnb.labels`) with the API name kept on a muted
second line, long notes as numbered footnotes below the table, and no index column. Every
function returns a :class:`Table`, whose :attr:`Table.data` keeps the unformatted rows.

The HTML needs :data:`CSS` once per page; :meth:`Table._repr_html_` carries a copy so a table
also reads well alone in JupyterLab. All text reaching the HTML is escaped here (API text is
untrusted).
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2
import pandas as pd
from pandas.io.formats.style import Styler

from capnb.errors import ValidationError
from capnb.reports.formats import (
    NUMERIC_KINDS,
    formatter,
    infer_kind,
    interval_formatter,
    is_missing,
)
from capnb.validation import check_frame, check_tz

__all__ = ["CSS", "Table", "table"]

CSS = """\
/* capnb tables. The doubled class outranks JupyterLab's own table rules (specificity 0,2,1). */
.capnb-table.capnb-table { border-collapse: collapse; table-layout: auto; max-width: 100%;
  margin: 0 0 .3em 0; line-height: 1.35; }
.capnb-table.capnb-table caption { caption-side: top; text-align: left; font-weight: 600;
  padding: 0 0 .3em 0; }
.capnb-table.capnb-table th, .capnb-table.capnb-table td { text-align: left; padding: .3em .6em;
  vertical-align: top; white-space: normal; overflow-wrap: break-word; max-width: none;
  border: 0; border-bottom: 1px solid rgba(128, 128, 128, .3); }
.capnb-table.capnb-table th { vertical-align: bottom; overflow-wrap: normal; }
.capnb-table.capnb-table .n, .capnb-table.capnb-table .f { text-align: right;
  font-variant-numeric: tabular-nums; }
.capnb-table.capnb-table td.n, .capnb-table.capnb-table td.d { white-space: nowrap; }
.capnb-table .api { display: block; font-size: .8em; opacity: .65; }
.capnb-table .ci { display: block; font-size: .8em; opacity: .75; white-space: nowrap; }
.capnb-table sup { font-size: .75em; padding-left: .2em; }
.capnb-notes, .capnb-foot, .capnb-empty { font-size: .9em; margin: .2em 0 1em 0;
  max-width: 100%; overflow-wrap: anywhere; }
.capnb-notes { padding-left: 2em; }
"""
"""Screen rules for ``.capnb-table`` and its footnotes; a report page includes them once."""

_STYLE = re.sub(r"/\*.*?\*/|\n", "", CSS)
_STYLE = re.sub(r"\s*([{}:;,])\s*", r"\1", _STYLE).replace(";}", "}")
_WRAP = 40  # plain text: wrap text cells wider than this
_NOTE_WRAP = 100

# A compact table template for pandas' Styler: classes only where they mean something (``n`` on
# numeric columns), no ids, no per-cell CSS rules, no uuid.
_TEMPLATE = """\
<table class="capnb-table">
{% if caption %}<caption>{{ caption }}</caption>
{% endif %}
<thead><tr>{% for c in head[0] if c.is_visible != False %}<th{{ cells[loop.index0] }}>\
{{ c.display_value }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in body %}<tr>{% for c in r if c.is_visible != False %}<td{{ cells[loop.index0] }}>\
{{ c.display_value }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
"""


class _Styler(Styler):
    """pandas' Styler with :data:`_TEMPLATE` for its table."""

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.DictLoader({"capnb_table.tpl": _TEMPLATE}),
                                    Styler.loader]), trim_blocks=True)
    template_html_table = env.get_template("capnb_table.tpl")


class Table:
    """A formatted table: HTML for notebooks and reports, plain text for terminals.

    Attributes
    ----------
    data : DataFrame
        The unformatted rows (all of them, when the table shows only the first few), with the
        columns as the analysis named them: what a download should hold.
    """

    __slots__ = ("_html", "_text", "data")

    def __init__(self, data: pd.DataFrame, html_text: str, plain: str) -> None:
        self.data = data
        self._html, self._text = html_text, plain

    def to_html(self, *, style: bool = True) -> str:
        """The table, its footnotes and notes; ``style=False`` leaves out the ``<style>`` copy
        of :data:`CSS` (for a page that includes it once)."""
        css = f"<style>{_STYLE}</style>" if style else ""
        return f'<div class="capnb-block">{css}{self._html}</div>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self._text

    def __len__(self) -> int:
        """Rows of :attr:`data` (a table that shows only the first rows counts them all)."""
        return len(self.data)


def _check_frame(frame: Any, name: str = "frame") -> pd.DataFrame:
    check_frame(name, frame)
    if not frame.columns.is_unique:
        raise ValidationError(name, "has duplicate column names: rename them first")
    return frame


def _check_columns(frame: pd.DataFrame, wanted: Iterable[Any], name: str, origin: str) -> None:
    check_frame(name, frame, wanted, origin)


def _cell_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _api_html(name: str) -> str:
    """An API name, breakable after its underscores (``<wbr>``), never inside a word."""
    return html.escape(name).replace("_", "_<wbr>")


def _notes(values: Iterable[Any]) -> tuple[list[int | None], list[str]]:
    """Footnote numbers per row (None: no note) and the distinct notes, numbered in order."""
    numbers: list[int | None] = []
    notes: list[str] = []
    for value in values:
        text = "" if is_missing(value) else str(value).strip()
        if not text:
            numbers.append(None)
            continue
        if text not in notes:
            notes.append(text)
        numbers.append(notes.index(text) + 1)
    return numbers, notes


def _plain_grid(headers: list[str], cells: list[list[str]], right: list[bool]) -> str:
    """Aligned columns; long text cells wrapped, multi-line cells kept."""
    def lines(text: str, wrap: bool) -> list[str]:
        out = []
        for line in text.split("\n"):
            out.extend(textwrap.wrap(line, _WRAP) if wrap and len(line) > _WRAP else [line])
        return out or [""]

    grid = [[lines(h, True) for h in headers]]
    grid += [[lines(c, not r) for c, r in zip(row, right, strict=True)] for row in cells]
    widths = [max(len(line) for row in grid for line in row[i]) for i in range(len(headers))]
    out = []
    for n, row in enumerate(grid):
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "") for cell in row]
            out.append("  ".join(p.rjust(w) if r else p.ljust(w) for p, w, r in zip(
                parts, widths, right, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _build(frame: pd.DataFrame, headers: Mapping[Any, str], kinds: Mapping[Any, str], *,
           timezone: str = "UTC", footnotes: str | None = None, caption: str | None = None,
           empty: str = "None.", max_rows: int | None = None, data: pd.DataFrame | None = None,
           foot: Iterable[str] = (), classes: Mapping[Any, str] | None = None,
           rows_word: str = "rows",
           cell_text: Mapping[Any, Callable[[Any], str]] | None = None) -> Table:
    """A :class:`Table` of ``frame``'s ``headers`` columns (in that order).

    ``classes`` overrides the CSS class of some columns (``n``: a number, right-aligned, on
    one line; ``f``: figures with words, right-aligned; ``d``: a date, on one line; ``""``:
    text); ``cell_text`` overrides the formatter of some columns; ``data`` replaces the rows
    kept for downloads.
    """
    columns = list(headers)
    bounds = {c: (f"{c}_low", f"{c}_high") for c in columns
              if {f"{c}_low", f"{c}_high"} <= set(frame.columns)}  # an estimate's interval
    if data is None:
        keep = columns + [b for c in columns for b in bounds.get(c, ())]
        keep += [footnotes] if footnotes and footnotes not in keep else []
        data = frame[keep]
    data = data.reset_index(drop=True)
    shown = frame.iloc[:max_rows] if max_rows is not None else frame
    foot = list(foot)
    if bounds:
        foot.append("In brackets: the 95% interval of an estimate for every customer of the "
                    "population, from a random sample.")
    if max_rows is not None and len(frame) > max_rows:
        foot.insert(0, f"Showing {max_rows:,} of {len(frame):,} {rows_word}; the download has "
                       "them all.")
    caption_html = html.escape(caption) if caption else ""
    if not len(frame):
        plain = "\n".join([*([caption] if caption else []), empty])
        body = (f'<p class="capnb-empty"><b>{caption_html}</b> ' if caption
                else '<p class="capnb-empty">') + f"{html.escape(empty)}</p>"
        return Table(data, body, plain)

    numbers, notes = (_notes(shown[footnotes]) if footnotes else ([None] * len(shown), []))
    main_columns, api_columns, cis, css = [], [], [], []
    for column in columns:
        kind = kinds.get(column) or infer_kind(column, frame[column])
        text = (cell_text or {}).get(column) or formatter(kind, frame[column], timezone)
        values = shown[column].tolist()
        texts = [text(v) for v in values]
        apis = [""] * len(texts)
        if kind == "restriction":  # the label, then the API name when it differs
            apis = ["" if is_missing(v) or str(v) == t else str(v)
                    for v, t in zip(values, texts, strict=True)]
        if column in bounds:  # "63.2%" over "(62.3–64.1%)": the estimate's 95% interval
            span = interval_formatter(kind, frame[column])
            lows, highs = (shown[b].tolist() for b in bounds[column])
            cis.append([span(lo, hi) for lo, hi in zip(lows, highs, strict=True)])
        else:
            cis.append([""] * len(texts))
        main_columns.append(texts)
        api_columns.append(apis)
        default = "n" if kind in NUMERIC_KINDS else "d" if kind == "date" else ""
        css.append((classes or {}).get(column, default))
    marks = [f"<sup>{n}</sup>" if n else "" for n in numbers]
    html_columns = [[_cell_html(t) + (marks[r] if i == 0 else "")
                     + (f'<span class="ci">{html.escape(c)}</span>' if c else "")
                     + (f'<span class="api">{_api_html(a)}</span>' if a else "")
                     for r, (t, a, c) in enumerate(zip(texts, apis, spans, strict=True))]
                    for i, (texts, apis, spans) in enumerate(zip(main_columns, api_columns, cis,
                                                                 strict=True))]
    text_columns = [[t + (f" [{numbers[r]}]" if i == 0 and numbers[r] else "")
                     + (f" {c}" if c else "") + (f"\n{a}" if a else "")
                     for r, (t, a, c) in enumerate(zip(texts, apis, spans, strict=True))]
                    for i, (texts, apis, spans) in enumerate(zip(main_columns, api_columns, cis,
                                                                 strict=True))]

    header_texts = [str(headers[c]) for c in columns]
    grid = pd.DataFrame(dict(enumerate(html_columns)), index=range(len(shown)))
    styler = _Styler(grid, cell_ids=False).hide(axis="index")
    escaped = [html.escape(h) for h in header_texts]
    styler.format_index(lambda i: escaped[i], axis=1)
    if caption:
        styler.set_caption(caption_html)
    with pd.option_context("styler.render.max_elements", grid.size + len(columns) + 1,
                           "styler.render.max_rows", None, "styler.render.max_columns", None):
        body = styler.to_html(exclude_styles=True,
                              cells=[f' class="{c}"' if c else "" for c in css]).strip()
    if notes:
        body += '<ol class="capnb-notes">' + "".join(
            f"<li>{_cell_html(n)}</li>" for n in notes) + "</ol>"
    body += "".join(f'<p class="capnb-foot">{_cell_html(line)}</p>' for line in foot)

    rows = [[text_columns[i][r] for i in range(len(columns))] for r in range(len(shown))]
    right = [c in ("n", "f") for c in css]
    plain = [*([caption] if caption else []), _plain_grid(header_texts, rows, right)]
    if notes:
        plain.append("\n".join(textwrap.fill(f"[{i}] {n}", _NOTE_WRAP, subsequent_indent="    ")
                               for i, n in enumerate(notes, 1)))
    plain.extend(foot)
    return Table(data, body, "\n".join(plain))


def table(frame: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
          kinds: Mapping[str, str] | None = None, timezone: str = "UTC",
          footnotes: str | None = None, caption: str | None = None, empty: str = "None.",
          max_rows: int | None = None) -> Table:
    """Any frame as a table for people.

    Parameters
    ----------
    frame : DataFrame
        The rows; its index is never shown.
    columns : mapping of column -> header, optional
        The columns to show, in this order, with their headers. Default: every column, its name
        with spaces for underscores as the header.
    kinds : mapping of column -> kind, optional
        How a column reads (see :mod:`capnb.reports.formats`): ``count, amount, share, limit,
        date, days, flag, id, pairs, text, restriction, measurability, scope, family, type,
        period, status``. Default: from the dtype (ids as ``id``, integers as ``count``, floats
        as ``amount``, booleans as ``flag``, timestamps as ``date``, mappings as ``pairs``).
    timezone : str
        IANA timezone dates are shown in.
    footnotes : str, optional
        A column of long text (a ``note``) shown as numbered footnotes below the table, with
        the number in the first column of each row; identical notes share a number.
    caption : str, optional
        A caption above the table.
    empty : str
        What shows instead of a table without rows.
    max_rows : int, optional
        Show only the first rows, with a line saying so (:attr:`Table.data` keeps them all).

    Returns
    -------
    Table
        ``data`` holds the shown columns (and the footnotes column) unformatted.

    Raises
    ------
    ValidationError
        A column, kind or footnotes column that the frame does not have.
    """
    frame = _check_frame(frame)
    check_tz(timezone, "timezone")
    if footnotes is not None and footnotes not in frame.columns:
        raise ValidationError("footnotes", f"names no column of the frame: {footnotes!r}")
    if columns is None:
        columns = {c: str(c).replace("_", " ") for c in frame.columns}
    elif not isinstance(columns, Mapping):
        raise ValidationError("columns", "must map frame columns to headers")
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError("columns", f"names columns the frame does not have: "
                              f"{', '.join(missing)}")
    columns = {c: h for c, h in columns.items() if c != footnotes}  # notes go below the grid
    kinds = dict(kinds or {})
    unknown = [str(c) for c in kinds if c not in columns]
    if unknown:
        raise ValidationError("kinds", f"names columns the table does not show: "
                              f"{', '.join(unknown)}")
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 0):
        raise ValidationError("max_rows", f"must be a count of rows, got {max_rows!r}")
    return _build(frame, columns, kinds, timezone=timezone, footnotes=footnotes,
                  caption=caption, empty=empty, max_rows=max_rows)
