"""The one fan-out engine of ``capnb.fetch``: many items, a bounded pool of threads, one outcome
per item.

:func:`fan_out` runs a task on every item with up to ``workers`` threads pulling items from one
shared iterator (so a shared rate limiter, passed to the client by the task, paces them all).
Whatever a task returns or raises becomes that item's :class:`Outcome`: an exception of any
kind is caught in the worker and recorded, and the other items carry on. Outcomes are handed
to ``record`` on the calling thread as they come, so the caller can write them out at once and
a Ctrl-C lands where it can be handled. The calling thread also drives the progress bar,
``on_progress`` and cancellation.

Ctrl-C, a kernel interrupt or ``cancel`` stop the pool: no new item starts, the tasks already
running finish and their outcomes are recorded, then ``KeyboardInterrupt`` is raised. Items
not started then have no outcome; every item has one when ``fan_out`` returns. Long waits inside
a task (the rate limiter's) watch :func:`current_stop` and raise :class:`Stopped` when the pool
stops: such a task sent nothing, so, like an item not started, it has no outcome.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import pandas as pd

from capnb.errors import CapnbError, failure_fields
from capnb.fetch.progress import progress_bar

__all__ = ["Outcome", "Stopped", "current_stop", "fan_out"]

log = logging.getLogger("capnb")

Item = TypeVar("Item")
Result = TypeVar("Result")
POLL_SECONDS = 0.2
"""How often the calling thread looks at ``cancel`` while waiting for outcomes."""


@dataclass(frozen=True)
class Outcome(Generic[Item, Result]):
    """What became of one item: the task's ``result``, or the ``error`` it raised."""

    item: Item
    started_at: pd.Timestamp
    """When the task started (UTC)."""
    result: Result | None = None
    error: BaseException | None = None

    def failure(self) -> dict[str, str | None]:
        """The error as a customer's row records it (``capnb.errors.failure_fields``): status
        ``not_found`` or ``failed``, request id, error code (the error's type name when it has
        no API code) and message. Only for outcomes with an ``error``."""
        if self.error is None:
            raise ValueError("the task succeeded: there is no failure")
        return failure_fields(self.error)


Cancel = threading.Event | Callable[[], bool]


class Stopped(CapnbError):
    """Raised in a task by a wait that the pool's stop ended; the pool records no outcome for
    it (never seen outside :func:`fan_out`)."""


_worker = threading.local()


def current_stop() -> threading.Event | None:
    """The stop event of the pool whose worker runs on this thread (None outside a pool): set
    on cancel or Ctrl-C, when every wait in a task should end."""
    return getattr(_worker, "stop", None)


def fan_out(items: Sequence[Item], task: Callable[[Item], Result],
            record: Callable[[Outcome[Item, Result]], object], *, workers: int,
            name: str = "capnb-pool", progress: bool = False, description: str = "",
            unit: str = "it", cancel: Cancel | None = None,
            on_progress: Callable[[int, int], object] | None = None,
            on_stop: Callable[[], object] | None = None) -> None:
    """Run ``task`` on every item with up to ``workers`` threads; ``record`` every outcome.

    Parameters
    ----------
    items : sequence
    task : callable
        ``task(item) -> result``, called in a worker thread; may raise anything.
    record : callable
        ``record(outcome)``, called on the calling thread as outcomes come (completion order).
    workers : int
        Threads at most (at least one, never more than items); ``name`` prefixes their names.
    progress, description, unit
        A progress bar (see :func:`capnb.fetch.progress.progress_bar`); its postfix counts the
        outcomes whose failure status is ``failed``.
    cancel : threading.Event or callable, optional
        Set (or returning True) from another thread: stop as on Ctrl-C.
    on_progress : callable, optional
        ``on_progress(done, total)`` after each recorded outcome.
    on_stop : callable, optional
        Called once when the pool stops on Ctrl-C or ``cancel``, before it waits for the
        running tasks (``client.cancel`` makes their requests start no new attempt).

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C or ``cancel``, after recording the outcomes of the tasks already running.
    """
    if not items:
        return
    cancelled = cancel.is_set if isinstance(cancel, threading.Event) else cancel
    stop = threading.Event()
    pending = iter(items)
    pending_lock = threading.Lock()
    outcomes: queue.SimpleQueue[Outcome[Item, Result] | None] = queue.SimpleQueue()

    def work() -> None:
        _worker.stop = stop
        try:
            while not stop.is_set():
                with pending_lock:
                    item = next(pending, _DONE)
                if item is _DONE or stop.is_set():
                    break
                outcome = _run(task, item)
                if not (isinstance(outcome.error, Stopped) and stop.is_set()):
                    outcomes.put(outcome)
        finally:
            outcomes.put(None)  # this worker is done

    threads = [threading.Thread(target=work, name=f"{name}-{n}", daemon=True)
               for n in range(max(1, min(workers, len(items))))]
    bar = progress_bar(progress, len(items), description, unit=unit)
    running, done, failed, reported = len(threads), 0, 0, False
    try:
        for thread in threads:
            thread.start()
        while running:
            if cancelled is not None and cancelled():
                raise KeyboardInterrupt  # the same clean stop as Ctrl-C
            try:
                outcome = outcomes.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if outcome is None:
                running -= 1
                continue
            record(outcome)
            bar.update(1)
            done += 1
            if on_progress is not None:
                on_progress(done, len(items))
            if outcome.error is not None:
                reported = _report_unexpected(outcome, reported)
                if outcome.failure()["status"] == "failed":
                    failed += 1
                    bar.set_postfix_str(f"failed={failed}", refresh=False)
    except KeyboardInterrupt:
        stop.set()
        if on_stop is not None:  # e.g. client.cancel: running requests start no new attempt
            on_stop()
        # Tasks already running finish (each request has a timeout); keep their outcomes.
        while running:
            outcome = outcomes.get()
            if outcome is None:
                running -= 1
            else:
                record(outcome)
        raise
    finally:
        stop.set()
        bar.close()


_DONE = object()


def _run(task: Callable[[Item], Result], item: Item) -> Outcome[Item, Result]:
    started_at = pd.Timestamp.now(tz="UTC")
    try:
        return Outcome(item, started_at, result=task(item))
    except BaseException as exc:  # noqa: B036 - a worker has no caller: the outcome carries it
        return Outcome(item, started_at, error=exc)


def _report_unexpected(outcome: Outcome, reported: bool) -> bool:
    """Log the first error that is not a ``CapnbError`` (a bug, not an API answer) with its
    traceback; later ones are only recorded. Returns whether one was logged."""
    if reported or isinstance(outcome.error, CapnbError):
        return reported
    log.warning("unexpected error for %r, recorded as failed", outcome.item,
                exc_info=outcome.error)
    return True
