"""An ipywidgets dashboard for one promotion: fetch a cohort, filter it, watch the charts update.

:func:`dashboard` returns a :class:`Dashboard`, which displays itself in JupyterLab and exposes
every control and figure so the logic can be driven without a browser: set a control's
``.value`` (or click a button) and read ``app.figures[...]``, ``app.results[...]`` and
``app.message``. Callbacks never print (executed notebooks stay comparable); problems, API
errors included, appear as a readable line in ``app.message``.

Controls, from the top: a **program** picker and a **promotion** picker (with a ↻ button to list
them again), each beside the id box it fills; the **customers** box; **Fetch**, **Cancel** and
the progress bar; the status line; then the filters (activity, actions, date range, timezone,
period) and the restriction picker of the per-customer histogram.

The id boxes are what Fetch uses. With a client, the pickers list the org's programs
(``Client.programs``, default program first and preselected) and the chosen program's
promotions (``Client.promotions``: live first, then other active ones, then the rest; newest
start first within each group, then by name). Picking writes the id into its box; typing an id
in a box selects it in the picker when it is listed, and an id that is not listed is fetched
all the same. Building the app costs one programs request and one promotions listing; changing
the program lists its promotions (once per program change). When listing fails, the status
line says so and the boxes still work. With a cohort (offline), the pickers only show the
cohort's ids and no request is made.

Fetching runs ``fetch_cohort`` in a background thread; its ``on_progress`` moves the progress
bar and its ``cancel`` event is the Cancel button (what was fetched is kept).
Filters (activity, actions, dates, timezone, period) recompute from the fetched cohort; nothing
is fetched again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from capnb.analysis import benefits, limits
from capnb.reports import charts
from capnb.api.client import Client
from capnb.fetch.cohort import Cohort, FetchInterrupted, fetch_cohort, read_customer_ids
from capnb.errors import CapnbError, ValidationError
from capnb.models import Promotion
from capnb.validation import check_as_of, check_id, check_tz

__all__ = ["FIGURES", "Dashboard", "dashboard"]

log = logging.getLogger("capnb")

FIGURES = ("issuance", "points", "timeline", "recency", "utilisation", "customer_utilisation")
"""Keys of :attr:`Dashboard.figures`, in display order."""
ALL_ACTIVITIES = "All activities"
NO_ACTIVITY = "(no activity)"
TIMEZONES = ("UTC", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Dubai",
             "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles")
_FILTERED = ("issuance", "points", "timeline", "recency")
_FILTER_NOTE = ("Activity and action filters apply to incentives (points and currencies carry no "
                "activity in the summary). The date range keeps benefits whose <i>last</i> "
                "issuance falls in it. Utilisation always uses the whole cohort.")


def _figure_widget() -> go.FigureWidget:
    try:
        return go.FigureWidget()
    except ImportError as exc:  # plotly >= 6 draws FigureWidget through anywidget
        raise ImportError("capnb.reports.widgets needs the 'anywidget' package for live plotly figures: "
                          "pip install anywidget") from exc


def _replace(widget: go.FigureWidget, figure: go.Figure) -> None:
    """Show ``figure`` in ``widget`` in place."""
    # A new layout reaches the front end as a relayout of its own keys, which would leave the
    # old figure's other keys (a "No data" annotation, shapes...) drawn: remove those first.
    stale = set(widget.layout.to_plotly_json()) - set(figure.layout.to_plotly_json())
    if stale:
        widget.plotly_relayout({key: None for key in sorted(stale)})
    with widget.batch_update():
        widget.data = []
        widget.add_traces(list(figure.data))
        widget.layout = figure.layout


def _flag(value: Any) -> bool:
    """A nullable boolean cell as a bool (missing = False)."""
    return False if value is None or pd.isna(value) else bool(value)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _label(name: Any, id_: int) -> str:
    """``"Name (id)"``, or the bare id when there is no name."""
    return f"{_text(name)} ({id_})" if _text(name) else str(id_)


def _promotion_label(name: Any, id_: int, kind: Any, status: Any) -> str:
    """``"Name (id) · TYPE · STATUS"`` (missing parts left out)."""
    return " · ".join([_label(name, id_), *(_text(v) for v in (kind, status) if _text(v))])


def _program_options(frame: pd.DataFrame) -> tuple[list[tuple[str, int]], int | None]:
    """Picker options of ``Client.programs()`` (default first, then by name) and the program to
    preselect: the default one, or the only one."""
    rows: dict[int, dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        if row.get("program_id") is not None and not pd.isna(row["program_id"]):
            rows.setdefault(int(row["program_id"]), row)
    order = sorted(rows, key=lambda pid: (not _flag(rows[pid].get("is_default")),
                                          _text(rows[pid].get("name")).casefold(), pid))
    defaults = [pid for pid in order if _flag(rows[pid].get("is_default"))]
    chosen = defaults[0] if defaults else (order[0] if len(order) == 1 else None)
    return [(_label(rows[pid].get("name"), pid), pid) for pid in order], chosen


def _promotion_options(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """Picker options of ``Client.promotions()``: live first, then other active promotions, then
    the rest; within each group the latest start first (no start last), then by name."""
    rows: dict[int, dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        if row.get("promotion_id") is not None and not pd.isna(row["promotion_id"]):
            rows.setdefault(int(row["promotion_id"]), row)

    def key(pid: int) -> tuple:
        row = rows[pid]
        group = (0 if _text(row.get("status")).upper() == "LIVE"
                 else 1 if _flag(row.get("is_active")) else 2)
        start = row.get("start")
        when = (1, 0) if start is None or pd.isna(start) else (0, -pd.Timestamp(start).value)
        return group, when, _text(row.get("name")).casefold(), pid

    return [(_promotion_label(rows[pid].get("name"), pid, rows[pid].get("type"),
                              rows[pid].get("status")), pid) for pid in sorted(rows, key=key)]


def _reason(exc: Exception) -> str:
    """An exception in plain words (unexpected ones are logged with their traceback)."""
    if isinstance(exc, CapnbError):
        return str(exc)
    log.error("dashboard listing failed", exc_info=exc)
    return f"unexpected {type(exc).__name__}: {exc}"


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
    fetch_button, cancel_button : ipywidgets.Button
    progress : ipywidgets.IntProgress
    activity_dropdown : ipywidgets.Dropdown
    action_select : ipywidgets.SelectMultiple
        Nothing selected = every action.
    date_from, date_to : ipywidgets.DatePicker
    tz_input : ipywidgets.Combobox
    freq_dropdown, restriction_dropdown : ipywidgets.Dropdown
    message : ipywidgets.HTML
        The latest problem or status, in plain words.
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
                 workers: int | None = None) -> None:
        if not isinstance(source, Client | Cohort):
            raise ValidationError("source", "must be a capnb.Client (to fetch) or a "
                                  f"capnb.Cohort (offline), got {type(source).__name__}")
        if promotion is not None and not isinstance(promotion, Promotion):
            raise ValidationError("promotion", f"must be a capnb.Promotion or None, got "
                                  f"{type(promotion).__name__}")
        check_tz(tz)
        self.as_of = None if as_of is None else check_as_of(as_of)
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
        self._syncing = False  # pickers and id boxes being set by the app, not the analyst
        self._promotions_of: int | None = None  # the program promotion_picker lists
        self._note = ""  # the status line last set by the pickers (cleared when resolved)
        offline = self.cohort is not None
        if offline:
            program_id = program_id or self.cohort.program_id
            promotion_id = promotion_id or self.cohort.promotion_id
        wide_label = {"description_width": "initial"}  # "Promotion id" in full
        self.program_input = W.Text(value="" if program_id is None else str(program_id),
                                    description="Program id", disabled=offline,
                                    style=wide_label, continuous_update=False)
        self.promotion_input = W.Text(value="" if promotion_id is None else str(promotion_id),
                                      description="Promotion id", disabled=offline,
                                      style=wide_label, continuous_update=False)
        self.program_picker = W.Dropdown(options=[], value=None, description="Program",
                                         disabled=offline, layout=W.Layout(width="40%"))
        self.promotion_picker = W.Dropdown(options=[], value=None, description="Promotion",
                                           disabled=offline, layout=W.Layout(width="60%"))
        self.reload_button = W.Button(icon="refresh", disabled=offline,
                                      tooltip="List the programs and promotions again",
                                      layout=W.Layout(width="3em"))
        if offline:  # the cohort's ids, for the record; nothing to choose
            name = promotion.program_name if promotion is not None else None
            self.program_picker.options = [(_label(name, self.cohort.program_id),
                                            self.cohort.program_id)]
            self.program_picker.value = self.cohort.program_id
            label = (_promotion_label(promotion.name, self.cohort.promotion_id,
                                      promotion.offer_type, promotion.status)
                     if promotion is not None and promotion.id == self.cohort.promotion_id
                     else str(self.cohort.promotion_id))
            self.promotion_picker.options = [(label, self.cohort.promotion_id)]
            self.promotion_picker.value = self.cohort.promotion_id
        given = "" if customers is None else (f"{customers}" if isinstance(customers, str)
                                              else "")
        self.customers_input = W.Textarea(
            value=given, description="Customers", disabled=offline,
            placeholder=("ids separated by commas, spaces or new lines, or a CSV/Parquet path"
                         + (" (empty: the customers given to dashboard())"
                            if customers is not None and not given else "")),
            layout=W.Layout(width="60%"))
        self.fetch_button = W.Button(description="Fetch", button_style="primary",
                                     icon="download", disabled=offline)
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="Fetched")
        self.progress_text = W.Label("")
        self.message = W.HTML("")
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
        self.restriction_dropdown = W.Dropdown(options=[], description="Restriction")
        self.notes = W.HTML("")
        self.figures: dict[str, go.FigureWidget] = {name: _figure_widget() for name in FIGURES}
        self.fetch_button.on_click(lambda _: self.fetch())
        self.cancel_button.on_click(lambda _: self.cancel())
        for control in (self.activity_dropdown, self.action_select, self.date_from,
                        self.date_to, self.tz_input, self.freq_dropdown):
            control.observe(self._on_filter, names="value")
        self.restriction_dropdown.observe(self._on_restriction, names="value")
        if not offline:
            self.program_picker.observe(self._on_program_picked, names="value")
            self.promotion_picker.observe(self._on_promotion_picked, names="value")
            self.program_input.observe(self._on_program_typed, names="value")
            self.promotion_input.observe(self._on_promotion_typed, names="value")
            self.reload_button.on_click(lambda _: self.reload_lists())
        self.widget = W.VBox([
            W.HBox([self.program_picker, self.program_input, self.reload_button]),
            W.HBox([self.promotion_picker, self.promotion_input]), self.customers_input,
            W.HBox([self.fetch_button, self.cancel_button, self.progress, self.progress_text]),
            self.message,
            W.HBox([self.activity_dropdown, self.action_select]),
            W.HBox([self.date_from, self.date_to, self.tz_input, self.freq_dropdown]),
            W.HTML(f"<small>{_FILTER_NOTE}</small>"),
            self.figures["issuance"], self.figures["points"], self.figures["timeline"],
            self.figures["recency"], self.figures["utilisation"], self.notes,
            self.restriction_dropdown, self.figures["customer_utilisation"]])
        if offline:
            self._load(self.cohort, promotion)
        else:
            self._clear("fetch a cohort first")
            self.reload_lists()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- messages --------------------------------------------------------------------------------

    def _say(self, text: str, level: str = "info") -> None:
        colour = {"error": "#B00020", "warning": "#8A5A00", "info": "#1B5E20"}[level]
        self.message.value = (f'<div style="color:{colour}" class="capnb-{level}">'
                              f"{html.escape(text)}</div>")

    def _set_note(self, text: str | None, level: str = "warning") -> None:
        """Show a pickers' note, or clear the previous one if it is still what the line says."""
        if text:
            self._say(text, level)
            self._note = self.message.value
        elif self._note and self.message.value == self._note:
            self.message.value = self._note = ""

    # -- program and promotion pickers -----------------------------------------------------------

    def reload_lists(self) -> None:
        """List the programs, then the chosen program's promotions, again (the ↻ button).

        One programs request and one (paged) promotions listing. With an empty program box the
        default program is chosen. A failure leaves the picker empty and says so in
        :attr:`message`; the id boxes keep working. Never raises.
        """
        if self.client is None:
            return
        try:
            problems = []
            try:
                options, default = _program_options(self.client.programs())
            except Exception as exc:  # noqa: BLE001 - shown in the status line, never raised
                options, default = [], None
                problems.append(f"Could not list the programs: {_reason(exc)}.")
            with self._sync():
                self.program_picker.options = options
                if default is not None and not self.program_input.value.strip():
                    self.program_input.value = str(default)
            program = self._typed(self.program_input)
            self._select(self.program_picker, program)
            problems.append(self._list_promotions(program))
            self._show_list_state(problems)
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self._say(f"Could not list programs and promotions: {_reason(exc)}", "error")

    @contextlib.contextmanager
    def _sync(self) -> Iterator[None]:
        before, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = before

    @staticmethod
    def _typed(box: W.Text) -> int | None:
        """The id in a box, or None when it holds none."""
        try:
            return check_id("id", box.value)
        except CapnbError:
            return None

    def _select(self, picker: W.Dropdown, value: int | None) -> None:
        """Show ``value`` in ``picker`` when listed, nothing otherwise (the box is untouched)."""
        listed = {option for _, option in picker.options}
        with self._sync():
            picker.value = value if value in listed else None

    def _list_promotions(self, program: int | None) -> str | None:
        """Fill the promotion picker with ``program``'s promotions; the problem, if any."""
        options: list[tuple[str, int]] = []
        problem = None
        if program is not None:
            try:
                options = _promotion_options(self.client.promotions(program))
            except Exception as exc:  # noqa: BLE001 - shown in the status line, never raised
                problem = f"Could not list the promotions of program {program}: {_reason(exc)}."
        self._promotions_of = program if problem is None else None  # a failure is retried
        with self._sync():
            self.promotion_picker.options = options
        self._select(self.promotion_picker, self._typed(self.promotion_input))
        return problem

    def _show_list_state(self, problems: list[str | None]) -> None:
        """Say what went wrong in listing, or that the promotion id is not listed; else clear."""
        problems = [p for p in problems if p]
        promotion = self._typed(self.promotion_input)
        if problems:
            self._set_note(" ".join(problems) + " You can still type the ids in the boxes.")
        elif (promotion is not None and self.promotion_picker.value is None
              and self._promotions_of is not None):
            self._set_note(f"Promotion {promotion} is not among the promotions listed for "
                           f"program {self._promotions_of}; Fetch will try it as typed.")
        else:
            self._set_note(None)

    def _on_program_picked(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self.program_input.value = str(change["new"])  # -> _on_program_typed

    def _on_promotion_picked(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self.promotion_input.value = str(change["new"])  # -> _on_promotion_typed

    def _on_program_typed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            program = self._typed(self.program_input)
            self._select(self.program_picker, program)
            problem = None
            if program is None or program != self._promotions_of:
                problem = self._list_promotions(program)
            self._show_list_state([problem])
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self._say(f"Could not list promotions: {_reason(exc)}", "error")

    def _on_promotion_typed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self._select(self.promotion_picker, self._typed(self.promotion_input))
            if self._promotions_of is not None:  # else nothing is listed: leave the line alone
                self._show_list_state([])
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self._say(f"Could not select the promotion: {_reason(exc)}", "error")

    # -- fetching --------------------------------------------------------------------------------

    def fetch(self) -> None:
        """Start fetching in the background (what the Fetch button does)."""
        if self.client is None or (self._thread is not None and self._thread.is_alive()):
            return
        try:
            program = check_id("program_id", self.program_input.value)
            promotion = check_id("promotion_id", self.promotion_input.value)
            source = self._customer_source()
            ids, _ = read_customer_ids(source)
        except CapnbError as exc:
            self._say(f"Cannot fetch: {exc}", "error")
            return
        if not ids:
            self._say("Cannot fetch: no valid customer id was given.", "error")
            return
        self._cancel.clear()
        self.progress.max, self.progress.value = len(ids), 0
        self.progress_text.value = f"0 / {len(ids):,} customers"
        self.fetch_button.disabled, self.cancel_button.disabled = True, False
        self._say(f"Fetching {len(ids):,} customers of promotion {promotion}…")
        self._thread = threading.Thread(target=self._fetch, args=(program, promotion, source,
                                                                  len(ids)),
                                        name="capnb-dashboard-fetch", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop the running fetch, keeping what was fetched (what the Cancel button does)."""
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()
            self.cancel_button.disabled = True
            self._say("Cancelling: finishing the requests already sent…", "warning")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background fetch ends; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _customer_source(self) -> Any:
        text = self.customers_input.value.strip()
        if not text:
            if self.customers is None:
                raise ValidationError("customers", "enter customer ids or a file path")
            return self.customers
        if re.fullmatch(r"[\d\s,;]+", text):
            return [int(v) for v in re.split(r"[\s,;]+", text) if v]
        return text  # a path

    def _fetch(self, program: int, promotion_id: int, source: Any, total: int) -> None:
        try:
            promotion = self.client.promotion(program, promotion_id)
            kwargs = {} if self.workers is None else {"workers": self.workers}
            try:
                cohort = fetch_cohort(self.client, source, program, promotion_id, progress=False,
                                      cancel=self._cancel, on_progress=self._show_progress,
                                      **kwargs)
            except FetchInterrupted as exc:  # Cancel or a kernel interrupt: keep what came back
                cohort = exc.cohort
                self._cancel.set()
            self._load(cohort, promotion)
            fetched = len(cohort.fetched_customer_ids)
            counts = cohort.status_counts()
            failed, invalid = int(counts["failed"] + counts["not_found"]), int(counts["invalid"])
            text = (f"Cancelled: {fetched:,} of {total:,} customers fetched; the charts show "
                    "those." if self._cancel.is_set() else
                    f"Fetched {fetched:,} of {total:,} customers.")
            if failed or invalid:
                text += (f" {failed:,} not found or failed, {invalid:,} invalid ids "
                         "(see app.cohort.errors).")
            self._say(text, "warning" if self._cancel.is_set() or failed else "info")
        except CapnbError as exc:
            self._say(f"Could not fetch promotion {promotion_id}: {exc}", "error")
        except Exception as exc:  # noqa: BLE001 - the app shows every failure, never a traceback
            log.exception("dashboard fetch failed")
            self._say(f"Unexpected error while fetching: {type(exc).__name__}: {exc}", "error")
        finally:
            self.fetch_button.disabled, self.cancel_button.disabled = False, True

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.value = done
        self.progress_text.value = f"{done:,} / {total:,} customers"

    # -- analysis --------------------------------------------------------------------------------

    def _load(self, cohort: Cohort, promotion: Promotion | None) -> None:
        """Take a new cohort: fill the filters from its data and draw everything."""
        self.cohort, self.promotion = cohort, promotion
        self._stale = set(_FILTERED)
        incentives = cohort.incentives
        activities = sorted(set(incentives["activity_id"].dropna()))
        if incentives["activity_id"].isna().any():
            activities.append(NO_ACTIVITY)
        self._quiet = True
        try:
            self.activity_dropdown.options = [ALL_ACTIVITIES, *activities]
            self.activity_dropdown.value = ALL_ACTIVITIES
            self.action_select.options = sorted(set(incentives["action"].dropna()))
            self.action_select.value = ()
        finally:
            self._quiet = False
        if promotion is not None:
            self.results["utilisation"] = limits.utilisation(promotion, cohort,
                                                               as_of=self.as_of)
            self.results["customer_utilisation"] = limits.customer_utilisation(
                promotion, cohort, as_of=self.as_of)
            _replace(self.figures["utilisation"], charts.utilisation_chart(
                self.results["utilisation"], promotion=promotion))
            frame = self.results["utilisation"][["name", "measurability", "note"]]
            self.notes.value = frame.to_html(index=False, escape=True, border=0)
            names = list(self.results["customer_utilisation"]["restriction"].cat.categories)
            table = self.results["utilisation"]
            measurable = table.loc[table["restriction"].isin(names)
                                   & (table["measurability"] != "not_measurable"), "restriction"]
            self._quiet = True
            try:
                self.restriction_dropdown.options = names
                # open on the first restriction there is something to draw for
                self.restriction_dropdown.value = (measurable.iloc[0] if len(measurable)
                                                   else names[0] if names else None)
            finally:
                self._quiet = False
            self._draw_histogram()
        else:
            for key in ("utilisation", "customer_utilisation"):
                self.results.pop(key, None)
                _replace(self.figures[key], charts.no_data_figure(
                    "Restriction utilisation", "no promotion configuration was given"))
            self.notes.value = ""
        self.refresh()

    def _clear(self, reason: str) -> None:
        for name, figure in self.figures.items():
            _replace(figure, charts.no_data_figure(name.replace("_", " ").capitalize(), reason))

    def _subject(self) -> Any:
        if self.promotion is not None:
            return self.promotion
        return f"promotion {self.cohort.promotion_id}" if self.cohort is not None else None

    def _view(self, tz: str) -> Cohort:
        """The cohort with the filters applied (customers unchanged: same denominator)."""
        cohort = self.cohort
        incentives, frames = cohort.incentives, {}
        activity = self.activity_dropdown.value
        if activity == NO_ACTIVITY:
            incentives = incentives[incentives["activity_id"].isna()]
        elif activity != ALL_ACTIVITIES:
            incentives = incentives[incentives["activity_id"].eq(activity).fillna(False)]
        if self.action_select.value:
            incentives = incentives[incentives["action"].isin(self.action_select.value)]
        frames["incentives"] = incentives
        frames["points"], frames["alternate_currencies"] = cohort.points, \
            cohort.alternate_currencies
        low, high = self.date_from.value, self.date_to.value
        if low is not None and high is not None and low > high:
            raise ValidationError("date range", f"'From' ({low}) is after 'To' ({high})")
        if low is not None or high is not None:
            start = pd.Timestamp(low or dt.date(1970, 1, 1)).tz_localize(tz)
            end = pd.Timestamp(high or dt.date(2261, 12, 31)).tz_localize(tz) + pd.Timedelta(
                days=1)
            for name, frame in frames.items():
                last = frame["last_issued_on"]
                frames[name] = frame[(last >= start) & (last < end)]
        return Cohort(program_id=cohort.program_id, promotion_id=cohort.promotion_id,
                      activity_id=cohort.activity_id, host=cohort.host,
                      customers=cohort.customers, **frames)

    def refresh(self, only: tuple[str, ...] = _FILTERED) -> None:
        """Recompute the filtered figures (``only`` some of them) from the cohort; no fetching.

        A figure whose analysis frame did not change is left as it is.
        """
        if self.cohort is None:
            return
        try:
            tz = self.tz_input.value.strip()
            check_tz(tz)
            view = self._view(tz)
            compute = {
                "issuance": lambda: benefits.issuance_counts(view, by=("action", "activity_id")),
                "points": lambda: benefits.points_summary(view),
                "timeline": lambda: benefits.timeline(view, freq=self.freq_dropdown.value,
                                                      tz=tz),
                "recency": lambda: benefits.recency(view, as_of=self.as_of),
            }
            results = {name: compute[name]() for name in only}
        except CapnbError as exc:
            self._say(f"Filters not applied: {exc}", "error")
            return
        builders = {"issuance": charts.issuance_chart, "points": charts.points_chart,
                    "timeline": charts.timeline_chart, "recency": charts.recency_chart}
        for name, frame in results.items():
            previous = self.results.get(name)
            self.results[name] = frame
            if previous is None or not previous.equals(frame) or name in self._stale:
                _replace(self.figures[name], builders[name](frame, promotion=self._subject()))
                self._stale.discard(name)
        if self.message.value and "capnb-error" in self.message.value:
            self.message.value = ""

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

    def _on_restriction(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._draw_histogram()

    def _draw_histogram(self) -> None:
        frame = self.results.get("customer_utilisation")
        name = self.restriction_dropdown.value
        if frame is None or name is None:
            figure = charts.no_data_figure("Per-customer usage", "no per-customer restriction",
                                           self._subject())
        else:
            figure = charts.customer_utilisation_histogram(frame, name,
                                                           promotion=self._subject())
        _replace(self.figures["customer_utilisation"], figure)


def dashboard(source: Client | Cohort, *, program_id: Any = None, promotion_id: Any = None,
              customers: Any = None, promotion: Promotion | None = None, as_of: Any = None,
              tz: str = "UTC", workers: int | None = None) -> Dashboard:
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

    Returns
    -------
    Dashboard
        Display it (last expression of a cell) or drive it through its attributes.
    """
    return Dashboard(source, program_id=program_id, promotion_id=promotion_id,
                     customers=customers, promotion=promotion, as_of=as_of, tz=tz,
                     workers=workers)
