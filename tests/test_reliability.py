"""Reliability: faults, kills and corruption lose nothing; the sandbox holds up under load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import capnb
from capnb.fetch.cohort import Cohort
from capnb.fetch.store import Store
from capnb.fetch.summaries import fetch_cohort
from capnb.sandbox import FAULT_KINDS, FaultPlan, Sandbox

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ("incentives", "points", "alternate_currencies")


def assert_same_cohort(got: Cohort, want: Cohort) -> None:
    for name in FRAMES:
        assert_frame_equal(getattr(got, name), getattr(want, name))
    assert got.customers["customer_id"].tolist() == want.customers["customer_id"].tolist()
    assert got.customers["status"].tolist() == want.customers["status"].tolist()


@pytest.fixture(scope="module")
def reference(catalog):
    """A fault-free fetch of 2,000 customers of the enrol-and-earn promotion."""
    promotion = next(p["id"] for p in catalog["promotions"] if p["offer_type"] ==
                     "LOYALTY_EARNING")
    with Sandbox(customers=2000, seed=0) as sb:
        cohort = fetch_cohort(capnb.connect(sb.environ()),
                              sb.catalog()["customer_ids"], catalog["program_id"],
                              promotion, progress=False)
    return cohort, promotion


def test_fault_plan_kinds_and_determinism():
    plan = FaultPlan.spread(0.5, seed=3)
    assert set(plan.rates) == set(FAULT_KINDS)
    again = FaultPlan.spread(0.5, seed=3)
    assert [plan.draw() for _ in range(200)] == [again.draw() for _ in range(200)]
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan({"teapot": 0.1})


@pytest.mark.slow
def test_ten_percent_faults_of_every_kind_change_nothing(catalog, reference):
    want, promotion = reference
    plan = FaultPlan.spread(0.10, seed=1, slow_seconds=1.5)
    with Sandbox(customers=2000, seed=0, faults=plan) as sb:
        client = capnb.connect(sb.environ(), timeout=1.0, backoff=0.05, max_retries=6)
        started = time.monotonic()
        got = fetch_cohort(client, sb.catalog()["customer_ids"], catalog["program_id"],
                           promotion, workers=16, progress=False)
        elapsed = time.monotonic() - started
        faults = sb.stats()["faults"]
    assert set(faults) == set(FAULT_KINDS), faults  # every kind really happened
    assert sum(faults.values()) >= 150
    assert got.errors.empty
    assert_same_cohort(got, want)
    assert elapsed < 120


@pytest.mark.slow
def test_permanent_faults_are_reported_not_dropped(catalog, reference):
    want, promotion = reference
    plan = FaultPlan({"503": 0.05}, seed=2, permanent=0.02)
    ids = list(want.customers["customer_id"])
    broken = [c for c in ids if plan.is_permanent(c)]
    assert 10 < len(broken) < 90
    with Sandbox(customers=2000, seed=0, faults=plan) as sb:
        got = fetch_cohort(capnb.connect(sb.environ(), backoff=0.01, max_retries=3), ids,
                           catalog["program_id"], promotion, progress=False)
    assert sorted(got.errors["customer_id"]) == sorted(broken)
    assert set(got.errors["status"]) == {"failed"} and set(got.errors["error_code"]) == {"500"}
    assert got.errors["request_id"].notna().all()
    assert len(got.customers) == len(ids)  # nobody missing
    healthy = ~want.customers["customer_id"].isin(broken)
    assert got.customers[~got.customers["customer_id"].isin(broken)]["status"].tolist() == \
        want.customers[healthy]["status"].tolist()
    for name in FRAMES:
        frame = getattr(want, name)
        assert_frame_equal(getattr(got, name), frame[~frame["customer_id"].isin(broken)]
                           .reset_index(drop=True))


FETCH_SCRIPT = textwrap.dedent("""
    import sys
    import capnb
    url, store, program, promotion = sys.argv[1:5]
    client = capnb.Client(url, capnb.BasicAuth(capnb.sandbox.SANDBOX_TILL_ID,
                                               capnb.sandbox.SANDBOX_PASSWORD))
    ids = capnb.sandbox.SandboxData(customers=2000).customer_ids
    capnb.fetch.batches.BATCH_CUSTOMERS = 50  # small batches: kills land between and inside writes
    capnb.fetch_cohort(client, ids, int(program), int(promotion), workers=4,
                       store=capnb.Store(store, host_alias="sandbox"), progress=False)
