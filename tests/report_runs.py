"""Reports rendered once per test session, shared by test_report.py and test_browser.py.

Each render starts a kernel and fetches a small sandbox cohort (5-15 s on a 2-core machine), so
both modules read the same files instead of rendering twice.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from capnb import cli

NOTEBOOKS = ("promotion_overview", "customer_benefits", "explore", "portfolio")
# Small cohorts keep the runs short; no store, so every run fetches (and nothing is left behind).
PARAMETERS = {
    "promotion_overview": [("customers", "300"), ("store", "")],
    "customer_benefits": [],
    "explore": [("customers", "300")],
    "portfolio": [("customers", "300"), ("store", "")],
}
# Issue 15: reports of a new-UI promotion (described by /v3/promotions only, its limits read from
# promotionData), run name -> (notebook, parameters).
NEW_UI_PROMOTION = 1133602023  # "Spring Step Challenge"
NEW_UI_CUSTOMER = 388000127  # opted in, two coupons: at its issuals cap
NEW_UI_RUNS = {
    "promotion_overview_new_ui": ("promotion_overview", [
        ("customers", "300"), ("store", ""), ("promotion_id", str(NEW_UI_PROMOTION))]),
    "customer_benefits_new_ui": ("customer_benefits", [
        ("promotion_id", str(NEW_UI_PROMOTION)), ("customer_id", str(NEW_UI_CUSTOMER))]),
}
HOSTILE = "<script>alert(1)</script>"
HOSTILE_PROMOTION = 1133601377

_root = Path(tempfile.mkdtemp(prefix="capnb-test-reports-"))
atexit.register(shutil.rmtree, _root, ignore_errors=True)


@dataclass(frozen=True)
class Rendered:
    html: Path
    notebook: Path  # the executed .ipynb
    stdout: str


def render_cli(*argv: str) -> tuple[int, str, str]:
    """Run ``capnb`` in this process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@functools.cache
def rendered(name: str) -> Rendered:
    """``capnb report NAME`` on the sandbox (small cohort), rendered once per session; NAME may
    also be a run of :data:`NEW_UI_RUNS`."""
    html, executed = _root / f"{name}.html", _root / f"{name}.ipynb"
    notebook, parameters = NEW_UI_RUNS.get(name, (name, PARAMETERS.get(name, [])))
    argv = ["report", notebook, "-o", str(html), "--save-notebook", str(executed)]
    for key, value in parameters:
        argv += ["-p", key, value]
    code, stdout, stderr = render_cli(*argv)
    assert code == 0, stderr
    return Rendered(html, executed, stdout)


@dataclass(frozen=True)
class Hostile:
    html: Path
    notebook: Path
    secrets: tuple[str, ...]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@functools.cache
def rendered_hostile() -> Hostile:
    """promotion_overview with ``--source env`` against a sandbox whose promotion name,
    description and activity ids are HTML, with every kind of credential configured."""
    import base64
    import hashlib
    from unittest import mock

    from capnb.sandbox import (
        SANDBOX_CLIENT_KEY,
        SANDBOX_CLIENT_SECRET,
        SANDBOX_PASSWORD,
        SANDBOX_TILL_ID,
        Sandbox,
        SandboxData,
    )

    original_promotion, original_summary = SandboxData.promotion_payload, \
        SandboxData.summary_payload

    def hostile_promotion(self, promotion_id):
        payload = original_promotion(self, promotion_id)
        if promotion_id == HOSTILE_PROMOTION:
            payload["name"] = HOSTILE
            payload["description"] = f"<img src=x onerror=alert(2)> {HOSTILE}"
        return payload

    def hostile_summary(self, customer_id, promotion_id, activity_id=None):
        payload = original_summary(self, customer_id, promotion_id, activity_id)
        for item in payload.get("incentives", []):
            if item.get("activityId"):
                item["activityId"] = f"<b onmouseover=alert(3)>{item['activityId']}</b>"
        return payload

    # The sandbox may render its answers when built or per request: patch for both.
    with mock.patch.object(SandboxData, "promotion_payload", hostile_promotion), \
            mock.patch.object(SandboxData, "summary_payload", hostile_summary):
        sandbox = Sandbox(customers=80, seed=0)
    data = sandbox.data
    data.promotion_payload = hostile_promotion.__get__(data)
    data.summary_payload = hostile_summary.__get__(data)
    sandbox.start()
    ids = _root / "hostile-customers.csv"
    ids.write_text("customer_id\n" + "\n".join(str(i) for i in list(data.customer_ids)[:80]))
    md5 = hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()
    basic = base64.b64encode(f"{SANDBOX_TILL_ID}:{md5}".encode()).decode()
    environment = {"CAPILLARY_HOST": sandbox.url, "CAPILLARY_TILL_ID": SANDBOX_TILL_ID,
                   "CAPILLARY_PASSWORD": SANDBOX_PASSWORD, "CAPILLARY_CLIENT_KEY":
                   SANDBOX_CLIENT_KEY, "CAPILLARY_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
    html, executed = _root / "hostile.html", _root / "hostile.ipynb"
    try:
        with _environment(environment):
            code, _, stderr = render_cli(
                "report", "promotion_overview", "--source", "env", "-o", str(html),
                "--save-notebook", str(executed), "-p", "customers", str(ids),
                "-p", "promotion_id", str(HOSTILE_PROMOTION), "-p", "store", "")
    finally:
        sandbox.stop()
    assert code == 0, stderr
    return Hostile(html, executed, (SANDBOX_TILL_ID, SANDBOX_PASSWORD, md5, basic,
                                    SANDBOX_CLIENT_KEY, SANDBOX_CLIENT_SECRET))
