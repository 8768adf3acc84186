"""Plotly figures of the frames :mod:`capnb.analysis.benefits` and :mod:`capnb.analysis.limits`
return; never shown, only returned.

Every builder takes an *aggregated* frame (a customer-level frame is binned here first), so a
figure's size does not grow with the cohort. All figures use the ``"capnb"`` template
(``plotly_white`` with the Okabe-Ito colour-blind-safe palette), say what they show and for which
promotion in the title, carry units in the axis titles, and turn an empty input into a figure
that says "No data" instead of raising. Text that comes from the API (promotion names, activity,
action and category ids) is HTML-escaped, since plotly renders a subset of HTML in text.
Figures are deterministic: the same frame gives the same JSON.
"""

from __future__ import annotations

import html
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from capnb.errors import ValidationError

__all__ = [
    "MEASURABILITY_COLOURS",
    "OKABE_ITO",
    "TEMPLATE",
    "budget_burn_chart",
    "customer_utilisation_histogram",
    "issuance_chart",
    "no_data_figure",
    "points_chart",
    "recency_chart",
    "timeline_chart",
    "utilisation_chart",
]

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000")
"""Okabe & Ito's palette, distinguishable with every common colour-vision deficiency."""
MEASURABILITY_COLOURS = {"exact": "#0072B2", "lower_bound": "#56B4E9", "proxy": "#E69F00",
                         "not_measurable": "#999999"}
_MEASURABILITY_TEXT = {"exact": "exact", "lower_bound": "lower bound", "proxy": "proxy",
                       "not_measurable": "not measurable"}
_MARK_COLOUR = "#D55E00"
TEMPLATE = "capnb"

_template = go.layout.Template(pio.templates["plotly_white"])
_template.layout.update(
    colorway=list(OKABE_ITO), font=dict(family="Arial, Helvetica, sans-serif", size=13,
                                        color="#222222"),
    title=dict(x=0.01, xanchor="left", font=dict(size=17)), hoverlabel=dict(font_size=12),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
    margin=dict(t=150, l=80, r=30, b=70), bargap=0.2)
pio.templates[TEMPLATE] = _template


# -- helpers -------------------------------------------------------------------------------------

def _esc(value: Any) -> str:
    """Text safe for plotly's HTML subset (missing values become "(none)")."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(none)"
    return html.escape(str(value), quote=False)


def _subject(promotion: Any) -> str:
    """'Name (id)' of a Promotion, or an escaped label, or ''."""
    if promotion is None:
        return ""
    if isinstance(promotion, str):
        return _esc(promotion)
    name, ident = getattr(promotion, "name", None), getattr(promotion, "id", None)
    if name and ident is not None:
        return f"{_esc(name)} ({ident})"
    return _esc(name) if name else (f"promotion {ident}" if ident is not None else "")


def _title(what: str, promotion: Any, subtitle: str | None = None) -> dict[str, Any]:
    subject = _subject(promotion)
    title: dict[str, Any] = {"text": f"{what} — {subject}" if subject else what}
    if subtitle:
        title["subtitle"] = {"text": subtitle}
    return title


def _wrap(text: Any, width: int = 80) -> str:
    return "<br>".join(textwrap.wrap(_esc(text), width)) if isinstance(text, str) else ""


def _check_frame(frame: Any, required: tuple[str, ...], name: str = "frame") -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(name, f"must be a DataFrame from capnb.analysis.benefits, got "
                              f"{type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(name, f"is missing the column(s) {', '.join(missing)}; pass the "
                              "frame the matching capnb.analysis.benefits function returns")
    return frame


def no_data_figure(what: str, reason: str, promotion: Any = None) -> go.Figure:
    """A figure that says there is nothing to draw, and why (axes hidden)."""
    return go.Figure(layout=dict(
        template=TEMPLATE, title=_title(what, promotion), xaxis=dict(visible=False),
        yaxis=dict(visible=False), height=320,
        annotations=[dict(text=f"No data: {_esc(reason)}", showarrow=False, xref="paper",
                          yref="paper", x=0.5, y=0.5, font=dict(size=16, color="#555555"))]))


def _values(column: pd.Series) -> list[Any]:
    """Distinct values of a (possibly categorical) column, in order of appearance."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.remove_unused_categories().cat.categories)
    return list(pd.unique(column.dropna()))


