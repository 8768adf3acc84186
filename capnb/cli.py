"""Command line: ``capnb sandbox`` and ``capnb demo``. Argument parsing only; nothing imports it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import pandas as pd

from capnb import __version__
from capnb.errors import CapnbError


def _sandbox(args: argparse.Namespace) -> int:
    from capnb.sandbox import SANDBOX_CLIENT_KEY, SANDBOX_TILL_ID, Sandbox

    sandbox = Sandbox(customers=args.customers, seed=args.seed, host=args.host, port=args.port,
                      latency_ms=args.latency_ms, rate_limit_per_min=args.rate_limit)
    catalog = sandbox.catalog()

    def announce(url: str) -> None:
        print(f"capnb sandbox listening on {url}", flush=True)
        print(f"  program {catalog['program_id']}, promotions "
              f"{', '.join(str(p['id']) for p in catalog['promotions'])}, "
              f"{len(catalog['customer_ids']):,} customers", flush=True)
        print(f"  Basic auth: till id {SANDBOX_TILL_ID!r}; OAuth: key {SANDBOX_CLIENT_KEY!r} "
              "(secrets: see capnb.sandbox). Ctrl-C stops.", flush=True)

    try:
        sandbox.serve_forever(ready=announce)
    except KeyboardInterrupt:
        pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from capnb.sandbox import Sandbox

    with Sandbox(customers=args.customers, seed=args.seed) as sb:
        catalog = sb.catalog()
        client = sb.client()
        promotion_meta = catalog["promotions"][0]
        promotion = client.promotion(catalog["program_id"], promotion_meta["id"])
        print(f"Sandbox at {sb.url}: program {catalog['program_id']}, "
              f"{len(catalog['customer_ids']):,} customers\n")
        print(f"Promotion {promotion.id} {promotion.name!r} ({promotion.offer_type}, "
              f"{promotion.status}, {promotion.start:%Y-%m-%d} to {promotion.end:%Y-%m-%d})")
        print(promotion.restrictions.to_string(index=False), "\n")
        for customer_id in catalog["customer_ids"][:20]:
            summary = client.action_summary(customer_id, catalog["program_id"], promotion.id)
            if not summary.empty:
                break
        print(f"Customer {summary.customer_id} (request id {summary.request_id})")
        for label, frame in (("incentives", summary.incentives), ("points", summary.points),
                             ("alternate currencies", summary.alternate_currencies)):
            print(f"\n{label}:")
            print(frame.to_string(index=False) if len(frame) else "  (none)")
    return 0


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
    sandbox.set_defaults(run=_sandbox)

    demo = commands.add_parser("demo", help="fetch a promotion and a customer from the sandbox")
    demo.add_argument("--customers", type=int, default=5000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pd.set_option("display.width", 160)
    try:
        return args.run(args)
    except CapnbError as exc:
        print(f"capnb: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
