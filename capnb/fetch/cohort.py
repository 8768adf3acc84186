"""Fetching the action summaries of a whole cohort: worker pool, rate limit, store, progress.

``fetch_cohort`` validates every id first, skips what the store already holds, fetches the rest
with a bounded pool of threads sharing one rate limiter and one connection pool, records every
customer's outcome (``ok``, ``no_benefits``, ``not_found``, ``failed``, ``invalid``), and writes
batches to the store as it goes, so an interrupted run loses nothing already fetched.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capnb.api.client import Client
from capnb.api.parse import frames_from_rows, summary_is_empty, summary_rows, unwrap_summary
from capnb.config import DEFAULT_REMOTE_RATE_LIMIT, DEFAULT_WORKERS
from capnb.errors import CapnbError, ValidationError, failure_fields
from capnb.fetch.progress import progress_bar
from capnb.fetch.ratelimit import RateLimiter
from capnb.fetch.store import BENEFIT_TABLES, PartitionKey, Store, host_key
from capnb.schema import (
    CURRENCY_COLUMNS,
    CUSTOMER_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    UTC_TIMESTAMP,
    empty_frame,
    typed_frame,
)
from capnb.validation import MAX_ID, check_activity_id, check_id, check_positive_number

__all__ = ["Cohort", "FetchInterrupted", "fetch_cohort", "read_customer_ids"]

log = logging.getLogger("capnb")

MAX_WORKERS = 256
BATCH_CUSTOMERS = 5000
"""Customers per store batch (one Parquet file per table)."""
BATCH_SECONDS = 10.0
"""A batch is also written after this many seconds, so an interrupt loses at most this much."""
FINAL_STATUSES = ("ok", "no_benefits", "not_found")
"""Outcomes the store remembers; ``failed`` customers are fetched again on the next run."""
FRAME_NAMES = {"incentives": INCENTIVE_COLUMNS, "points": POINTS_COLUMNS,
               "alternate_currencies": CURRENCY_COLUMNS}


@dataclass(eq=False)
class Cohort:
    """The action summaries of many customers in one promotion, in long format.

    ``incentives``, ``points`` and ``alternate_currencies`` have the columns of
    ``ActionSummary``'s frames. ``customers`` has one row per requested customer:
    ``customer_id`` (Int64), ``status`` (``ok``, ``no_benefits``, ``not_found``, ``failed`` or
    ``invalid``), ``fetched_at`` (UTC), ``request_id``, ``error_code``, ``error_message``.
    ``requests`` counts the customers fetched over HTTP by the call that built it, ``reused``
    those taken from the store instead.
    """

    program_id: int
    promotion_id: int
    activity_id: str | None
    host: str
    customers: pd.DataFrame
    incentives: pd.DataFrame
    points: pd.DataFrame
    alternate_currencies: pd.DataFrame
    requests: int = 0
    reused: int = 0
    elapsed: float = field(default=0.0, repr=False)

    @property
    def errors(self) -> pd.DataFrame:
        """Customers that could not be fetched (``failed``) or were not valid ids (``invalid``)."""
        mask = self.customers["status"].isin(["failed", "invalid"])
        return self.customers[mask].reset_index(drop=True)

    @property
    def fetched_customer_ids(self) -> pd.Series:
        """Ids answered by the API with a summary (``ok`` or ``no_benefits``): the denominator."""
        mask = self.customers["status"].isin(["ok", "no_benefits"])
        return self.customers.loc[mask, "customer_id"].reset_index(drop=True)

    def status_counts(self) -> pd.Series:
        """Customers per status, every status listed (zeros included)."""
        from capnb.schema import CUSTOMER_STATUSES

        counts = self.customers["status"].value_counts()
        return counts.reindex(list(CUSTOMER_STATUSES), fill_value=0).rename("customers")

    def subset(self, customer_ids: Iterable[Any]) -> Cohort:
        """The same cohort restricted to ``customer_ids`` (ids it does not hold are ignored)."""
        if isinstance(customer_ids, str | bytes) or not isinstance(customer_ids, Iterable):
            raise ValidationError("customer_ids", "must be an iterable of customer ids, got "
                                  f"{type(customer_ids).__name__}")
        ids = [check_id("customer_ids", value) for value in customer_ids]

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["customer_id"].isin(ids)].reset_index(drop=True)

        return replace(self, customers=keep(self.customers), incentives=keep(self.incentives),
                       points=keep(self.points),
                       alternate_currencies=keep(self.alternate_currencies), requests=0,
                       reused=0, elapsed=0.0)

    def sample(self, n: int, *, seed: int = 0) -> Cohort:
        """``n`` fetched customers drawn at random (reproducibly with ``seed``), or all of them
        when there are fewer; the other customers are left out."""
        n = int(check_positive_number("n", n, integer=True))
        ids = self.fetched_customer_ids
        return self.subset(ids.sample(min(n, len(ids)), random_state=seed).astype("int64"))

    def __len__(self) -> int:
        return len(self.customers)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.status_counts().items() if v)
        activity = f", activity_id={self.activity_id!r}" if self.activity_id else ""
        return (f"Cohort(program_id={self.program_id}, promotion_id={self.promotion_id}"
                f"{activity}, customers={len(self)} [{counts}], incentives={len(self.incentives)}"
                f", points={len(self.points)}, alternate_currencies="
                f"{len(self.alternate_currencies)})")

    @classmethod
    def from_store(cls, store: Store | str | os.PathLike[str], program_id: int | str,
                   promotion_id: int | str, activity_id: str | None = None, *,
                   host: str | None = None) -> Cohort:
        """Load a cohort from the store without any network access.

        ``host`` is only needed when the store holds the same promotion from several hosts.
        """
        store = _as_store(store)
        program, promotion = check_id("program_id", program_id), check_id("promotion_id",
                                                                          promotion_id)
        activity = check_activity_id(activity_id)
        matches = [k for k in store.partitions() if (k.program_id, k.promotion_id,
                                                     k.activity_id) == (program, promotion,
                                                                        activity)]
        if host is not None:
            matches = [k for k in matches if k.host in (host, host_key(host))]
        if not matches:
            raise ValidationError("promotion_id", f"the store at {store.path} holds nothing for "
                                  f"program {program}, promotion {promotion}"
                                  f"{f', activity {activity!r}' if activity else ''}")
        if len(matches) > 1:
            hosts = ", ".join(sorted(k.host for k in matches))
            raise ValidationError("host", f"the store holds this promotion from several hosts "
                                  f"({hosts}); pass host=")
        stored = store.read(matches[0])
        return _assemble(matches[0], stored.customers, stored.incentives, stored.points,
                         stored.alternate_currencies, requests=0, reused=len(stored.customers))


class FetchInterrupted(KeyboardInterrupt):
    """The fetch was interrupted (Ctrl-C, kernel interrupt). ``cohort`` holds what was fetched;
    with a store, all of it is also saved there and the next run fetches only the rest."""

    def __init__(self, cohort: Cohort) -> None:
        super().__init__(f"interrupted after {cohort.requests} fetched customers")
        self.cohort = cohort


# -- input ---------------------------------------------------------------------------------------

def _as_store(store: Store | str | os.PathLike[str]) -> Store:
    return store if isinstance(store, Store) else Store(store)


def read_customer_ids(customer_ids: Any) -> tuple[list[int], pd.DataFrame]:
    """Validate and de-duplicate customer ids.

    ``customer_ids`` may be any iterable of ids, a pandas Series, or the path of a CSV or Parquet
    file with a ``customer_id`` column. Returns the valid ids (first occurrence order) and a
    ``customers``-shaped frame of the invalid entries (status ``invalid``, the bad value and its
    position in ``error_message``).
    """
    values = _raw_ids(customer_ids)
    if values and all(type(v) is int for v in values) and max(values) <= MAX_ID:
        array = np.asarray(values, dtype=np.int64)  # the common case, checked in one pass
        if (array > 0).all():
            return pd.unique(array).tolist(), typed_frame({}, CUSTOMER_COLUMNS)
    seen: set[int] = set()
    valid: list[int] = []
    invalid: list[str] = []
    for position, value in enumerate(values):
        try:
            number = check_id("customer_id", value)
        except ValidationError as exc:
            invalid.append(f"row {position}: {exc}")
            continue
        if number not in seen:
            seen.add(number)
            valid.append(number)
    bad = typed_frame({"status": ["invalid"] * len(invalid), "error_code": ["invalid_id"] *
                       len(invalid), "error_message": invalid}, CUSTOMER_COLUMNS)
    return valid, bad


def _raw_ids(customer_ids: Any) -> list[Any]:
    if isinstance(customer_ids, str | os.PathLike):
        return _ids_from_file(Path(customer_ids))
    if isinstance(customer_ids, pd.DataFrame):
        if "customer_id" not in customer_ids:
            raise ValidationError("customer_ids", "a DataFrame needs a 'customer_id' column")
        customer_ids = customer_ids["customer_id"]
    if isinstance(customer_ids, pd.Series):
        if pd.api.types.is_integer_dtype(customer_ids.dtype) and not customer_ids.hasnans:
            return customer_ids.astype("int64").tolist()
        return [None if pd.isna(v) else v for v in customer_ids.tolist()]
    if isinstance(customer_ids, bytes | dict) or not isinstance(customer_ids, Iterable):
        raise ValidationError("customer_ids", "must be an iterable of ids, a pandas Series, or "
                              f"a path to a CSV/Parquet file, got {type(customer_ids).__name__}")
    return [int(v) if hasattr(v, "dtype") and pd.api.types.is_integer_dtype(v.dtype) else v
            for v in customer_ids]


def _ids_from_file(path: Path) -> list[Any]:
    path = path.expanduser()
    if not path.is_file():
        raise ValidationError("customer_ids", f"no file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path, columns=None)
        elif suffix in (".csv", ".txt", ".gz"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            raise ValidationError("customer_ids", f"{path.name}: expected a .csv or .parquet file")
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError("customer_ids", f"cannot read {path}: {exc}") from exc
    if "customer_id" not in frame.columns:
        raise ValidationError("customer_ids", f"{path.name} has no 'customer_id' column "
                              f"(columns: {', '.join(map(str, frame.columns))})")
    return _raw_ids(frame["customer_id"])


# -- fetching ------------------------------------------------------------------------------------

def _limiter_for(client: Client, rate_limit: float | RateLimiter | None) -> RateLimiter | None:
    if isinstance(rate_limit, RateLimiter):
        return rate_limit
    if rate_limit is None:
        return None if client.is_loopback else RateLimiter(DEFAULT_REMOTE_RATE_LIMIT)
    if rate_limit == float("inf"):
        return None
    return RateLimiter(check_positive_number("rate_limit", rate_limit))


@dataclass
class _Outcome:
    customer_id: int
    status: str
    fetched_at: pd.Timestamp
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    rows: tuple[list, list, list] = ([], [], [])


def _fetch_one(client: Client, customer_id: int, program_id: int, promotion_id: int,
               activity_id: str | None, limiter: RateLimiter | None,
               stop: threading.Event) -> _Outcome | None:
    if stop.is_set():
        return None
    fetched_at = pd.Timestamp.now(tz="UTC")
    try:
        payload, request_id = client.fetch_summary_payload(customer_id, program_id, promotion_id,
                                                           activity_id, throttle=limiter)
        summary, warnings = unwrap_summary(payload, request_id=request_id)
        rows = summary_rows(summary)
    except CapnbError as exc:
        return _Outcome(customer_id, fetched_at=fetched_at, **failure_fields(exc))
    empty = summary_is_empty(rows, warnings)
    # Rows are filed under the customer asked for, even if the answer names another id.
    rows = tuple([(customer_id, *row[1:]) for row in part] for part in rows)
    return _Outcome(customer_id, "no_benefits" if empty else "ok", fetched_at, request_id,
                    rows=rows)


class _Batches:
    """Collects outcomes and turns them into compact frames (and store batches) as they come."""

    def __init__(self, store: Store | None, key: PartitionKey) -> None:
        self.store, self.key = store, key
        self.pending: list[_Outcome] = []
        self.frames: dict[str, list[pd.DataFrame]] = {n: [] for n in ("customers",
                                                                      *BENEFIT_TABLES)}
        self.last_flush = time.monotonic()
        self.added = 0

    def add(self, outcome: _Outcome) -> None:
        self.pending.append(outcome)
        self.added += 1
        if (len(self.pending) >= BATCH_CUSTOMERS
                or time.monotonic() - self.last_flush >= BATCH_SECONDS):
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        outcomes, self.pending = self.pending, []
        customers = typed_frame({
            "customer_id": [o.customer_id for o in outcomes],
            "status": [o.status for o in outcomes],
            "fetched_at": [o.fetched_at for o in outcomes],
            "request_id": [o.request_id for o in outcomes],
            "error_code": [o.error_code for o in outcomes],
            "error_message": [o.error_message for o in outcomes],
        }, CUSTOMER_COLUMNS)
        parts = frames_from_rows(*([row for o in outcomes for row in o.rows[i]]
                                   for i in range(3)))
        fetched_at = dict(zip(customers["customer_id"], customers["fetched_at"], strict=True))
        batch = {"customers": customers}
        for name, frame in zip(BENEFIT_TABLES, parts, strict=True):
            batch[name] = frame.assign(fetched_at=frame["customer_id"].map(fetched_at).astype(
                UTC_TIMESTAMP))
        if self.store is not None:
            self.store.write_batch(self.key, batch)
        else:
            for name, frame in batch.items():
                self.frames[name].append(frame)

    def collected(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name, frames in self.frames.items():
            columns = CUSTOMER_COLUMNS if name == "customers" else FRAME_NAMES[name]
            out[name] = (pd.concat(frames, ignore_index=True)[list(columns)] if frames
                         else empty_frame(columns))
        return out


def fetch_cohort(
    client: Client,
    customer_ids: Any,
    program_id: int | str,
    promotion_id: int | str,
    activity_id: str | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    rate_limit: float | RateLimiter | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    refresh: bool = False,
    max_age: pd.Timedelta | str | None = None,
    progress: bool = True,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int, int], object] | None = None,
    identifier: str | None = None,
    source: str = "INSTORE",
) -> Cohort:
    """Fetch the action summary of every customer of a cohort in one promotion.

    Parameters
    ----------
    client : Client
    customer_ids : iterable of ids, pandas Series, or path of a CSV/Parquet file
        The file needs a ``customer_id`` column. Duplicates are fetched once; invalid ids are
        reported with status ``invalid`` and never sent.
    program_id, promotion_id : int or digit string
    activity_id : str, optional
        Scope the benefits to one activity.
    workers : int
        Concurrent requests (1-256). The client's connection pool should be at least as large.
    rate_limit : float or RateLimiter, optional
        Requests per minute, shared by all workers, never exceeded in any sliding minute (pass
        one ``RateLimiter`` to several fetches that share an API key).
        Default: unlimited for loopback hosts (the sandbox), ``DEFAULT_REMOTE_RATE_LIMIT``
        (100/min, the smallest documented limit) for real clusters; ``float("inf")`` disables it.
        A 429 from the server also pauses every worker.
    store : Store or path, optional
        Reuse what is stored and save what is fetched. Re-running a finished cohort sends no
        request; an interrupted run resumes where it stopped.
    refresh : bool
        Fetch every customer again even if stored.
    max_age : Timedelta or str, optional
        Fetch again stored customers older than this (e.g. ``"1D"``).
    progress : bool
        Show a progress bar when someone is watching (never under papermill/nbval/CI).
    cancel : threading.Event, optional
        Setting it from another thread stops the fetch like Ctrl-C does (for apps).
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` after each customer fetched (for apps).
    identifier : str, optional
        ``mobile``, ``email``, ``externalId``, ``cardnumber`` or ``id``: ``customer_ids`` are
        then values of that identifier (a file's column may be named after it), resolved first
        with the lookup endpoint (see :func:`capnb.fetch.identifiers.resolve_identifiers`). Values
        nobody has get status ``not_found`` (lookup failures ``failed``, blanks ``invalid``),
        the value in ``error_message`` and no ``customer_id``.
    source : str
        The identifiers' source, with ``identifier``.

    Returns
    -------
    Cohort

    Raises
    ------
    ValidationError
        Bad arguments (before any request).
    FetchInterrupted
        On Ctrl-C / kernel interrupt or ``cancel``, after saving what was fetched; ``.cohort``
        holds it.
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    program, promotion = check_id("program_id", program_id), check_id("promotion_id",
                                                                      promotion_id)
    activity = check_activity_id(activity_id)
    workers = int(check_positive_number("workers", workers, integer=True))
    if workers > MAX_WORKERS:
        raise ValidationError("workers", f"must be at most {MAX_WORKERS}, got {workers}")
    limiter = _limiter_for(client, rate_limit)
    age = _check_max_age(max_age)
    if not isinstance(refresh, bool):
        raise ValidationError("refresh", f"must be True or False, got {refresh!r}")
    store_obj = _as_store(store) if store is not None else None
    if identifier is None:
        ids, invalid = read_customer_ids(customer_ids)
    else:  # identifiers first become ids; unresolved ones are reported, never dropped
        from capnb.fetch.identifiers import resolve_identifiers

        ids, invalid = resolve_identifiers(client, customer_ids, identifier, source=source,
                                           workers=workers, throttle=limiter)
    key = (store_obj.key(client.base_url, program, promotion, activity) if store_obj
           else PartitionKey(host_key(client.base_url), program, promotion, activity))

    todo = ids
    stored_count = 0
    before = None
    if store_obj is not None and not refresh:
        before = store_obj.read(key)
        known = before.customers
        fresh = known["status"].isin(FINAL_STATUSES)
        if age is not None:
            fresh &= known["fetched_at"] >= pd.Timestamp.now(tz="UTC") - age
        done = set(known.loc[fresh, "customer_id"].astype("int64").tolist())
        todo = [c for c in ids if c not in done]
        stored_count = len(ids) - len(todo)

    started = time.monotonic()
    batches = _Batches(store_obj, key)
    interrupted = False
    try:
        _run_pool(client, todo, program, promotion, activity, workers, limiter, batches,
                  progress, cancel, on_progress)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        batches.flush()

    if store_obj is not None:
        stored = before if before is not None and batches.added == 0 else store_obj.read(key)
        wanted = pd.Index(ids, dtype="Int64")
        parts = {"customers": stored.customers, "incentives": stored.incentives,
                 "points": stored.points, "alternate_currencies": stored.alternate_currencies}
        for name, frame in parts.items():
            wanted_rows = frame["customer_id"].isin(wanted)
            if not wanted_rows.all():  # the store holds more customers than asked for
                parts[name] = frame[wanted_rows]
    else:
        parts = batches.collected()
    fetched = batches.added
    cohort = _assemble(key, pd.concat([_order(parts["customers"], ids), invalid],
                                      ignore_index=True),
                       parts["incentives"], parts["points"], parts["alternate_currencies"],
                       requests=fetched, reused=stored_count,
                       elapsed=time.monotonic() - started, ordered=True)
    if interrupted:
        raise FetchInterrupted(cohort)
    log.info("cohort %s/%s: %d customers, %d fetched, %d from store, %.1f s", program, promotion,
             len(ids), fetched, stored_count, cohort.elapsed)
    return cohort


def _check_max_age(max_age: Any) -> pd.Timedelta | None:
    if max_age is None:
        return None
    try:
        age = pd.Timedelta(max_age)
    except (TypeError, ValueError) as exc:
        raise ValidationError("max_age", f"must be a duration like '12h' or '7D', got "
                              f"{max_age!r}") from exc
    if pd.isna(age) or age <= pd.Timedelta(0):
        raise ValidationError("max_age", f"must be a positive duration, got {max_age!r}")
    return age


def _run_pool(client: Client, todo: list[int], program: int, promotion: int,
              activity: str | None, workers: int, limiter: RateLimiter | None,
              batches: _Batches, progress: bool, cancel: threading.Event | None,
              on_progress: Callable[[int, int], object] | None) -> None:
    """Fetch ``todo`` with ``workers`` threads pulling ids from one shared iterator; the calling
    thread collects outcomes (so a Ctrl-C lands here) and writes batches."""
    stop = threading.Event()
    ids = iter(todo)
    ids_lock = threading.Lock()
    outcomes: queue.SimpleQueue[_Outcome | None] = queue.SimpleQueue()

    def work() -> None:
        try:
            while not stop.is_set():
                with ids_lock:
                    customer = next(ids, None)
                if customer is None:
                    break
                outcome = _fetch_one(client, customer, program, promotion, activity, limiter,
                                     stop)
                if outcome is not None:
                    outcomes.put(outcome)
        finally:
            outcomes.put(None)  # this worker is done

    threads = [threading.Thread(target=work, name=f"capnb-fetch-{n}", daemon=True)
               for n in range(min(workers, max(1, len(todo))))]
    bar = progress_bar(progress, len(todo), f"promotion {promotion}", unit="customer")
    running, failed = len(threads), 0
    try:
        for thread in threads:
            thread.start()
        done = 0
        while running:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt  # the same clean stop as Ctrl-C
            try:
                outcome = outcomes.get(timeout=0.2)
            except queue.Empty:
                continue
            if outcome is None:
                running -= 1
                continue
            batches.add(outcome)
            bar.update(1)
            done += 1
            if on_progress is not None:
                on_progress(done, len(todo))
            if outcome.status == "failed":
                failed += 1
                bar.set_postfix_str(f"failed={failed}", refresh=False)
    except KeyboardInterrupt:
        stop.set()
        # Requests already sent finish (each has a timeout); keep their answers.
        while running:
            outcome = outcomes.get()
            if outcome is None:
                running -= 1
            else:
                batches.add(outcome)
        raise
    finally:
        stop.set()
        bar.close()


def _order(customers: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    """Customers in the order they were requested (unfetched ones left out)."""
    position = pd.Series(range(len(ids)), index=pd.Index(ids, dtype="Int64"))
    order = customers["customer_id"].map(position)
    return customers.assign(_order=order).sort_values("_order", kind="stable").drop(
        columns="_order")


def _assemble(key: PartitionKey, customers: pd.DataFrame, incentives: pd.DataFrame,
              points: pd.DataFrame, currencies: pd.DataFrame, *, requests: int,
              reused: int, elapsed: float = 0.0, ordered: bool = False) -> Cohort:
    frames = {}
    for name, frame in (("incentives", incentives), ("points", points),
                        ("alternate_currencies", currencies)):
        if not frame["customer_id"].is_monotonic_increasing:
            frame = frame.sort_values("customer_id", kind="stable")
        frames[name] = typed_frame(frame.reset_index(drop=True), FRAME_NAMES[name])
    if not ordered:
        customers = customers.sort_values("customer_id", kind="stable")
    return Cohort(program_id=key.program_id, promotion_id=key.promotion_id,
                  activity_id=key.activity_id, host=key.host,
                  customers=typed_frame(customers.reset_index(drop=True), CUSTOMER_COLUMNS),
                  requests=requests, reused=reused, elapsed=elapsed, **frames)
