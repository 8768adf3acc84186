"""The fan-out engine: every item ends with an outcome, whatever its task raises; cancel and
Ctrl-C keep what already ran; the three fetchers built on it lose no customer."""

from __future__ import annotations

import _thread
import logging
import threading
import time

import pytest

import capnb
from capnb import fetch_cohort, fetch_exact_usage
from capnb.api.client import Client
from capnb.errors import CustomerNotFound
from capnb.fetch.identifiers import resolve_identifiers
from capnb.fetch.pool import fan_out
from capnb.fetch.ratelimit import RateLimiter
from capnb.sandbox.v2 import identifier_of
from tests.sandbox_ids import GOLD_TIER, PROGRAM


def explode(item: int) -> int:
    if item % 3 == 0:
        raise ValueError(f"bad item {item}")
    if item % 3 == 1:
        raise RecursionError("maximum recursion depth exceeded")
    return item * 10


@pytest.mark.parametrize("workers", [0, 1, 4, 50])
def test_every_item_gets_an_outcome_whatever_its_task_raises(workers):
    outcomes = []
    progress = []
    fan_out(list(range(30)), explode, outcomes.append, workers=workers,
            on_progress=lambda done, total: progress.append((done, total)))
    by_item = {o.item: o for o in outcomes}
    assert sorted(by_item) == list(range(30)) and len(outcomes) == 30
    assert progress[-1] == (30, 30) and len(progress) == 30
    for item, outcome in by_item.items():
        if item % 3 == 2:
            assert outcome.result == item * 10 and outcome.error is None
            continue
        failure = outcome.failure()
        assert failure["status"] == "failed" and outcome.result is None
        assert failure["error_code"] == ("ValueError" if item % 3 == 0 else "RecursionError")
        assert failure["error_message"] == str(outcome.error)
        assert outcome.started_at.tzname() == "UTC"


def test_api_errors_keep_their_own_status():
    def not_found(item: int) -> int:
        raise CustomerNotFound("no such customer", code=8015, request_id="r-1")

    outcomes = []
    fan_out([1, 2], not_found, outcomes.append, workers=2)
    assert [o.failure()["status"] for o in outcomes] == ["not_found", "not_found"]
    assert {o.failure()["request_id"] for o in outcomes} == {"r-1"}


def test_an_unexpected_error_is_logged_once_with_its_traceback(caplog):
    with caplog.at_level(logging.WARNING, logger="capnb"):
        fan_out(list(range(9)), explode, lambda outcome: None, workers=3)
    logged = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None


@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_stops_new_items_and_records_the_running_ones(kind):
    stop = threading.Event()
    started = []

    def slow(item: int) -> int:
        started.append(item)
        time.sleep(0.02)
        return item

    def cancel_after_3(done: int, total: int) -> None:
        if done == 3:
            stop.set()

    outcomes = []
    with pytest.raises(KeyboardInterrupt):
        fan_out(list(range(100)), slow, outcomes.append, workers=4, on_progress=cancel_after_3,
                cancel=stop if kind == "event" else stop.is_set)
    assert 3 <= len(outcomes) < 20  # those already running when it was cancelled finish
    assert sorted(o.item for o in outcomes) == sorted(started)  # every started item recorded
    assert all(o.error is None and o.result == o.item for o in outcomes)


@pytest.mark.parametrize("pause", [20.0, 1e9])
def test_cancel_ends_the_waits_on_the_rate_limiter(pause):
    """Every worker waits on a long 429 pause; a cancel ends the fan-out at once, and the
    tasks that never got to send their request have no outcome (they are fetched next time)."""
    limiter = RateLimiter(6000)
    limiter.on_rate_limited(pause)
    stop = threading.Event()
    outcomes, ended = [], []

    def task(item: int) -> int:
        limiter.acquire()
        return item

    def run() -> None:
        try:
            fan_out(list(range(10)), task, outcomes.append, workers=4, cancel=stop)
        except KeyboardInterrupt:
            ended.append("interrupted")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the pool still waits on the rate limiter after a cancel"
    assert ended == ["interrupted"] and time.monotonic() - started < 2
    assert outcomes == []


def test_ctrl_c_ends_the_waits_on_the_rate_limiter(default_sigint):
    limiter = RateLimiter(6000)
    limiter.on_rate_limited(20.0)  # every acquire waits 20 s
    outcomes = []

    def task(item: int) -> int:
        limiter.acquire()
        return item

    timer = threading.Timer(0.3, _thread.interrupt_main)  # Ctrl-C while all workers wait
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fan_out(list(range(10)), task, outcomes.append, workers=4)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3 and outcomes == []


def test_nothing_to_do_runs_nothing():
    fan_out([], explode, lambda outcome: pytest.fail("no outcome expected"), workers=4)


def break_some(client: Client, errors: dict[int, BaseException],
               monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``client``'s requests for the customers in ``errors`` raise those (non-capnb)
    errors, as a bug in parsing or an unexpected payload would."""
    def breaking(method, customer_of):
        def call(*args, **kwargs):
            customer = customer_of(*args)
            if customer in errors:
                raise errors[customer]
            return method(*args, **kwargs)
        return call

    monkeypatch.setattr(client, "fetch_summary_payload",
                        breaking(client.fetch_summary_payload, lambda c, *rest: c))
    monkeypatch.setattr(client, "customer_promotion_data",
                        breaking(client.customer_promotion_data, lambda c, *rest: c))
    monkeypatch.setattr(client, "lookup_customer",  # the sandbox's mobiles: 91 + the id
                        breaking(client.lookup_customer, lambda name, value, *rest:
                                 int(value[2:])))


@pytest.fixture
def broken(sandbox, monkeypatch):
    ids = list(sandbox.data.customer_ids[:40])
    errors = {ids[3]: ValueError("odd payload"), ids[17]: RecursionError("too deep"),
              ids[30]: KeyError("entity")}
    with capnb.connect(sandbox.environ()) as client:
        break_some(client, errors, monkeypatch)
        yield client, ids, errors


def test_fetch_cohort_gives_every_requested_customer_a_row(broken):
    client, ids, errors = broken
    cohort = fetch_cohort(client, ids, PROGRAM, GOLD_TIER, workers=4, progress=False)
    customers = cohort.customers
    assert customers["customer_id"].tolist() == ids and customers["status"].notna().all()
    failed = customers[customers["status"] == "failed"]
    assert failed["customer_id"].tolist() == list(errors)
    assert failed["error_code"].tolist() == ["ValueError", "RecursionError", "KeyError"]
    assert set(customers["status"]) - {"failed"} <= {"ok", "no_benefits"}
    assert cohort.requests == len(ids)


def test_fetch_exact_usage_gives_every_requested_customer_a_row(broken):
    client, ids, errors = broken
    exact = fetch_exact_usage(client, ids, PROGRAM, workers=4, progress=False)
    customers = exact.customers
    assert customers["customer_id"].tolist() == ids
    failed = customers[customers["status"] == "failed"]
    assert failed["customer_id"].tolist() == list(errors)
    assert failed["error_code"].tolist() == ["ValueError", "RecursionError", "KeyError"]
    assert set(exact.usage["customer_id"]).isdisjoint(errors)


def test_resolve_identifiers_reports_every_value(broken):
    client, ids, errors = broken
    found, problems = resolve_identifiers(client, [identifier_of(c, "mobile") for c in ids],
                                          "mobile", workers=4)
    assert found == [c for c in ids if c not in errors]
    assert problems["status"].tolist() == ["failed"] * 3
    assert problems["error_code"].tolist() == ["ValueError", "RecursionError", "KeyError"]
