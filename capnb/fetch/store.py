"""``Store``: a local Parquet dataset of fetched action summaries, so nothing is fetched twice.

Layout (Hive-style partitions, readable by pandas, pyarrow, DuckDB or Spark)::

    <path>/<table>/host=<host>/program=<id>/promotion=<id>/activity=<id|%28all%29>/<batch>.parquet

with ``<table>`` one of ``customers``, ``incentives``, ``points``, ``alternate_currencies``.
Every table row carries ``fetched_at``. A batch is written as one file per table, each written
to a hidden temporary name and renamed into place, the ``customers`` file last: a batch whose
``customers`` file is missing (a crash mid-batch) is ignored and its customers fetched again.
When a customer was fetched more than once, the latest fetch wins. Files that cannot be read,
or that read as the wrong schema (``customer_id`` as text, no ``fetched_at``), are moved aside
(``.corrupt-*``) with the rest of their batch, reported, and their customers fetched again.
:meth:`Store.check_writable` finds a store that cannot be written before a fetch starts.
Credentials never enter the store: only ids, statuses, request ids and benefits do.
"""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from capnb.errors import CapnbWarning, StoreError, ValidationError
from capnb.schema import (
    CURRENCY_COLUMNS,
    CUSTOMER_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    UTC_TIMESTAMP,
    typed_frame,
)

log = logging.getLogger("capnb")

ALL_ACTIVITIES = "(all)"
TABLES: dict[str, dict[str, str]] = {
    "customers": CUSTOMER_COLUMNS,
    "incentives": INCENTIVE_COLUMNS | {"fetched_at": UTC_TIMESTAMP},
    "points": POINTS_COLUMNS | {"fetched_at": UTC_TIMESTAMP},
    "alternate_currencies": CURRENCY_COLUMNS | {"fetched_at": UTC_TIMESTAMP},
}
BENEFIT_TABLES = ("incentives", "points", "alternate_currencies")
REQUIRED_COLUMNS = ("customer_id", "fetched_at")
"""Columns every stored file must have (a file without them is moved aside)."""
# Which Arrow types a stored column may have: its own kind, as any capnb version wrote it.
_KINDS = {"int64": (pa.types.is_integer,),
          "double": (pa.types.is_floating, pa.types.is_integer),
          "large_string": (pa.types.is_string, pa.types.is_large_string),
          "timestamp": (pa.types.is_timestamp,)}


@dataclass(frozen=True)
class PartitionKey:
    """Which cohort a stored row belongs to: host, program, promotion and activity filter."""

    host: str
    program_id: int
    promotion_id: int
    activity_id: str | None = None

    def parts(self) -> list[str]:
        activity = ALL_ACTIVITIES if self.activity_id is None else self.activity_id
        return [f"host={quote(self.host, safe='')}", f"program={self.program_id}",
                f"promotion={self.promotion_id}", f"activity={quote(activity, safe='')}"]


def host_key(base_url: str) -> str:
    """The store's name for a host: the base URL's ``netloc`` (``eu.api.capillarytech.com``)."""
    return urlsplit(base_url).netloc or base_url


def as_store(store: Store | str | os.PathLike[str]) -> Store:
    """``store`` itself, or a ``Store`` at the path it names."""
    return store if isinstance(store, Store) else Store(store)


@dataclass(frozen=True)
class StoredCohort:
    """What the store holds for one partition: the latest fetch of every customer."""

    customers: pd.DataFrame
    incentives: pd.DataFrame
    points: pd.DataFrame
    alternate_currencies: pd.DataFrame


