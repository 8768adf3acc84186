"""A report's headline block: the facts of a :class:`~capnb.analysis.headline.Headline` as
compact HTML cards for JupyterLab and the HTML reports, and as plain text elsewhere.

In a notebook, right after the header::

    from capnb.reports import headline
    headline.block(analysis.overview_headline(promotion, cohort, utilisation, as_of=as_of))

Every text comes from the API or from capnb's words and is :func:`html.escape` d here (promotion,
currency and restriction names are untrusted). The styles (:data:`CSS`) are embedded once in
each block, scoped to ``.capnb-headline``, so a block renders the same in JupyterLab and in an
exported report. Badges use the measurability colours of the charts.
"""

from __future__ import annotations

import html
from typing import Any

from capnb.analysis.headline import Fact, Headline
from capnb.errors import ValidationError
from capnb.labels import MEASURABILITY
from capnb.reports.chart_style import MARK_COLOUR, MEASURABILITY_COLOURS

__all__ = ["CSS", "HEADING", "HeadlineBlock", "block", "sample_figures"]

HEADING = "At a glance"
"""The heading of every headline block."""

_BADGE_TEXT = {"exact": "#FFFFFF", "lower_bound": "#0B2A3C", "proxy": "#3D2800",
               "not_measurable": "#1F1F1F"}
"""Badge text colour per measurability: readable on the chart colour behind it."""
_INLINE_BADGES = {"estimate": "background:#007A5A;color:#FFFFFF"}
"""Badges without a rule in :data:`CSS` (no chart draws them), styled inline: a dark
Okabe-Ito bluish green for ``estimate`` (a figure from a random sample, with its interval)."""

CSS = "\n".join([
    # Every rule is two classes deep: it beats JupyterLab's and nbconvert's element rules
    # (".jp-OutputArea-output dt" floats definition terms at 20% width, for one).
    ".capnb-headline.capnb-headline{font-family:Arial,Helvetica,sans-serif;color:#222;"
    "max-width:1200px;margin:4px 0 12px;padding:10px 14px 12px;border:1px solid #d0d7de;"
    "border-radius:6px;background:#fafbfc;box-sizing:border-box}",
    ".capnb-headline .capnb-headline-heading{font-size:17px;line-height:1.3;margin:0 0 8px;"
    "padding:0;font-weight:bold;border:0;color:#222}",
    ".capnb-headline .capnb-headline-title{font-weight:normal;color:#555}",
    ".capnb-headline .capnb-facts{display:grid;"
    "grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px;width:auto;"
    "overflow:visible;margin:0;padding:0}",
    ".capnb-headline .capnb-fact{background:#fff;border:1px solid #e1e4e8;"
    "border-left:4px solid #c8ccd0;border-radius:4px;padding:6px 9px;min-width:0}",
    f".capnb-headline .capnb-fact.capnb-warning{{border-left-color:{MARK_COLOUR};"
    "background:#fdf3ec}",
    ".capnb-headline .capnb-fact-label{display:block;float:none;width:auto;font-size:11px;"
    "line-height:1.3;font-weight:normal;text-transform:uppercase;letter-spacing:.03em;"
    "color:#57606a;margin:0;padding:0;overflow-wrap:anywhere}",
    ".capnb-headline .capnb-fact-body{display:block;float:none;width:auto;margin:2px 0 0;"
    "padding:0;line-height:1.35}",
    ".capnb-headline .capnb-fact-text{font-size:14px;line-height:1.35;font-weight:bold;"
    "overflow-wrap:anywhere}",
    ".capnb-headline .capnb-badge{display:inline-block;font-size:10.5px;line-height:1.4;"
    "font-weight:normal;padding:0 6px;margin-left:6px;border-radius:8px;"
    "vertical-align:1px;white-space:nowrap}",
    *(f".capnb-headline .capnb-badge-{key}{{background:{colour};"
      f"color:{_BADGE_TEXT[key]}}}" for key, colour in MEASURABILITY_COLOURS.items()
      if key in _BADGE_TEXT),
    ".capnb-headline .capnb-fact-note{display:block;font-size:11.5px;line-height:1.35;"
    "color:#57606a;margin-top:2px;overflow-wrap:anywhere}",
])
"""The block's styles (every selector under ``.capnb-headline``)."""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _line(text: object) -> str:
    return " ".join(str(text).split())


def _fact_html(fact: Fact) -> str:
    words = MEASURABILITY[fact.exactness]
    style = (f' style="{_INLINE_BADGES[fact.exactness]}"' if fact.exactness in _INLINE_BADGES
             else "")
    note = (f'<span class="capnb-fact-note">{_esc(fact.note)}</span>' if fact.note else "")
    return (f'<div class="capnb-fact capnb-{fact.level}"><dt class="capnb-fact-label">'
            f'{_esc(fact.label)}</dt><dd class="capnb-fact-body">'
            f'<span class="capnb-fact-text">{_esc(fact.text)}</span>'
            f'<span class="capnb-badge capnb-badge-{fact.exactness}"{style} title="How exact '
            f'this figure is">{_esc(words)}</span>{note}</dd></div>')


class HeadlineBlock:
    """A headline as shown: :meth:`_repr_html_` for JupyterLab and reports, ``repr`` as plain
    text (one line per fact: ``!`` marks a warning, the exactness in brackets)."""

    def __init__(self, headline: Headline, after: Any = None) -> None:
        self.headline = headline
        self.after = after

    def _repr_html_(self) -> str:
        facts = "".join(_fact_html(f) for f in self.headline.facts)
        after = self.after._repr_html_() if self.after is not None else ""
        return (f'<div class="capnb-headline"><style>{CSS}</style>'
                f'<h2 class="capnb-headline-heading">{_esc(HEADING)}: <span '
                f'class="capnb-headline-title">{_esc(self.headline.title)}</span></h2>'
                f'<dl class="capnb-facts">{facts}</dl>{after}</div>')

    def __repr__(self) -> str:
        lines = [f"{HEADING}: {_line(self.headline.title)}"]
        lines += [f"{'!' if f.level == 'warning' else '-'} {_line(f.label)}: {_line(f.text)} "
                  f"[{MEASURABILITY[f.exactness]}]" for f in self.headline.facts]
        if self.after is not None:
            lines.append(repr(self.after))
        return "\n".join(lines)


def block(headline: Headline, after: Any = None) -> HeadlineBlock:
    """The headline block a report opens with (display it: last expression of a cell).

    ``after``: something with ``_repr_html_`` shown inside the block under the facts (the
    table of every population figure of a sampled cohort, :func:`sample_figures`); None: none.
    """
    if not isinstance(headline, Headline):
        raise ValidationError("headline", "must be a capnb.analysis.Headline (from "
                              "overview_headline, customer_headline or portfolio_headline), "
                              f"got {type(headline).__name__}")
    if after is not None and not callable(getattr(after, "_repr_html_", None)):
        raise ValidationError("after", f"must be displayable as HTML, got {type(after).__name__}")
    return HeadlineBlock(headline, after)


def sample_figures(promotion: Any, cohort: Any, *, as_of: Any) -> Any:
    """For a cohort drawn from a random sample, the table of every population figure with its
    95% interval (``tables.estimates``); None for any other cohort."""
    if getattr(cohort, "design", None) is None:
        return None
    from capnb.analysis.estimates import population_estimates
    from capnb.reports.tables import estimates

    return estimates(population_estimates(promotion, cohort, as_of=as_of))
