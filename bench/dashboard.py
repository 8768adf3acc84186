"""A dashboard fetch against the same fetch through ``capnb.fetch_cohort``, side by side.

5,000 sandbox customers (the sandbox in its own process), several repetitions alternating the
two: ``fetch_cohort`` alone, then the dashboard's Fetch pressed programmatically, waiting until
the fetch has ended and every chart is redrawn. Every comm message the widgets send is
serialized and signed as the kernel would (:class:`capnb.reports.traffic.MessageCounter`), so
their cost is in the dashboard's time, and counted. Targets: dashboard / fetch_cohort <= 1.5
(median), messages per fetch < 100 (JupyterLab drops output beyond 1,000 a second).

Run: ``python bench/dashboard.py [--customers 5000] [--repeat 3] [--profile]``
(``--profile`` prints a pyinstrument profile of one dashboard fetch). With ``--sample N`` and/or
``--precision PP`` (percentage points) the dashboard fetches a random sample in rounds, showing
the running estimate (issue 16): ``fetch_cohort`` then fetches the same customers, and the
report adds the rounds and the estimate line's messages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capnb  # noqa: E402
from bench._common import report, sandbox_process  # noqa: E402
from capnb.reports.traffic import MessageCounter  # noqa: E402
from capnb.reports.widgets import dashboard  # noqa: E402
from capnb.sandbox import SANDBOX_AS_OF, SANDBOX_PASSWORD, SANDBOX_TILL_ID, SandboxData  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sample", type=int, default=0, help="sample size (0: every customer)")
    parser.add_argument("--precision", type=float, default=0.0,
                        help="precision target in percentage points (0: off)")
    args = parser.parse_args()
    data = SandboxData(customers=args.customers)
    ids = list(data.customer_ids)
    program, promotion = data.program_id, data.promotion_ids[0]
    auth = capnb.BasicAuth(SANDBOX_TILL_ID, SANDBOX_PASSWORD)
    api, app_seconds, messages, sizes, rounds, estimate_messages = [], [], [], [], [], []

    with sandbox_process(args.customers, args.latency_ms) as url, MessageCounter() as counter:
        client = capnb.Client(url, auth, pool_size=args.workers)
        app = dashboard(client, program_id=program, promotion_id=promotion, customers=ids,
                        as_of=SANDBOX_AS_OF, workers=args.workers, sample=args.sample,
                        precision=args.precision / 100 or None)
        sampled = bool(args.sample or args.precision)
        wanted = ids
        if sampled:  # fetch_cohort then fetches the customers the dashboard's sample fetches
            app.fetch_button.click()
            assert app.wait(600)
            wanted = app.cohort.fetched_customer_ids.tolist()
        for _ in range(args.repeat):
            started = time.perf_counter()
            cohort = capnb.fetch_cohort(client, wanted, program, promotion,
                                        workers=args.workers, progress=False)
            api.append(time.perf_counter() - started)
            assert cohort.errors.empty and len(cohort.customers) == len(wanted)

            counter.reset()
            started = time.perf_counter()
            app.fetch_button.click()
            assert app.wait(600)
            app_seconds.append(time.perf_counter() - started)
            messages.append(counter.total)
            sizes.append(counter.bytes)
            if sampled:
                assert app.cohort.fetched_customer_ids.tolist() == wanted  # same seed, same stop
                rounds.append(int(app.running["round"].max()))
                estimate_messages.append(counter.per_comm[app.estimate.comm.comm_id])
                assert "Fetched" in app.message.value and "Estimate from" in app.estimate.value
                continue
            assert f"Fetched {len(ids):,} of {len(ids):,}" in app.message.value, app.message.value
            assert app.progress_text.value == f"{len(ids):,} / {len(ids):,} customers"
        by_class = counter.by_class()

        if args.profile:
            from pyinstrument import Profiler

            with Profiler(interval=0.001) as profiler:
                app.fetch_button.click()
                app.wait(600)
            profiler.print(show_all=False)

    ratios = [a / b for a, b in zip(app_seconds, api, strict=True)]
    report("dashboard: fetch via the app vs fetch_cohort", [
        ("customers", len(ids)), ("latency ms", args.latency_ms), ("workers", args.workers),
        ("repetitions", args.repeat),
        ("fetch_cohort s (median)", statistics.median(api)),
        ("dashboard s (median)", statistics.median(app_seconds)),
        ("ratio dashboard / fetch_cohort (median; target <= 1.5)", statistics.median(ratios)),
        ("ratio, worst repetition", max(ratios)),
        ("comm messages per fetch (max; target < 100)", max(messages)),
        ("comm kB per fetch (max)", max(sizes) / 1000),
        *([("sample size / precision pp", f"{args.sample} / {args.precision}"),
           ("customers fetched (last)", len(wanted)), ("rounds (last)", rounds[-1]),
           ("estimate line messages (last)", estimate_messages[-1])] if sampled else []),
    ], fetch_cohort_s=api, dashboard_s=app_seconds, messages=messages,
        messages_by_widget_last_fetch=by_class)


if __name__ == "__main__":
    main()
