"""Plotly figures of the frames :mod:`capnb.analysis.benefits` and :mod:`capnb.analysis.limits`
return; never shown, only returned.

Every builder takes an *aggregated* frame (a customer-level frame is binned here first), so a
figure's size does not grow with the cohort. All figures use the ``"capnb"`` template of
:mod:`capnb.reports.chart_style` (``plotly_white``, the Okabe-Ito colour-blind-safe palette, no
fixed width, title and legend placed so they never overlap), say what they show and for which
promotion in the title, carry units in the axis titles, draw only the kinds of benefit the
frame holds, and turn an empty input into a figure that says "No data" (and what was not
issued) instead of raising. Drawn for a single customer, legends and notes speak of "this
customer". Text that comes from the API (promotion names, activity,
action and category ids) is HTML-escaped, since plotly renders a subset of HTML in text.
Figures are deterministic: the same frame gives the same JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capnb.errors import ValidationError
from capnb.models import PROMOTION_SOURCE_V3
from capnb.reports.chart_style import (
    MARK_COLOUR,
    MEASURABILITY_COLOURS,
    OKABE_ITO,
    TEMPLATE,
    check_frame,
    error_bars,
    esc,
    no_data_figure,
    num,
    title,
    wrap,
)
from capnb.reports.issual_charts import issual_timeline_chart
from capnb.reports.limit_charts import customer_utilisation_histogram, utilisation_chart

__all__ = [
    "MEASURABILITY_COLOURS",
    "OKABE_ITO",
    "TEMPLATE",
    "budget_burn_chart",
    "customer_utilisation_histogram",
    "issual_timeline_chart",
    "issuance_chart",
    "no_data_figure",
    "points_chart",
    "recency_chart",
    "timeline_chart",
    "utilisation_chart",
]


_ESTIMATED = ("Estimates for every customer from a random sample, whiskers their 95% intervals; "
              "share = customers reached / all customers")

# -- issuance and points -------------------------------------------------------------------------

_KIND = {"action": "Incentives", "activity_id": "Incentives", "action_id": "Incentives",
         "points_category": "Points issuances", "currency_name": "Currency issuances"}
_NONE = {"action": "incentive", "activity_id": "incentive", "action_id": "incentive",
         "points_category": "points", "currency_name": "alternate currency"}
_LABEL = {"action": "Action", "activity_id": "Activity", "action_id": "Action id",
          "points_category": "Points category", "currency_name": "Currency"}


def issuance_chart(counts: pd.DataFrame, *, promotion: Any = None,
                   value: str = "issued") -> go.Figure:
    """Issued (or customers reached) per group: :func:`capnb.analysis.issuance_counts` bars.

    With two or more ``by`` columns the first is the x axis and the others colour the bars.
    ``value`` is ``"issued"`` or ``"customers"``.
    """
    check_frame(counts, ("customers", "issued", "share_of_cohort"), "counts")
    if value not in ("issued", "customers"):
        raise ValidationError("value", f"must be 'issued' or 'customers', got {value!r}")
    by = [c for c in counts.columns if c in _KIND]
    kind = _KIND[by[0]] if by else "Incentives"
    what = "Customers reached" if value == "customers" else f"{kind} issued"
    if counts.empty or not by:
        return no_data_figure(what, f"no {_NONE[by[0] if by else 'action']} was issued to the "
                              "fetched customers", promotion)
    x_col, colour_cols = by[0], by[1:]
    colour = (counts[colour_cols].astype("object").apply(
        lambda r: " / ".join(esc(v) for v in r), axis=1) if colour_cols
        else pd.Series([None] * len(counts), index=counts.index))
    fig = go.Figure()
    for group in pd.unique(colour):
        part = counts[colour.eq(group)] if group is not None else counts
        fig.add_bar(
            x=[esc(v) for v in part[x_col]], y=num(part[value]), name=group,
            error_y=error_bars(part, value),
            customdata=np.column_stack([num(part["customers"]), num(part["issued"]),
                                        num(part["share_of_cohort"])]).tolist(),
            hovertemplate=(f"{_LABEL[x_col]}: %{{x}}<br>Issued: %{{customdata[1]:,}}<br>"
                           "Customers reached: %{customdata[0]:,}<br>Share of cohort: "
                           "%{customdata[2]:.1%}<extra>%{fullData.name}</extra>"))
    unit = "customers" if value == "customers" else "count"
    fig.update_layout(
        template=TEMPLATE, barmode="group", showlegend=bool(colour_cols),
        title=title(what, promotion, _ESTIMATED if "issued_low" in counts.columns else
                    "Lifetime counts since 2025-06-12; share = customers reached / fetched "
                    "customers"),
        xaxis=dict(title=dict(text=_LABEL[x_col]), type="category"),
        yaxis=dict(title=dict(text=f"{what} ({unit})"), rangemode="tozero"),
        legend=dict(title=dict(text=" / ".join(_LABEL[c] for c in colour_cols))))
    return fig


def points_chart(summary: pd.DataFrame, *, promotion: Any = None) -> go.Figure:
    """Points by category and alternate currencies by currency: :func:`points_summary` totals.

    One panel per kind the summary holds (points, currencies or both); the subtitle names a kind
    that was not issued instead of drawing an empty panel.
    """
    check_frame(summary, ("kind", "name", "total", "customers"), "summary")
    what = "Points and currencies issued"
    if summary.empty:
        return no_data_figure(what, "no points or alternate currency issued to the fetched "
                              "customers", promotion)
    panels = [(kind, text, colour, axis, unit) for kind, text, colour, axis, unit in (
        ("points", "Points by category", OKABE_ITO[0], "Points category",
         "Points issued (points)"),
        ("currency", "Alternate currencies", OKABE_ITO[1], "Currency",
         "Issued (units of each currency)")) if (summary["kind"] == kind).any()]
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.14,
                        subplot_titles=[p[1] for p in panels] if len(panels) > 1 else None)
    for col, (kind, _, colour, axis, unit) in enumerate(panels, start=1):
        part = summary[summary["kind"] == kind]
        stats = np.column_stack([num(part[c]) for c in (
            "customers", "share_of_cohort", "mean_per_customer", "median_per_customer",
            "p90_per_customer")]).tolist()
        fig.add_bar(x=[esc(v) for v in part["name"]], y=num(part["total"]),
                    marker_color=colour, name=kind, customdata=stats, row=1, col=col,
                    error_y=error_bars(part, "total"),
                    hovertemplate=("%{x}: %{y:,.2f} issued<br>Customers: %{customdata[0]:,} "
                                   "(%{customdata[1]:.1%} of cohort)<br>Per customer: mean "
                                   "%{customdata[2]:,.2f}, median %{customdata[3]:,.2f}, p90 "
                                   "%{customdata[4]:,.2f}<extra></extra>"))
        fig.update_xaxes(type="category", title_text=axis, row=1, col=col)
        fig.update_yaxes(title_text=unit, rangemode="tozero", row=1, col=col)
    missing = [text for kind, text in (("points", "no points"),
                                       ("currency", "no alternate currency"))
               if kind not in {p[0] for p in panels}]
    subtitle = ("Estimated totals for every customer from a random sample, whiskers their "
                "95% intervals" if "total_low" in summary.columns
                else "Lifetime totals since 2025-06-12") + (
        f"; {missing[0]} issued to the fetched customers" if missing else "")
    fig.update_layout(template=TEMPLATE, showlegend=False, height=450,
                      title=title(what, promotion, subtitle))
    return fig


# -- time ----------------------------------------------------------------------------------------

_TIMELINE_KINDS = {"incentives": "Incentives", "points": "Points",
                   "currency": "Alternate currencies", "any": "Any benefit"}


def _axis_x(ms: np.ndarray) -> dict[str, Any]:
    """x of a trace on a date axis: ``x0``/``dx`` when evenly spaced (small JSON), else ``x``."""
    steps = np.diff(ms)
    if len(ms) > 1 and (steps == steps[0]).all():
        return {"x0": float(ms[0]), "dx": float(steps[0])}
    return {"x": ms.astype("float64")}


def _translucent(colour: str) -> str:
    """``#RRGGBB`` as a 20%-opaque ``rgba``."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.2)"


