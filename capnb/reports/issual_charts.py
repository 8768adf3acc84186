"""The plotly figure of the exact issual series (:func:`capnb.analysis.issual_timeline`,
``timeline(..., source="issuals")``), re-exported by :mod:`capnb.reports.charts`; never shown,
only returned. Same template and conventions as the other charts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from capnb.reports.chart_style import OKABE_ITO, TEMPLATE, check_frame, esc, no_data_figure, title

__all__ = ["issual_timeline_chart"]


def issual_timeline_chart(frame: pd.DataFrame, *, promotion: Any = None,
                          max_periods: int = 1000) -> go.Figure:
    """Bars of every issual per period and of enrolments, a line of the cumulative issuals.

    Takes :func:`capnb.analysis.issuals.issual_timeline` (or ``timeline(...,
    source="issuals")``): a true count of every issual promotionData's timelines list, for the
    customers whose answers carried them (named in the subtitle). An empty frame gives a figure
    saying that no answer carried timelines.
    """
    check_frame(frame, ("period", "issuals", "enrolments", "cumulative_issuals",
                        "customers_measured"))
    what = "Every issual per period"
    dated = frame[frame["period"].notna()]
    if dated.empty:
        return no_data_figure(what, "no promotionData answer carried customerPromotionTimelines "
                              "for this promotion", promotion)
    if len(dated) > max_periods:
        return no_data_figure(what, f"{len(dated):,} periods are too many to draw; choose a "
                              "coarser period (week or month)", promotion)
    tz = str(getattr(frame["period"].dtype, "tz", "UTC"))
    local = dated["period"].dt.tz_localize(None)
    fmt = "%Y-%m-%d" if (local == local.dt.normalize()).all() else "%Y-%m-%d %H:%M"
    x = local.astype("datetime64[ms]").astype("int64").to_numpy(dtype="float64")
    fig = go.Figure()
    fig.add_bar(x=x, y=dated["issuals"].to_numpy(dtype="int32"), name="issuals",
                marker_color=OKABE_ITO[0],
                hovertemplate=f"%{{x|{fmt}}}: %{{y:,}} issuals<extra></extra>")
    fig.add_bar(x=x, y=dated["enrolments"].to_numpy(dtype="int32"), name="enrolments",
                marker_color=OKABE_ITO[1],
                hovertemplate=f"%{{x|{fmt}}}: %{{y:,}} enrolments<extra></extra>")
    fig.add_scatter(x=x, y=dated["cumulative_issuals"].to_numpy(dtype="float64"),
                    name="cumulative issuals", mode="lines", line_shape="hv", yaxis="y2",
                    line=dict(color=OKABE_ITO[2], width=2),
                    hovertemplate=f"up to %{{x|{fmt}}}: %{{y:,}} issuals<extra></extra>")
    measured = int(frame["customers_measured"].iloc[0])
    undated = int(frame.loc[frame["period"].isna(), "issuals"].sum())
    subtitle = (f"Every issual and enrolment in promotionData's timelines of {measured:,} "
                "customer(s), not only the last; bars: per period; line: cumulative issuals "
                "(right axis)" + (f". {undated:,} issual(s) without a date are not shown"
                                  if undated else ""))
    fig.update_layout(template=TEMPLATE, barmode="group", height=460,
                      title=title(what, promotion, subtitle),
                      xaxis=dict(type="date", title_text=f"Period (start, {esc(tz)})"),
                      yaxis=dict(title_text="Count", rangemode="tozero"),
                      yaxis2=dict(title_text="Cumulative issuals", overlaying="y", side="right",
                                  rangemode="tozero", showgrid=False, tickmode="auto",
                                  tickformat=",d"))  # round ticks, not the left grid's
    return fig
