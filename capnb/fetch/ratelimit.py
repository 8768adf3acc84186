"""A client-side rate limiter shared by all workers of a fetch, and the default limit.

Two rules together: permits are spaced at least ``60 / limit`` seconds apart (a smooth rate, no
bursts), and a log of recent permits guarantees that no sliding window of ``window`` seconds holds
more than ``limit`` of them. A 429 from the server pauses every worker, for its ``Retry-After``
capped at :data:`MAX_429_PAUSE` (a server asking for hours, or for 2099, is not obeyed: the cap is
logged). Inside a :func:`capnb.fetch.pool.fan_out` worker every wait watches the pool's stop, so
a cancel or Ctrl-C ends it at once. :func:`limiter_for` turns a fetch's ``rate_limit`` argument
into the limiter it means (or none).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque

from capnb.config import DEFAULT_MAX_BACKOFF, DEFAULT_REMOTE_RATE_LIMIT
from capnb.errors import ValidationError
from capnb.fetch.pool import Stopped, current_stop
from capnb.validation import check_positive_number

log = logging.getLogger("capnb")

# Requests leave here and reach the server a few milliseconds later, not always in the same
# order; counting the window slightly longer than the server's 60 s absorbs that jitter.
WINDOW_MARGIN_SECONDS = 0.5
# Pause after a 429 without Retry-After; doubles on each consecutive 429, up to a minute.
DEFAULT_429_PAUSE = 1.0
MAX_429_PAUSE = DEFAULT_MAX_BACKOFF
"""The longest pause a 429's ``Retry-After`` sets (seconds, the client's own cap on a retry's
wait); a longer one (1e9 s, ``inf``, an HTTP date years ahead) is capped and a warning logged."""
WAIT_SLICE = 1.0
"""The longest single wait in :meth:`RateLimiter.acquire` before it looks at the clock again."""


class RateLimiter:
    """At most ``per_minute`` permits in any sliding minute, shared by all threads.

    ``window`` shortens the minute (for tests against a sandbox with a short window): the limit
    then applies to every ``window`` seconds. ``clock`` and ``sleep`` replace the real ones (for
    tests); with the real ones a wait inside a pool worker ends when the pool stops.

    >>> limiter = RateLimiter(600)
    >>> limiter.acquire()  # returns at once; the next waits about 0.1 s
    """

    def __init__(self, per_minute: float, *, window: float = 60.0,
                 clock=time.monotonic, sleep=None) -> None:
        self.per_minute = _positive_float("rate_limit", per_minute)
        window = _positive_float("window", window)
        self.window = window + WINDOW_MARGIN_SECONDS
        self.capacity = max(1, int(self.per_minute))
        self.spacing = window / self.per_minute
        self._clock, self._sleep = clock, sleep
        self._log: deque[float] = deque()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._pause = DEFAULT_429_PAUSE
        self._lock = threading.Lock()
        self._capped_said = False
        self.rate_limited = 0
        self.permits = 0

    def __repr__(self) -> str:
        return f"RateLimiter(per_minute={self.per_minute:g})"

    def acquire(self) -> None:
        """Block until one more request may be sent, then record it.

        Raises
        ------
        capnb.fetch.pool.Stopped
            In a pool worker, when the pool stops (cancel, Ctrl-C) before the permit comes: the
            request is not sent.
        """
        stop = current_stop()
        while True:
            if stop is not None and stop.is_set():
                raise Stopped("the fetch stopped while waiting for the rate limiter")
            with self._lock:
                now = self._clock()
                while self._log and now - self._log[0] >= self.window:
                    self._log.popleft()
                ready_at = max(self._next_slot, self._paused_until)
                if len(self._log) >= self.capacity:
                    ready_at = max(ready_at, self._log[0] + self.window)
                if ready_at <= now:
                    self._log.append(now)
                    self._next_slot = now + self.spacing
                    self.permits += 1
                    self._pause = max(DEFAULT_429_PAUSE, self._pause / 2)
                    return
                wait = ready_at - now
            wait = min(wait, WAIT_SLICE)
            if self._sleep is not None:
                self._sleep(wait)
            elif stop is not None:
                stop.wait(wait)
            else:
                time.sleep(wait)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The server answered 429: pause every worker (``Retry-After`` capped at
        :data:`MAX_429_PAUSE`, or a growing pause when it is absent or not a number)."""
        if retry_after is not None and math.isnan(retry_after):
            retry_after = None
        if retry_after is not None and retry_after > MAX_429_PAUSE:
            self._say_capped(retry_after)
            retry_after = MAX_429_PAUSE
        with self._lock:
            self.rate_limited += 1
            pause = max(0.0, retry_after) if retry_after is not None else self._pause
            self._pause = min(60.0, self._pause * 2)
            self._paused_until = max(self._paused_until, self._clock() + pause)

    def _say_capped(self, retry_after: float) -> None:
        """A warning the first time, then quieter: every worker may see the same answer."""
        level = logging.INFO if self._capped_said else logging.WARNING
        self._capped_said = True
        log.log(level, "the server asked to wait %.3g s (Retry-After); capped at %g s",
                retry_after, MAX_429_PAUSE)


def limiter_for(rate_limit: float | RateLimiter | None, *, loopback: bool) -> RateLimiter | None:
    """The limiter a fetch's ``rate_limit`` means: that ``RateLimiter``; ``None`` -> unlimited
    for a ``loopback`` host (the sandbox), ``DEFAULT_REMOTE_RATE_LIMIT`` per minute otherwise;
    ``float("inf")`` -> unlimited; a number -> that many requests per minute."""
    if isinstance(rate_limit, RateLimiter):
        return rate_limit
    if rate_limit is None:
        return None if loopback else RateLimiter(DEFAULT_REMOTE_RATE_LIMIT)
    if rate_limit == float("inf"):
        return None
    return RateLimiter(rate_limit)


def _positive_float(name: str, value: object) -> float:
    """``check_positive_number`` as a float; an int too large for a float (``10**400``) is a
    ``ValidationError`` too, not an ``OverflowError``."""
    try:
        return float(check_positive_number(name, value))
    except OverflowError:
        raise ValidationError(name, "must be a positive number, got an integer too large for a "
                              f"float ({abs(value).bit_length()} bits)") from None
