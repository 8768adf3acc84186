"""Store: atomic batches, latest fetch wins, crash and corruption handling, concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from capnb.errors import CapnbWarning, StoreError, ValidationError
from capnb.fetch.store import PartitionKey, Store
from capnb.schema import CUSTOMER_COLUMNS, POINTS_COLUMNS, UTC_TIMESTAMP, typed_frame

KEY = PartitionKey("eu.api.capillarytech.com", 3334, 7, None)


def batch(customer_ids, when, points=10.0, status="ok"):
    when = pd.Timestamp(when, tz="UTC")
    customers = typed_frame({"customer_id": customer_ids, "status": [status] * len(customer_ids),
                             "fetched_at": [when] * len(customer_ids),
                             "request_id": [f"r{c}" for c in customer_ids]}, CUSTOMER_COLUMNS)
    rows = typed_frame({"customer_id": customer_ids, "program_id": [3334] * len(customer_ids),
                        "promotion_id": [7] * len(customer_ids),
                        "points_category": ["REGULAR_POINTS"] * len(customer_ids),
                        "total_points": [points] * len(customer_ids),
                        "times_issued": [1] * len(customer_ids),
                        "last_issued_on": [1750000000000] * len(customer_ids)},
                       POINTS_COLUMNS | {"fetched_at": UTC_TIMESTAMP})
    rows["fetched_at"] = customers["fetched_at"]
    return {"customers": customers, "points": rows}


def test_roundtrip_and_latest_fetch_wins(tmp_path):
    store = Store(tmp_path / "s")
    store.write_batch(KEY, batch([1, 2, 3], "2026-01-01"))
    store.write_batch(KEY, batch([2], "2026-02-01", points=99.0))
    stored = store.read(KEY)
    assert stored.customers["customer_id"].tolist() == [1, 2, 3]
    assert stored.points.set_index("customer_id")["total_points"].to_dict() == {
        1: 10.0, 2: 99.0, 3: 10.0}
    assert list(stored.points.columns) == list(POINTS_COLUMNS)
    assert store.partitions() == [KEY]


def test_plain_pandas_and_pyarrow_can_read_it(tmp_path):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1, 2], "2026-01-01"))
    frame = pd.read_parquet(tmp_path / "points")
    assert len(frame) == 2 and {"program", "promotion", "activity", "host"} <= set(frame.columns)


def test_crash_between_files_ignores_the_uncommitted_batch(tmp_path):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1], "2026-01-01"))
    store.write_batch(KEY, batch([2], "2026-01-02"))
    # As if killed after the points file was renamed into place but before the commit file:
    sorted((tmp_path / "customers").rglob("part-*.parquet"))[-1].unlink()
    # ... and while a temporary file was half written.
    (tmp_path / "points").joinpath(*KEY.parts(), ".part-x.parquet.tmp").write_bytes(b"PAR1junk")
    stored = store.read(KEY)
    assert stored.customers["customer_id"].tolist() == [1]
    assert stored.points["customer_id"].tolist() == [1]


@pytest.mark.parametrize("table", ["customers", "points"])
def test_corrupt_file_is_quarantined_and_refetched(tmp_path, table):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1], "2026-01-01"))
    store.write_batch(KEY, batch([2], "2026-01-02"))
    files = sorted((tmp_path / table).rglob("part-*.parquet"))
    files[-1].write_bytes(files[-1].read_bytes()[:40])  # truncated on disk
    with pytest.warns(CapnbWarning, match="unreadable"):
        stored = store.read(KEY)
    assert stored.customers["customer_id"].tolist() == [1]
    assert stored.points["customer_id"].tolist() == [1]
    assert list((tmp_path / table).rglob(".corrupt-*"))
    assert store.read(KEY).customers["customer_id"].tolist() == [1]  # no warning twice


def test_two_processes_writing_at_once(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent.parent)!r})
        from tests.test_store import batch, KEY
        from capnb.fetch.store import Store
        start = int(sys.argv[1])
        store = Store({str(tmp_path)!r})
        for i in range(20):
            store.write_batch(KEY, batch([start + i], "2026-01-01"))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in (1000, 2000)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    stored = Store(tmp_path).read(KEY)
    assert sorted(stored.customers["customer_id"].tolist()) == list(range(1000, 1020)) + list(
        range(2000, 2020))
    assert len(stored.points) == 40


@pytest.mark.parametrize("bad", ["", None, 5])
def test_bad_paths(bad):
    with pytest.raises(ValidationError, match="path"):
        Store(bad)


def test_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValidationError, match="not a folder"):
        Store(tmp_path / "f")


@pytest.mark.parametrize("table", ["customers", "points"])
def test_a_readable_file_of_the_wrong_schema_is_quarantined_and_refetched(tmp_path, table):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1], "2026-01-01"))
    store.write_batch(KEY, batch([2], "2026-01-02"))
    victim = sorted((tmp_path / table).rglob("part-*.parquet"))[-1]
    frame = pd.read_parquet(victim)
    frame["customer_id"] = frame["customer_id"].astype(str)  # readable, but ids as text
    frame.to_parquet(victim, index=False)
    with pytest.warns(CapnbWarning, match="customer_id"):
        stored = store.read(KEY)
    assert stored.customers["customer_id"].tolist() == [1]  # customer 2 is fetched again
    assert stored.points["customer_id"].tolist() == [1]
    assert list((tmp_path / table).rglob(".corrupt-*"))
    assert store.read(KEY).customers["customer_id"].tolist() == [1]  # no warning twice
    store.write_batch(KEY, batch([2], "2026-01-03", points=5.0))  # the refetch heals it
    assert store.read(KEY).points.set_index("customer_id")["total_points"].to_dict() == {
        1: 10.0, 2: 5.0}


def test_a_file_without_fetched_at_is_quarantined(tmp_path):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1], "2026-01-01"))
    store.write_batch(KEY, batch([2], "2026-01-02"))
    victim = sorted((tmp_path / "customers").rglob("part-*.parquet"))[-1]
    pd.read_parquet(victim).drop(columns="fetched_at").to_parquet(victim, index=False)
    with pytest.warns(CapnbWarning, match="no fetched_at column"):
        assert store.read(KEY).customers["customer_id"].tolist() == [1]


def test_older_but_compatible_types_are_still_read(tmp_path):
    store = Store(tmp_path)
    store.write_batch(KEY, batch([1, 2], "2026-01-01"))
    victim = sorted((tmp_path / "points").rglob("part-*.parquet"))[-1]
    frame = pd.read_parquet(victim)
    frame = frame.astype({"customer_id": "int32", "times_issued": "int16"})
    frame["fetched_at"] = frame["fetched_at"].dt.as_unit("ms")
    frame.to_parquet(victim, index=False)
    stored = store.read(KEY)
    assert stored.points["customer_id"].tolist() == [1, 2]
    assert stored.points["times_issued"].tolist() == [1, 1]


def test_a_store_that_cannot_be_written_is_found_before_any_request(tmp_path):
    (tmp_path / "f").write_text("x")
    store = Store(tmp_path / "f" / "store")  # a path under a file
    with pytest.raises(StoreError, match="cannot write to the store"):
        store.check_writable()
    Store(tmp_path / "new" / "store").check_writable()  # created, nothing left behind
    assert list((tmp_path / "new" / "store").iterdir()) == []
