"""The dashboard's traffic to the browser: throttled progress, one message per figure redrawn.

JupyterLab drops the kernel's output and widget messages beyond ``iopub_msg_rate_limit`` (1,000
a second by default, with a red "IOPub message rate exceeded" box), and a dropped widget message
leaves the browser's copy of a widget out of step with the kernel's: a frozen progress bar,
charts half redrawn, ``indices must be valid indices for gd.data``. This module owns what keeps
the dashboard far below that limit, whatever the cohort size:

* :class:`Throttle` lets a progress callback through at most a few times a second (the final
  state is always let through);
* :func:`replace_figure` shows a new figure in a plotly ``FigureWidget`` in **one** comm
  message. Plotly's own replacement (delete the traces, add the new ones, relayout) sends each
  step as a pair of messages (set, then reset to None) plus edit counters: about ten messages a
  chart. They are merged here, in order, into one state update, so the browser deletes, adds and
  relayouts from a single consistent message;
* :class:`MessageCounter` records the comm messages widgets send, serialized as the kernel
  would (for tests and benches).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

__all__ = ["MessageCounter", "Throttle", "figure_widget", "replace_figure"]

_CONFIG = {"responsive": True, "displaylogo": False}
"""plotly.js config of the live figures: redraw to the container's width when the window
resizes."""

_ORDER = {"_last_layout_edit_id": 0, "_last_trace_edit_id": 0, "_py2js_deleteTraces": 1,
          "_py2js_addTraces": 2, "_py2js_relayout": 3}
"""The order the browser applies a merged replacement in: old traces out, new in, layout."""


class Throttle:
    """``ready()`` is true at most once per ``interval`` seconds (and on the first call)."""

    def __init__(self, interval: float = 0.2, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self._last = -float("inf")

    def ready(self, force: bool = False) -> bool:
        """True when an update may go out now (always with ``force``); the clock restarts."""
        now = self.clock()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def figure_widget() -> go.FigureWidget:
    """An empty live figure that fills its container's width and follows the window's."""
    try:
        widget = go.FigureWidget()
    except ImportError as exc:  # plotly >= 6 draws FigureWidget through anywidget
        raise ImportError("capnb.reports.widgets needs the 'anywidget' package for live plotly "
                          "figures: pip install anywidget") from exc
    widget._config = dict(_CONFIG)
    return widget


def _merged(messages: list[tuple[dict, Any]]) -> tuple[dict, list, list] | None:
    """The state updates in ``messages`` as one (state, buffer paths, buffers), in order; None
    when they cannot be merged. Binary buffers (numpy arrays in traces) travel with their paths,
    which stay valid because every state key comes from one message."""
    state: dict[str, Any] = {}
    paths: list[list[Any]] = []
    buffers: list[Any] = []
    for message, message_buffers in messages:
        message_paths = message.get("buffer_paths") or []
        if message.get("method") != "update" or len(message_paths) != len(message_buffers or ()):
            return None
        for key, value in message["state"].items():
            if key.startswith("_py2js_"):
                if value is None:  # plotly's reset after each step: the browser ignores nulls
                    continue
                if key in state:
                    if key != "_py2js_relayout" or any(path[0] == key for path in paths) \
                            or any(path[0] == key for path in message_paths):
                        return None
                    value = {**value, "relayout_data": {**state[key]["relayout_data"],
                                                        **value["relayout_data"]}}
            state[key] = value
        for path, buffer in zip(message_paths, message_buffers or (), strict=True):
            if message["state"].get(path[0]) is None:
                return None  # a buffer under a value that was skipped: keep plotly's messages
            paths.append(list(path))
            buffers.append(buffer)
    ordered = {key: state[key] for key in sorted(state, key=lambda key: _ORDER.get(key, 4))}
    return ordered, paths, buffers


def replace_figure(widget: go.FigureWidget, figure: go.Figure) -> None:
    """Show ``figure`` in ``widget`` in place, sending the browser one message.

    The layout is made to fill the container's width (``autosize``, no fixed width). Keys of
    the old layout the new one lacks (a "No data" annotation, shapes...) are removed.
    """
    layout = figure.layout.to_plotly_json()
    layout.pop("width", None)
    layout["autosize"] = True
    stale = set(widget.layout.to_plotly_json()) - set(layout)
    sent: list[tuple[dict, Any]] = []
    widget._send = lambda message, buffers=None: sent.append((message, buffers))
    try:
        # A new layout reaches the front end as a relayout of its own keys, which would leave
        # the old figure's other keys drawn: remove those first.
        if stale:
            widget.plotly_relayout({key: None for key in sorted(stale)})
        with widget.batch_update():
            widget.data = []
            widget.add_traces(list(figure.data))
            widget.layout = layout
    finally:
        del widget._send
    merged = _merged(sent)
    if merged is None:  # not expected from plotly; send its messages as they were
        for message, buffers in sent:
            widget._send(message, buffers)
    else:
        state, paths, buffers = merged
        _fit_width(state, widget)
        widget._send({"method": "update", "state": state, "buffer_paths": paths}, buffers)


def _fit_width(state: dict[str, Any], widget: go.FigureWidget) -> None:
    """Make the browser measure the chart's container again on this redraw.

    A live figure is first drawn before its view is on the page, at plotly's default 700 px.
    plotly.js never measures it again by itself: a relayout that sets ``height`` even pins
    ``width`` to the current 700 px and turns ``autosize`` off, unless the same relayout names
    them. So every redraw names both: ``width: null, autosize: true`` (the chart then fills its
    container's width, whatever its height).
    """
    relayout = state.get("_py2js_relayout")
    if relayout is None:
        relayout = {"relayout_data": {}, "layout_edit_id": widget._last_layout_edit_id,
                    "source_view_id": None}
    relayout = {**relayout, "relayout_data": {**relayout["relayout_data"], "width": None,
                                              "autosize": True}}
    state["_py2js_relayout"] = relayout


class MessageCounter:
    """Count the comm messages widgets created inside ``with MessageCounter():`` send.

    Each message is serialized and signed like ipykernel does before sending it (so a bench
    measures its cost too); :attr:`counts` holds the messages by widget class and type
    (``comm_open``, ``comm_msg``, ``comm_close``), :attr:`per_comm` by comm id (a widget's
    ``comm.comm_id``), :attr:`bytes` their size.
    """

    def __init__(self) -> None:
        from jupyter_client.session import Session

        self.session = Session(key=b"capnb-bench")
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.per_comm: collections.Counter[str] = collections.Counter()
        self.bytes = 0
        self._lock = threading.Lock()
        self._saved: Any = None

    @property
    def total(self) -> int:
        """Messages sent so far."""
        return sum(self.counts.values())

    def by_class(self) -> dict[str, int]:
        """Messages by widget class."""
        counts: collections.Counter[str] = collections.Counter()
        for (name, _), count in self.counts.items():
            counts[name] += count
        return dict(counts)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.per_comm.clear()
            self.bytes = 0

    def __enter__(self) -> MessageCounter:
        import comm
        from comm.base_comm import BaseComm

        counter = self

        class RecordingComm(BaseComm):
            owner = "?"

            def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                            buffers: Any = None, **keys: Any) -> None:
                content = {"data": {} if data is None else data, "comm_id": self.comm_id, **keys}
                message = counter.session.msg(msg_type, content, metadata=metadata or {})
                size = sum(len(part) for part in counter.session.serialize(message))
                with counter._lock:
                    counter.counts[(self.owner, msg_type)] += 1
                    counter.per_comm[self.comm_id] += 1
                    counter.bytes += size + sum(len(b) for b in buffers or ())

        def create_comm(*args: Any, **kwargs: Any) -> BaseComm:
            state = (kwargs.get("data") or {}).get("state") or {}
            kind = type("RecordingComm", (RecordingComm,), {"owner": (
                "FigureWidget" if "_widget_data" in state
                else str(state.get("_model_name", "?")).removesuffix("Model"))})
            return kind(*args, **kwargs)

        self._saved = comm.create_comm
        comm.create_comm = create_comm
        return self

    def __exit__(self, *exc: object) -> None:
        import comm

        comm.create_comm = self._saved
