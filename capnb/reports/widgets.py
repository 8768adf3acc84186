"""An ipywidgets dashboard for one promotion: fetch a cohort, filter it, watch the charts update.

:func:`dashboard` returns a :class:`Dashboard`, which displays itself in JupyterLab and exposes
every control and figure so the logic can be driven without a browser: set a control's
``.value`` (or click a button) and read ``app.figures[...]``, ``app.results[...]`` and
``app.message``. Callbacks never print (executed notebooks stay comparable); problems, API
errors included, appear as a readable line in ``app.message`` (:mod:`capnb.reports.status`).

Controls, from the top: a **program** picker and a **promotion** picker (with a ↻ button to list
them again), each beside the id box it fills (:mod:`capnb.reports.pickers`); the **customers**
box; the **sample** controls (:mod:`capnb.reports.running_estimate`); **Fetch**, **Cancel** and
the progress bar; the status line and the running estimate of a sample; then the filters (activity,
actions, date range, timezone, period; :mod:`capnb.reports.filters`) and the restriction picker
of the per-customer histogram.

This module owns the layout, the fetch and the figures. Fetching runs ``fetch_cohort`` in a
background thread; its ``on_progress`` moves the progress bar (throttled, exact at the end), its
``cancel`` event is the Cancel button (what was fetched is kept). Filters recompute from the
cohort, fetching nothing. A chart is redrawn at most once per action, in one message (traffic).
With a sample size or a precision target, Fetch draws a random sample and fetches it in rounds,
the line :attr:`Dashboard.estimate` showing the estimates and their narrowing 95% intervals after
each round (:attr:`Dashboard.running` keeps them); when it ends the charts show the
population's estimates, with their intervals.

The line above the charts (:attr:`Dashboard.showing`) says what they show: during a fetch or
after one that failed or was cancelled, the previous cohort (empty charts say why they are).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from capnb.analysis import benefits
from capnb.api.client import Client
from capnb.errors import CapnbError, ValidationError
from capnb.fetch.cohort import Cohort, FetchInterrupted
from capnb.fetch.inputs import read_customer_ids
from capnb.fetch.summaries import fetch_cohort
from capnb.models import Promotion
from capnb.reports import charts
from capnb.reports.customers import customer_source
from capnb.reports.filters import ALL_ACTIVITIES, action_options, activity_options, filter_cohort
from capnb.reports.pickers import Pickers
from capnb.reports.running_estimate import SampleMode, SampleSettings
from capnb.reports.status import StatusLine, banner
from capnb.reports.traffic import Throttle, figure_widget, replace_figure
from capnb.reports.utilisation_view import UtilisationView
from capnb.validation import check_as_of, check_id, check_tz

__all__ = ["FIGURES", "Dashboard", "dashboard"]

log = logging.getLogger("capnb")

FIGURES = ("issuance", "points", "timeline", "recency", "utilisation", "customer_utilisation")
"""Keys of :attr:`Dashboard.figures`, in display order."""
TIMEZONES = ("UTC", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Dubai",
             "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles")
_FILTERED = ("issuance", "points", "timeline", "recency")
_FILTER_NOTE = ("Activity and action filters apply to incentives (points and currencies carry no "
                "activity in the summary). The date range keeps benefits whose <i>last</i> "
                "issuance falls in it. Utilisation always uses the whole cohort.")


class Dashboard:
    """The app :func:`dashboard` builds. Display it, or drive it through its attributes.

    Attributes
    ----------
    program_picker : ipywidgets.Dropdown
        The org's programs, labelled ``"Name (id)"`` with the id as value; the default program
        is preselected unless ``program_id`` was given. Picking one writes its id into
        ``program_input`` and lists its promotions. Empty (value None) when the id in the box
        is not listed or listing failed.
    promotion_picker : ipywidgets.Dropdown
        The chosen program's promotions, labelled ``"Name (id) · TYPE · STATUS"`` with the id as
        value: live first, then other active ones, then the rest; newest start first within each
        group, then by name. ``promotion_id`` is preselected; nothing is otherwise. Picking one
        writes its id into ``promotion_input``.
    program_input, promotion_input : ipywidgets.Text
        The ids Fetch uses (the pickers only fill them). Typing an id selects it in its picker
        when listed; an unlisted id is still fetched (the status line notes it). Values are
        taken on Enter or when leaving the box; a new program id lists that program's
        promotions.
    reload_button : ipywidgets.Button
        Lists the programs and promotions again (:meth:`reload_lists`), e.g. after a network
        error.
    customers_input : ipywidgets.Textarea
        Customer ids separated by commas, spaces or new lines, or the path of a CSV/Parquet file
        with a ``customer_id`` column (empty: the ``customers`` given to :func:`dashboard`).
    sample_input, precision_input : ipywidgets.IntText, ipywidgets.FloatText
        Sample size (0: every customer) and precision target in percentage points (0: off).
    estimate : ipywidgets.HTML
        A sample fetch's running estimate, rewritten once per round.
    running : DataFrame
        Its rounds: ``round, fetched, figure, restriction, estimate, low, high, half_width,
        precision`` (one row per round and figure of ``population_estimates``).
    fetch_button, cancel_button : ipywidgets.Button
    progress : ipywidgets.IntProgress
    progress_text : ipywidgets.Label
        ``"done / total customers"``; with the bar, updated at most every ``progress_interval``
        seconds (0.2: far below JupyterLab's message rate limit) and exactly at the end.
    activity_dropdown : ipywidgets.Dropdown
    action_select : ipywidgets.SelectMultiple
        Nothing selected = every action.
    date_from, date_to : ipywidgets.DatePicker
    tz_input : ipywidgets.Combobox
    freq_dropdown, restriction_dropdown : ipywidgets.Dropdown
    message : ipywidgets.HTML
        The latest problem or status, in plain words (the widget of :attr:`status`).
    showing : ipywidgets.HTML
        Above the charts: what they show (promotion, customers), also during or after a fetch.
    status : capnb.reports.status.StatusLine
    pickers : capnb.reports.pickers.Pickers
        Owns the pickers, the id boxes and the ↻ button above.
    sampling, utilisation : running_estimate.SampleMode, utilisation_view.UtilisationView
        Own the sample controls and the running estimate; the utilisation chart and histogram.
    figures : dict of str -> plotly.graph_objects.FigureWidget
        Keys in :data:`FIGURES`; updated in place.
    results : dict of str -> DataFrame
        The analysis frames behind the figures.
    cohort : Cohort or None
    promotion : Promotion or None
    widget : ipywidgets.VBox
        The whole app.
    """

    def __init__(self, source: Client | Cohort, *, program_id: Any = None,
                 promotion_id: Any = None, customers: Any = None,
                 promotion: Promotion | None = None, as_of: Any = None, tz: str = "UTC",
                 workers: int | None = None, sample: int = 0, precision: float | None = None,
                 seed: int = 0) -> None:
        if not isinstance(source, Client | Cohort):
            raise ValidationError("source", "must be a capnb.Client (to fetch) or a "
                                  f"capnb.Cohort (offline), got {type(source).__name__}")
        if promotion is not None and not isinstance(promotion, Promotion):
            raise ValidationError("promotion", f"must be a capnb.Promotion or None, got "
                                  f"{type(promotion).__name__}")
        check_tz(tz)
        self.as_of = None if as_of is None else check_as_of(as_of)
        self.sampling = SampleMode(sample, precision, seed, self.as_of, isinstance(source, Cohort))
        self.sample_input, self.precision_input = (self.sampling.size_input,
                                                   self.sampling.precision_input)
        self.estimate = self.sampling.running.widget
        self.client = source if isinstance(source, Client) else None
        self.cohort: Cohort | None = source if isinstance(source, Cohort) else None
        self.promotion = promotion
        self.customers = customers
        self.workers = workers
        self.results: dict[str, pd.DataFrame] = {}
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._quiet = False
        self._stale: set[str] = set()
        self._lock = threading.RLock()  # the fetch thread and the analyst's callbacks draw
        self._progress, self._throttle = (0, 0), Throttle()
        self.progress_interval = 0.2
        offline = self.cohort is not None
        self.status = StatusLine()
        self.message = self.status.widget
        self.pickers = Pickers(self.status, client=self.client, cohort=self.cohort,
                               promotion=promotion, program_id=program_id,
                               promotion_id=promotion_id)
        self.program_picker, self.promotion_picker = (self.pickers.program_picker,
                                                      self.pickers.promotion_picker)
        self.program_input, self.promotion_input = (self.pickers.program_input,
                                                    self.pickers.promotion_input)
        self.reload_button = self.pickers.reload_button
        given = "" if customers is None else (f"{customers}" if isinstance(customers, str)
                                              else "")
        self.customers_input = W.Textarea(
            value=given, description="Customers", disabled=offline,
            placeholder=("ids separated by commas, spaces or new lines, or a CSV/Parquet path"
                         + (" (empty: the customers given to dashboard())"
                            if customers is not None and not given else "")),
            layout=W.Layout(width="100%", max_width="60em"))
        self.fetch_button = W.Button(description="Fetch", button_style="primary",
                                     icon="download", disabled=offline)
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="Fetched")
        self.progress_text = W.Label("")
        self.activity_dropdown = W.Dropdown(options=[ALL_ACTIVITIES], value=ALL_ACTIVITIES,
                                            description="Activity")
        self.action_select = W.SelectMultiple(options=[], description="Actions", rows=4)
        self.date_from = W.DatePicker(description="From")
        self.date_to = W.DatePicker(description="To")
        self.tz_input = W.Combobox(value=tz, options=TIMEZONES, ensure_option=False,
                                   continuous_update=False, description="Timezone")
        self.freq_dropdown = W.Dropdown(options=[("Day", "D"), ("Week", "W"), ("Month", "M"),
                                                 ("Hour", "h")], value="D",
                                        description="Period")
        self.showing = W.HTML("")
        self.figures: dict[str, go.FigureWidget] = {name: figure_widget() for name in FIGURES}
        self.utilisation = UtilisationView(self.figures, self.results, self._lock, self._subject)
        self.notes, self.restriction_dropdown = (self.utilisation.notes,
                                                 self.utilisation.restriction_dropdown)
        self.fetch_button.on_click(lambda _: self.fetch())
        self.cancel_button.on_click(lambda _: self.cancel())
        for control in (self.activity_dropdown, self.action_select, self.date_from,
                        self.date_to, self.tz_input, self.freq_dropdown):
            control.observe(self._on_filter, names="value")
        self.widget = W.VBox([
            *self.pickers.rows, self.customers_input, self.sampling.row,
            W.HBox([self.fetch_button, self.cancel_button, self.progress, self.progress_text]),
            self.message, self.estimate,
            W.HBox([self.activity_dropdown, self.action_select]),
            W.HBox([self.date_from, self.date_to, self.tz_input, self.freq_dropdown]),
            W.HTML(f"<small>{_FILTER_NOTE}</small>"), self.showing,
            self.figures["issuance"], self.figures["points"], self.figures["timeline"],
            self.figures["recency"], self.figures["utilisation"], self.notes,
            self.restriction_dropdown, self.figures["customer_utilisation"]])
        if offline:
            self._load(self.cohort, promotion)
        else:
            self._clear("fetch a cohort first")
            self.pickers.reload_lists()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def running(self) -> pd.DataFrame:
        """The running estimate's rounds (empty without a sample fetch)."""
        return self.sampling.running.frame

    def reload_lists(self) -> None:
        """List the programs and the chosen program's promotions again (the ↻ button; see
        :meth:`capnb.reports.pickers.Pickers.reload_lists`). Never raises."""
        self.pickers.reload_lists()

    # -- fetching --------------------------------------------------------------------------------

    def fetch(self) -> None:
        """Start fetching in the background (what the Fetch button does)."""
        if self.client is None or (self._thread is not None and self._thread.is_alive()):
            return
        try:
            program = check_id("program_id", self.program_input.value)
            promotion = check_id("promotion_id", self.promotion_input.value)
            source = customer_source(self.customers_input.value, self.customers)
            ids, _ = read_customer_ids(source)
            settings = self.sampling.settings(len(ids)) if ids else None
        except CapnbError as exc:
            self.status.say(f"Cannot fetch: {exc}", "error")
            return
        if not ids:
            self.status.say("Cannot fetch: no valid customer id was given.", "error")
            return
        self._cancel.clear()
        total = len(ids) if settings is None else settings.size or len(ids)
        with self._lock:
            if self.cohort is None:
                self._clear(f"fetching promotion {promotion}…")
            else:
                self.showing.value = banner(f"Fetching promotion {promotion}: until it ends, the "
                                            f"charts below still show {self._described()}.",
                                            "warning")
        self._throttle = Throttle(self.progress_interval)
        self._show_progress(0, total, force=True)
        self.progress.max = total
        self.fetch_button.disabled, self.cancel_button.disabled = True, False
        self.status.say(f"Fetching {total:,} customers of promotion {promotion}…"
                        if settings is None else settings.words(len(ids), promotion))
        if settings is None:
            self.sampling.running.clear()
        self._thread = threading.Thread(target=self._fetch, args=(program, promotion, source,
                                                                  total, settings),
                                        name="capnb-dashboard-fetch", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop the running fetch, keeping what was fetched (what the Cancel button does)."""
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()
            self.cancel_button.disabled = True
            self.status.say("Cancelling: finishing the requests already sent…", "warning")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background fetch ends; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _fetch(self, program: int, promotion_id: int, source: Any, total: int,
               settings: SampleSettings | None) -> None:
        try:
            promotion = self.client.promotion(program, promotion_id)
            kwargs = {"cancel": self._cancel, "on_progress": self._show_progress,
                      **({} if self.workers is None else {"workers": self.workers})}
            try:
                cohort = (fetch_cohort(self.client, source, program, promotion_id,
                                       progress=False, **kwargs) if settings is None else
                          self.sampling.fetch(self.client, source, (program, promotion_id),
                                              promotion, settings, **kwargs))
            except FetchInterrupted as exc:  # Cancel or a kernel interrupt: keep what came back
                cohort = exc.cohort
                self._cancel.set()
            self._show_progress(*self._progress, force=True)
            fetched = len(cohort.fetched_customer_ids)
            cancelled = self._cancel.is_set()
            if cancelled and not fetched:
                self._failed(promotion_id, "cancelled before any customer was fetched")
                self.status.say(f"Cancelled: no customer of promotion {promotion_id} was "
                                "fetched.", "warning")
                return
            with self._lock:
                self._load(cohort, promotion)
                if cancelled:
                    self.showing.value = banner(f"Fetch cancelled after {fetched:,} of {total:,} "
                                                f"customers: the charts show {self._described()}.",
                                                "warning")
            counts = cohort.status_counts()
            failed, invalid = int(counts["failed"] + counts["not_found"]), int(counts["invalid"])
            text = (f"Cancelled: {fetched:,} of {total:,} customers fetched; the charts show "
                    "those." if cancelled else f"Fetched {fetched:,} of {total:,} customers"
                    + ("." if settings is None else " in random order (the estimates "
                       "below)."))
            if failed or invalid:
                text += (f" {failed:,} not found or failed, {invalid:,} invalid ids "
                         "(see app.cohort.errors).")
            self.status.say(text, "warning" if cancelled or failed else "info")
        except CapnbError as exc:
            self._failed(promotion_id, "failed")
            self.status.say(f"Could not fetch promotion {promotion_id}: {exc}", "error")
        except Exception as exc:  # noqa: BLE001 - the app shows every failure, never a traceback
            log.exception("dashboard fetch failed")
            self._failed(promotion_id, "failed")
            self.status.say(f"Unexpected error while fetching: {type(exc).__name__}: {exc}",
                            "error")
        finally:
            self._show_progress(*self._progress, force=True)
            self.fetch_button.disabled, self.cancel_button.disabled = False, True

    def _show_progress(self, done: int, total: int, force: bool = False) -> None:
        """Move the progress bar, at most every ``progress_interval`` s (always at the end)."""
        self._progress = (done, total)
        if self._throttle.ready(force or done >= total):
            self.progress.value = done
            self.progress_text.value = f"{done:,} / {total:,} customers"

    def _failed(self, promotion_id: int, what: str) -> None:
        """A fetch that replaced nothing: say what the charts show instead."""
        with self._lock:
            if self.cohort is None:
                self._clear(f"the fetch of promotion {promotion_id} {what}")
                self.showing.value = ""
            else:
                self.showing.value = banner(f"The fetch of promotion {promotion_id} {what}: the "
                                            f"charts below still show {self._described()}.",
                                            "warning")

    def _described(self) -> str:
        """What the charts show, in plain words."""
        subject = self._subject()
        name = (f"{subject.name} ({subject.id})" if isinstance(subject, Promotion)
                and subject.name else f"promotion {self.cohort.promotion_id}")
        customers, design = self.cohort.customers, self.cohort.design
        if design is None:
            return f"{name}, {len(customers):,} customers"
        return (f"{name}, a random sample of {int(customers['status'].ne('invalid').sum()):,} "
                f"of {design.population_size:,} customers")

    # -- analysis --------------------------------------------------------------------------------

    def _load(self, cohort: Cohort, promotion: Promotion | None) -> None:
        """Take a new cohort: fill the filters from its data and draw everything once."""
        with self._lock:
            self.cohort, self.promotion = cohort, promotion
            self._stale = set(FIGURES)
            self._quiet = True
            try:
                self.activity_dropdown.options = activity_options(cohort.incentives)
                self.activity_dropdown.value = ALL_ACTIVITIES
                self.action_select.options = action_options(cohort.incentives)
                self.action_select.value = ()
                self._quiet = False
                self.utilisation.load(promotion, cohort, self.as_of)
                self.refresh()
            except Exception:  # the caller clears the charts: none may show the previous cohort
                self.cohort = self.promotion = None
                raise
            finally:
                self._quiet = False
            self.showing.value = banner(f"The charts show {self._described()}.")

    def _clear(self, reason: str) -> None:
        for name, figure in self.figures.items():
            replace_figure(figure, charts.no_data_figure(name.replace("_", " ").capitalize(),
                                                         reason))
        self._stale = set(FIGURES)

    def _subject(self) -> Any:
        if self.promotion is not None:
            return self.promotion
        return f"promotion {self.cohort.promotion_id}" if self.cohort is not None else None

    def refresh(self, only: tuple[str, ...] = _FILTERED) -> None:
        """Recompute the filtered figures (``only`` some of them) from the cohort; no fetching.

        A figure whose analysis frame did not change is left as it is.
        """
        with self._lock:
            if self.cohort is not None:
                self._refresh(only)

    def _refresh(self, only: tuple[str, ...]) -> None:
        try:
            tz = self.tz_input.value.strip()
            check_tz(tz)
            view = filter_cohort(self.cohort, activity=self.activity_dropdown.value,
                                 actions=self.action_select.value,
                                 date_from=self.date_from.value, date_to=self.date_to.value,
                                 tz=tz)
            compute = {
                "issuance": lambda: benefits.issuance_counts(view, by=("action", "activity_id")),
                "points": lambda: benefits.points_summary(view),
                "timeline": lambda: benefits.timeline(view, freq=self.freq_dropdown.value,
                                                      tz=tz),
                "recency": lambda: benefits.recency(view, as_of=self.as_of),
            }
            results = {name: compute[name]() for name in only}
        except CapnbError as exc:
            self.status.say(f"Filters not applied: {exc}", "error")
            for name in self._stale & set(only):  # still drawing another cohort: say why not
                replace_figure(self.figures[name], charts.no_data_figure(
                    name.capitalize(), f"filters not applied: {exc}", self._subject()))
            return
        builders = {"issuance": charts.issuance_chart, "points": charts.points_chart,
                    "timeline": charts.timeline_chart, "recency": charts.recency_chart}
        for name, frame in results.items():
            previous = self.results.get(name)
            self.results[name] = frame
            if previous is None or not previous.equals(frame) or name in self._stale:
                replace_figure(self.figures[name], builders[name](frame,
                                                                  promotion=self._subject()))
                self._stale.discard(name)
        self.status.clear_error()

    def _on_filter(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        owner = change.get("owner")
        if owner is self.freq_dropdown:
            self.refresh(("timeline",))
        elif owner is self.tz_input and self.date_from.value is None \
                and self.date_to.value is None:
            self.refresh(("timeline",))
        else:
            self.refresh()


def dashboard(source: Client | Cohort, *, program_id: Any = None, promotion_id: Any = None,
              customers: Any = None, promotion: Promotion | None = None, as_of: Any = None,
              tz: str = "UTC", workers: int | None = None, sample: int = 0,
              precision: float | None = None, seed: int = 0) -> Dashboard:
    """An app to answer "how is this promotion doing?" in JupyterLab.

    Parameters
    ----------
    source : Client or Cohort
        A client fetches on the Fetch button and lists programs and promotions in the pickers;
        a cohort (with ``promotion=``) works offline and makes no request.
    program_id, promotion_id : int or str, optional
        Pre-filled id boxes, preselected in the program and promotion pickers (taken from the
        cohort when ``source`` is one). Without ``program_id`` the org's default program is
        chosen; without ``promotion_id`` no promotion is.
    customers : iterable of ids, Series or path, optional
        The cohort to fetch when the customers box is left empty.
    promotion : Promotion, optional
        The promotion's configuration, for utilisation (offline use; fetched otherwise).
    as_of : timestamp-like, optional
        Reference time of recency and trailing windows (default: now; pass a fixed value for
        reproducible notebooks).
    tz : str
        Initial timezone of the timeline.
    workers : int, optional
        Concurrent requests (``fetch_cohort``'s default otherwise).
    sample : int
        Preset sample size: Fetch draws this many customers at random (0: every customer).
    precision : float, optional
        Preset precision target as a share (0.01 = ±1 percentage point): the sample is fetched
        in rounds until every watched 95% interval is that narrow. None or 0: the whole sample.
    seed : int
        Seed of the random sample (``capnb.draw_sample``).

    Returns
    -------
    Dashboard
        Display it (last expression of a cell) or drive it through its attributes.
    """
    return Dashboard(source, program_id=program_id, promotion_id=promotion_id,
                     customers=customers, promotion=promotion, as_of=as_of, tz=tz,
                     workers=workers, sample=sample, precision=precision, seed=seed)
