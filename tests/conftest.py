"""Shared fixtures: a clean environment, a running sandbox, and a scripted HTTP server.

Shared values and helpers live in plain modules beside this one (``sandbox_ids``, ``scripted``,
``parser_bodies``, ``cohorts``, ``report_runs``), which test modules import.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import pytest

from capnb.config import ENV_VARIABLES
from tests.scripted import ScriptedServer

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


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


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def default_sigint():
    """Ctrl-C as Python (and a Jupyter kernel) delivers it, whatever handler an earlier test's
    tooling (JupyterLab, papermill, Playwright) left installed in this process, and even when
    the suite was started in the background by a non-interactive shell (SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def chromium_path() -> str | None:
    """Debian's chromium, or ``CAPNB_CHROMIUM``."""
    return (os.environ.get("CAPNB_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright (no browser download). Locally without chromium
    or playwright the test skips, saying what to install; in CI (``CI`` set) it fails."""
    missing = []
    executable = chromium_path()
    if executable is None:
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[dev]'; no "
                       "'playwright install' needed)")
    if missing:
        message = f"browser tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run them (.ci/run installs chromium)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