def timeline_chart(frame: pd.DataFrame, *, promotion: Any = None,
                   max_periods: int = 1000) -> go.Figure:
    """Bars of customers per period of their *last* issuance, lines of the cumulative share.

    Takes :func:`capnb.analysis.benefits.timeline`: one panel per kind of benefit it holds
    (incentives, points, alternate currencies), one colour per benefit (action, category,
    currency). The x axis title names its timezone. More than ``max_periods`` periods (an hourly
    timeline over years) give a figure asking for a coarser period instead of a multi-megabyte
    one. Traces are sent as typed arrays over evenly spaced periods, so the figure stays small.
    """
    check_frame(frame, ("period", "kind", "benefit", "customers_last_issued",
                        "cumulative_share"))
    what = "Customers by period of their last issuance"
    period = frame["period"]
    tz = str(getattr(period.dtype, "tz", "UTC"))
    dated = frame[period.notna()]
    if dated.empty:
        reason = ("nothing was issued to the fetched customers" if frame.empty
                  else "no issuance with a date among the fetched customers")
        return no_data_figure(what, reason, promotion)
    periods = dated["period"].nunique()
    if periods > max_periods:
        return no_data_figure(what, f"{periods:,} periods are too many to draw; choose a "
                              "coarser period (week or month)", promotion)
    local = dated["period"].dt.tz_localize(None)
    fmt = "%Y-%m-%d" if (local == local.dt.normalize()).all() else "%Y-%m-%d %H:%M"
    ms = local.astype("datetime64[ms]").astype("int64").to_numpy(dtype="float64")
    kinds = [k for k in _TIMELINE_KINDS if (dated["kind"] == k).any()]
    estimated = "cumulative_share_low" in frame.columns
    # Row 1 is the bottom panel, so ``layout.xaxis`` is the one with the ticks and the title.
    fig = make_subplots(rows=len(kinds), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        specs=[[{"secondary_y": True}]] * len(kinds), start_cell="bottom-left",
                        subplot_titles=[_TIMELINE_KINDS[k] for k in reversed(kinds)]
                        if kinds != ["any"] else None)
    colour = 0
    for row, kind in zip(range(len(kinds), 0, -1), kinds, strict=True):
        in_kind = (dated["kind"] == kind).to_numpy()
        part, part_ms = dated[in_kind], ms[in_kind]
        for benefit, group in part.groupby("benefit", dropna=False, sort=False):
            name = "any benefit" if kind == "any" else esc(benefit)
            at = (part["benefit"].isna() if pd.isna(benefit) else part["benefit"] == benefit)
            x = _axis_x(part_ms[at.to_numpy()])
            tint = OKABE_ITO[colour % len(OKABE_ITO)]
            colour += 1
            legend = dict(legendgroup=f"{kind}: {name}", meta=kind)  # bar + line toggle
            fig.add_bar(**x, y=group["customers_last_issued"].to_numpy(dtype="int32"),
                        name=name, marker_color=tint, row=row, col=1, secondary_y=False,
                        error_y=error_bars(group, "customers_last_issued", light=True),
                        **legend, hovertemplate=(f"{name}<br>%{{x|{fmt}}}: %{{y:,}} customers "
                                                 "last issued<extra></extra>"))
            fig.add_scatter(**x, y=group["cumulative_share"].to_numpy(dtype="float32"),
                            name=f"{name}: cumulative", mode="lines", line_shape="hv",
                            line=dict(color=tint, width=2), showlegend=False, row=row, col=1,
                            secondary_y=True, **legend,
                            hovertemplate=(f"{name}<br>up to %{{x|{fmt}}}: %{{y:.1%}} of the "
                                           "cohort<extra></extra>"))
            if estimated:  # the cumulative share's 95% interval, as a band
                for end, fill in (("low", None), ("high", "tonexty")):
                    fig.add_scatter(**x, y=group[f"cumulative_share_{end}"].to_numpy(
                        dtype="float32"), mode="lines", line=dict(width=0, shape="hv"),
                        fill=fill, fillcolor=_translucent(tint), showlegend=False,
                        hoverinfo="skip", row=row, col=1, secondary_y=True, **legend)
        fig.update_yaxes(title_text="Customers", rangemode="tozero", row=row, col=1,
                         secondary_y=False)
        fig.update_yaxes(title_text="Cumulative share", tickformat=".0%", range=[0, 1.05],
                         dtick=0.2, showgrid=False, row=row, col=1, secondary_y=True)
    undated = int(frame.loc[period.isna(), "customers_last_issued"].sum())
    subtitle = ("Each customer counted once per benefit, at their latest issuance of it, not "
                "every event; bars: customers last issued in the period; lines: cumulative "
                "share of the cohort (right axis)" + (
                    "; estimates for every customer from a random sample, whiskers and bands "
                    "their 95% intervals" if estimated else "")
                + (f". {undated:,} customer(s) with no issuance time are not shown"
                   if undated else ""))
    fig.update_layout(template=TEMPLATE, barmode="stack", height=280 + 200 * len(kinds),
                      title=title(what, promotion, subtitle))
    fig.update_xaxes(type="date")
    fig.update_xaxes(title_text=f"Period of last issuance (start, {esc(tz)})", row=1, col=1)
    return fig


