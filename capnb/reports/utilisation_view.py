"""The dashboard's utilisation part: the chart, its measurement notes, the restriction picker
and the per-customer histogram of the restriction picked.

:class:`UtilisationView` draws into the dashboard's figures and results (shared dicts), each
figure in one message (:func:`capnb.reports.traffic.replace_figure`); the histogram is redrawn
when another restriction is picked, not while a new cohort fills the picker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from capnb.analysis import limits
from capnb.fetch.cohort import Cohort
from capnb.models import Promotion
from capnb.reports import charts, tables
from capnb.reports.pickers import label_tooltip
from capnb.reports.traffic import replace_figure

__all__ = ["NO_PROMOTION", "UtilisationView"]

NO_PROMOTION = "no promotion configuration was given"


class UtilisationView:
    """Draws ``figures["utilisation"]`` and ``figures["customer_utilisation"]``, fills
    ``results`` of the same names, and owns :attr:`notes` and :attr:`restriction_dropdown`.

    ``subject()`` names what the charts are about (the promotion, or its id), ``lock`` is the
    dashboard's drawing lock.
    """

    def __init__(self, figures: dict[str, go.FigureWidget], results: dict[str, pd.DataFrame],
                 lock: threading.RLock, subject: Callable[[], Any]) -> None:
        self.figures, self.results, self._lock, self._subject = figures, results, lock, subject
        self.promotion: Promotion | None = None
        self._quiet = False
        self.notes = W.HTML("")
        self.restriction_dropdown = W.Dropdown(options=[], description="Restriction",
                                               style={"description_width": "initial"},
                                               layout=W.Layout(width="auto", min_width="40em"))
        self.restriction_dropdown.observe(self._on_restriction, names="value")
        self.restriction_dropdown.observe(label_tooltip, names="value")

    def load(self, promotion: Promotion | None, cohort: Cohort, as_of: Any) -> None:
        """A new cohort: the utilisation chart and notes, the picker, then the histogram."""
        self.promotion = promotion
        self._quiet = True
        try:
            self._load(promotion, cohort, as_of)
        finally:
            self._quiet = False
        self.draw_histogram()

    def _load(self, promotion: Promotion | None, cohort: Cohort, as_of: Any) -> None:
        if promotion is None:
            for key in ("utilisation", "customer_utilisation"):
                self.results.pop(key, None)
            replace_figure(self.figures["utilisation"], charts.no_data_figure(
                "Restriction utilisation", NO_PROMOTION))
            self.notes.value = ""
            self.restriction_dropdown.options = []
            return
        self.results["utilisation"] = limits.utilisation(promotion, cohort, as_of=as_of)
        self.results["customer_utilisation"] = limits.customer_utilisation(
            promotion, cohort, as_of=as_of)
        replace_figure(self.figures["utilisation"], charts.utilisation_chart(
            self.results["utilisation"], promotion=promotion))
        frame = self.results["utilisation"][["name", "measurability", "note"]]
        self.notes.value = tables.table(frame, kinds=dict.fromkeys(frame, "text"))._repr_html_()
        names = list(self.results["customer_utilisation"]["restriction"].cat.categories)
        table = self.results["utilisation"]
        measurable = table.loc[table["restriction"].isin(names)
                               & (table["measurability"] != "not_measurable"), "restriction"]
        self.restriction_dropdown.options = names
        # open on the first restriction there is something to draw for
        self.restriction_dropdown.value = (measurable.iloc[0] if len(measurable)
                                           else names[0] if names else None)

    def _on_restriction(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.draw_histogram()

    def draw_histogram(self) -> None:
        """The per-customer usage of the restriction picked (or why there is none)."""
        with self._lock:
            frame = self.results.get("customer_utilisation")
            name = self.restriction_dropdown.value
            if frame is None or name is None:
                reason = (NO_PROMOTION if self.promotion is None
                          else "no per-customer restriction")
                figure = charts.no_data_figure("Per-customer usage", reason, self._subject())
            else:
                figure = charts.customer_utilisation_histogram(frame, name,
                                                               promotion=self._subject())
            replace_figure(self.figures["customer_utilisation"], figure)
