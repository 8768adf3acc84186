"""Seeded fault injection for the sandbox: the ways a real API and network misbehave.

``FaultPlan({"500": 0.02, "reset": 0.01, ...}, seed=0)`` makes each API request fail in one of
these ways with the given probability (at most one fault per request):

========================  ====================================================================
kind                      what the client sees
========================  ====================================================================
``500`` ``502`` ``503``   that HTTP status with a v3 error body
``521``                   Capillary's "multiple actions are running for the same customer"
``429``                   429 with ``Retry-After: 1``
``429_no_retry_after``    429 without ``Retry-After``
``slow``                  the normal answer, after ``slow_seconds`` (longer than the client's
                          timeout in the tests)
``reset``                 headers and half the body, then the connection is closed
``truncated``             status 200 with the first half of the JSON body
``html_200``              status 200 with an HTML error page
``errors_200``            status 200 with ``{"data": null, "errors": [{"code": 500, ...}]}``
========================  ====================================================================

``permanent`` is the share of customers whose every action-summary request answers 500: their
fault never clears, so a client must report them, not drop them.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Mapping

FAULT_KINDS = ("500", "502", "503", "521", "429", "429_no_retry_after", "slow", "reset",
               "truncated", "html_200", "errors_200")

HTML_ERROR_PAGE = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
                   b"<body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p>"
                   b"</body></html>")


class FaultPlan:
    """Which requests fail, and how; seeded so a run can be repeated."""

    def __init__(self, rates: Mapping[str, float] | None = None, *, seed: int = 0,
                 permanent: float = 0.0, slow_seconds: float = 2.0) -> None:
        rates = dict(rates or {})
        unknown = sorted(set(rates) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        if any(not 0 <= rate <= 1 for rate in rates.values()) or sum(rates.values()) > 1:
            raise ValueError("fault rates must be between 0 and 1 and add up to at most 1")
        if not 0 <= permanent <= 1:
            raise ValueError(f"permanent must be between 0 and 1, got {permanent!r}")
        self.rates = {kind: rates[kind] for kind in FAULT_KINDS if rates.get(kind)}
        self.permanent = permanent
        self.slow_seconds = slow_seconds
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def spread(cls, total: float, **kwargs: object) -> FaultPlan:
        """``total`` probability of a fault, shared equally by every kind."""
        return cls({kind: total / len(FAULT_KINDS) for kind in FAULT_KINDS}, **kwargs)

    def draw(self) -> str | None:
        """The fault for the next request, or None."""
        if not self.rates:
            return None
        with self._lock:
            roll = self._random.random()
        for kind, rate in self.rates.items():
            if roll < rate:
                return kind
            roll -= rate
        return None

    def is_permanent(self, customer_id: int) -> bool:
        """True for the customers whose requests always fail (a stable share of them)."""
        if not self.permanent:
            return False
        digest = hashlib.blake2b(f"{self.seed}:{customer_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.permanent

    def __repr__(self) -> str:
        return f"FaultPlan({self.rates}, seed={self.seed}, permanent={self.permanent})"