_BUCKET_TEXT = {"today": "< 1 day", "1_7d": "1–7 days", "7_30d": "7–30 days",
                "30_90d": "30–90 days", "older": "≥ 90 days", "after_as_of": "after as_of",
                "no_date": "no date", "no_issuance": "no issuance"}


def recency_chart(frame: pd.DataFrame, *, promotion: Any = None) -> go.Figure:
    """Bars of :func:`capnb.analysis.benefits.recency`: customers by age of their last issuance."""
    check_frame(frame, ("bucket", "customers", "share_of_cohort", "as_of"))
    what = "Time since last issuance"
    if frame.empty or not frame["customers"].fillna(0).sum():
        return no_data_figure(what, "no fetched customers", promotion)
    as_of = frame["as_of"].iloc[0]
    grey = {"after_as_of", "no_date", "no_issuance"}
    fig = go.Figure(go.Bar(
        x=[_BUCKET_TEXT.get(b, esc(b)) for b in frame["bucket"]], y=num(frame["customers"]),
        marker_color=["#999999" if b in grey else OKABE_ITO[0] for b in frame["bucket"]],
        customdata=num(frame["share_of_cohort"]), error_y=error_bars(frame, "customers"),
        hovertemplate="%{x}: %{y:,} customers (%{customdata:.1%} of cohort)<extra></extra>"))
    fig.update_layout(
        template=TEMPLATE, showlegend=False,
        title=title(what, promotion, f"Age of each customer's latest issuance of any benefit "
                     f"at {as_of:%Y-%m-%d %H:%M} UTC" + (
                         "; estimates for every customer from a random sample, whiskers their "
                         "95% intervals" if "customers_low" in frame.columns else "")),
        xaxis=dict(title=dict(text="Time from last issuance to as_of (days)"), type="category"),
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
    check_frame(frame, ("promotion_id", "name", "status", "budget_used_share",
                         "time_elapsed_share", "risk", "days_left", "note"))
    what = "Budget burn"
    if frame.empty:
        return no_data_figure(what, "the program has no promotions", program)
    frame = frame.reset_index(drop=True)
    labels = [f"{esc(row.name)} ({row.promotion_id})" for row in frame.itertuples()]
    hover = [
        "<br>".join([f"<b>{esc(row.name)}</b> ({esc(row.status)})",
                     "Budget used: " + ("—" if pd.isna(row.budget_used_share)
                                        else f"{row.budget_used_share:.1%}"),
                     "Time elapsed: " + ("—" if pd.isna(row.time_elapsed_share)
                                         else f"{row.time_elapsed_share:.1%}"),
                     "Risk: " + ("—" if pd.isna(row.risk) else f"{row.risk:.2f}"),
                     "Days left: " + ("—" if pd.isna(row.days_left)
                                      else f"{row.days_left:,.0f}"),
                     wrap(row.note)])
        for row in frame.itertuples()]
    fig = go.Figure()
    for column, name, colour in (("budget_used_share", "budget used", OKABE_ITO[5]),
                                 ("time_elapsed_share", "time elapsed", OKABE_ITO[4])):
        shares = frame[column].astype("float64")
        idx = np.flatnonzero(shares.notna())
        fig.add_bar(x=num(shares.iloc[idx]), y=[labels[i] for i in idx], orientation="h",
                    name=name, marker_color=colour, hovertext=[hover[i] for i in idx],
                    hoverinfo="text")
    idx = np.flatnonzero(frame["budget_used_share"].isna())
    if len(idx):
        fig.add_scatter(x=[0.0] * len(idx), y=[labels[i] for i in idx], mode="markers+text",
                        text=["limits unknown (new UI)" if source == PROMOTION_SOURCE_V3
                              else "budget not measured"
                              for source in frame.get("source", pd.Series(
                                  [None] * len(frame))).iloc[idx]],
                        textposition="middle right",
                        name="no budget share", marker=dict(symbol="circle-open", size=9,
                                                            color="#777777"),
                        textfont=dict(color="#555555"), hovertext=[hover[i] for i in idx],
                        hoverinfo="text")
    fig.add_vline(x=1.0, line=dict(color=MARK_COLOUR, width=1.5),
                  annotation=dict(text="100%", font=dict(color=MARK_COLOUR)),
                  annotation_position="top")
    fig.update_layout(
        template=TEMPLATE, barmode="group", height=180 + 56 * len(frame),
        title=title(what, program, "Most used promotion-wide budget against time elapsed; "
                     "riskiest promotion first"),
        xaxis=dict(title=dict(text="Share used or elapsed (%)"), tickformat=".0%",
                   range=[0, max(1.1, float(np.nanmax(frame[["budget_used_share",
                                                           "time_elapsed_share"]]
                                                    .astype("float64").to_numpy(),
                                                    initial=0.0)) * 1.05)]),
        yaxis=dict(title=dict(text="Promotion"), type="category", autorange="reversed",
                   categoryorder="array", categoryarray=labels))
    return fig
