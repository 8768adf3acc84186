"""Cohort fetch throughput on the sandbox, side by side with a naive sequential loop.

1. 5,000 customers at 20 ms latency: capnb (16 workers, no limit) versus a sequential
   ``requests.get`` loop, and versus what an experienced engineer would write instead of
   capnb: an ``httpx.AsyncClient`` loop at the same concurrency (16 requests in flight, one
   connection pool), each answer's JSON parsed, then the points into a DataFrame with
   ``pd.json_normalize`` (no retries, validation or store: less work than capnb does).
   Targets: >= 10x naive, >= 70% of the bound workers / latency, capnb not slower than httpx.
2. 1,500 customers with ``rate_limit=600``/min and the sandbox enforcing 600/min: achieved rate
   >= 95% of the limit, zero 429s, no 60-second window over the limit.

Run: ``python bench/fetch.py [--customers 5000] [--limited-customers 1500]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capnb  # noqa: E402
from bench._common import report, sandbox_process, sandbox_stats  # noqa: E402
from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID, SandboxData  # noqa: E402


def basic_header() -> str:
    md5 = hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{SANDBOX_TILL_ID}:{md5}".encode()).decode()


def naive(url: str, ids: list[int], program: int, promotion: int) -> float:
    header = basic_header()
    started = time.perf_counter()
    for customer in ids:
        response = requests.get(f"{url}/v3/customers/{customer}/customerPromotionDetails/"
                                "actionSummary", params={"programId": program,
                                                         "promotionId": promotion},
                                headers={"Authorization": header}, timeout=30)
        response.raise_for_status()
        response.json()
    return time.perf_counter() - started


async def _httpx_fetch(url: str, ids: list[int], program: int, promotion: int,
                       concurrency: int) -> list[dict]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": basic_header()}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=30) as client:
        async def one(customer: int) -> dict:
            async with gate:
                response = await client.get(
                    f"/v3/customers/{customer}/customerPromotionDetails/actionSummary",
                    params={"programId": program, "promotionId": promotion})
                response.raise_for_status()
                return response.json()["data"]

        return await asyncio.gather(*(one(c) for c in ids))


def httpx_baseline(url: str, ids: list[int], program: int, promotion: int,
                   concurrency: int) -> float:
    """The asyncio + httpx loop, then the points as a frame; seconds taken."""
    started = time.perf_counter()
    answers = asyncio.run(_httpx_fetch(url, ids, program, promotion, concurrency))
    points = pd.json_normalize([a for a in answers if a.get("points")], "points",
                               ["entityId", "programId", "promotionId"])
    points["totalPointsIssued"] = points["totalPointsIssued"].astype(float)
    assert len(answers) == len(ids)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--limited-customers", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="capnb and httpx runs, "
                        "interleaved (medians reported)")
    args = parser.parse_args()
    data = SandboxData(customers=max(args.customers, args.limited_customers))
    ids = list(data.customer_ids[: args.customers])
    program, promotion = data.program_id, data.promotion_ids[0]
    auth = capnb.BasicAuth(SANDBOX_TILL_ID, SANDBOX_PASSWORD)

    with sandbox_process(len(data.customer_ids), args.latency_ms) as url:
        naive_seconds = naive(url, ids, program, promotion)
        client = capnb.Client(url, auth, pool_size=args.workers)
        capnb_runs, httpx_runs = [], []
        for _ in range(args.repeat):  # interleaved, so a busy moment hits both alike
            httpx_runs.append(httpx_baseline(url, ids, program, promotion, args.workers))
            started = time.perf_counter()
            cohort = capnb.fetch_cohort(client, ids, program, promotion, workers=args.workers,
                                        progress=False)
            capnb_runs.append(time.perf_counter() - started)
            assert cohort.errors.empty and len(cohort.customers) == len(ids)
    capnb_seconds, httpx_seconds = sorted(capnb_runs)[len(capnb_runs) // 2], sorted(
        httpx_runs)[len(httpx_runs) // 2]
    bound = args.workers / (args.latency_ms / 1000)
    capnb_rate, naive_rate = len(ids) / capnb_seconds, len(ids) / naive_seconds
    httpx_rate = len(ids) / httpx_seconds
    report("fetch: unlimited", [
        ("customers", len(ids)), ("latency ms", args.latency_ms), ("workers", args.workers),
        ("naive sequential req/s", naive_rate), ("capnb req/s", capnb_rate),
        ("speed-up vs naive (target >= 10)", capnb_rate / naive_rate),
        (f"httpx.AsyncClient loop, {args.workers} in flight, req/s (median of "
         f"{args.repeat})", httpx_rate),
        ("capnb / httpx (target >= 1.0)", capnb_rate / httpx_rate),
        ("theoretical bound req/s", bound),
        ("share of bound (target >= 0.70)", capnb_rate / bound),
    ])

    limit = 600
    limited = list(data.customer_ids[: args.limited_customers])
    with sandbox_process(len(data.customer_ids), args.latency_ms, rate_limit=limit) as url:
        client = capnb.Client(url, auth, pool_size=args.workers)
        started = time.perf_counter()
        cohort = capnb.fetch_cohort(client, limited, program, promotion, workers=args.workers,
                                    rate_limit=limit, progress=False)
        seconds = time.perf_counter() - started
        stats = sandbox_stats(url)
        assert cohort.errors.empty and len(cohort.customers) == len(limited)
    achieved = len(limited) / seconds * 60
    report("fetch: rate limited", [
        ("customers", len(limited)), ("limit req/min", limit),
        ("achieved req/min", achieved), ("share of limit (target >= 0.95)", achieved / limit),
        ("429s received (target 0)", stats["rate_limited"]),
        ("max requests in any 60 s window (server)", stats["max_window_requests"]),
        ("requests served", stats["requests"]),
    ])


if __name__ == "__main__":
    main()
