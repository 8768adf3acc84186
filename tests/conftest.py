"""Shared fixtures: a clean environment, a running sandbox, and a scripted HTTP server.

Shared values and helpers live in plain modules beside this one (``sandbox_ids``, ``scripted``,
``parser_bodies``, ``cohorts``, ``report_runs``), which test modules import.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from capnb.config import ENV_VARIABLES
from tests.scripted import ScriptedServer


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