class Store:
    """A local Parquet store of fetched summaries.

    Parameters
    ----------
    path : str or Path
        Folder of the dataset (created on first write).
    host_alias : str, optional
        Name to file every host under instead of its address; useful when the same data is
        served from changing addresses (a sandbox on a random port).

    Examples
    --------
    >>> store = capnb.Store("~/.capnb-store")                 # doctest: +SKIP
    >>> cohort = capnb.fetch_cohort(client, ids, 3334, 7, store=store)  # doctest: +SKIP
    >>> pd.read_parquet(store.path / "points")                 # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, host_alias: str | None = None) -> None:
        if not isinstance(path, str | os.PathLike) or not str(path).strip():
            raise ValidationError("path", f"must be a folder path, got {path!r}")
        self.path = Path(path).expanduser()
        if self.path.exists() and not self.path.is_dir():
            raise ValidationError("path", f"{self.path} exists and is not a folder")
        if host_alias is not None and (not isinstance(host_alias, str) or not host_alias.strip()):
            raise ValidationError("host_alias", "must be a non-empty string or None")
        self.host_alias = host_alias

    def __repr__(self) -> str:
        alias = f", host_alias={self.host_alias!r}" if self.host_alias else ""
        return f"Store({str(self.path)!r}{alias})"

    def key(self, base_url: str, program_id: int, promotion_id: int,
            activity_id: str | None = None) -> PartitionKey:
        """The partition for a cohort fetched from ``base_url``."""
        return PartitionKey(self.host_alias or host_key(base_url), program_id, promotion_id,
                            activity_id)

    def _folder(self, table: str, key: PartitionKey) -> Path:
        return self.path.joinpath(table, *key.parts())

    # -- writing ------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``StoreError`` unless a batch can be written here (the folder is created if
        needed, and a probe file written and removed): call it before a fetch's first request,
        so a read-only folder or a path under a file is found before, not after, the work."""
        probe = self.path / f".capnb-write-check-{uuid.uuid4().hex[:12]}.tmp"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"cannot write to the store at {self.path}: {exc}") from exc

    def write_batch(self, key: PartitionKey, frames: dict[str, pd.DataFrame]) -> None:
        """Write one batch atomically: benefit tables first, then ``customers`` (the commit)."""
        batch = f"part-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
        try:
            for table in (*BENEFIT_TABLES, "customers"):
                frame = frames.get(table)
                if table != "customers" and (frame is None or frame.empty):
                    continue
                self._write_file(self._folder(table, key), batch,
                                 typed_frame(frame if frame is not None else {}, TABLES[table]))
        except OSError as exc:
            raise StoreError(f"cannot write to the store at {self.path}: {exc}") from exc

    @staticmethod
    def _write_file(folder: Path, batch: str, frame: pd.DataFrame) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{batch}.parquet"
        temporary = folder / f".{batch}.parquet.tmp"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, temporary)
        os.replace(temporary, final)

    # -- reading ------------------------------------------------------------------------------

    def read(self, key: PartitionKey) -> StoredCohort:
        """Load the latest fetch of every customer in ``key``'s partition."""
        committed = {path.stem for path in self._files("customers", key)}
        # Benefit files first: an unreadable one takes its whole batch out of the store, so its
        # customers look unfetched (and are fetched again) rather than fetched with no benefits.
        benefits = {}
        for table in BENEFIT_TABLES:
            files = [p for p in self._files(table, key) if p.stem in committed]
            benefits[table] = self._read_table(table, files)
        customers = self._read_table("customers", self._files("customers", key))
        readable = set(self._files("customers", key))
        refetched = bool(customers["customer_id"].duplicated().any())
        if refetched:  # keep each customer's latest fetch (rarely needed: skip the copies)
            customers = customers.sort_values(["customer_id", "fetched_at"], kind="stable")
            customers = customers[~customers["customer_id"].duplicated(keep="last")]
            customers = customers.reset_index(drop=True)
        for table, frame in benefits.items():
            if len(readable) < len(committed) or refetched:
                latest = customers[["customer_id", "fetched_at"]]
                frame = frame.merge(latest, on=["customer_id", "fetched_at"], how="inner")
            columns = [c for c in TABLES[table] if c != "fetched_at"]
            benefits[table] = frame[columns].reset_index(drop=True)
        return StoredCohort(customers=customers, **benefits)

    def partitions(self) -> list[PartitionKey]:
        """Every partition that holds at least one committed batch."""
        keys = []
        root = self.path / "customers"
        for folder in sorted(root.glob("host=*/program=*/promotion=*/activity=*")):
            values = [unquote(part.split("=", 1)[1]) for part in folder.relative_to(root).parts]
            if any(folder.glob("part-*.parquet")):
                activity = None if values[3] == ALL_ACTIVITIES else values[3]
                keys.append(PartitionKey(values[0], int(values[1]), int(values[2]), activity))
        return keys

    def _files(self, table: str, key: PartitionKey) -> list[Path]:
        return sorted(self._folder(table, key).glob("part-*.parquet"))

    def _read_table(self, table: str, files: list[Path]) -> pd.DataFrame:
        pieces = []
        for path in files:
            try:
                with pq.ParquetFile(path) as parquet:  # lighter than read_table's dataset
                    problem = _schema_problem(table, parquet.schema_arrow)
                    piece = None if problem else parquet.read(use_threads=False)
            except (OSError, pa.ArrowException) as exc:
                self._quarantine(path, f"is unreadable ({type(exc).__name__})")
                continue
            if piece is None:
                self._quarantine(path, f"has an incompatible schema ({problem})")
                continue
            pieces.append(piece)
        if not pieces:
            return typed_frame({}, TABLES[table])
        try:
            combined = pa.concat_tables(pieces, promote_options="permissive")
        except pa.ArrowException as exc:
            raise StoreError(f"store table {table!r} has incompatible files: {exc}") from exc
        del pieces
        # Sort (stably) by customer one column at a time, releasing each unsorted column before
        # the next, then convert while releasing Arrow's copy: a table of millions of rows is
        # never held twice (``Table.sort_by`` would copy it whole). Hence the ``del``s.
        order = pc.sort_indices(combined, sort_keys=[("customer_id", "ascending")])
        names, metadata, columns = combined.column_names, combined.schema.metadata, []
        for _ in names:
            columns.append(combined.column(0).take(order))
            combined = combined.remove_column(0)
        del combined, order
        pool = pa.default_memory_pool()
        pool.release_unused()  # Arrow's allocator keeps freed memory unless told
        combined = pa.table(dict(zip(names, columns, strict=True)), metadata=metadata)
        del columns
        frame = typed_frame(combined.to_pandas(self_destruct=True, split_blocks=True),
                            TABLES[table])
        del combined
        pool.release_unused()
        return frame

    def _quarantine(self, path: Path, reason: str) -> None:
        """Move an unusable file aside, with the rest of its batch, so it is fetched again."""
        partition = path.parent.relative_to(self.path).parts[1:]
        for table in TABLES:
            sibling = self.path.joinpath(table, *partition, path.name)
            if sibling.exists():
                sibling.rename(sibling.with_name(f".corrupt-{sibling.name}"))
        message = (f"store file {path} {reason}; its batch was moved aside as .corrupt-* and "
                   "those customers will be fetched again")
        log.warning(message)
        warnings.warn(message, CapnbWarning, stacklevel=4)


def _expected_types(table: str) -> dict[str, pa.DataType]:
    schema = pa.Schema.from_pandas(typed_frame({}, TABLES[table]), preserve_index=False)
    return {field.name: field.type for field in schema}


_EXPECTED = {table: _expected_types(table) for table in TABLES}


def _schema_problem(table: str, schema: pa.Schema) -> str | None:
    """What makes a stored file's ``schema`` unusable for ``table`` (None when it is usable):
    a required column missing, or a column of another kind (text where ids are numbers)."""
    missing = [name for name in REQUIRED_COLUMNS if name not in schema.names]
    if missing:
        return f"no {', '.join(missing)} column"
    for name, expected in _EXPECTED[table].items():
        if name not in schema.names:
            continue
        actual = schema.field(name).type
        kind = "timestamp" if pa.types.is_timestamp(expected) else str(expected)
        usable = any(ok(actual) for ok in _KINDS[kind]) if kind in _KINDS else actual == expected
        if not usable and not pa.types.is_null(actual):
            return f"{name} is {actual}, not {expected}"
    return None
