"""Real browser: headless Chromium (Debian's ``chromium`` package, driven by Playwright without a
browser download) opens every exported report with networking off, and runs ``explore.ipynb``
in JupyterLab on loopback.

Locally without chromium or playwright these tests skip, saying what to install; in CI (``CI``
set) they fail instead, since ``.ci/run`` installs chromium. Screenshots for review are saved
under ``reports/screenshots/``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from tests.report_runs import HOSTILE, NOTEBOOKS, rendered, rendered_hostile

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
LOCAL_SCHEMES = ("file", "data", "blob", "about")
# Tables each report shows at least: the header, then the data tables of the notebook (explore's
# tables live in its widgets, which a static report replaces by a note).
MIN_TABLES = {"promotion_overview": 14, "customer_benefits": 7, "explore": 1, "portfolio": 4,
              "hostile": 14}

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _chromium() -> str | None:
    return (os.environ.get("CAPNB_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


@pytest.fixture(scope="module")
def browser():
    missing = []
    executable = _chromium()
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


def _report(name: str) -> Path:
    return rendered_hostile().html if name == "hostile" else rendered(name).html


@pytest.mark.parametrize("name", [*NOTEBOOKS, "hostile"])
def test_report_renders_offline(browser, name):
    path = _report(name)
    expected_figures = path.read_text().count("Plotly.newPlot(")
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    requests, errors, dialogs = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(
            """() => [...document.querySelectorAll('.plotly-graph-div')]
                     .every(div => div.querySelector('svg.main-svg'))""", timeout=30_000)
        drawn = page.eval_on_selector_all(
            ".plotly-graph-div", "divs => divs.filter(d => d.querySelector('svg.main-svg') "
            "&& d.querySelectorAll('.plot *, .infolayer *').length).length")
        tables = page.locator("table").count()
        header = page.inner_text(".capnb-report-header")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-{name}.png"), full_page=True)
    finally:
        context.close()
    assert expected_figures >= 1 and drawn == expected_figures
    assert tables >= MIN_TABLES[name], tables
    remote = [u for u in requests if urlsplit(u).scheme not in LOCAL_SCHEMES]
    assert not remote, f"network requests from an offline report: {remote}"
    assert not errors, errors
    assert not dialogs, f"script from API text ran: {dialogs}"
    if name == "hostile":
        assert HOSTILE in header  # shown as text, never run
    if name == "portfolio":
        assert "Sandbox Rewards (3334)" in header


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on loopback serving a copy of explore.ipynb (150 sandbox customers)."""
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(ROOT / "capnb" / "reports" / "notebooks" / "explore.ipynb", as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("customers = 5000", "customers = 150")
    nbformat.write(nb, work / "explore.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    # Private config, data, runtime, settings and workspace folders: nothing of the user's.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "jupyterlab.log").open("w")
    process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", process)
        yield base, token
    finally:
        try:  # shuts the kernels down too
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            process.wait(timeout=20)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


_DASHBOARD_TIMELINE = """() => {
    const plots = [...document.querySelectorAll('.widget-vbox .js-plotly-plot')];
    const timeline = plots.find(p => ((p.layout || {}).title || {}).text
                                     && p.layout.title.text.includes('last issuance'));
    if (!timeline || !timeline.data || !timeline.data.length) return null;
    return Math.max(...timeline.data.map(t => (t.x || []).length));
}"""

DOUBLE_POINTS_LABEL = "Double Points Weekend (1133600978) · GENERIC · LIVE"
# Charts that draw data yet still carry the "No data" note of the figure they replaced (a
# relayout only updates the keys it is sent: the front end keeps the others).
_STALE_NO_DATA = """() => [...document.querySelectorAll('.widget-vbox .js-plotly-plot')]
    .filter(p => (p.data || []).some(t => (t.x || t.y || []).length)
                 && ((p.layout || {}).annotations || [])
                    .some(a => String(a.text || '').startsWith('No data')))
    .map(p => ((p.layout || {}).title || {}).text)"""


def test_jupyterlab_runs_explore_and_a_control_updates_a_chart(browser, jupyterlab):
    base, token = jupyterlab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    try:
        page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
        page.wait_for_function(
            """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                       const k = w && w.sessionContext && w.sessionContext.session
                                 && w.sessionContext.session.kernel;
                       return k && k.status === 'idle'; }""", timeout=90_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(_DASHBOARD_TIMELINE, timeout=120_000)
        daily = page.evaluate(_DASHBOARD_TIMELINE)
        stale = page.evaluate(_STALE_NO_DATA)
        period = page.locator(".widget-dropdown", has_text="Period").locator("select")
        period.select_option(label="Month")
        page.wait_for_function(f"() => {{ const n = ({_DASHBOARD_TIMELINE})(); "
                               f"return n !== null && n !== {daily}; }}", timeout=60_000)
        monthly = page.evaluate(_DASHBOARD_TIMELINE)
        period.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-explore.png"))
        # the promotion picker lists the program's promotions; picking one fills the id box,
        # and Fetch then draws that promotion
        picker = page.locator('.widget-dropdown:has(label:text-is("Promotion")) select')
        listed = [o.replace("\xa0", " ") for o in picker.locator("option").all_inner_texts()]
        picker.select_option(label=DOUBLE_POINTS_LABEL)
        id_box = page.locator('.widget-text:has(label:text-is("Promotion id")) input')
        page.wait_for_function("box => box.value === '1133600978'", arg=id_box.element_handle(),
                               timeout=30_000)
        page.locator("button", has_text="Fetch").click()
        page.wait_for_function(
            """() => [...document.querySelectorAll('.widget-vbox .js-plotly-plot')].some(
                   p => (((p.layout || {}).title || {}).text || '')
                        .startsWith('Incentives issued — Double Points Weekend'))""",
            timeout=60_000)
    finally:
        context.close()
    assert daily > monthly > 0, (daily, monthly)  # days, then months: fewer periods
    assert not stale, f"charts showing data under a stale 'No data' note: {stale}"
    assert DOUBLE_POINTS_LABEL in listed and len(listed) == 4, listed
    assert not outside, f"JupyterLab page reached beyond loopback: {outside}"
