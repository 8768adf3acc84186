"""End-to-end ``capnb report`` (promotion_overview by default) for a 5,000-customer sandbox cohort.

Runs the command exactly as an analyst would (a fresh process: Python start-up, kernel start,
fetching, analysis, charts, HTML export), twice:

1. cold: an empty store, so all 5,000 summaries are fetched from the sandbox;
2. warm: the store filled by the cold run, so nothing is fetched.

Reports wall time of each (target: warm < 20 s on the project's 2-core machine) and the HTML's
size (target < 8 MB, plotly.js embedded once).

With ``--baseline REF`` (a git commit, e.g. the one before a change), the same report is also
rendered by that commit's capnb, checked out into a scratch worktree, and the warm runs of the
two alternate ``--repeat`` times, side by side in one run: the ratio of their medians is the
figure (this machine is shared and noisy).
Run: ``python bench/report.py [--customers 5000] [--notebook portfolio] [--baseline REF]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_report(work: Path, notebook: str, customers: int, output: Path,
               code: Path | None = None) -> float:
    """Seconds taken by one ``capnb report`` process (by the capnb in ``code`` if given)."""
    command = [sys.executable, "-m", "capnb", "report", notebook,
               "-p", "customers", str(customers), "-p", "store", str(work / "store"),
               "-o", str(output)]
    env = dict(os.environ, CAPNB_PROGRESS="0")
    if code is not None:
        env["PYTHONPATH"] = str(code)  # the kernel inherits it: the baseline's capnb throughout
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"capnb report failed:\n{done.stderr}")
    if done.stdout.strip() != str(output):
        raise SystemExit(f"capnb report printed {done.stdout!r}, expected the report path")
    return elapsed


def compare(args: argparse.Namespace, work: Path) -> list[tuple[str, object]]:
    """Warm runs of this checkout and of ``args.baseline``, alternating, in one run."""
    baseline = work / "baseline-code"  # the checkout; its reports go to work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline),
                    args.baseline], check=True)
    try:
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        sizes: dict[str, float] = {}
        for label, code in (("baseline", baseline), ("current", None)):
            folder = work / label
            folder.mkdir()
            run_report(folder, args.notebook, args.customers, folder / "cold.html", code)
        for _ in range(args.repeat):
            for label, code in (("baseline", baseline), ("current", None)):
                output = work / label / "warm.html"
                times[label].append(run_report(work / label, args.notebook, args.customers,
                                               output, code))
                sizes[label] = output.stat().st_size / 1e6
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                       check=False)
    base, current = (statistics.median(times[k]) for k in ("baseline", "current"))
    return [("baseline", args.baseline), ("warm runs each", args.repeat),
            ("baseline warm s (median)", base), ("current warm s (median)", current),
            ("warm ratio current/baseline (target <= 1.3)", current / base),
            ("baseline HTML MB", sizes["baseline"]), ("current HTML MB (target < 8)",
                                                       sizes["current"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--notebook", default="promotion_overview",
                        help="a notebook with customers and store parameters")
    parser.add_argument("--baseline", help="a git commit to compare warm renders with")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs each with --baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="capnb-bench-report-") as scratch:
        work = Path(scratch)
        if args.baseline:
            report(f"report: {args.notebook} warm render, side by side",
                   [("customers", args.customers), *compare(args, work)])
            return
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
