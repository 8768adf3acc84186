"""The warm store: re-running a finished cohort, and loading a very large one.

4. A completed 100,000-customer cohort re-run with ``fetch_cohort(..., store=...)`` against the
   sandbox: requests made (target 0) and wall time (target < 2 s).
5. A 1,000,000-customer cohort loaded with ``Cohort.from_store`` in a fresh process: peak RSS
   (target < 1 GB) and load time.

The stores are filled through the same batch writer ``fetch_cohort`` uses, from the sandbox
generator's summaries (fetching a million customers over HTTP first would take an hour and
measure nothing more). Run: ``python bench/store.py [--warm 100000] [--large 1000000]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

import capnb  # noqa: E402
from bench._common import report, sandbox_process, sandbox_stats  # noqa: E402
from capnb.api.envelope import unwrap_summary  # noqa: E402
from capnb.api.summary import summary_is_empty, summary_rows  # noqa: E402
from capnb.fetch.batches import BATCH_CUSTOMERS, Batches, CustomerOutcome  # noqa: E402
from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID, SandboxData  # noqa: E402

ALIAS = "bench-sandbox"


def fill(store: capnb.Store, data: SandboxData, count: int, promotion: int) -> float:
    """Write ``count`` customers' summaries into ``store`` as fetch_cohort would; seconds taken."""
    started = time.perf_counter()
    key = store.key("http://unused", data.program_id, promotion)
    batches = Batches(store, key)
    now = pd.Timestamp.now(tz="UTC")
    for customer in data.customer_ids[:count]:
        summary, warnings = unwrap_summary(data.summary_payload(customer, promotion))
        rows = summary_rows(summary)
        status = "no_benefits" if summary_is_empty(rows, warnings) else "ok"
        batches.add(CustomerOutcome(customer, status, now, "bench", rows=rows))
    batches.flush()
    return time.perf_counter() - started


LOAD_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import capnb
    started = time.perf_counter()
    cohort = capnb.Cohort.from_store(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    seconds = time.perf_counter() - started
    rows = {name: len(getattr(cohort, name)) for name in
            ("customers", "incentives", "points", "alternate_currencies")}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "rows": rows}))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    data = SandboxData(customers=max(args.warm, args.large))
    promotion = data.promotion_ids[2]  # the one with incentives, points and currencies
    with tempfile.TemporaryDirectory() as folder:
        warm_store = capnb.Store(Path(folder) / "warm", host_alias=ALIAS)
        fill_seconds = fill(warm_store, data, args.warm, promotion)
        ids = list(data.customer_ids[: args.warm])
        with sandbox_process(len(data.customer_ids)) as url:
            client = capnb.Client(url, capnb.BasicAuth(SANDBOX_TILL_ID, SANDBOX_PASSWORD))
            started = time.perf_counter()
            cohort = capnb.fetch_cohort(client, ids, data.program_id, promotion,
                                        store=warm_store, progress=False)
            warm_seconds = time.perf_counter() - started
            served = sandbox_stats(url)["requests"]
        assert len(cohort.customers) == args.warm and cohort.errors.empty
        report("store: warm re-run", [
            ("customers", args.warm), ("store filled in s", fill_seconds),
            ("HTTP requests on re-run (target 0)", served),
            ("re-run wall s (target < 2)", warm_seconds),
            ("benefit rows", len(cohort.incentives) + len(cohort.points)
             + len(cohort.alternate_currencies)),
        ])

        large_store = capnb.Store(Path(folder) / "large", host_alias=ALIAS)
        fill_seconds = fill(large_store, data, args.large, promotion)
        size_mb = sum(p.stat().st_size for p in large_store.path.rglob("*.parquet")) / 1e6
        out = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(large_store.path),
                              str(data.program_id), str(promotion)], capture_output=True,
                             text=True, check=True)
        figures = __import__("json").loads(out.stdout)
        report("store: large load", [
            ("customers", args.large), ("store filled in s", fill_seconds),
            ("store size on disk MB", size_mb), ("batches (files per table)",
                                                 -(-args.large // BATCH_CUSTOMERS)),
            ("load s", figures["seconds"]),
            ("peak RSS MB (target < 1024)", figures["peak_rss_mb"]),
            ("rows", ", ".join(f"{k}={v:,}" for k, v in figures["rows"].items())),
        ])


if __name__ == "__main__":
    main()
