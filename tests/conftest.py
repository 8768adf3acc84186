"""Shared fixtures: a clean environment, a running sandbox, and a scripted HTTP server; the
documented api bodies and checks the parser tests share."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt
import pytest

from capnb.config import ENV_VARIABLES
from capnb.models import ActionSummary, ApiWarning
from capnb.schema import CURRENCY_COLUMNS, INCENTIVE_COLUMNS, POINTS_COLUMNS, empty_frame

# The sandbox's program and promotions (seeded, stable across runs)
PROGRAM = 3334
DOUBLE_POINTS, SUMMER_COUPONS = 1133600978, 1133601204
ENROL_EARN, GOLD_TIER = 1133601377, 1133601550


@pytest.fixture(autouse=True)
def _no_capillary_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real cluster by accident."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def sandbox():
    from capnb.sandbox import Sandbox

    with Sandbox(customers=2000, seed=0) as sb:
        yield sb


@pytest.fixture(scope="session")
def catalog(sandbox) -> dict:
    return sandbox.catalog()


@dataclass
class Scripted:
    """One planned answer of the scripted server."""

    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedServer:
    """A real HTTP server on loopback answering from a queue; records every request it gets."""

    def __init__(self) -> None:
        self.plan: deque[Scripted] = deque()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "body": body})
                answer = server.plan.popleft() if server.plan else Scripted(
                    500, {"errors": [{"code": 500, "message": "script exhausted"}]})
                raw = answer.body if isinstance(answer.body, bytes) else json.dumps(
                    answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("X-Cap-Requestid", f"req-{len(server.requests)}")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, *answers: Scripted) -> None:
        self.plan.extend(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


# -- api parsers: the documented bodies and helpers shared by test_summary_parser.py,
#    test_promotion_parser.py, test_envelope.py and test_parser_properties.py

PARSER_DATA = Path(__file__).parent / "data"
SUMMARY_TEXT = (PARSER_DATA / "parse_action_summary_example.json").read_text()
NO_SUMMARY_TEXT = (PARSER_DATA / "parse_action_summary_8116.json").read_text()
PROMOTION_TEXT = (PARSER_DATA / "parse_promotion_example.json").read_text()
SUMMARY_FRAMES = {"incentives": INCENTIVE_COLUMNS, "points": POINTS_COLUMNS,
                  "alternate_currencies": CURRENCY_COLUMNS}


def summary_example() -> dict[str, Any]:
    """The documented action summary object (bare)."""
    return json.loads(SUMMARY_TEXT)


def promotion_example() -> dict[str, Any]:
    """The promotion object inside the documented api_gateway envelope."""
    return json.loads(PROMOTION_TEXT)["data"][0]


def gateway(obj: Any) -> dict[str, Any]:
    return {"status": {"code": 200, "message": "success"}, "validationErrors": None, "data": [obj]}


def v3(obj: Any, warnings: Any = None) -> dict[str, Any]:
    return {"data": obj, "errors": None, "warnings": warnings}


def set_path(obj: dict, path: tuple, value: Any) -> dict:
    """Set ``obj[path[0]][path[1]]...`` to ``value``; return ``obj``."""
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


def assert_schema(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    pdt.assert_series_equal(frame.dtypes, empty_frame(columns).dtypes)


def assert_valid_summary(result: ActionSummary) -> None:
    assert isinstance(result, ActionSummary)
    for name, columns in SUMMARY_FRAMES.items():
        assert_schema(getattr(result, name), columns)
    for value in (result.org_id, result.customer_id, result.program_id, result.promotion_id):
        assert value is None or type(value) is int
    no_rows = len(result.incentives) + len(result.points) + len(result.alternate_currencies) == 0
    assert result.empty == (no_rows or any(w.code == 8116 for w in result.warnings))
    assert all(isinstance(w, ApiWarning) for w in result.warnings)
