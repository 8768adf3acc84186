"""The ``capnb`` command: ``capnb sandbox`` serves the embedded sandbox, ``capnb demo`` prints a
promotion and a customer's frames from it, ``capnb report`` lists the notebooks (and where the
packaged ones live) or renders one as an HTML report. Argument parsing and printing only; the top
layer: only ``capnb.__main__`` (``python -m capnb``) imports it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from capnb._version import __version__
from capnb.errors import CapnbError, ReportError, printable


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _sandbox(args: argparse.Namespace) -> int:
    from capnb.sandbox import SANDBOX_CLIENT_KEY, SANDBOX_TILL_ID, Sandbox

    sandbox = Sandbox(customers=args.customers, seed=args.seed, host=args.host, port=args.port,
                      latency_ms=args.latency_ms, rate_limit_per_min=args.rate_limit,
                      promotion_data_variant=args.promotion_data,
                      extra_promotions=args.extra_promotions)
    catalog = sandbox.catalog()

    def announce(url: str) -> None:
        print(f"capnb sandbox listening on {url}", flush=True)
        print(f"  program {catalog['program_id']}, promotions "
              f"{', '.join(str(p['id']) for p in catalog['promotions'])} (new UI: "
              f"{', '.join(str(p['id']) for p in catalog['new_ui_promotions'])}), "
              f"{len(catalog['customer_ids']):,} customers", flush=True)
        if args.promotion_data != "documented" or args.extra_promotions:
            print(f"  promotionData: {args.promotion_data} form, "
                  f"{args.extra_promotions} extra promotion(s) per customer", flush=True)
        print(f"  Basic auth: till id {SANDBOX_TILL_ID!r}; OAuth: key {SANDBOX_CLIENT_KEY!r} "
              "(secrets: see capnb.sandbox). Ctrl-C stops.", flush=True)

    try:
        sandbox.serve_forever(ready=announce)
    except KeyboardInterrupt:
        pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from capnb.api.client import connect
    from capnb.sandbox import Sandbox

    with Sandbox(customers=args.customers, seed=args.seed) as sb:
        catalog = sb.catalog()
        client = connect(sb.environ())
        # The enrol-and-issue promotion shows every kind of benefit.
        promotion_meta = next((p for p in catalog["promotions"]
                               if p["offer_type"] == "LOYALTY_EARNING"), catalog["promotions"][0])
        promotion = client.promotion(catalog["program_id"], promotion_meta["id"])
        print(f"Sandbox at {sb.url}: program {catalog['program_id']}, "
              f"{len(catalog['customer_ids']):,} customers\n")
        print(f"Promotion {promotion.id} {promotion.name!r} ({promotion.offer_type}, "
              f"{promotion.status}, {promotion.start:%Y-%m-%d} to {promotion.end:%Y-%m-%d})")
        print(promotion.restrictions.to_string(index=False), "\n")
        for customer_id in catalog["customer_ids"][:50]:
            summary = client.action_summary(customer_id, catalog["program_id"], promotion.id)
            if len(summary.incentives) and len(summary.points):
                break
        print(f"Customer {summary.customer_id} (request id {summary.request_id})")
        for label, frame in (("incentives", summary.incentives), ("points", summary.points),
                             ("alternate currencies", summary.alternate_currencies)):
            print(f"\n{label}:")
            print(frame.to_string(index=False) if len(frame) else "  (none)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from capnb.reports import render

    if args.list:
        print(f"notebooks packaged with capnb: {render.PACKAGED_NOTEBOOKS}")
        for entry in render.list_notebooks():  # a notebook in ./notebooks may be anyone's
            print(printable(f"{entry['name']}  ({entry['path']})"))
            if entry["title"]:
                print(printable(f"  {entry['title']}"))
            for name, spec in entry["parameters"].items():
                note = f"  # {spec['help']}" if spec.get("help") else ""
                print(printable(f"    {name} = {spec['default']}{note}"))
        return 0
    if args.notebook is None and isinstance(args.pdf, str) and not args.pdf.endswith(".pdf"):
        args.notebook, args.pdf = args.pdf, True  # `capnb report --pdf NOTEBOOK`
    if args.notebook is None:
        raise SystemExit("capnb report: error: give a NOTEBOOK (see `capnb report --list`)")
    declared = render.notebook_parameters(args.notebook)
    parameters: dict[str, Any] = {}
    if args.file:
        parameters.update(_parameters_file(args.file))
    for name, raw in args.parameter or []:
        parameters[name] = _parameter_value(raw, declared.get(name, {}))
    path = render.render_report(args.notebook, args.output, parameters, source=args.source,
                                show_code=args.show_code, executed_notebook=args.save_notebook,
                                timeout=args.timeout, data_dir=args.data_dir, pdf=args.pdf)
    print(path)
    if args.pdf:
        print(path.with_suffix(".pdf") if args.pdf is True else Path(args.pdf).expanduser())
    return 0


def _parameter_value(raw: str, spec: dict[str, Any]) -> Any:
    """A ``-p name value`` string as the type the notebook expects (papermill's CLI rules, except
    that a parameter whose default is a string stays a string: ``-p activity_id 123``)."""
    typename = str(spec.get("inferred_type_name") or "")
    if isinstance(spec.get("default"), str) and spec["default"].startswith(("'", '"')) or (
            typename == "str"):
        return raw
    if raw in ("True", "False"):
        return raw == "True"
    if raw == "None":
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _parameters_file(path: str) -> dict[str, Any]:
    """A YAML mapping of parameter values, plain data only (see
    :func:`capnb.reports.render.plain_value`); dates, which YAML makes of 2026-11-15, become the
    ISO strings the notebooks take."""
    import yaml

    from capnb.errors import ValidationError
    from capnb.reports.render import plain_value

    try:
        loaded = yaml.safe_load(Path(path).expanduser().read_text()) or {}
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as exc:
        # ValueError: not UTF-8, or an integer of more than 4,300 digits.
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ValidationError("-f", f"cannot read parameters from {path}: {reason}") from None
    if type(loaded) is not dict:
        raise ValidationError("-f", f"{path} must hold a mapping of parameter names to values")
    return {str(k): plain_value(f"-f {path}: {k}", v, iso_dates=True) for k, v in loaded.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capnb",
        description="Capillary loyalty promotion analytics: sandbox, demo and reports.",
    )
    parser.add_argument("--version", action="version", version=f"capnb {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = commands.add_parser("sandbox", help="serve the local API emulation")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default 8765, 0 = any)")
    sandbox.add_argument("--customers", type=int, default=5000, help="customers (default 5000)")
    sandbox.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    sandbox.add_argument("--latency-ms", type=float, default=0, help="delay per request")
    sandbox.add_argument("--rate-limit", type=int, default=None,
                         help="requests per minute per key before answering 429")
    sandbox.add_argument("--promotion-data", choices=("documented", "no_timelines", "older"),
                         default="documented",
                         help="how promotionData answers: as documented (default), without "
                              "customerPromotionTimelines, or in the older 'data'-keyed form")
    sandbox.add_argument("--extra-promotions", type=_count, default=0, metavar="N",
                         help="N more promotions in every promotionData answer (paging past "
                              "100; default 0)")
    sandbox.set_defaults(run=_sandbox)

    demo = commands.add_parser("demo", help="fetch a promotion and a customer from the sandbox")
    demo.add_argument("--customers", type=int, default=5000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)

    report = commands.add_parser(
        "report", help="run a notebook and export it as one self-contained HTML report",
        description="Run a capnb notebook with papermill and export it as one offline HTML "
                    "file (code hidden unless --show-code). Credentials come from CAPILLARY_* "
                    "variables, never from parameters.")
    report.add_argument("notebook", nargs="?", metavar="NOTEBOOK",
                        help="a notebook name (see --list) or path")
    report.add_argument("-p", "--parameter", nargs=2, action="append",
                        metavar=("NAME", "VALUE"), help="set a notebook parameter (repeatable)")
    report.add_argument("-f", "--file", metavar="PARAMS.yaml",
                        help="parameters from a YAML mapping (-p wins)")
    report.add_argument("-o", "--output", metavar="OUT.html",
                        help="report path (default reports/<notebook>-<promotion_id>.html)")
    report.add_argument("--source", choices=("sandbox", "env"),
                        help="data source: the embedded sandbox or the CAPILLARY_* cluster")
    report.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    report.add_argument("--save-notebook", metavar="OUT.ipynb",
                        help="also save the executed notebook")
    report.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed per cell (default: none)")
    report.add_argument("--data-dir", metavar="DIR",
                        help="also write the report's downloads there as CSV and Parquet")
    report.add_argument("--pdf", nargs="?", const=True, default=None, metavar="OUT.pdf",
                        help="also print the report to PDF (A4) with headless Chromium "
                             "(default path: the report's with .pdf; needs capnb[pdf])")
    report.add_argument("--list", action="store_true",
                        help="list the notebooks and their parameters")
    report.set_defaults(run=_report)
    return parser


class _PrintableFormatter(logging.Formatter):
    """Log lines (and the warnings routed to them) quote API text: escape control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


@contextlib.contextmanager
def _log_to_stderr(*, verbose: bool) -> Iterator[None]:
    """Log lines and warnings on stderr, escaped, while the command runs."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(saved_level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    pd.set_option("display.width", 160)
    try:
        with _log_to_stderr(verbose=args.verbose):
            return args.run(args)
    except CapnbError as exc:
        # A failed cell is one line (its code and traceback with -v). Messages quote API text:
        # no escape sequence reaches the terminal.
        short = isinstance(exc, ReportError) and not args.verbose
        print(printable(f"capnb: error: {exc.summary if short else exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("capnb: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(printable(f"capnb: error: {reason} (capnb -v {args.command} ... shows the "
                        "traceback)"), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
