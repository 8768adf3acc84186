"""fetch_cohort against the sandbox: completeness, store reuse, resume, rate limits, input files."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import capnb
from capnb.fetch.cohort import Cohort, FetchInterrupted
from capnb.fetch.ratelimit import RateLimiter
from capnb.fetch.store import Store
from capnb.fetch.summaries import fetch_cohort
from capnb.schema import CURRENCY_COLUMNS, CUSTOMER_COLUMNS, INCENTIVE_COLUMNS, POINTS_COLUMNS


@pytest.fixture
def ids(catalog):
    return list(catalog["customer_ids"][:300])


@pytest.fixture
def target(catalog):
    return catalog["program_id"], catalog["promotions"][0]["id"]


def one_by_one(client, ids, program, promotion):
    summaries = [client.action_summary(c, program, promotion) for c in ids]
    return {name: pd.concat([getattr(s, name) for s in summaries], ignore_index=True)
            for name in ("incentives", "points", "alternate_currencies")}


def test_cohort_equals_single_fetches(sandbox, ids, target):
    client = capnb.connect(sandbox.environ())
    cohort = fetch_cohort(client, ids, *target, workers=8, progress=False)
    expected = one_by_one(client, ids, *target)
    for name in expected:
        assert_frame_equal(getattr(cohort, name), expected[name])
    assert cohort.customers["customer_id"].tolist() == ids
    assert set(cohort.customers["status"]) <= {"ok", "no_benefits"}
    assert (cohort.customers["status"] == "no_benefits").any()
    assert cohort.customers["request_id"].notna().all()
    assert list(cohort.customers.dtypes.astype(str)) == list(CUSTOMER_COLUMNS.values())
    assert cohort.requests == len(ids) and cohort.errors.empty


def test_duplicates_once_invalid_reported_unknown_not_found(sandbox, ids, target):
    client = capnb.connect(sandbox.environ())
    sandbox.reset_stats()
    mixed = ids[:20] + ids[:20] + ["abc", -3, None, 1.5, str(ids[25]), 1, 2]
    cohort = fetch_cohort(client, mixed, *target, progress=False)
    assert sandbox.stats()["requests"] == 23  # 20 + ids[25] + the two unknown ids
    counts = cohort.status_counts()
    assert counts["invalid"] == 4 and counts["not_found"] == 2
    assert counts["ok"] + counts["no_benefits"] == 21
    invalid = cohort.errors
    assert invalid["status"].eq("invalid").all() and invalid["error_message"].str.contains(
        "row 4[0-3]").all()
    not_found = cohort.customers[cohort.customers["status"] == "not_found"]
    assert not_found["error_code"].tolist() == ["9002", "9002"]


def test_empty_cohort_has_all_columns(sandbox, target):
    cohort = fetch_cohort(capnb.connect(sandbox.environ()), [], *target, progress=False)
    for frame, columns in ((cohort.incentives, INCENTIVE_COLUMNS), (cohort.points, POINTS_COLUMNS),
                           (cohort.alternate_currencies, CURRENCY_COLUMNS),
                           (cohort.customers, CUSTOMER_COLUMNS)):
        assert frame.empty and list(frame.dtypes.astype(str)) == list(columns.values())


def test_failures_recorded_never_dropped(sandbox, ids, target):
    client = capnb.Client(sandbox.url, capnb.connect(sandbox.environ()).auth, max_retries=0)
    bad_promotion = 999
    cohort = fetch_cohort(client, ids[:5], target[0], bad_promotion, progress=False)
    assert cohort.customers["status"].eq("failed").all()
    assert cohort.errors["error_code"].eq("3013").all() and len(cohort.errors) == 5


def test_store_reuse_refresh_and_max_age(sandbox, ids, target, tmp_path):
    client = capnb.connect(sandbox.environ())
    store = Store(tmp_path / "store")
    first = fetch_cohort(client, ids, *target, store=store, progress=False)
    sandbox.reset_stats()
    again = fetch_cohort(client, ids, *target, store=store, progress=False)
    assert sandbox.stats()["requests"] == 0 and again.requests == 0
    assert again.reused == len(ids)
    for name in ("customers", "incentives", "points", "alternate_currencies"):
        assert_frame_equal(getattr(again, name), getattr(first, name))
    fetch_cohort(client, ids[:10], *target, store=store, max_age="1D", progress=False)
    assert sandbox.stats()["requests"] == 0
    fetch_cohort(client, ids[:10], *target, store=store, max_age="1us", progress=False)
    assert sandbox.stats()["requests"] == 10
    refreshed = fetch_cohort(client, ids, *target, store=store, refresh=True, progress=False)
    assert sandbox.stats()["requests"] == 10 + len(ids)
    assert_frame_equal(refreshed.points, first.points)
    loaded = Cohort.from_store(store, *target)
    assert_frame_equal(loaded.points, first.points)
    assert sorted(loaded.customers["customer_id"]) == sorted(ids)


def test_interrupt_then_resume_loses_and_duplicates_nothing(sandbox, catalog, target, tmp_path,
                                                           default_sigint):
    from capnb.sandbox import Sandbox

    ids = list(catalog["customer_ids"][:400])
    store = Store(tmp_path / "store", host_alias="sandbox")
    with Sandbox(customers=2000, seed=0, latency_ms=20) as slow:
        client = capnb.connect(slow.environ())

        def ctrl_c_after_40(done: int, total: int) -> None:  # a real SIGINT, mid-fetch
            if done == 40:
                os.kill(os.getpid(), signal.SIGINT)

        with pytest.raises(FetchInterrupted) as info:
            fetch_cohort(client, ids, *target, workers=4, store=store, progress=False,
                         on_progress=ctrl_c_after_40)
        partial = info.value.cohort
        assert 40 <= partial.requests < len(ids)
        stored = Cohort.from_store(store, *target)
        assert len(stored.customers) == partial.requests
        slow.reset_stats()
        resumed = fetch_cohort(client, ids, *target, workers=8, store=store, progress=False)
        assert slow.stats()["requests"] == len(ids) - partial.requests
    reference = fetch_cohort(capnb.connect(sandbox.environ()), ids, *target, progress=False)
    assert not resumed.customers["customer_id"].duplicated().any()
    for name in ("incentives", "points", "alternate_currencies"):
        assert_frame_equal(getattr(resumed, name), getattr(reference, name))
    assert resumed.customers["status"].tolist() == reference.customers["status"].tolist()


def test_limiter_keeps_the_server_under_its_limit(catalog, target):
    from capnb.sandbox import Sandbox

    with Sandbox(customers=2000, seed=0, rate_limit_per_min=20, rate_limit_window=2.0) as sb:
        limiter = RateLimiter(20, window=2.0)
        cohort = fetch_cohort(capnb.connect(sb.environ()),
                              catalog["customer_ids"][:50], *target, workers=8,
                              rate_limit=limiter, progress=False)
        assert sb.stats()["rate_limited"] == 0
        assert cohort.errors.empty and limiter.permits == 50


def test_429_slows_down_and_loses_nothing(catalog, target):
    from capnb.sandbox import Sandbox

    with Sandbox(customers=2000, seed=0, rate_limit_per_min=20, rate_limit_window=1.0) as sb:
        cohort = fetch_cohort(capnb.connect(sb.environ(), backoff=0.05),
                              catalog["customer_ids"][:60], *target,
                              workers=8, progress=False)
        assert sb.stats()["rate_limited"] > 0
        assert cohort.errors.empty and len(cohort.customers) == 60


def test_csv_and_parquet_inputs_with_bad_rows(sandbox, ids, target, tmp_path):
    csv = tmp_path / "ids.csv"
    csv.write_text("customer_id,segment\n" + "\n".join(
        [f"{i},a" for i in ids[:5]] + ["oops,b", ",c", f"{ids[0]},a", "12.5,d"]) + "\n")
    cohort = fetch_cohort(capnb.connect(sandbox.environ()), csv, *target, progress=False)
    assert cohort.status_counts()["invalid"] == 3
    assert cohort.customers["customer_id"].dropna().tolist() == ids[:5]
    parquet = tmp_path / "ids.parquet"
    pd.DataFrame({"customer_id": ids[:5]}).to_parquet(parquet)
    again = fetch_cohort(capnb.connect(sandbox.environ()), parquet, *target, progress=False)
    assert again.customers["customer_id"].tolist() == ids[:5]
    series = fetch_cohort(capnb.connect(sandbox.environ()),
                          pd.Series(ids[:5]), *target, progress=False)
    assert_frame_equal(series.points, again.points)


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"workers": 0}, "workers"), ({"workers": 1000}, "workers"), ({"workers": 2.5}, "workers"),
    ({"rate_limit": 0}, "rate_limit"), ({"rate_limit": -1}, "rate_limit"),
    ({"max_age": "soon"}, "max_age"), ({"max_age": "-1D"}, "max_age"),
    ({"refresh": "yes"}, "refresh"), ({"store": ""}, "path"),
])
def test_bad_arguments_rejected_before_requests(sandbox, ids, target, kwargs, parameter):
    sandbox.reset_stats()
    with pytest.raises(capnb.ValidationError) as info:
        fetch_cohort(capnb.connect(sandbox.environ()), ids[:3], *target, progress=False, **kwargs)
    assert info.value.parameter == parameter
    assert sandbox.stats()["requests"] == 0


def test_bad_customer_id_sources(sandbox, target, tmp_path):
    for source, message in ((tmp_path / "missing.csv", "no file"), (5, "iterable"),
                            (pd.DataFrame({"x": [1]}), "customer_id")):
        with pytest.raises(capnb.ValidationError, match=message):
            fetch_cohort(capnb.connect(sandbox.environ()), source, *target, progress=False)
    (tmp_path / "ids.csv").write_text("id\n1\n")
    with pytest.raises(capnb.ValidationError, match="no 'customer_id' column"):
        fetch_cohort(capnb.connect(sandbox.environ()),
                     tmp_path / "ids.csv", *target, progress=False)


def test_subset_and_sample_keep_whole_customers(sandbox, ids, target):
    cohort = fetch_cohort(capnb.connect(sandbox.environ()), ids + [1], *target, progress=False)
    chosen = ids[10:20]
    part = cohort.subset(chosen)
    assert part.customers["customer_id"].tolist() == chosen
    for name in ("incentives", "points", "alternate_currencies"):
        frame = getattr(cohort, name)
        expected = frame[frame["customer_id"].isin(chosen)].reset_index(drop=True)
        assert_frame_equal(getattr(part, name), expected)
    assert (part.program_id, part.promotion_id, part.requests) == (*target, 0)
    sample = cohort.sample(25, seed=3)
    assert len(sample) == 25 and sample.customers["status"].isin(["ok", "no_benefits"]).all()
    assert cohort.sample(25, seed=3).customers.equals(sample.customers)
    assert len(cohort.sample(10_000)) == len(cohort.fetched_customer_ids) == len(ids)
    with pytest.raises(capnb.ValidationError, match="customer_ids"):
        cohort.subset("388000001")
    with pytest.raises(capnb.ValidationError, match="n"):
        cohort.sample(0)


def test_answers_for_another_customer_program_or_promotion_fail_that_customer(scripted):
    from capnb.api.auth import BasicAuth
    from tests.scripted import Scripted

    def answer(customer, program=3334, promotion=77, **extra):
        return Scripted(200, {"data": {"orgId": 1, "entityId": customer, "programId": program,
                                       "promotionId": promotion, "incentives": [
                                           {"activityId": "a", "action": "REWARD",
                                            "actionId": "9", "actionIssuedCount": 1,
                                            "lastIssuedOn": 1734533309000}]} | extra})

    scripted.add(answer(11), answer(12, promotion=78), answer(13, program=1), answer(99),
                 Scripted(200, {}), answer("16.0", "3334", 77.0))
    client = capnb.Client(scripted.url, BasicAuth("till", "pw"), max_retries=0)
    cohort = fetch_cohort(client, [11, 12, 13, 14, 15, 16], 3334, 77, workers=1, progress=False)
    status = cohort.customers.set_index("customer_id")["status"]
    assert status.to_dict() == {11: "ok", 12: "failed", 13: "failed", 14: "failed",
                                15: "failed", 16: "ok"}
    errors = cohort.customers.set_index("customer_id")["error_message"]
    assert "promotionId 78" in errors[12] and "programId 1" in errors[13]
    assert "customer 99" in errors[14] and "not an action summary" in errors[15]
    assert cohort.incentives["customer_id"].tolist() == [11, 16]
    assert cohort.incentives["promotion_id"].tolist() == [77, 77]
