"""Exact restriction usage of many customers from ``promotionData``.

The action summary can only bound period-based caps (see :mod:`capnb.analysis.limits`); the
``promotionData`` endpoint reports each restriction's ``currentCustomerUsage`` per customer.
:func:`fetch_exact_usage` collects it for a cohort (thread pool, shared rate limiter, progress
bar, failures reported per customer); :func:`capnb.analysis.utilisation` with ``usage="exact"``
and :func:`capnb.analysis.exact_utilisation` summarise it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from capnb.api.client import Client
from capnb.api.promotion_data import usage_frame
from capnb.errors import CapnbError, ValidationError, failure_fields
from capnb.fetch.cohort import Cohort, _limiter_for, read_customer_ids
from capnb.fetch.progress import progress_bar
from capnb.fetch.ratelimit import RateLimiter
from capnb.schema import CUSTOMER_COLUMNS, typed_frame
from capnb.validation import check_id, check_positive_number

__all__ = ["ExactUsage", "fetch_exact_usage"]


@dataclass(eq=False)
class ExactUsage:
    """``promotionData`` rows of many customers.

    ``usage`` has ``capnb.schema.PROMOTION_USAGE_COLUMNS``; ``customers`` has
    ``CUSTOMER_COLUMNS``, one row per requested customer (``ok``, ``not_found``, ``failed``,
    ``invalid``).
    """

    usage: pd.DataFrame
    customers: pd.DataFrame

    @property
    def measured_customer_ids(self) -> pd.Series:
        """Customers whose usage was fetched (status ``ok``)."""
        return self.customers.loc[self.customers["status"] == "ok",
                                  "customer_id"].reset_index(drop=True)


def fetch_exact_usage(client: Client, customer_ids: Any, program_id: int | str | None = None,
                      promotion_id: int | str | None = None, *, workers: int = 8,
                      rate_limit: float | RateLimiter | None = None,
                      progress: bool = True) -> ExactUsage:
    """Fetch ``promotionData`` for every customer (optionally one program and promotion).

    Parameters
    ----------
    client : Client
    customer_ids : iterable, Series, path, or Cohort
        A ``Cohort`` contributes its fetched customers.
    program_id, promotion_id : int, optional
        Keep only these (``program_id`` is also sent as ``programs``).
    workers : int
    rate_limit : float or RateLimiter, optional
        As in :func:`capnb.fetch_cohort`.
    progress : bool
        Show a progress bar when someone is watching (never under papermill/nbval/CI).

    Returns
    -------
    ExactUsage
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    program = None if program_id is None else check_id("program_id", program_id)
    promotion = None if promotion_id is None else check_id("promotion_id", promotion_id)
    workers = int(check_positive_number("workers", workers, integer=True))
    if isinstance(customer_ids, Cohort):
        customer_ids = customer_ids.fetched_customer_ids.astype("int64").tolist()
    ids, invalid = read_customer_ids(customer_ids)
    limiter = _limiter_for(client, rate_limit)

    def one(customer: int) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
        fetched_at = pd.Timestamp.now(tz="UTC")
        outcome: dict[str, Any] = {"customer_id": customer, "fetched_at": fetched_at}
        try:
            rows, request_id = client.customer_promotion_usage_rows(customer, program,
                                                                    throttle=limiter)
        except CapnbError as exc:
            return [], {**outcome, **failure_fields(exc)}
        # rows are filed under the customer asked for, like fetch_cohort does
        rows = [(customer, *row[1:]) for row in rows
                if promotion is None or row[2] == promotion]
        return rows, {**outcome, "status": "ok", "request_id": request_id}

    results: list[tuple[list[tuple[Any, ...]], dict[str, Any]]] = []
    if ids:
        bar = progress_bar(progress, len(ids), "promotionData", unit="customer")
        try:
            with ThreadPoolExecutor(min(workers, len(ids)),
                                    thread_name_prefix="capnb-usage") as pool:
                for result in pool.map(one, ids):
                    results.append(result)
                    bar.update()
        finally:
            bar.close()
    usage = usage_frame([row for rows, _ in results for row in rows])
    customers = typed_frame(pd.DataFrame([o for _, o in results],
                                         columns=list(CUSTOMER_COLUMNS)), CUSTOMER_COLUMNS)
    customers = typed_frame(pd.concat([customers, invalid], ignore_index=True), CUSTOMER_COLUMNS)
    return ExactUsage(usage=usage, customers=customers)
