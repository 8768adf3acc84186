"""End-to-end ``capnb report`` (promotion_overview by default) for a 5,000-customer sandbox cohort.

Runs the command exactly as an analyst would (a fresh process: Python start-up, kernel start,
fetching, analysis, charts, HTML export), twice:

1. cold: an empty store, so all 5,000 summaries are fetched from the sandbox;
2. warm: the store filled by the cold run, so nothing is fetched.

Reports wall time of each (target: warm < 20 s on the project's 2-core machine) and the HTML's
size (target < 8 MB, plotly.js embedded once).
Run: ``python bench/report.py [--customers 5000] [--notebook portfolio]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import report  # noqa: E402


def run_report(work: Path, notebook: str, customers: int, output: Path) -> float:
    """Seconds taken by one ``capnb report`` process."""
    command = [sys.executable, "-m", "capnb", "report", notebook,
               "-p", "customers", str(customers), "-p", "store", str(work / "store"),
               "-o", str(output)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"capnb report failed:\n{done.stderr}")
    if done.stdout.strip() != str(output):
        raise SystemExit(f"capnb report printed {done.stdout!r}, expected the report path")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--notebook", default="promotion_overview",
                        help="a notebook with customers and store parameters")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="capnb-bench-report-") as scratch:
        work = Path(scratch)
        cold_html, warm_html = work / "cold.html", work / "warm.html"
        cold = run_report(work, args.notebook, args.customers, cold_html)
        warm = run_report(work, args.notebook, args.customers, warm_html)
        body = warm_html.read_text()
        size_mb = warm_html.stat().st_size / 1e6
        plotly_bundles = body.count("plotly.js v")
        figures = body.count("Plotly.newPlot(")
        same = cold_html.read_bytes() == warm_html.read_bytes()
    report(f"report: {args.notebook} end to end", [
        ("customers", args.customers),
        ("cold wall s (empty store)", cold),
        ("warm wall s (store filled; target < 20)", warm),
        ("HTML MB (target < 8)", size_mb),
        ("plotly.js bundles in HTML (target 1)", plotly_bundles),
        ("plotly figures", figures),
        ("cold and warm HTML byte-identical", "yes" if same else "no"),
    ])


if __name__ == "__main__":
    main()
