"""``Cohort``: the action summaries of many customers in one promotion, and ``FetchInterrupted``.

:func:`capnb.fetch.summaries.fetch_cohort` builds a cohort over HTTP, :meth:`Cohort.from_store`
from a store without any request; both go through :func:`assemble_cohort`, which types and
orders the frames.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from capnb.errors import ValidationError
from capnb.fetch.store import PartitionKey, Store, as_store, host_key
from capnb.schema import (
    CURRENCY_COLUMNS,
    CUSTOMER_COLUMNS,
    CUSTOMER_STATUSES,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    typed_frame,
)
from capnb.validation import check_activity_id, check_id, check_positive_number

if TYPE_CHECKING:
    from capnb.fetch.sampling import SampleDesign

__all__ = ["BENEFIT_FRAME_COLUMNS", "Cohort", "FetchInterrupted", "assemble_cohort"]

BENEFIT_FRAME_COLUMNS = {"incentives": INCENTIVE_COLUMNS, "points": POINTS_COLUMNS,
                         "alternate_currencies": CURRENCY_COLUMNS}
"""The columns of a cohort's benefit frames, by frame name."""


@dataclass(eq=False)
class Cohort:
    """The action summaries of many customers in one promotion, in long format.

    ``incentives``, ``points`` and ``alternate_currencies`` have the columns of
    ``ActionSummary``'s frames. ``customers`` has one row per requested customer:
    ``customer_id`` (Int64), ``status`` (``ok``, ``no_benefits``, ``not_found``, ``failed`` or
    ``invalid``), ``fetched_at`` (UTC), ``request_id``, ``error_code``, ``error_message``.
    ``requests`` counts the customers fetched over HTTP by the call that built it, ``reused``
    those taken from the store instead. ``design`` is set when the customers are a random
    sample of a larger population (:func:`capnb.fetch.sampling.draw_sample`): population
    figures are then estimates with intervals (:mod:`capnb.analysis.estimates`).
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
    design: SampleDesign | None = field(default=None, repr=False)

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
                       reused=0, elapsed=0.0, design=None)

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
        store = as_store(store)
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
        return assemble_cohort(matches[0], stored.customers, stored.incentives, stored.points,
                               stored.alternate_currencies, requests=0,
                               reused=len(stored.customers))


class FetchInterrupted(KeyboardInterrupt):
    """The fetch was interrupted (Ctrl-C, kernel interrupt). ``cohort`` holds what was fetched;
    with a store, all of it is also saved there and the next run fetches only the rest."""

    def __init__(self, cohort: Cohort) -> None:
        super().__init__(f"interrupted after {cohort.requests} fetched customers")
        self.cohort = cohort


def assemble_cohort(key: PartitionKey, customers: pd.DataFrame, incentives: pd.DataFrame,
                    points: pd.DataFrame, currencies: pd.DataFrame, *, requests: int,
                    reused: int, elapsed: float = 0.0, ordered: bool = False) -> Cohort:
    """A ``Cohort`` of ``key``'s promotion from its frames, typed, benefits sorted by customer,
    ``customers`` too unless ``ordered`` (already in the order requested)."""
    frames = {}
    for name, frame in (("incentives", incentives), ("points", points),
                        ("alternate_currencies", currencies)):
        if not frame["customer_id"].is_monotonic_increasing:
            frame = frame.sort_values("customer_id", kind="stable")
        frames[name] = typed_frame(frame.reset_index(drop=True), BENEFIT_FRAME_COLUMNS[name])
    if not ordered:
        customers = customers.sort_values("customer_id", kind="stable")
    return Cohort(program_id=key.program_id, promotion_id=key.promotion_id,
                  activity_id=key.activity_id, host=key.host,
                  customers=typed_frame(customers.reset_index(drop=True), CUSTOMER_COLUMNS),
                  requests=requests, reused=reused, elapsed=elapsed, **frames)