def _matches(column: pd.Series, value: str) -> np.ndarray:
    return (column == value).to_numpy(dtype=bool, na_value=False)


def _num(values: pd.Series) -> list[Any]:
    """Plain Python numbers for plotly (NA -> None), so JSON stays small and deterministic."""
    return [None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v))
            for v in values.astype("float64")]


# -- issuance and points -------------------------------------------------------------------------

_KIND = {"action": "Incentives", "activity_id": "Incentives", "action_id": "Incentives",
         "points_category": "Points issuances", "currency_name": "Currency issuances"}
_LABEL = {"action": "Action", "activity_id": "Activity", "action_id": "Action id",
          "points_category": "Points category", "currency_name": "Currency"}


def issuance_chart(counts: pd.DataFrame, *, promotion: Any = None,
                   value: str = "issued") -> go.Figure:
    """Issued (or customers reached) per group: :func:`capnb.analysis.issuance_counts` bars.

    With two or more ``by`` columns the first is the x axis and the others colour the bars.
    ``value`` is ``"issued"`` or ``"customers"``.
    """
    _check_frame(counts, ("customers", "issued", "share_of_cohort"), "counts")
    if value not in ("issued", "customers"):
        raise ValidationError("value", f"must be 'issued' or 'customers', got {value!r}")
    by = [c for c in counts.columns if c in _KIND]
    kind = _KIND[by[0]] if by else "Incentives"
    what = "Customers reached" if value == "customers" else f"{kind} issued"
    if counts.empty or not by:
        return no_data_figure(what, "nothing was issued to the fetched customers", promotion)
    x_col, colour_cols = by[0], by[1:]
    colour = (counts[colour_cols].astype("object").apply(
        lambda r: " / ".join(_esc(v) for v in r), axis=1) if colour_cols
        else pd.Series([None] * len(counts), index=counts.index))
    fig = go.Figure()
    for group in pd.unique(colour):
        part = counts[colour.eq(group)] if group is not None else counts
        fig.add_bar(
            x=[_esc(v) for v in part[x_col]], y=_num(part[value]), name=group,
            customdata=np.column_stack([_num(part["customers"]), _num(part["issued"]),
                                        _num(part["share_of_cohort"])]).tolist(),
            hovertemplate=(f"{_LABEL[x_col]}: %{{x}}<br>Issued: %{{customdata[1]:,}}<br>"
                           "Customers reached: %{customdata[0]:,}<br>Share of cohort: "
                           "%{customdata[2]:.1%}<extra>%{fullData.name}</extra>"))
    unit = "customers" if value == "customers" else "count"
    fig.update_layout(
        template=TEMPLATE, barmode="group", showlegend=bool(colour_cols),
        title=_title(what, promotion, "Lifetime counts since 2025-06-12; share = customers "
                     "reached / fetched customers"),
        xaxis=dict(title=dict(text=_LABEL[x_col]), type="category"),
        yaxis=dict(title=dict(text=f"{what} ({unit})"), rangemode="tozero"),
        legend=dict(title=dict(text=" / ".join(_LABEL[c] for c in colour_cols))))
    return fig


