"""Calibration: 95% intervals from random samples cover the generator's truth 92-98% of the time.

A sandbox population of 20,000 customers is fetched once over HTTP; the truth comes from the
sandbox's generator (every customer's events), not from the fetch. Then 200 seeded samples are
drawn in memory (``sample_cohort``), and 200 more fetches stop once precise enough
(``fetch_rounds``, the stopping rule of ``fetch_sample``, its rounds served from the fetched
population). Each figure's interval must contain the truth in 92-98% of replications. The
last test checks every estimate the report's sections show against the whole population.
"""

from __future__ import annotations

import numpy as np
import pytest

import capnb
from capnb.analysis.estimates import population_estimates, precision_watch
from capnb.fetch.sampling import sample_cohort
from capnb.fetch.sequential import fetch_rounds
from capnb.sandbox import Sandbox, SandboxData

pytestmark = pytest.mark.slow

POPULATION = 20_000
PROMOTION = 1133601377  # Enrol & Earn Stars: a promotion-wide earns cap, per-customer caps
REPLICATIONS = 200
SAMPLE = 1_000
AS_OF = "2026-11-15"
PER_CUSTOMER_CAP = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
PROMOTION_CAP = "MAX_NUMBER_OF_EARNS_PER_PROMOTION"


@pytest.fixture(scope="module")
def population():
    """(the whole population fetched over HTTP, its promotion, the generator's truth)."""
    data = SandboxData(POPULATION, seed=0)
    reached = points = earns = at_cap = 0
    config = data.promotion_config(PROMOTION)
    limits = {r["name"]: r["value"] for group in config["promotionRestrictions"][
        "restrictions"].values() for r in group}
    for customer in data.customer_ids:
        events = data.events(customer, PROMOTION)
        reached += bool(events)
        points += sum(e.points for e in events)
        earns += sum(e.points > 0 for e in events)
        at_cap += data.usage_of(events, PROMOTION)[PER_CUSTOMER_CAP] >= limits[PER_CUSTOMER_CAP]
    truth = {"customers_reached": reached / POPULATION, "points_issued": points,
             "share_of_limit": earns / limits[PROMOTION_CAP], "customers_at_cap": at_cap}
    with Sandbox(customers=POPULATION, seed=0) as sb:
        client = capnb.connect(sb.environ())
        promotion = client.promotion(data.program_id, PROMOTION)
        cohort = capnb.fetch_cohort(client, list(data.customer_ids), data.program_id, PROMOTION,
                                    progress=False)
    assert cohort.status_counts()[["ok", "no_benefits"]].sum() == POPULATION
    return cohort, promotion, truth


def _covered(frame, truth: dict) -> dict[str, bool]:
    rows = {"customers_reached": frame["figure"].eq("customers_reached"),
            "points_issued": frame["figure"].eq("points_issued"),
            "share_of_limit": frame["figure"].eq("share_of_limit")
            & frame["restriction"].eq(PROMOTION_CAP),
            "customers_at_cap": frame["figure"].eq("customers_at_cap")
            & frame["restriction"].eq(PER_CUSTOMER_CAP)}
    out = {}
    for name, mask in rows.items():
        (row,) = frame[mask].itertuples(index=False)
        out[name] = bool(row.low <= truth[name] <= row.high)
    return out


def _coverage(hits: list[dict[str, bool]]) -> dict[str, float]:
    return {name: float(np.mean([h[name] for h in hits])) for name in hits[0]}


def _replicated(cohort, promotion, truth, draw) -> dict[str, float]:
    """Coverage per figure over REPLICATIONS samples ``draw(seed)`` of the fetched cohort."""
    hits = []
    for seed in range(REPLICATIONS):
        sampled = sample_cohort(cohort, draw(seed))
        hits.append(_covered(population_estimates(promotion, sampled, as_of=AS_OF), truth))
    return _coverage(hits)


def test_fixed_size_samples_cover_the_truth(population):
    cohort, promotion, truth = population
    ids = cohort.customers["customer_id"].astype("int64").tolist()
    coverage = _replicated(cohort, promotion, truth,
                           lambda seed: capnb.draw_sample(ids, SAMPLE, seed=seed))
    print("fixed n coverage", coverage)
    assert all(0.92 <= share <= 0.98 for share in coverage.values()), coverage


