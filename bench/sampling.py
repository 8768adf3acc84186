"""Requests a random sample needs against the full sweep, on a 1,000,000-customer sandbox.

The truth comes from the sandbox's generator (every customer's events, computed in this
process, never fetched): the share of customers reached and the share of the promotion's
tightest promotion-wide cap (Enrol & Earn Stars: MAX_NUMBER_OF_EARNS_PER_PROMOTION) used. Then
``capnb.fetch_sample`` fetches a seeded random order of the population over HTTP from a
sandbox process until the figure's 95% half-width is within +-1 percentage point: once watching
the reach share, once the cap's share, once both (one store, so a later run pays only for the
customers the earlier ones did not fetch; the table counts each run's whole sample). Target:
at most 2% of the full sweep's requests, the truth inside every reported interval.

Run: ``python bench/sampling.py [--population 1000000] [--precision 0.01] [--seed 1]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capnb  # noqa: E402
from bench._common import report, sandbox_process  # noqa: E402
from capnb.analysis.estimates import population_estimates, precision_watch  # noqa: E402
from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID, SandboxData  # noqa: E402

PROMOTION = 1133601377
CAP = "MAX_NUMBER_OF_EARNS_PER_PROMOTION"
AS_OF = "2026-11-15"


def truth(data: SandboxData) -> dict[str, float]:
    """Reach share and the cap's share, from every customer's generated events."""
    config = data.promotion_config(PROMOTION)
    limit = next(r["value"] for group in config["promotionRestrictions"]["restrictions"].values()
                 for r in group if r["name"] == CAP)
    reached = earns = 0
    for customer in data.customer_ids:
        events = data.events(customer, PROMOTION)
        reached += bool(events)
        earns += sum(e.points > 0 for e in events)
    return {"customers_reached": reached / data.customers, "share_of_limit": earns / limit}


def hours(requests: int, per_minute: int) -> str:
    minutes = requests / per_minute
    return f"{minutes:,.0f} min" if minutes < 120 else f"{minutes / 60:,.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--precision", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    data = SandboxData(customers=args.population)
    started = time.perf_counter()
    true = truth(data)
    truth_seconds = time.perf_counter() - started
    sample = capnb.draw_sample(data.customer_ids, seed=args.seed)
    rows: list[tuple[str, object]] = [
        ("population (customers)", args.population),
        ("truth from the generator, seconds", round(truth_seconds, 1)),
        ("true reach share", f"{true['customers_reached']:.5f}"),
        (f"true share of {CAP}", f"{true['share_of_limit']:.5f}"),
        ("target half-width (share)", args.precision),
    ]
    covered = True
    with sandbox_process(args.population) as url, tempfile.TemporaryDirectory() as store:
        client = capnb.Client(url, capnb.BasicAuth(SANDBOX_TILL_ID, SANDBOX_PASSWORD),
                              pool_size=args.workers)
        promotion = client.promotion(data.program_id, PROMOTION)
        for label, figures in (("reach share", ("customers_reached",)),
                               ("tightest cap share", ("share_of_limit",)),
                               ("both", ("customers_reached", "share_of_limit"))):
            watch = precision_watch(promotion, as_of=AS_OF, figures=figures)
            cohort = capnb.fetch_sample(client, sample, data.program_id, PROMOTION,
                                        precision=args.precision, watch=watch, store=store,
                                        workers=args.workers, progress=False)
            estimates = population_estimates(promotion, cohort, as_of=AS_OF)
            needed = len(cohort)
            rows.append((f"{label}: requests needed", needed))
            rows.append((f"{label}: share of the full sweep (target <= 2%)",
                         f"{needed / args.population:.2%}"))
            rows.append((f"{label}: time at 100/min | 1,000/min",
                         f"{hours(needed, 100)} | {hours(needed, 1000)}"))
            for figure in figures:
                row = estimates[estimates["figure"].eq(figure) & (
                    estimates["restriction"].isna() | estimates["restriction"].eq(CAP))].iloc[0]
                inside = bool(row["low"] <= true[figure] <= row["high"])
                covered &= inside
                rows.append((f"{label}: {figure} estimate (95% interval)",
                             f"{row['estimate']:.4f} ({row['low']:.4f}-{row['high']:.4f}), "
                             f"truth {'inside' if inside else 'OUTSIDE'}"))
    rows += [("full sweep: requests", args.population),
             ("full sweep: time at 100/min | 1,000/min",
              f"{hours(args.population, 100)} | {hours(args.population, 1000)}"),
             ("truth inside every interval", covered)]
    report("sampling: requests for +-1 pp", rows)


if __name__ == "__main__":
    main()
