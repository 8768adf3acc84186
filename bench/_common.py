"""Shared by the bench scripts: a sandbox in its own process, result tables and results.jsonl."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

import capnb

RESULTS = Path(__file__).with_name("results.jsonl")


@contextmanager
def sandbox_process(customers: int = 5000, latency_ms: float = 0, rate_limit: int | None = None):
    """Run ``capnb sandbox`` in a separate process (so it does not share our GIL); yield its URL."""
    command = [sys.executable, "-m", "capnb", "sandbox", "--port", "0", "--customers",
               str(customers), "--latency-ms", str(latency_ms)]
    if rate_limit:
        command += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"sandbox did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def sandbox_stats(url: str) -> dict:
    return requests.get(url + "/__sandbox__/stats", timeout=10).json()


def report(name: str, rows: list[tuple[str, object]], **extra: object) -> None:
    """Print ``rows`` as a table and append them, with machine facts, to results.jsonl."""
    width = max(len(label) for label, _ in rows)
    print(f"\n== {name} ==")
    for label, value in rows:
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(
            value, int) else str(value)
        print(f"  {label:<{width}}  {shown}")
    record = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "capnb": capnb.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": __import__("os").cpu_count(),
              "figures": {label: value for label, value in rows}, **extra}
    with RESULTS.open("a") as out:
        out.write(json.dumps(record, default=str) + "\n")
