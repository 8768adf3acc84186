"""Plotly figures of :func:`capnb.analysis.utilisation` and
:func:`capnb.analysis.customer_utilisation`: how much of each limit is used, and customers per
usage level of one restriction. Re-exported by :mod:`capnb.reports.charts` (import them from
there), with its conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from capnb.analysis.population import Scale, scale_of_rows
from capnb.errors import ValidationError
from capnb.labels import restriction_label
from capnb.reports.chart_style import (
    MARK_COLOUR,
    MEASURABILITY_COLOURS,
    MEASURABILITY_TEXT,
    OKABE_ITO,
    TEMPLATE,
    check_frame,
    error_bars,
    esc,
    interval_hover,
    matches,
    no_data_figure,
    num,
    title,
    values,
    wrap,
)

__all__ = ["customer_utilisation_histogram", "utilisation_chart"]


def utilisation_chart(frame: pd.DataFrame, *, promotion: Any = None,
                      single_customer: bool | None = None) -> go.Figure:
    """Share of the limit used, one bar per restriction of :func:`capnb.analysis.utilisation`.

    The bar is the cohort total (promotion-wide caps) or the 90th-percentile customer
    (per-customer and per-event caps), a diamond the median customer; dashed and solid lines
    mark 80 % and 100 %. Colour = measurability; not-measurable and unlimited restrictions are
    listed with a label, never hidden. Hover shows the note.

    For a single customer (``single_customer``; None: when no restriction measured more than
    one customer) the bar is "this customer" and there is no median.
    """
    check_frame(frame, ("restriction", "name", "family", "scope", "measurability",
                         "share_of_limit", "share_median", "limit", "unlimited", "note"))
    what = "Restriction utilisation"
    if frame.empty:  # a new-UI promotion's note says why it has none (limits[] undocumented)
        note = getattr(promotion, "restrictions_note", None)
        reason = (note.removeprefix("No restrictions: ").rstrip(".") if note
                  else "the promotion has no restrictions or limits")
        return no_data_figure(what, reason, promotion)
    frame = frame.reset_index(drop=True)
    if single_customer is None:
        measured = (frame["customers_measured"].astype("Float64").max()
                    if "customers_measured" in frame else pd.NA)
        single_customer = not pd.isna(measured) and measured == 1
    labels = _axis_labels(frame["restriction"])
    spans = {c: interval_hover(frame, c, share=c.startswith("share"))
             for c in ("share_of_limit", "customers_at_cap", "customers_near_cap",
                       "customers_over_cap")}
    estimated = "share_of_limit_low" in frame.columns  # a random sample's estimates
    hover = []
    for i, (label, row) in enumerate(zip(labels, frame.itertuples(index=False), strict=True)):
        limit = "no limit" if row.unlimited else (
            "—" if pd.isna(row.limit) else f"{int(row.limit):,} {esc(getattr(row, 'unit', ''))}")
        lines = [f"<b>{label}</b>", f"{esc(row.name)} ({esc(row.family)}, {esc(row.scope)})",
                 f"Limit: {limit}",
                 f"Measurability: {MEASURABILITY_TEXT.get(row.measurability, row.measurability)}"]
        if not pd.isna(row.share_of_limit):
            who = ("this customer" if single_customer else "cohort total"
                   if row.scope == "promotion" else "90th-percentile customer")
            who = "total of all customers" if estimated and row.scope == "promotion" else who
            lines.append(f"{who}: {row.share_of_limit:.1%}{spans['share_of_limit'][i]} of the "
                         "limit")
        for col, text in (("customers_at_cap", "Customers at cap"),
                          ("customers_near_cap", "Customers ≥ 80% of cap"),
                          ("customers_over_cap", "Customers over cap")):
            value = getattr(row, col, pd.NA)
            if not pd.isna(value) and not single_customer:
                lines.append(f"{text}: {int(value):,}{spans[col][i]}")
        lines.append(wrap(row.note))
        hover.append("<br>".join(lines))
    share = frame["share_of_limit"].astype("float64")
    fig = go.Figure()
    for level, colour in MEASURABILITY_COLOURS.items():
        mask = frame["measurability"].eq(level) & share.notna()
        if mask.any():
            fig.add_bar(x=num(share[mask]), y=[labels[i] for i in np.flatnonzero(mask)],
                        orientation="h", marker_color=colour, name=MEASURABILITY_TEXT[level],
                        hovertext=[hover[i] for i in np.flatnonzero(mask)],
                        hoverinfo="text", error_x=error_bars(frame[mask], "share_of_limit"))
    median = frame["share_median"].astype("float64")
    if median.notna().any() and not single_customer:
        idx = np.flatnonzero(median.notna())
        fig.add_scatter(x=num(median.iloc[idx]), y=[labels[i] for i in idx], mode="markers",
                        marker=dict(symbol="diamond", size=10, color="#000000"),
                        name="median customer", hovertext=[hover[i] for i in idx],
                        hoverinfo="text", error_x=error_bars(frame.iloc[idx], "share_median"))
    idx = np.flatnonzero(share.isna())
    if len(idx):
        text = ["no limit (-1)" if frame["unlimited"].iloc[i] and frame["measurability"].iloc[i]
                != "not_measurable" else "not measurable" for i in idx]
        fig.add_scatter(x=[0.0] * len(idx), y=[labels[i] for i in idx], mode="markers+text",
                        text=text, textposition="middle right", name="no share",
                        marker=dict(symbol="circle-open", size=9, color="#777777"),
                        textfont=dict(color="#555555"), hovertext=[hover[i] for i in idx],
                        hoverinfo="text")
    highest = frame["share_of_limit_high"].astype("float64") if estimated else share
    top = max(1.1, float(np.nanmax(highest.to_numpy())) * 1.05 if highest.notna().any()
              else 1.1)
    for mark, dash in ((0.8, "dash"), (1.0, "solid")):
        fig.add_vline(x=mark, line=dict(color=MARK_COLOUR, dash=dash, width=1.5),
                      annotation=dict(text=f"{mark:.0%}", font=dict(color=MARK_COLOUR)),
                      annotation_position="top")
    fig.update_layout(
        template=TEMPLATE, barmode="overlay", height=180 + 42 * len(frame),
        title=title(what, promotion, "Bar: this customer's usage as a share of each limit; hover "
                    "for how each was measured" if single_customer else "Estimates for every "
                    "customer from a random sample, whiskers their 95% intervals. Bar: the total "
                    "(promotion caps) or 90th-percentile customer (per-customer caps); ◆ median "
                    "customer" if estimated else "Bar: cohort total (promotion caps) or "
                    "90th-percentile customer (per-customer caps); ◆ median customer; hover for "
                    "how each was measured"),
        xaxis=dict(title=dict(text="Share of limit used (%)"), tickformat=".0%",
                   range=[0, top]),
        yaxis=dict(title=dict(text="Restriction"), type="category", autorange="reversed",
                   categoryorder="array", categoryarray=labels))
    return fig


def _axis_labels(restrictions: pd.Series) -> list[str]:
    """Restrictions in words ("Incentives per customer"), the API names if two would read the
    same; escaped."""
    words = [restriction_label(r) for r in restrictions]
    if len(set(words)) < len(words):
        words = [str(r) for r in restrictions]
    return [esc(w) for w in words]


def customer_utilisation_histogram(frame: pd.DataFrame, restriction: str, *,
                                   promotion: Any = None, bins: int = 40) -> go.Figure:
    """Customers by usage of one restriction (:func:`capnb.analysis.customer_utilisation`).

    ``restriction`` is a value of the frame's ``restriction`` column (or a ``name`` that only
    one restriction has). The customers are binned here (integer bins for small counts), so the
    figure stays small for any cohort size; the limit and 80 % of it are drawn as lines.
    """
    check_frame(frame, ("restriction", "name", "usage", "limit", "unlimited",
                         "measurability", "unit"))
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 500:
        raise ValidationError("bins", f"must be an integer from 1 to 500, got {bins!r}")
    words = restriction_label(restriction)
    what = f"Per-customer usage: {esc(words)}"
    api_name = f"{esc(restriction)}: " if words != restriction else ""  # opens the subtitle
    if frame.empty:
        return no_data_figure(what, "no fetched customers", promotion)
    part = frame[matches(frame["restriction"], restriction)]
    if part.empty:
        part = frame[matches(frame["name"], restriction)]
        labels = values(part["restriction"]) if len(part) else []
        if len(labels) != 1:
            choices = ", ".join(map(str, values(frame["restriction"])))
            raise ValidationError("restriction", f"{restriction!r} "
                                  f"{'names several restrictions' if labels else 'is unknown'}"
                                  f"; choose one of {choices}")
    usage = part["usage"].to_numpy(dtype="float64")
    scale = scale_of_rows(part[~np.isnan(usage)])  # a random sample: estimate the counts
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
    bars = pd.DataFrame({"customers": counts})
    if scale is not None:
        bars = _estimated_bins(scale, usage, edges)
    fig = go.Figure(go.Bar(
        x=num(pd.Series(centres)), y=bars["customers"].tolist(),
        width=num(pd.Series(np.diff(edges))), error_y=error_bars(bars, "customers"),
        marker_color=OKABE_ITO[0], customdata=np.column_stack([edges[:-1], edges[1:]]).tolist(),
        hovertext=interval_hover(bars, "customers"),
        hovertemplate=("%{customdata[0]:,.2f} to %{customdata[1]:,.2f}: %{y:,} "
                       f"{'customer' if len(part) == 1 else 'customers'}%{{hovertext}}"
                       "<extra></extra>")))
    levels = part["measurability"].value_counts(sort=False)
    levels = levels[levels > 0]
    single = len(part) == 1
    if single:
        parts = [f"this customer: {usage[0]:,.6g} {esc(unit)} ("
                 f"{MEASURABILITY_TEXT.get(levels.index[0], levels.index[0])})"]
    else:
        parts = [f"{MEASURABILITY_TEXT.get(k, k)} for {v:,} customers"
                 for k, v in levels.items()]
    if scale is not None:
        parts = [f"estimates for every customer from a random sample of {len(usage):,}, "
                 "whiskers their 95% intervals"]
    if limit is not None:
        if scale is not None:
            estimate = scale.customers(usage >= limit)
            parts.append(f"{estimate.estimate:,.0f} ({estimate.low:,.0f}–{estimate.high:,.0f}) "
                         "at or over the cap")
        else:
            at_cap = int((usage >= limit).sum())
            parts.append(("at or over the cap" if at_cap else "under the cap") if single
                         else f"{at_cap:,} at or over the cap")
        for mark, dash, text in ((0.8 * limit, "dash", "80%"), (limit, "solid", "limit")):
            fig.add_vline(x=mark, line=dict(color=MARK_COLOUR, dash=dash, width=1.5),
                          annotation=dict(text=f"{text} ({mark:,.6g})",
                                          font=dict(color=MARK_COLOUR)),
                          annotation_position="top")
    else:
        parts.append("no limit")
    usage_text = ("usage of " if single else "usage ") + "; ".join(parts)
    subtitle = f"{api_name}{usage_text}" if api_name else "U" + usage_text[1:]
    fig.update_layout(
        template=TEMPLATE, showlegend=False, bargap=0.05,
        title=title(what, promotion, subtitle),
        xaxis=dict(title=dict(text=f"Usage {'of this customer' if single else 'per customer'} "
                              f"({esc(unit)})"), rangemode="tozero"),
        yaxis=dict(title=dict(text="This customer" if single else "Customers (estimated)"
                              if scale is not None else "Customers"),
                   rangemode="tozero", showticklabels=not single))
    return fig




def _estimated_bins(scale: Scale, usage: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    """Customers of the population per bin of ``edges``, with 95% intervals."""
    bins = np.clip(np.searchsorted(edges, usage, side="right") - 1, 0, len(edges) - 2)
    rows = [scale.customers(bins == b) for b in range(len(edges) - 1)]
    return pd.DataFrame({"customers": [round(r.estimate) for r in rows],
                         "customers_low": [r.low for r in rows],
                         "customers_high": [r.high for r in rows]})
