"""The look every capnb figure shares: the ``"capnb"`` plotly template, its palette, titles with
subtitles, safe text and the "No data" figure; :mod:`capnb.reports.charts` builds on these.

Layout rules (so nothing overlaps at any width): no figure sets a width (plotly autosizes to its
container); the title and its subtitle sit at the top left of the container, below the plotly
toolbar (modebar), and push the plot down as far as they need (``title.automargin``); legends
sit below the plot, at the bottom of the container, and push the plot up. Long subtitles are
wrapped, and so are long titles.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from capnb import validation
from capnb.labels import MEASURABILITY

__all__ = [
    "MARK_COLOUR",
    "MEASURABILITY_COLOURS",
    "MEASURABILITY_TEXT",
    "OKABE_ITO",
    "TEMPLATE",
    "check_frame",
    "error_bars",
    "interval_hover",
    "esc",
    "matches",
    "no_data_figure",
    "num",
    "title",
    "values",
    "wrap",
]

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000")
"""Okabe & Ito's palette, distinguishable with every common colour-vision deficiency."""
MEASURABILITY_COLOURS = {"exact": "#0072B2", "lower_bound": "#56B4E9", "proxy": "#E69F00",
                         "estimate": "#009E73", "not_measurable": "#999999"}
MEASURABILITY_TEXT = MEASURABILITY
MARK_COLOUR = "#D55E00"
TEMPLATE = "capnb"
SUBTITLE_CHARS = 110
"""Subtitles are wrapped at this many characters."""
TITLE_CHARS = 64
"""A longer title is broken between what the figure shows and for which promotion."""

_template = go.layout.Template(pio.templates["plotly_white"])
_template.layout.update(
    colorway=list(OKABE_ITO), autosize=True,
    font=dict(family="Arial, Helvetica, sans-serif", size=13, color="#222222"),
    # Title block: top left of the container, 40 px below its top edge (the modebar's row),
    # pushing the plot area down by what the title and subtitle need.
    title=dict(x=0, xref="container", xanchor="left", y=1, yref="container", yanchor="top",
               pad=dict(t=40, l=20, b=16), automargin=True, font=dict(size=17),
               subtitle=dict(font=dict(size=12, color="#555555"))),
    hoverlabel=dict(font_size=12),
    # Legends: below the plot, at the bottom of the container (they push the plot up).
    legend=dict(orientation="h", x=0, xanchor="left", xref="container", y=0, yanchor="bottom",
                yref="container", entrywidthmode="pixels"),
    margin=dict(t=40, l=80, r=30, b=70), bargap=0.2)
pio.templates[TEMPLATE] = _template


def esc(value: Any) -> str:
    """Text safe for plotly's HTML subset (missing values become "(none)")."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(none)"
    return html.escape(str(value), quote=False)


def _subject(promotion: Any) -> str:
    """'Name (id)' of a Promotion, or an escaped label, or ''."""
    if promotion is None:
        return ""
    if isinstance(promotion, str):
        return esc(promotion)
    name, ident = getattr(promotion, "name", None), getattr(promotion, "id", None)
    if name and ident is not None:
        return f"{esc(name)} ({ident})"
    return esc(name) if name else (f"promotion {ident}" if ident is not None else "")


def title(what: str, promotion: Any, subtitle: str | None = None) -> dict[str, Any]:
    """``layout.title`` of a figure: what it shows, for which promotion, and a subtitle.

    ``subtitle`` is trusted text (escape API text before passing it); it is wrapped at
    :data:`SUBTITLE_CHARS` characters, and a title longer than :data:`TITLE_CHARS` is broken
    after the dash.
    """
    subject = _subject(promotion)
    text = f"{what} — {subject}" if subject else what
    out: dict[str, Any] = {"text": text}
    if len(html.unescape(text)) > TITLE_CHARS:  # plotly does not wrap: break before narrow
        # containers clip it; plotly.js lifts a two-line title by a line: pad it back down.
        out.update(text=f"{what} —<br>{subject}", pad={"t": 76})
    if subtitle:
        out["subtitle"] = {"text": "<br>".join(textwrap.wrap(subtitle, SUBTITLE_CHARS))}
    return out


def wrap(text: Any, width: int = 80) -> str:
    """Escaped ``text`` wrapped with ``<br>`` every ``width`` characters ('' if not a str)."""
    return "<br>".join(textwrap.wrap(esc(text), width)) if isinstance(text, str) else ""


def check_frame(frame: Any, required: tuple[str, ...], name: str = "frame") -> pd.DataFrame:
    """``frame`` if it is a DataFrame with the ``required`` columns, else ValidationError."""
    return validation.check_frame(name, frame, required, "the matching capnb.analysis function")


def no_data_figure(what: str, reason: str, promotion: Any = None) -> go.Figure:
    """A figure that says there is nothing to draw, and why (axes hidden)."""
    return go.Figure(layout=dict(
        template=TEMPLATE, title=title(what, promotion), xaxis=dict(visible=False),
        yaxis=dict(visible=False), height=320,
        annotations=[dict(text=f"No data: {esc(reason)}", showarrow=False, xref="paper",
                          yref="paper", x=0.5, y=0.5, font=dict(size=16, color="#555555"))]))


def values(column: pd.Series) -> list[Any]:
    """Distinct values of a (possibly categorical) column, in order of appearance."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.remove_unused_categories().cat.categories)
    return list(pd.unique(column.dropna()))


def matches(column: pd.Series, value: str) -> np.ndarray:
    """Boolean mask of ``column == value`` (missing values: False)."""
    return (column == value).to_numpy(dtype=bool, na_value=False)


def num(series: pd.Series) -> list[Any]:
    """Plain Python numbers for plotly (NA -> None), so JSON stays small and deterministic."""
    return [None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v))
            for v in series.astype("float64")]


def error_bars(frame: pd.DataFrame, column: str, light: bool = False) -> dict[str, Any] | None:
    """Plotly ``error_x``/``error_y`` of an estimate ``column`` whose frame has its 95% interval
    (``column_low``, ``column_high``: a random sample's figures); None otherwise. ``light``:
    thin and translucent, for many bars side by side or stacked."""
    low, high = f"{column}_low", f"{column}_high"
    if low not in frame.columns or high not in frame.columns:
        return None
    estimate = frame[column].astype("float64")
    style = (dict(thickness=1, width=0, color="rgba(0,0,0,0.4)") if light
             else dict(thickness=1.5, width=3, color="#333333"))
    return dict(type="data", symmetric=False, **style,
                array=num(frame[high].astype("float64") - estimate),
                arrayminus=num(estimate - frame[low].astype("float64")))


def interval_hover(frame: pd.DataFrame, column: str, share: bool = False) -> list[str]:
    """Per row, " (low–high, 95% interval)" of an estimate ``column`` for a hover text; empty
    strings when the frame has no interval."""
    low, high = f"{column}_low", f"{column}_high"
    if low not in frame.columns or high not in frame.columns:
        return [""] * len(frame)
    spec = ".1%" if share else ",.0f"
    return ["" if pd.isna(lo) or pd.isna(hi) else f" ({lo:{spec}}–{hi:{spec}}, 95% interval)"
            for lo, hi in zip(frame[low], frame[high], strict=True)]