def test_stratified_samples_cover_the_truth(population):
    cohort, promotion, truth = population
    ids = cohort.customers["customer_id"].astype("int64")
    # three strata of unequal size, by id (the generator's behaviour does not depend on it)
    frame = ids.to_frame().assign(region=np.where(ids % 10 < 2, "north",
                                                  np.where(ids % 10 < 7, "south", "west")))
    coverage = _replicated(cohort, promotion, truth,
                           lambda seed: capnb.draw_sample(frame, SAMPLE, seed=seed,
                                                          strata="region"))
    print("stratified coverage", coverage)
    assert all(0.92 <= share <= 0.98 for share in coverage.values()), coverage


def test_samples_stopped_when_precise_cover_the_truth(population):
    cohort, promotion, truth = population
    ids = cohort.customers["customer_id"].astype("int64").tolist()
    watch = precision_watch(promotion, as_of=AS_OF)
    hits, sizes = [], []
    for seed in range(REPLICATIONS):
        order = capnb.draw_sample(ids, seed=1000 + seed)
        stopped = fetch_rounds(order, cohort.subset, watch, target=0.025)
        assert max(watch(stopped).values()) <= 0.025
        sizes.append(len(stopped))
        hits.append(_covered(population_estimates(promotion, stopped, as_of=AS_OF), truth))
    coverage = _coverage(hits)
    print("precision-stopped coverage", coverage, "sizes", min(sizes), max(sizes))
    assert all(0.92 <= share <= 0.98 for share in coverage.values()), coverage


def _section_figures(promotion, cohort) -> dict[tuple[str, str, str], tuple]:
    """Every estimate the report's sections show: (frame, column, row) -> (value, low, high)
    (the low/high NaN for the census's own figures)."""
    frames = {"utilisation": capnb.analysis.utilisation(promotion, cohort, as_of=AS_OF)
              .set_index("restriction"),
              "issuance": capnb.analysis.issuance_counts(cohort).set_index("action"),
              "points": capnb.analysis.points_summary(cohort).set_index("name"),
              "recency": capnb.analysis.recency(cohort, as_of=AS_OF).set_index("bucket")}
    out = {}
    for name, frame in frames.items():
        for column in [c for c in frame.columns if c.endswith("_low")] or frame.columns:
            figure = column.removesuffix("_low")
            for row in frame.index:
                bounds = ((frame.at[row, f"{figure}_low"], frame.at[row, f"{figure}_high"])
                          if column.endswith("_low") else (np.nan, np.nan))
                out[name, figure, str(row)] = (frame.at[row, figure], *bounds)
    return out


def test_every_figure_of_the_report_sections_covers_the_census(population):
    """utilisation, issuance, points and recency of a sample (medians and 90th percentiles
    included) against the same analyses of the whole fetched population. With 80 figures the
    lowest of 80 coverages at a true 95% lands near 91% by chance alone, so each must be at
    least 88% (an interval systematically too narrow falls below) and their mean 93-98.5%.
    Measured: 80 figures, 91.0% to 100%, mean 96.5%."""
    cohort, promotion, _ = population
    ids = cohort.customers["customer_id"].astype("int64").tolist()
    census = _section_figures(promotion, cohort)
    hits: dict[tuple, list[bool]] = {}
    for seed in range(REPLICATIONS):
        sampled = sample_cohort(cohort, capnb.draw_sample(ids, SAMPLE, seed=2000 + seed))
        for key, (_, low, high) in _section_figures(promotion, sampled).items():
            if not np.isnan(low):
                hits.setdefault(key, []).append(low - 1e-9 <= float(census[key][0])
                                                <= high + 1e-9)
    coverage = {key: float(np.mean(h)) for key, h in hits.items() if len(h) == REPLICATIONS}
    print("lowest", sorted(coverage.items(), key=lambda kv: kv[1])[:3])
    print(f"{len(coverage)} section figures: coverage {min(coverage.values()):.3f} to "
          f"{max(coverage.values()):.3f}, mean {np.mean(list(coverage.values())):.3f}")
    assert len(coverage) >= 60
    assert all(share >= 0.88 for share in coverage.values()), coverage
    assert 0.93 <= np.mean(list(coverage.values())) <= 0.985
