"""``fetch_cohort``: the action summaries of a whole cohort in one promotion.

It validates every argument and id first, skips what the store already holds, fetches the rest
with :func:`capnb.fetch.pool.fan_out` (bounded threads sharing one rate limiter and the client's
connection pool), records every customer's outcome (``ok``, ``no_benefits``, ``not_found``,
``failed``, ``invalid``), and writes :class:`~capnb.fetch.batches.Batches` to the store as it
goes, so an interrupted run loses nothing already fetched.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from capnb.api.client import Client
from capnb.api.envelope import unwrap_summary
from capnb.api.summary import check_summary_ids, summary_is_empty, summary_rows
from capnb.config import DEFAULT_WORKERS
from capnb.errors import ValidationError
from capnb.fetch.batches import Batches, CustomerOutcome
from capnb.fetch.cohort import Cohort, FetchInterrupted, assemble_cohort
from capnb.fetch.identifiers import resolve_identifiers
from capnb.fetch.inputs import read_customer_ids
from capnb.fetch.pool import Outcome, fan_out
from capnb.fetch.ratelimit import RateLimiter, limiter_for
from capnb.fetch.sampling import Sample
from capnb.fetch.store import PartitionKey, Store, as_store, host_key
from capnb.validation import check_activity_id, check_id, check_positive_number

__all__ = ["fetch_cohort"]

log = logging.getLogger("capnb")

MAX_WORKERS = 256
FINAL_STATUSES = ("ok", "no_benefits", "not_found")
"""Outcomes the store remembers; ``failed`` customers are fetched again on the next run."""

SummaryAnswer = tuple[str, str | None, tuple[list, list, list]]
"""A fetched summary: status (``ok`` or ``no_benefits``), request id, benefit rows."""


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
    customer_ids : iterable of ids, pandas Series, path of a CSV/Parquet file, or Sample
        The file needs a ``customer_id`` column. Duplicates are fetched once; invalid ids are
        reported with status ``invalid`` and never sent. A :class:`~capnb.fetch.sampling.Sample`
        (``capnb.draw_sample``) is fetched in its random order and the cohort carries its
        ``design``.
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
    limiter = limiter_for(rate_limit, loopback=client.is_loopback)
    age = _check_max_age(max_age)
    if not isinstance(refresh, bool):
        raise ValidationError("refresh", f"must be True or False, got {refresh!r}")
    store_obj = as_store(store) if store is not None else None
    design = None
    if isinstance(customer_ids, Sample):
        if identifier is not None:
            raise ValidationError("identifier", "a Sample holds customer ids: draw it from "
                                  "ids, not identifiers")
        ids, invalid, design = list(customer_ids.ids), customer_ids.invalid, customer_ids.design
    elif identifier is None:
        ids, invalid = read_customer_ids(customer_ids)
    else:  # identifiers first become ids; unresolved ones are reported, never dropped
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
    batches = Batches(store_obj, key)
    fetch = _summary_fetcher(client, program, promotion, activity, limiter)
    interrupted = False
    if store_obj is not None and todo:
        store_obj.check_writable()  # before the first request, not after thousands
    try:
        fan_out(todo, fetch, lambda outcome: batches.add(_customer_outcome(outcome)),
                workers=workers, name="capnb-fetch", progress=progress,
                description=f"promotion {promotion}", unit="customer", cancel=cancel,
                on_progress=on_progress, on_stop=client.cancel)
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
    cohort = assemble_cohort(key, pd.concat([_order(parts["customers"], ids), invalid],
                                            ignore_index=True),
                             parts["incentives"], parts["points"], parts["alternate_currencies"],
                             requests=fetched, reused=stored_count,
                             elapsed=time.monotonic() - started, ordered=True)
    cohort.design = design
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


def _summary_fetcher(client: Client, program: int, promotion: int, activity: str | None,
                     limiter: RateLimiter | None) -> Callable[[int], SummaryAnswer]:
    """The pool's task: one customer's summary; errors are left to the pool to record."""

    def fetch(customer_id: int) -> SummaryAnswer:
        payload, request_id = client.fetch_summary_payload(customer_id, program, promotion,
                                                           activity, throttle=limiter)
        summary, warnings = unwrap_summary(payload, request_id=request_id)
        # an answer naming another customer, program or promotion fails this customer
        check_summary_ids(summary, customer_id, program, promotion, request_id=request_id)
        rows = summary_rows(summary)
        empty = summary_is_empty(rows, warnings, summary)
        # Rows are filed under the ids asked for (the answer names the same or leaves them out).
        rows = tuple([(customer_id, program, promotion, *row[3:]) for row in part]
                     for part in rows)
        return "no_benefits" if empty else "ok", request_id, rows

    return fetch


def _customer_outcome(outcome: Outcome[int, SummaryAnswer]) -> CustomerOutcome:
    if outcome.error is not None:
        return CustomerOutcome(outcome.item, fetched_at=outcome.started_at, **outcome.failure())
    status, request_id, rows = outcome.result
    return CustomerOutcome(outcome.item, status, outcome.started_at, request_id, rows=rows)


def _order(customers: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    """Customers in the order they were requested (unfetched ones left out)."""
    position = pd.Series(range(len(ids)), index=pd.Index(ids, dtype="Int64"))
    order = customers["customer_id"].map(position)
    return customers.assign(_order=order).sort_values("_order", kind="stable").drop(
        columns="_order")
