"""RateLimiter: sliding-window guarantee and 429 pauses, with a fake clock and real threads."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from capnb.errors import ValidationError
from capnb.fetch.ratelimit import MAX_429_PAUSE, RateLimiter, limiter_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(seconds, 1e-6)


def max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("limit", [1, 7, 100, 600, 1000])
def test_no_window_over_the_limit_and_rate_close_to_it(limit):
    clock = FakeClock()
    limiter = RateLimiter(limit, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(limit * 3):
        limiter.acquire()
        times.append(clock.now)
    assert max_in_window(times, 60.0) <= limit
    achieved = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert achieved >= 0.95 * limit


def test_pause_after_429_uses_retry_after():
    clock = FakeClock()
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.on_rate_limited(5.0)
    limiter.acquire()
    assert clock.now >= 5.0 and limiter.rate_limited == 1


def test_pause_grows_without_retry_after():
    clock = FakeClock()
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep)
    limiter.on_rate_limited(None)
    limiter.on_rate_limited(None)
    limiter.acquire()
    assert clock.now >= 2.0


def test_threads_share_the_limit():
    limiter = RateLimiter(1200)  # one permit every 50 ms, real clock
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(3):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(stamps) == 24 and min(gaps) >= 0.045


@pytest.mark.parametrize("bad", [0, -5, float("nan"), "600", None, True])
def test_bad_limits(bad):
    with pytest.raises(ValidationError, match="rate_limit"):
        RateLimiter(bad)


class BoundedClock(FakeClock):
    """A fake clock whose sleeps give up (instead of looping for ever) past ``limit`` seconds."""

    def __init__(self, limit: float) -> None:
        super().__init__()
        self.limit = limit

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.now > self.limit:
            raise AssertionError(f"still waiting after {self.limit:g} s")


SECONDS_TO_2099 = (datetime(2099, 1, 1, tzinfo=UTC) - datetime.now(UTC)
                   ).total_seconds()  # what a Retry-After HTTP date in 2099 amounts to


@pytest.mark.parametrize("retry_after", [1e9, float("inf"), SECONDS_TO_2099, float("nan")])
def test_a_huge_retry_after_is_capped_and_said(retry_after, caplog):
    clock = BoundedClock(limit=3600)
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING, logger="capnb"):
        limiter.on_rate_limited(retry_after)
    limiter.acquire()
    assert clock.now <= MAX_429_PAUSE + 1.0 and limiter.rate_limited == 1
    if retry_after == retry_after:  # not nan: a real (huge) ask, capped
        assert clock.now >= MAX_429_PAUSE - 1.0
        assert any("Retry-After" in r.getMessage() and "capped" in r.getMessage()
                   for r in caplog.records)


HOSTILE_NUMBERS = [10**400, -(10**400), float("inf"), float("-inf"), float("nan"), True, False,
                   0.0, -1e-300, "1e3", 1j, None]
HOSTILE_IDS = ["10**400", "-10**400", "inf", "-inf", "nan", "True", "False", "0.0", "-1e-300",
               "str", "complex", "None"]


@pytest.mark.parametrize("bad", HOSTILE_NUMBERS, ids=HOSTILE_IDS)
def test_hostile_limits_raise_a_validation_error_only(bad):
    with pytest.raises(ValidationError, match="rate_limit"):
        RateLimiter(bad)
    if bad is not None and bad != float("inf"):  # None and inf are documented: default, off
        with pytest.raises(ValidationError, match="rate_limit"):
            limiter_for(bad, loopback=True)


@pytest.mark.parametrize("bad", HOSTILE_NUMBERS, ids=HOSTILE_IDS)
def test_hostile_windows_raise_a_validation_error_only(bad):
    with pytest.raises(ValidationError, match="window"):
        RateLimiter(600, window=bad)


@pytest.mark.parametrize("big", [10**300, 1e300, 2**63], ids=["10**300", "1e300", "2**63"])
def test_huge_but_finite_limits_work(big):
    limiter = limiter_for(big, loopback=False)
    for _ in range(3):
        limiter.acquire()
    assert limiter.permits == 3
