"""Parsing speed: 100,000 raw action-summary bodies into the three typed frames.

capnb (``unwrap_summary`` + ``summary_rows`` per body, one ``frames_from_rows`` at the end)
versus the common baseline (``json.loads`` + ``pandas.json_normalize`` per list +
``to_datetime``). Target: capnb at least 3x faster. Both are timed in the same run.

Run: ``python bench/parse.py [--summaries 100000]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import report  # noqa: E402
from capnb.api.envelope import unwrap_summary  # noqa: E402
from capnb.api.summary import frames_from_rows, summary_rows  # noqa: E402
from capnb.sandbox import SandboxData  # noqa: E402


def bodies(count: int) -> list[bytes]:
    """``count`` v3 response bodies from the sandbox generator, customers spread over all its
    promotions so every kind of row (incentives, points, currencies, 8116) appears."""
    data = SandboxData(customers=count)
    promotions = data.promotion_ids
    return [json.dumps({"data": data.summary_payload(c, promotions[i % len(promotions)]),
                        "errors": None, "warnings": None}).encode()
            for i, c in enumerate(data.customer_ids)]


def with_capnb(raw: list[bytes]) -> tuple[pd.DataFrame, ...]:
    incentives, points, currencies = [], [], []
    for body in raw:
        summary, _ = unwrap_summary(body)
        i, p, c = summary_rows(summary)
        incentives += i
        points += p
        currencies += c
    return frames_from_rows(incentives, points, currencies)


def with_json_normalize(raw: list[bytes]) -> tuple[pd.DataFrame, ...]:
    docs = [json.loads(body)["data"] for body in raw]
    meta = ["entityId", "programId", "promotionId"]
    frames = []
    for key in ("incentives", "points", "alternateCurrencies"):
        with_list = [d for d in docs if d.get(key)]
        frame = pd.json_normalize(with_list, record_path=key, meta=meta)
        if "lastIssuedOn" in frame:
            frame["lastIssuedOn"] = pd.to_datetime(frame["lastIssuedOn"], unit="ms", utc=True)
        for column in ("totalPointsIssued", "totalCurrencyIssued"):
            if column in frame:
                frame[column] = pd.to_numeric(frame[column])
        frames.append(frame)
    return tuple(frames)


def best_of(function, raw, repeat: int) -> tuple[float, tuple]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(raw)
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summaries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    raw = bodies(args.summaries)
    baseline_s, baseline = best_of(with_json_normalize, raw, args.repeat)
    capnb_s, ours = best_of(with_capnb, raw, args.repeat)
    assert [len(f) for f in ours] == [len(f) for f in baseline], "both must see the same rows"
    report("parse", [
        ("summaries", len(raw)), ("bytes (MB)", sum(map(len, raw)) / 1e6),
        ("rows (incentives, points, currencies)", ", ".join(str(len(f)) for f in ours)),
        (f"baseline json_normalize s (best of {args.repeat})", baseline_s),
        (f"capnb s (best of {args.repeat})", capnb_s),
        ("speed-up (target >= 3)", baseline_s / capnb_s),
    ])


if __name__ == "__main__":
    main()