""")


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(catalog, reference, tmp_path):
    want, promotion = reference
    store = Store(tmp_path / "store", host_alias="sandbox")
    kills = 0
    with Sandbox(customers=2000, seed=0, latency_ms=25) as sb:
        args = [sys.executable, "-c", FETCH_SCRIPT, sb.url, str(store.path),
                str(catalog["program_id"]), str(promotion)]
        rng = __import__("random").Random(7)
        for _ in range(5):
            process = subprocess.Popen(args, cwd=ROOT)
            time.sleep(rng.uniform(1.5, 4.0))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.wait()
            stored = store.read(store.key(sb.url, catalog["program_id"], promotion))
            assert not stored.customers["customer_id"].duplicated().any()  # and readable
        sb.reset_stats()
        got = fetch_cohort(capnb.connect(sb.environ()),
                           sb.catalog()["customer_ids"], catalog["program_id"],
                           promotion, store=store, progress=False)
        assert sb.stats()["requests"] == 2000 - len(stored.customers)
    assert kills >= 3 and 0 < len(stored.customers) < 2000
    assert_same_cohort(got, want)


def fetch_in_batches_of_100(sandbox, ids, program, promotion, store):
    """``fetch_cohort`` into ``store`` writing a part file per 100 customers (so one part can be
    spoiled while the others stay good)."""
    capnb.fetch.batches.BATCH_CUSTOMERS, saved = 100, capnb.fetch.batches.BATCH_CUSTOMERS
    try:
        return fetch_cohort(capnb.connect(sandbox.environ()), ids, program, promotion,
                            store=store, progress=False)
    finally:
        capnb.fetch.batches.BATCH_CUSTOMERS = saved


def test_corrupted_store_file_is_refetched(sandbox, catalog, tmp_path):
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    ids = list(catalog["customer_ids"][:300])
    store = Store(tmp_path / "store")
    first = fetch_in_batches_of_100(sandbox, ids, program, promotion, store)
    victim = sorted((store.path / "points").rglob("part-*.parquet"))[1]
    batch_customers = pd.read_parquet(victim)["customer_id"].nunique()
    victim.write_bytes(b"PAR1" + b"\0" * 100)  # garbage with a plausible header
    sandbox.reset_stats()
    with pytest.warns(capnb.CapnbWarning, match="unreadable"):
        again = fetch_cohort(capnb.connect(sandbox.environ()), ids, program, promotion, store=store,
                             progress=False)
    assert 0 < sandbox.stats()["requests"] >= batch_customers
    assert sandbox.stats()["requests"] <= 100
    assert_same_cohort(again, first)


def test_a_store_file_of_the_wrong_schema_is_refetched(sandbox, catalog, tmp_path):
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    ids = list(catalog["customer_ids"][:300])
    store = Store(tmp_path / "store")
    first = fetch_in_batches_of_100(sandbox, ids, program, promotion, store)
    victim = sorted((store.path / "customers").rglob("part-*.parquet"))[1]
    frame = pd.read_parquet(victim)
    frame["customer_id"] = frame["customer_id"].astype(str)  # readable, but ids as text
    frame.to_parquet(victim, index=False)
    sandbox.reset_stats()
    with pytest.warns(capnb.CapnbWarning, match="incompatible schema"):
        again = fetch_cohort(capnb.connect(sandbox.environ()), ids, program, promotion, store=store,
                             progress=False)
    assert sandbox.stats()["requests"] == len(frame)  # that batch's customers, no more
    assert_same_cohort(again, first)
    sandbox.reset_stats()
    fetch_cohort(capnb.connect(sandbox.environ()), ids, program, promotion, store=store,
                 progress=False)  # healed: no warning, nothing fetched
    assert sandbox.stats()["requests"] == 0


@pytest.mark.slow
def test_sandbox_sustains_64_workers(catalog):
    requests_total = 20_000
    with Sandbox(customers=requests_total, seed=0) as sb:
        client = capnb.connect(sb.environ(), pool_size=64)
        started = time.monotonic()
        cohort = fetch_cohort(client, sb.catalog()["customer_ids"], catalog["program_id"],
                              catalog["promotions"][0]["id"], workers=64, progress=False)
        elapsed = time.monotonic() - started
        stats = sb.stats()
    assert cohort.errors.empty and len(cohort.customers) == requests_total
    assert stats["requests"] == requests_total and set(stats["status_counts"]) == {"200"}
    print(f"\n64 workers: {requests_total} requests in {elapsed:.1f} s = "
          f"{requests_total / elapsed:.0f} req/s, zero errors")


MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys, tempfile, threading, time
    import capnb
    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024
    customers = int(sys.argv[1])
    samples, done = [], threading.Event()
    def sample():
        while not done.is_set():
            samples.append(rss_mb())
            time.sleep(0.25)
    with capnb.sandbox.Sandbox(customers=customers) as sb:
        catalog = sb.catalog()
        threading.Thread(target=sample, daemon=True).start()
        cohort = capnb.fetch_cohort(capnb.connect(sb.environ()),
                                    catalog["customer_ids"], catalog["program_id"],
                                    catalog["promotions"][2]["id"], store=tempfile.mkdtemp(),
                                    progress=False)
        done.set()
    print(json.dumps({"samples": samples, "customers": len(cohort.customers),
                      "errors": len(cohort.errors),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


@pytest.mark.slow
def test_100k_cohort_fetch_keeps_memory_flat():
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, "100000"], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=900)
    figures = __import__("json").loads(out.stdout)
    samples = figures["samples"]
    assert figures["customers"] == 100_000 and figures["errors"] == 0
    quarter, three_quarters = samples[len(samples) // 4], samples[3 * len(samples) // 4]
    # Flat: the second half of the fetch adds (almost) nothing to what the first quarter held.
    assert three_quarters - quarter < 40, (quarter, three_quarters)
    assert figures["peak_mb"] < 1024
    print(f"\n100k fetch: RSS {quarter:.0f} MB at 25%, {three_quarters:.0f} MB at 75%, "
          f"peak {figures['peak_mb']:.0f} MB")
