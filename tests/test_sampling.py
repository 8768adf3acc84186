"""Random samples: reproducible order, strata, validation before any request, estimates with
intervals on the sandbox, and a fetch that stops once precise enough (and resumes)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import capnb
from capnb.analysis.estimates import estimate_text, population_estimates, precision_watch
from capnb.errors import ValidationError
from capnb.fetch.cohort import FetchInterrupted
from capnb.fetch.sampling import draw_sample, random_order, required_size, sample_cohort
from capnb.intervals import proportion_interval, total_interval, wilson

PROMOTION = 1133601377
AS_OF = "2026-11-15"


@pytest.fixture
def ids(catalog):
    return list(catalog["customer_ids"])


# -- the random order --------------------------------------------------------------------------

def test_same_seed_same_sample_in_any_input_order(ids):
    first = draw_sample(ids, 100, seed=7)
    again = draw_sample(list(reversed(ids)), 100, seed=7)
    assert first.ids == again.ids and len(set(first.ids)) == 100
    assert draw_sample(ids, 100, seed=8).ids != first.ids
    # a larger sample with the same seed starts with the smaller one: resuming continues it
    assert draw_sample(ids, 300, seed=7).ids[:100] == first.ids
    assert draw_sample(ids, seed=7).ids[:100] == first.ids
    # the order of the others does not move when customers join the population
    grown = draw_sample([*ids, 999_000_001], seed=7).ids
    assert [c for c in grown if c != 999_000_001] == draw_sample(ids, seed=7).ids


def test_the_order_is_uniform_enough(ids):
    # each customer's chance to be in a sample of 10% is 10%: positions spread evenly
    firsts = np.array([random_order(ids, seed)[0] for seed in range(2000)])
    positions = np.searchsorted(np.array(ids), firsts) * 10 // len(ids)
    counts = np.bincount(positions, minlength=10)
    assert counts.min() > 140 and counts.max() < 260, counts  # 200 expected per decile


def test_sample_records_invalid_entries_and_design(ids):
    sample = draw_sample([*ids[:50], "abc", ids[0]], 10, seed=1)
    assert len(sample) == 10 and sample.design.population_size == 50
    assert sample.invalid["status"].eq("invalid").all() and len(sample.invalid) == 1
    assert "10 of 50" in sample.design.note and "10 of 50" in repr(sample)


# -- strata ----------------------------------------------------------------------------------

def test_proportional_allocation_with_a_minimum_per_stratum(ids, tmp_path):
    frame = pd.DataFrame({"customer_id": ids[:1000],
                          "tier": ["gold"] * 5 + ["silver"] * 295 + ["base"] * 700})
    path = tmp_path / "population.csv"
    frame.to_csv(path, index=False)
    sample = draw_sample(path, 100, seed=3, strata="tier")
    allocation = sample.allocation.set_index("stratum")["sample"].to_dict()
    # quotas 0.5, 29.5, 70 -> largest remainder 1, 29, 70 (ties by name) -> gold raised to 2,
    # taken back from the stratum with the most sampled (base)
    assert allocation == {"base": 69, "gold": 2, "silver": 29}
    assert len(sample) == 100
    tier = frame.set_index("customer_id")["tier"]
    drawn = tier.loc[sample.ids].value_counts().to_dict()
    assert drawn == allocation
    # within each stratum, the customers are the first of the stratum in the random order
    order = random_order(ids[:1000], 3)
    base_first = [c for c in order if tier[c] == "base"][:69]
    assert sorted(base_first) == sorted(c for c in sample.ids if tier[c] == "base")
    assert sample.design.strata == {"base": 700, "gold": 5, "silver": 295}


def test_stratified_estimates_weight_each_stratum():
    # stratum a: 10 customers of value 1, sampled 2; stratum b: 90 of value 0, sampled 2
    values, strata = np.array([1.0, 1.0, 0.0, 0.0]), np.array(["a", "a", "b", "b"])
    total = total_interval(values, {"a": 10, "b": 90}, strata)
    assert total.estimate == 10 and total.half_width == 0
    share = proportion_interval(values, {"a": 10, "b": 90}, strata)
    assert share.estimate == pytest.approx(0.1)
    assert share.low < 0.1 < share.high  # strata without spread still leave sampling error


# -- intervals ---------------------------------------------------------------------------------

def test_wilson_and_finite_population_correction():
    assert wilson(0.0, 100)[0] == 0 and wilson(0.0, 100)[1] > 0.03  # sensible at 0
    srs = proportion_interval(np.r_[np.ones(50), np.zeros(50)], {None: 10**9})
    half = proportion_interval(np.r_[np.ones(50), np.zeros(50)], {None: 200})
    assert half.half_width < srs.half_width * 0.75  # half the population sampled
    census = proportion_interval(np.r_[np.ones(50), np.zeros(50)], {None: 100})
    assert census.low == census.high == 0.5
    assert required_size(0.5, 0.01, 1_000_000) == 9513


def test_estimate_text():
    assert estimate_text(0.632, 0.623, 0.641, "share") == "63.2% (62.3–64.1%)"
    assert estimate_text(np.nan, 0, 1, "share") == "—"


# -- validation before any request ---------------------------------------------------------

@pytest.mark.parametrize("kwargs, parameter", [
    ({"n": 2001}, "n"), ({"n": 0}, "n"), ({"n": 1.5}, "n"), ({"n": True}, "n"),
    ({"seed": -1}, "seed"), ({"seed": 1.0}, "seed"), ({"seed": True}, "seed"),
    ({"seed": 2**64}, "seed"), ({"seed": "1"}, "seed"),
    ({"n": 10, "strata": "region"}, "strata"), ({"n": 10, "strata": ""}, "strata"),
    ({"strata": "tier"}, "n"),
])
def test_bad_sample_arguments(ids, kwargs, parameter):
    population = pd.DataFrame({"customer_id": ids, "tier": "gold"})
    with pytest.raises(ValidationError) as caught:
        draw_sample(population, **kwargs)
    assert caught.value.parameter == parameter


def test_empty_or_missing_strata(ids):
    blank = pd.DataFrame({"customer_id": ids[:10], "tier": ["a"] * 9 + [""]})
    with pytest.raises(ValidationError, match="no 'tier' value"):
        draw_sample(blank, 5, strata="tier")
    unused = pd.DataFrame({"customer_id": ids[:10],
                           "tier": pd.Categorical(["a"] * 10, categories=["a", "b"])})
    with pytest.raises(ValidationError, match="empty strata"):
        draw_sample(unused, 5, strata="tier")
    many = pd.DataFrame({"customer_id": ids[:10], "tier": list("abcdefghij")})
    with pytest.raises(ValidationError, match="too small"):
        draw_sample(many, 5, strata="tier")
    with pytest.raises(ValidationError, match="no valid customer id"):
        draw_sample(["x"], 1)


@pytest.mark.parametrize("kwargs", [{"precision": 0}, {"precision": 0.5}, {"precision": -0.1},
                                    {"precision": True}, {"precision": "0.01"},
                                    {"precision": 0.01, "min_sample": 1},
                                    {"precision": 0.01, "watch": "reach"}])
def test_bad_fetch_sample_arguments_send_nothing(sandbox, catalog, ids, kwargs):
    client = capnb.connect(sandbox.environ())
    sandbox.reset_stats()
    with pytest.raises(ValidationError):
        capnb.fetch_sample(client, draw_sample(ids, seed=0), catalog["program_id"], PROMOTION,
                           progress=False, **kwargs)
    stratified = draw_sample(pd.DataFrame({"customer_id": ids, "tier": "a"}), 10, strata="tier")
    with pytest.raises(ValidationError, match="simple random"):
        capnb.fetch_sample(client, stratified, catalog["program_id"], PROMOTION, precision=0.1,
                           progress=False)
    with pytest.raises(ValidationError):
        capnb.fetch_sample(client, ids, catalog["program_id"], PROMOTION, progress=False)
    assert sandbox.stats()["requests"] == 0


# -- on the sandbox ----------------------------------------------------------------------------

def test_sampled_cohort_estimates_and_census(sandbox, catalog, ids):
    client = capnb.connect(sandbox.environ())
    program = catalog["program_id"]
    promotion = client.promotion(program, PROMOTION)
    sample = draw_sample(ids, 400, seed=2)
    cohort = capnb.fetch_cohort(client, sample, program, PROMOTION, progress=False)
    assert cohort.customers["customer_id"].tolist() == sample.ids  # fetched in random order
    assert cohort.design is sample.design
    frame = population_estimates(promotion, cohort, as_of=AS_OF)
    assert set(frame["figure"]) == {"customers_reached", "points_issued", "share_of_limit",
                                    "customers_at_cap", "customers_near_cap"}
    assert frame["measurability"].eq("estimate").all()
    assert (frame["low"] <= frame["estimate"]).all() and (frame["estimate"] <= frame["high"]).all()
    assert frame["note"].str.contains("400 of 2,000 customers").all()
    assert frame["half_width"].gt(0).all()
    # a census: every interval collapses onto the exact figure the analyses give
    everyone = draw_sample(ids, len(ids), seed=2)
    full = capnb.fetch_cohort(client, ids, program, PROMOTION, progress=False)
    census = population_estimates(promotion, sample_cohort(full, everyone), as_of=AS_OF)
    assert (census["low"] == census["high"]).all()
    usage = capnb.analysis.utilisation(promotion, full, as_of=AS_OF).set_index("restriction")
    at_cap = census[census["figure"].eq("customers_at_cap")].set_index("restriction")
    for label, row in at_cap.iterrows():
        assert row["estimate"] == usage.loc[label, "customers_at_cap"]
    points = census.set_index("figure").loc["points_issued", "estimate"]
    assert points == pytest.approx(full.points["total_points"].sum())
    with pytest.raises(ValidationError, match="random sample"):
        population_estimates(promotion, full)


def test_precision_stop_resumes_from_the_store(sandbox, catalog, ids, tmp_path):
    client = capnb.connect(sandbox.environ())
    program = catalog["program_id"]
    promotion = client.promotion(program, PROMOTION)
    watch = precision_watch(promotion, as_of=AS_OF)
    sample = draw_sample(ids, seed=11)
    sandbox.reset_stats()
    whole = capnb.fetch_sample(client, sample, program, PROMOTION, precision=0.03, watch=watch,
                               progress=False)
    stopped_at = len(whole)
    assert 400 <= stopped_at < len(ids)
    assert sandbox.stats()["requests"] == stopped_at
    assert whole.customers["customer_id"].tolist() == sample.ids[:stopped_at]
    assert max(watch(whole).values()) <= 0.03
    assert "until every watched 95% interval was within ±3" in whole.design.note
    # interrupted after a few hundred customers, then resumed: same stop, nothing fetched twice
    store = tmp_path / "store"
    cancel = threading.Event()

    def interrupt(done: int, total: int) -> None:
        if done >= 500:
            cancel.set()

    sandbox.reset_stats()
    with pytest.raises(FetchInterrupted) as caught:
        capnb.fetch_sample(client, sample, program, PROMOTION, precision=0.03, watch=watch,
                           store=store, cancel=cancel, on_progress=interrupt, progress=False,
                           workers=4)
    first = sandbox.stats()["requests"]
    assert 500 <= first < stopped_at and caught.value.cohort.design is not None
    sandbox.reset_stats()
    resumed = capnb.fetch_sample(client, sample, program, PROMOTION, precision=0.03,
                                 watch=watch, store=store, progress=False)
    assert sandbox.stats()["requests"] == stopped_at - first
    assert resumed.customers["customer_id"].tolist() == whole.customers["customer_id"].tolist()
    pd.testing.assert_frame_equal(resumed.points, whole.points)
    sandbox.reset_stats()
    again = capnb.fetch_sample(client, sample, program, PROMOTION, precision=0.03, watch=watch,
                               store=store, progress=False)
    assert sandbox.stats()["requests"] == 0 and len(again) == stopped_at


def test_rounds_grow_by_a_tenth_and_show_the_half_width(sandbox, catalog, ids):
    from capnb.fetch.sequential import fetch_rounds, reach_watch

    client = capnb.connect(sandbox.environ())
    full = capnb.fetch_cohort(client, ids, catalog["program_id"], PROMOTION, progress=False)
    rounds, shown = [], []

    def fetch_round(chunk):
        rounds.append(len(chunk))
        return full.subset(chunk)

    stopped = fetch_rounds(draw_sample(ids, seed=5), fetch_round, reach_watch, 0.02,
                           show=shown.append)
    assert rounds[0] == 400 and len(stopped) == sum(rounds)
    done = 400
    for size in rounds[1:]:  # each round brings the total to ceil(1.1 x) the one before
        assert done + size == -(-done * 11 // 10)
        done += size
    assert shown[-1] <= 0.02 < min(shown[:-1]) and len(shown) == len(rounds)
