"""Customers' outcomes turned into compact frames as they come: one store batch (or, without a
store, one in-memory frame per table) every ``BATCH_CUSTOMERS`` customers or ``BATCH_SECONDS``.

Batching bounds what an interrupt or a crash can lose and keeps what a long fetch holds compact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from capnb.api.summary import frames_from_rows
from capnb.fetch.cohort import BENEFIT_FRAME_COLUMNS
from capnb.fetch.store import BENEFIT_TABLES, PartitionKey, Store
from capnb.schema import CUSTOMER_COLUMNS, UTC_TIMESTAMP, empty_frame, typed_frame

__all__ = ["BATCH_CUSTOMERS", "BATCH_SECONDS", "Batches", "CustomerOutcome"]

BATCH_CUSTOMERS = 5000
"""Customers per store batch (one Parquet file per table)."""
BATCH_SECONDS = 10.0
"""A batch is also written after this many seconds, so an interrupt loses at most this much."""


@dataclass
class CustomerOutcome:
    """One customer's row of ``Cohort.customers`` and its benefit rows (incentives, points,
    alternate currencies, as ``capnb.api.summary.summary_rows`` gives them)."""

    customer_id: int
    status: str
    fetched_at: pd.Timestamp
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    rows: tuple[list, list, list] = ([], [], [])


class Batches:
    """Collects outcomes and turns them into compact frames (and store batches) as they come."""

    def __init__(self, store: Store | None, key: PartitionKey) -> None:
        self.store, self.key = store, key
        self.pending: list[CustomerOutcome] = []
        self.frames: dict[str, list[pd.DataFrame]] = {n: [] for n in ("customers",
                                                                      *BENEFIT_TABLES)}
        self.last_flush = time.monotonic()
        self.added = 0

    def add(self, outcome: CustomerOutcome) -> None:
        """Take one outcome; write a batch when enough customers or seconds have gathered."""
        self.pending.append(outcome)
        self.added += 1
        if (len(self.pending) >= BATCH_CUSTOMERS
                or time.monotonic() - self.last_flush >= BATCH_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Write what is pending as one batch (to the store, else kept in memory)."""
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
        """Without a store: every table's frames so far, concatenated (``fetched_at`` dropped
        from the benefit tables)."""
        out = {}
        for name, frames in self.frames.items():
            columns = CUSTOMER_COLUMNS if name == "customers" else BENEFIT_FRAME_COLUMNS[name]
            out[name] = (pd.concat(frames, ignore_index=True)[list(columns)] if frames
                         else empty_frame(columns))
        return out