def points_chart(summary: pd.DataFrame, *, promotion: Any = None) -> go.Figure:
    """Points by category, currencies beside: :func:`capnb.analysis.points_summary` totals."""
    _check_frame(summary, ("kind", "name", "total", "customers"), "summary")
    what = "Points and currencies issued"
    if summary.empty:
        return no_data_figure(what, "no points or currency issued to the fetched customers",
                              promotion)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Points by category",
                                                        "Alternate currencies"),
                        horizontal_spacing=0.14)
    for col, kind, colour in ((1, "points", OKABE_ITO[0]), (2, "currency", OKABE_ITO[1])):
        part = summary[summary["kind"] == kind]
        if part.empty:
            axis = "" if col == 1 else str(col)
            fig.add_annotation(text=f"no {kind} issued", showarrow=False, x=0.5, y=0.5,
                               xref=f"x{axis} domain", yref=f"y{axis} domain",
                               font=dict(size=15, color="#555555"))
            continue
        stats = np.column_stack([_num(part[c]) for c in (
            "customers", "share_of_cohort", "mean_per_customer", "median_per_customer",
            "p90_per_customer")]).tolist()
        fig.add_bar(x=[_esc(v) for v in part["name"]], y=_num(part["total"]),
                    marker_color=colour, name=kind, customdata=stats, row=1, col=col,
                    hovertemplate=("%{x}: %{y:,.2f} issued<br>Customers: %{customdata[0]:,} "
                                   "(%{customdata[1]:.1%} of cohort)<br>Per customer: mean "
                                   "%{customdata[2]:,.2f}, median %{customdata[3]:,.2f}, p90 "
                                   "%{customdata[4]:,.2f}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, showlegend=False,
                      title=_title(what, promotion, "Lifetime totals since 2025-06-12"))
    fig.update_xaxes(type="category", row=1, col=1, title_text="Points category")
    fig.update_xaxes(type="category", row=1, col=2, title_text="Currency")
    fig.update_yaxes(title_text="Points issued (points)", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="Issued (units of each currency)", rangemode="tozero", row=1,
                     col=2)
    return fig


# -- time ----------------------------------------------------------------------------------------

def timeline_chart(frame: pd.DataFrame, *, promotion: Any = None,
                   max_periods: int = 1000) -> go.Figure:
    """Bars of customers per period of their *last* issuance, lines of the cumulative share.

    Takes :func:`capnb.analysis.benefits.timeline`; the x axis title names its timezone. More than
    ``max_periods`` periods (an hourly timeline over years) give a figure asking for a coarser
    period instead of a multi-megabyte one.
    """
    _check_frame(frame, ("period", "customers_last_issued", "cumulative_share"))
    what = "Customers by period of their last issuance"
    period = frame["period"]
    tz = str(getattr(period.dtype, "tz", "UTC"))
    dated = frame[period.notna()]
    if dated.empty:
        return no_data_figure(what, "no issuance with a date among the fetched customers",
                              promotion)
    periods = dated["period"].nunique()
    if periods > max_periods:
        return no_data_figure(what, f"{periods:,} periods are too many to draw; choose a "
                              "coarser period (week or month)", promotion)
    by = next((c for c in frame.columns if c in _KIND), None)
    local = dated["period"].dt.tz_localize(None)
    fmt = "%Y-%m-%d" if (local == local.dt.normalize()).all() else "%Y-%m-%d %H:%M"
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    grouped = dated.groupby(by, dropna=False, sort=False) if by else [(None, dated)]
    for i, (group, part) in enumerate(grouped):
        name = _esc(group) if by else "customers"
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        x = local[part.index].dt.strftime(fmt).tolist()
        fig.add_bar(x=x, y=_num(part["customers_last_issued"]), name=name, legendgroup=name,
                    marker_color=colour, secondary_y=False,
                    hovertemplate=(f"{name}<br>%{{x}}: %{{y:,}} customers last issued"
                                   "<extra></extra>"))
        fig.add_scatter(x=x, y=_num(part["cumulative_share"]), name=f"{name}: cumulative",
                        legendgroup=name, mode="lines", line=dict(color=colour, width=2),
                        showlegend=False, secondary_y=True,
                        hovertemplate=(f"{name}<br>up to %{{x}}: %{{y:.1%}} of the cohort"
                                       "<extra></extra>"))
    undated = int(frame.loc[period.isna(), "customers_last_issued"].sum())
    subtitle = ("Each customer counted once, at their latest issuance, not every event; lines: "
                "cumulative share of the cohort (right axis)"
                + (f". {undated:,} customer(s) with no issuance time are not shown"
                   if undated else ""))
    fig.update_layout(template=TEMPLATE, barmode="stack", title=_title(what, promotion,
                                                                        subtitle))
    fig.update_xaxes(title_text=f"Period of last issuance (start, {_esc(tz)})", type="date")
    fig.update_yaxes(title_text="Customers (last issuance in period)", rangemode="tozero",
                     secondary_y=False)
    fig.update_yaxes(title_text="Cumulative share of cohort (%)", tickformat=".0%",
                     range=[0, 1.05], dtick=0.2, showgrid=False, secondary_y=True)
    return fig


_BUCKET_TEXT = {"today": "< 1 day", "1_7d": "1–7 days", "7_30d": "7–30 days",
                "30_90d": "30–90 days", "older": "≥ 90 days", "after_as_of": "after as_of",
                "no_date": "no date", "no_issuance": "no issuance"}


def recency_chart(frame: pd.DataFrame, *, promotion: Any = None) -> go.Figure:
    """Bars of :func:`capnb.analysis.benefits.recency`: customers by age of their last issuance."""
    _check_frame(frame, ("bucket", "customers", "share_of_cohort", "as_of"))
    what = "Time since last issuance"
    if frame.empty or not frame["customers"].fillna(0).sum():
        return no_data_figure(what, "no fetched customers", promotion)
    as_of = frame["as_of"].iloc[0]
    grey = {"after_as_of", "no_date", "no_issuance"}
    fig = go.Figure(go.Bar(
        x=[_BUCKET_TEXT.get(b, _esc(b)) for b in frame["bucket"]], y=_num(frame["customers"]),
        marker_color=["#999999" if b in grey else OKABE_ITO[0] for b in frame["bucket"]],
        customdata=_num(frame["share_of_cohort"]),
        hovertemplate="%{x}: %{y:,} customers (%{customdata:.1%} of cohort)<extra></extra>"))
    fig.update_layout(
        template=TEMPLATE, showlegend=False,
        title=_title(what, promotion, f"Age of each customer's latest issuance of any benefit "
                     f"at {as_of:%Y-%m-%d %H:%M} UTC"),
        xaxis=dict(title=dict(text="Time from last issuance to as_of (days)"), type="category"),
        yaxis=dict(title=dict(text="Customers"), rangemode="tozero"))
    return fig


# -- utilisation ---------------------------------------------------------------------------------

def utilisation_chart(frame: pd.DataFrame, *, promotion: Any = None) -> go.Figure:
    """Share of the limit used, one bar per restriction of :func:`capnb.analysis.utilisation`.

    The bar is the cohort total (promotion-wide caps) or the 90th-percentile customer
    (per-customer and per-event caps), a diamond the median customer; dashed and solid lines
    mark 80 % and 100 %. Colour = measurability; not-measurable and unlimited restrictions are
    listed with a label, never hidden. Hover shows the note.
    """
    _check_frame(frame, ("restriction", "name", "family", "scope", "measurability",
                         "share_of_limit", "share_median", "limit", "unlimited", "note"))
    what = "Restriction utilisation"
    if frame.empty:
        return no_data_figure(what, "the promotion has no restrictions or limits", promotion)
    frame = frame.reset_index(drop=True)
    labels = [_esc(label) for label in frame["restriction"]]
    hover = []
    for row in frame.itertuples(index=False):
        limit = "no limit" if row.unlimited else (
            "—" if pd.isna(row.limit) else f"{int(row.limit):,} {_esc(getattr(row, 'unit', ''))}")
        lines = [f"<b>{_esc(row.name)}</b> ({_esc(row.family)}, {_esc(row.scope)})",
                 f"Limit: {limit}",
                 f"Measurability: {_MEASURABILITY_TEXT.get(row.measurability, row.measurability)}"]
        if not pd.isna(row.share_of_limit):
            who = "cohort total" if row.scope == "promotion" else "90th-percentile customer"
            lines.append(f"{who}: {row.share_of_limit:.1%} of the limit")
        for col, text in (("customers_at_cap", "Customers at cap"),
                          ("customers_near_cap", "Customers ≥ 80% of cap"),
                          ("customers_over_cap", "Customers over cap")):
            value = getattr(row, col, pd.NA)
            if not pd.isna(value):
                lines.append(f"{text}: {int(value):,}")
        lines.append(_wrap(row.note))
        hover.append("<br>".join(lines))
    share = frame["share_of_limit"].astype("float64")
    fig = go.Figure()
    for level, colour in MEASURABILITY_COLOURS.items():
        mask = frame["measurability"].eq(level) & share.notna()
        if mask.any():
            fig.add_bar(x=_num(share[mask]), y=[labels[i] for i in np.flatnonzero(mask)],
                        orientation="h", marker_color=colour, name=_MEASURABILITY_TEXT[level],
                        hovertext=[hover[i] for i in np.flatnonzero(mask)],
                        hoverinfo="text")
    median = frame["share_median"].astype("float64")
    if median.notna().any():
        idx = np.flatnonzero(median.notna())
        fig.add_scatter(x=_num(median.iloc[idx]), y=[labels[i] for i in idx], mode="markers",
                        marker=dict(symbol="diamond", size=10, color="#000000"),
                        name="median customer", hovertext=[hover[i] for i in idx],
                        hoverinfo="text")
    idx = np.flatnonzero(share.isna())
    if len(idx):
        text = ["no limit (-1)" if frame["unlimited"].iloc[i] and frame["measurability"].iloc[i]
                != "not_measurable" else "not measurable" for i in idx]
        fig.add_scatter(x=[0.0] * len(idx), y=[labels[i] for i in idx], mode="markers+text",
                        text=text, textposition="middle right", name="no share",
                        marker=dict(symbol="circle-open", size=9, color="#777777"),
                        textfont=dict(color="#555555"), hovertext=[hover[i] for i in idx],
                        hoverinfo="text")
    top = max(1.1, float(np.nanmax(share.to_numpy())) * 1.05 if share.notna().any() else 1.1)
    for mark, dash in ((0.8, "dash"), (1.0, "solid")):
        fig.add_vline(x=mark, line=dict(color=_MARK_COLOUR, dash=dash, width=1.5),
                      annotation=dict(text=f"{mark:.0%}", font=dict(color=_MARK_COLOUR)),
                      annotation_position="top")
    fig.update_layout(
        template=TEMPLATE, barmode="overlay", height=180 + 42 * len(frame),
        title=_title(what, promotion, "Bar: cohort total (promotion caps) or 90th-percentile "
                     "customer (per-customer caps); ◆ median customer; hover for how each was "
                     "measured"),
        xaxis=dict(title=dict(text="Share of limit used (%)"), tickformat=".0%",
                   range=[0, top]),
        yaxis=dict(title=dict(text="Restriction"), type="category", autorange="reversed",
                   categoryorder="array", categoryarray=labels))
    return fig


def customer_utilisation_histogram(frame: pd.DataFrame, restriction: str, *,
                                   promotion: Any = None, bins: int = 40) -> go.Figure:
    """Customers by usage of one restriction (:func:`capnb.analysis.customer_utilisation`).

    ``restriction`` is a value of the frame's ``restriction`` column (or a ``name`` that only
    one restriction has). The customers are binned here (integer bins for small counts), so the
    figure stays small for any cohort size; the limit and 80 % of it are drawn as lines.
    """
    _check_frame(frame, ("restriction", "name", "usage", "limit", "unlimited",
                         "measurability", "unit"))
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 500:
        raise ValidationError("bins", f"must be an integer from 1 to 500, got {bins!r}")
    what = f"Per-customer usage of {_esc(restriction)}"
    if frame.empty:
        return no_data_figure(what, "no fetched customers", promotion)
    part = frame[_matches(frame["restriction"], restriction)]
    if part.empty:
        part = frame[_matches(frame["name"], restriction)]
        labels = _values(part["restriction"]) if len(part) else []
        if len(labels) != 1:
            choices = ", ".join(map(str, _values(frame["restriction"])))
            raise ValidationError("restriction", f"{restriction!r} "
                                  f"{'names several restrictions' if labels else 'is unknown'}"
                                  f"; choose one of {choices}")
    usage = part["usage"].to_numpy(dtype="float64")
    usage = usage[~np.isnan(usage)]
    if not len(usage):
        return no_data_figure(what, "this restriction is not measurable from the action "
                              "summary", promotion)
    unlimited = bool(part["unlimited"].iloc[0])
    limit = None if unlimited or pd.isna(part["limit"].iloc[0]) else float(part["limit"].iloc[0])
    unit = str(part["unit"].iloc[0])
    top = max(float(usage.max()), limit or 0.0)
    if unit == "count" and top <= 100:
        edges = np.arange(-0.5, top + 1.5)
    else:
        edges = np.linspace(0.0, top if top > 0 else 1.0, bins + 1)
    counts, edges = np.histogram(usage, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(
        x=_num(pd.Series(centres)), y=counts.tolist(), width=_num(pd.Series(np.diff(edges))),
        marker_color=OKABE_ITO[0], customdata=np.column_stack([edges[:-1], edges[1:]]).tolist(),
        hovertemplate=("%{customdata[0]:,.2f} to %{customdata[1]:,.2f}: %{y:,} customers"
                       "<extra></extra>")))
    levels = part["measurability"].value_counts(sort=False)
    levels = levels[levels > 0]
    parts = [f"{_MEASURABILITY_TEXT.get(k, k)} for {v:,} customers" for k, v in levels.items()]
    if limit is not None:
        at_cap = int((usage >= limit).sum())
        parts.append(f"{at_cap:,} at or over the cap")
        for mark, dash, text in ((0.8 * limit, "dash", "80%"), (limit, "solid", "limit")):
            fig.add_vline(x=mark, line=dict(color=_MARK_COLOUR, dash=dash, width=1.5),
                          annotation=dict(text=f"{text} ({mark:,.6g})",
                                          font=dict(color=_MARK_COLOUR)),
                          annotation_position="top")
    else:
        parts.append("no limit")
    fig.update_layout(
        template=TEMPLATE, showlegend=False, bargap=0.05,
        title=_title(what, promotion, "Usage " + "; ".join(parts)),
        xaxis=dict(title=dict(text=f"Usage per customer ({_esc(unit)})"), rangemode="tozero"),
        yaxis=dict(title=dict(text="Customers"), rangemode="tozero"))
    return fig


# -- portfolio -----------------------------------------------------------------------------------

def budget_burn_chart(frame: pd.DataFrame, *, program: Any = None) -> go.Figure:
    """Budget burn of every promotion of :func:`capnb.analysis.portfolio_frame`.

    Per promotion (in the frame's order, riskiest first): a bar for the share of the most used
    promotion-wide budget and one for the share of the promotion's time elapsed. A budget bar
    longer than the time bar burns faster than time passes (risk > 1). Promotions without a
    measured budget are listed with a label, never hidden.
    """
    _check_frame(frame, ("promotion_id", "name", "status", "budget_used_share",
                         "time_elapsed_share", "risk", "days_left", "note"))
    what = "Budget burn"
    if frame.empty:
        return no_data_figure(what, "the program has no promotions", program)
    frame = frame.reset_index(drop=True)
    labels = [f"{_esc(row.name)} ({row.promotion_id})" for row in frame.itertuples()]
    hover = [
        "<br>".join([f"<b>{_esc(row.name)}</b> ({_esc(row.status)})",
                     "Budget used: " + ("—" if pd.isna(row.budget_used_share)
                                        else f"{row.budget_used_share:.1%}"),
                     "Time elapsed: " + ("—" if pd.isna(row.time_elapsed_share)
                                         else f"{row.time_elapsed_share:.1%}"),
                     "Risk: " + ("—" if pd.isna(row.risk) else f"{row.risk:.2f}"),
                     "Days left: " + ("—" if pd.isna(row.days_left)
                                      else f"{row.days_left:,.0f}"),
                     _wrap(row.note)])
        for row in frame.itertuples()]
    fig = go.Figure()
    for column, name, colour in (("budget_used_share", "budget used", OKABE_ITO[5]),
                                 ("time_elapsed_share", "time elapsed", OKABE_ITO[4])):
        values = frame[column].astype("float64")
        idx = np.flatnonzero(values.notna())
        fig.add_bar(x=_num(values.iloc[idx]), y=[labels[i] for i in idx], orientation="h",
                    name=name, marker_color=colour, hovertext=[hover[i] for i in idx],
                    hoverinfo="text")
    idx = np.flatnonzero(frame["budget_used_share"].isna())
    if len(idx):
        fig.add_scatter(x=[0.0] * len(idx), y=[labels[i] for i in idx], mode="markers+text",
                        text=["budget not measured"] * len(idx), textposition="middle right",
                        name="no budget share", marker=dict(symbol="circle-open", size=9,
                                                            color="#777777"),
                        textfont=dict(color="#555555"), hovertext=[hover[i] for i in idx],
                        hoverinfo="text")
    fig.add_vline(x=1.0, line=dict(color=_MARK_COLOUR, width=1.5),
                  annotation=dict(text="100%", font=dict(color=_MARK_COLOUR)),
                  annotation_position="top")
    fig.update_layout(
        template=TEMPLATE, barmode="group", height=180 + 56 * len(frame),
        title=_title(what, program, "Most used promotion-wide budget against time elapsed; "
                     "riskiest promotion first"),
        xaxis=dict(title=dict(text="Share used or elapsed (%)"), tickformat=".0%",
                   range=[0, max(1.1, float(np.nanmax(frame[["budget_used_share",
                                                           "time_elapsed_share"]]
                                                    .astype("float64").to_numpy(),
                                                    initial=0.0)) * 1.05)]),
        yaxis=dict(title=dict(text="Promotion"), type="category", autorange="reversed",
                   categoryorder="array", categoryarray=labels))
    return fig
