"""The dashboard's program and promotion pickers, the id boxes they fill and the ↻ button.

The id boxes are what Fetch uses. With a client, the pickers list the org's programs
(``Client.programs``, default program first and preselected) and the chosen program's
promotions (``Client.promotions``, and those made in the new UI from
``Client.new_ui_promotions``, labelled "new UI": live first, then other active ones, then the
rest; newest start first within each group, then by name). Picking writes the id into its
box; typing an id in a box selects it in the picker when it is listed, and an id that is not
listed is fetched all the same. Listing costs one programs request and two promotions
listings (old and new UI); changing the program lists its promotions (once per program
change). When listing fails, the status line says so and the boxes still work. Offline (from
a cohort), the pickers only show the cohort's ids and no request is made.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import ipywidgets as W
import pandas as pd

from capnb.api.client import Client
from capnb.errors import CapnbError
from capnb.fetch.cohort import Cohort
from capnb.models import Promotion
from capnb.reports.status import StatusLine
from capnb.validation import check_id

__all__ = ["Pickers", "label_tooltip", "new_ui_rows", "program_options", "promotion_options"]

log = logging.getLogger("capnb")


def _flag(value: Any) -> bool:
    """A nullable boolean cell as a bool (missing = False)."""
    return False if value is None or pd.isna(value) else bool(value)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _label(name: Any, id_: int) -> str:
    """``"Name (id)"``, or the bare id when there is no name."""
    return f"{_text(name)} ({id_})" if _text(name) else str(id_)


def _promotion_label(name: Any, id_: int, kind: Any, status: Any, new_ui: bool = False) -> str:
    """``"Name (id) · TYPE · STATUS"`` (missing parts left out; `` · new UI`` for a promotion
    made in the new promotions UI)."""
    return " · ".join([_label(name, id_), *(_text(v) for v in (kind, status) if _text(v)),
                       *(["new UI"] if new_ui else [])])


def program_options(frame: pd.DataFrame) -> tuple[list[tuple[str, int]], int | None]:
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


def promotion_options(frame: pd.DataFrame) -> list[tuple[str, int]]:
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
                              rows[pid].get("status"), _flag(rows[pid].get("new_ui"))), pid)
            for pid in sorted(rows, key=key)]


def new_ui_rows(promotions: list[Promotion]) -> pd.DataFrame:
    """``Client.new_ui_promotions`` in the columns of ``Client.promotions()``, flagged
    ``new_ui``."""
    return pd.DataFrame({"promotion_id": [p.id for p in promotions],
                         "name": [p.name for p in promotions],
                         "type": [p.offer_type for p in promotions],
                         "status": [p.status for p in promotions],
                         "start": [p.start for p in promotions], "new_ui": True})


def label_tooltip(change: dict[str, Any]) -> None:
    """A dropdown's observer: its tooltip is the chosen label in full (the box may cut it)."""
    picker = change["owner"]
    picker.tooltip = picker.label or None


def _reason(exc: Exception) -> str:
    """An exception in plain words (unexpected ones are logged with their traceback)."""
    if isinstance(exc, CapnbError):
        return str(exc)
    log.error("dashboard listing failed", exc_info=exc)
    return f"unexpected {type(exc).__name__}: {exc}"


class Pickers:
    """The program and promotion pickers with their id boxes (see the module docstring).

    With a ``client`` they list and react to the analyst; with a ``cohort`` (offline) they show
    its ids, disabled. Nothing is listed until :meth:`reload_lists`.
    """

    def __init__(self, status: StatusLine, *, client: Client | None = None,
                 cohort: Cohort | None = None, promotion: Promotion | None = None,
                 program_id: Any = None, promotion_id: Any = None) -> None:
        self.client, self.status = client, status
        self._syncing = False  # pickers and id boxes being set by the app, not the analyst
        self._promotions_of: int | None = None  # the program promotion_picker lists
        self._note = ""  # the status line last set by the pickers (cleared when resolved)
        offline = cohort is not None
        if offline:
            program_id = program_id or cohort.program_id
            promotion_id = promotion_id or cohort.promotion_id
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
        for picker in (self.program_picker, self.promotion_picker):
            picker.observe(label_tooltip, names="value")
        self.reload_button = W.Button(icon="refresh", disabled=offline,
                                      tooltip="List the programs and promotions again",
                                      layout=W.Layout(width="3em"))
        if offline:  # the cohort's ids, for the record; nothing to choose
            name = promotion.program_name if promotion is not None else None
            self.program_picker.options = [(_label(name, cohort.program_id),
                                            cohort.program_id)]
            self.program_picker.value = cohort.program_id
            label = (_promotion_label(promotion.name, cohort.promotion_id,
                                      promotion.offer_type, promotion.status)
                     if promotion is not None and promotion.id == cohort.promotion_id
                     else str(cohort.promotion_id))
            self.promotion_picker.options = [(label, cohort.promotion_id)]
            self.promotion_picker.value = cohort.promotion_id
        else:
            self.program_picker.observe(self._on_program_picked, names="value")
            self.promotion_picker.observe(self._on_promotion_picked, names="value")
            self.program_input.observe(self._on_program_typed, names="value")
            self.promotion_input.observe(self._on_promotion_typed, names="value")
            self.reload_button.on_click(lambda _: self.reload_lists())
        self.rows = [W.HBox([self.program_picker, self.program_input, self.reload_button]),
                     W.HBox([self.promotion_picker, self.promotion_input])]
        """The pickers' two rows of the layout."""

    def reload_lists(self) -> None:
        """List the programs, then the chosen program's promotions, again (the ↻ button).

        One programs request and one (paged) promotions listing. With an empty program box the
        default program is chosen. A failure leaves the picker empty and says so on the status
        line; the id boxes keep working. Never raises; does nothing offline.
        """
        if self.client is None:
            return
        try:
            problems = []
            try:
                options, default = program_options(self.client.programs())
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
            self.status.say(f"Could not list programs and promotions: {_reason(exc)}", "error")

    def _set_note(self, text: str | None, level: str = "warning") -> None:
        """Show a note, or clear the previous one if it is still what the line says."""
        line = self.status.widget
        if text:
            self.status.say(text, level)
            self._note = line.value
        elif self._note and line.value == self._note:
            line.value = self._note = ""

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
                listed = self.client.promotions(program)
                try:  # and the program's promotions made in the new UI, when the org has any
                    listed = pd.concat([listed, new_ui_rows(
                        self.client.new_ui_promotions(program))], ignore_index=True)
                except Exception as exc:  # noqa: BLE001 - the old UI's list still shows
                    problem = (f"Could not list the new-UI promotions of program {program}: "
                               f"{_reason(exc)}.")
                options = promotion_options(listed)
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
            self.status.say(f"Could not list promotions: {_reason(exc)}", "error")

    def _on_promotion_typed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self._select(self.promotion_picker, self._typed(self.promotion_input))
            if self._promotions_of is not None:  # else nothing is listed: leave the line alone
                self._show_list_state([])
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self.status.say(f"Could not select the promotion: {_reason(exc)}", "error")
