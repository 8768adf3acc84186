"""Exact restriction usage and issual history of many customers from ``promotionData``.

The action summary can only bound period-based caps (see :mod:`capnb.analysis.limits`); the
``promotionData`` endpoint reports each restriction's ``currentCustomerUsage`` per customer.
:func:`fetch_exact_usage` collects it for a cohort through :func:`capnb.fetch.pool.fan_out`
(bounded threads, shared rate limiter, progress bar, every failure reported per customer);
:func:`capnb.analysis.utilisation` with ``usage="exact"`` and
:func:`capnb.analysis.exact_utilisation` summarise it. Where the answers carry
``customerPromotionTimelines``, :attr:`ExactUsage.issuals` holds every enrolment and issual
(``capnb.analysis.timeline(..., source="issuals")`` counts them per period).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capnb.api.client import PROMOTION_STATUSES, Client
from capnb.api.promotion_data import (
    PromotionDataRows,
    issual_frame,
    timeline_status_frame,
    usage_frame,
)
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort
from capnb.fetch.inputs import read_customer_ids
from capnb.fetch.pool import Outcome, fan_out
from capnb.fetch.ratelimit import RateLimiter, limiter_for
from capnb.schema import (
    CUSTOMER_COLUMNS,
    CUSTOMER_STATUSES,
    ISSUAL_COLUMNS,
    TIMELINE_STATUS_COLUMNS,
    empty_frame,
    typed_frame,
)
from capnb.validation import check_id, check_positive_number

__all__ = ["ExactUsage", "fetch_exact_usage"]


@dataclass(eq=False)
class ExactUsage:
    """``promotionData`` rows of many customers.

    ``usage`` has ``capnb.schema.PROMOTION_USAGE_COLUMNS``; ``customers`` has
    ``CUSTOMER_COLUMNS``, one row per requested customer (``ok``, ``not_found``, ``failed``,
    ``invalid``); ``issuals`` has ``ISSUAL_COLUMNS`` (one row per issual of the
    ``customerPromotionTimelines``, one with null issual columns per enrolment without
    issuals); ``timelines`` has ``TIMELINE_STATUS_COLUMNS`` (per customer and promotion
    answered: whether the answer carried timelines at all).
    """

    usage: pd.DataFrame
    customers: pd.DataFrame
    issuals: pd.DataFrame = field(default_factory=lambda: empty_frame(ISSUAL_COLUMNS))
    timelines: pd.DataFrame = field(
        default_factory=lambda: empty_frame(TIMELINE_STATUS_COLUMNS))

    @property
    def measured_customer_ids(self) -> pd.Series:
        """Customers whose usage was fetched (status ``ok``)."""
        return self.customers.loc[self.customers["status"] == "ok",
                                  "customer_id"].reset_index(drop=True)

    def status_counts(self) -> pd.Series:
        """Customers per status (``ok``, ``not_found``, ``failed``, ``invalid``; zeros kept)."""
        counts = self.customers["status"].value_counts()
        statuses = [s for s in CUSTOMER_STATUSES if s != "no_benefits"]
        return counts.reindex(statuses, fill_value=0).rename("customers")


def fetch_exact_usage(client: Client, customer_ids: Any, program_id: int | str | None = None,
                      promotion_id: int | str | None = None, *, workers: int = 8,
                      rate_limit: float | RateLimiter | None = None,
                      progress: bool = True, promotion_status: str | None = None,
                      ) -> ExactUsage:
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
    promotion_status : str, optional
        Sent as ``promotionStatusForCustomer`` (``AVAILABLE_TO_ENROL``, ``AVAILABLE_TO_EARN``,
        ``AVAILABLE_TO_REDEEM``, ``EXPIRED``; see :meth:`Client.customer_promotion_data`): the
        documentation shows ``customerPromotionTimelines`` only in answers filtered so. A
        promotion not in that state is then not answered for.

    Returns
    -------
    ExactUsage
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    program = None if program_id is None else check_id("program_id", program_id)
    promotion = None if promotion_id is None else check_id("promotion_id", promotion_id)
    workers = int(check_positive_number("workers", workers, integer=True))
    if promotion_status is not None and promotion_status not in PROMOTION_STATUSES:
        raise ValidationError("promotion_status", f"must be one of "
                              f"{', '.join(PROMOTION_STATUSES)} or None, got "
                              f"{promotion_status!r}")
    if isinstance(customer_ids, Cohort):
        customer_ids = customer_ids.fetched_customer_ids.astype("int64").tolist()
    ids, invalid = read_customer_ids(customer_ids)
    limiter = limiter_for(rate_limit, loopback=client.is_loopback)

    def fetch(customer: int) -> PromotionDataRows:
        answer = client.customer_promotion_data(customer, program, status=promotion_status,
                                                throttle=limiter)
        # rows are filed under the customer asked for, like fetch_cohort does
        for name in ("usage", "issuals", "timelines"):
            setattr(answer, name, [(customer, *row[1:]) for row in getattr(answer, name)
                                   if promotion is None or row[2] == promotion])
        return answer

    answers: dict[int, Outcome[int, PromotionDataRows]] = {}
    fan_out(ids, fetch, lambda outcome: answers.setdefault(outcome.item, outcome),
            workers=workers, name="capnb-usage", progress=progress, description="promotionData",
            unit="customer", on_stop=client.cancel)
    usage_rows: list[tuple[Any, ...]] = []
    issual_rows: list[tuple[Any, ...]] = []
    timeline_rows: list[tuple[Any, ...]] = []
    outcomes: list[dict[str, Any]] = []
    for customer in ids:
        answer = answers[customer]
        outcome: dict[str, Any] = {"customer_id": customer, "fetched_at": answer.started_at}
        if answer.error is not None:
            outcomes.append({**outcome, **answer.failure()})
            continue
        rows = answer.result
        usage_rows.extend(rows.usage)
        issual_rows.extend(rows.issuals)
        timeline_rows.extend(rows.timelines)
        outcomes.append({**outcome, "status": "ok", "request_id": rows.request_id})
    customers = typed_frame(pd.DataFrame(outcomes, columns=list(CUSTOMER_COLUMNS)),
                            CUSTOMER_COLUMNS)
    customers = typed_frame(pd.concat([customers, invalid], ignore_index=True), CUSTOMER_COLUMNS)
    return ExactUsage(usage=usage_frame(usage_rows), customers=customers,
                      issuals=issual_frame(issual_rows),
                      timelines=timeline_status_frame(timeline_rows))
