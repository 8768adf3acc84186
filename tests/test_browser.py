"""Real browser: headless Chromium (Debian's ``chromium`` package, driven by Playwright without a
browser download) opens every exported report with networking off, and runs ``explore.ipynb``
in JupyterLab on loopback as a user does (default settings, IOPub rate limits included, the
notebook's 5,000 sandbox customers), counting the kernel's IOPub messages per fetch (issue 12).

Locally without chromium or playwright these tests skip, saying what to install; in CI (``CI``
set) they fail instead, since ``.ci/run`` installs chromium. Screenshots for review are saved
under ``reports/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
import pytest

from tests.report_runs import HOSTILE, NEW_UI_RUNS, NOTEBOOKS, rendered, rendered_hostile

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
LOCAL_SCHEMES = ("file", "data", "blob", "about")
# Tables each report shows at least: the header, then the data tables of the notebook (explore's
# tables live in its widgets, which a static report replaces by a note).
MIN_TABLES = {"promotion_overview": 13, "customer_benefits": 7, "explore": 1, "portfolio": 3,
              "hostile": 13, "promotion_overview_new_ui": 13,
              "customer_benefits_new_ui": 6}  # no alternate currency in that promotion

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _report(name: str) -> Path:
    return rendered_hostile().html if name == "hostile" else rendered(name).html


@pytest.mark.parametrize("name", [*NOTEBOOKS, *NEW_UI_RUNS, "hostile"])
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
    if name in NEW_UI_RUNS:  # issue 15: where a new-UI promotion's description and limits came from
        assert "Spring Step Challenge (1133602023)" in header
        assert "GET /v3/promotions" in header
        assert "Limits from promotionData maxLimit for" in header
        assert "limits[] are not documented" in header


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


# -- JupyterLab: explore.ipynb live, 5,000 sandbox customers, the server's default limits ----------

PROGRAM_ID = 3334
FIRST_PROMOTION = 1133601377  # "Enrol & Earn Stars", the notebook's default
DOUBLE_POINTS = 1133600978  # "Double Points Weekend": points only
DOUBLE_POINTS_LABEL = "Double Points Weekend (1133600978) · GENERIC · LIVE"
CUSTOMERS = 5000  # the notebook's default cohort: what the user of issue 12 ran
# The dashboard's charts: capnb.reports.widgets.FIGURES (issuance, points, timeline, recency,
# utilisation, per-customer usage).
MIN_CHARTS = 6
# Messages the kernel may send on IOPub for one 5,000-customer fetch. jupyter_server's default
# limit is 1000 msg/s averaged over 3 s (iopub_msg_rate_limit, rate_limit_window); a fetch must
# stay far below it however fast the machine is, so the budget is a count, not a rate.
FETCH_IOPUB_BUDGET = 300
IOPUB_WARNING = "IOPub message rate exceeded"
# Console errors of the widget or plotly front end that mean a figure update was lost.
_FRONT_END_ERRORS = ("Error setting state", "valid indices for gd.data")

# Installed in the page before JupyterLab loads: reads the dashboard as the user sees it. The
# dashboard is the output area holding the Fetch button; its charts are the .js-plotly-plot
# inside it (the static copies the next cell shows are other output areas).
_PAGE_HELPERS = """
window.__capnb = (() => {
  const decode = s => new DOMParser().parseFromString(String(s == null ? '' : s), 'text/html')
                         .body.textContent;
  const isFetch = b => b.textContent.trim() === 'Fetch';
  const root = () => {
    const button = [...document.querySelectorAll('.jp-OutputArea-output button')].find(isFetch);
    return button ? button.closest('.jp-OutputArea-output') : null;
  };
  const plots = () => {
    const r = root();
    return r ? [...r.querySelectorAll('.js-plotly-plot')] : [];
  };
  const size = v => (v != null && typeof v.length === 'number') ? v.length : 0;
  // Text of the dashboard outside its charts, lists and text boxes: labels, status, progress.
  const text = node => {
    if (!node) return '';
    const out = [];
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
      {acceptNode: n => n.nodeType === 1
         && n.matches('.js-plotly-plot, select, option, textarea, style, script')
         ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
    while (walker.nextNode()) {
      if (walker.currentNode.nodeType === 3) out.push(walker.currentNode.nodeValue);
    }
    return out.join(' ').replace(/[\\s\\u00a0]+/g, ' ').trim();
  };
  // What a chart shows, from its title ("<what> — <promotion>").
  const role = title => {
    const w = title.split(' — ')[0].toLowerCase();
    for (const [name, re] of [['per-customer', /^per[- ]customer/], ['incentives', /^incentive/],
                              ['points', /^points|currenc/], ['recency', /time since|recency/],
                              ['utilisation', /utili[sz]ation/],
                              ['timeline', /period|timeline|last issuance|over time/]]) {
      if (re.test(w)) return name;
    }
    return w;
  };
  const chart = (p, signature) => {
    // _fullData holds decoded arrays (typed or base64 trace data included)
    const traces = (p._fullData && p._fullData.length ? p._fullData : p.data) || [];
    const t = (p.layout || {}).title;
    const notes = ((p.layout || {}).annotations || []).map(a => decode(a.text));
    const drawn = [...p.querySelectorAll('.annotation-text')].map(e => e.textContent);
    const c = {
      title: decode(typeof t === 'string' ? t : (t || {}).text),
      role: '',
      traces: traces.length,
      points: traces.reduce((n, d) => n + Math.max(size(d.x), size(d.y), size(d.values)), 0),
      periods: Math.max(0, ...traces.map(d => Math.max(size(d.x), size(d.y)))),
      noData: [...new Set([...notes, ...drawn].filter(s => /^\\s*No data/.test(s)))],
      // the drawn width as a share of the chart's box (plotly's default 700 px leaves it empty)
      fill: p._fullLayout ? p._fullLayout.width / Math.max(1, p.getBoundingClientRect().width)
                          : 0,
    };
    c.role = role(c.title);
    if (signature) {
      c.signature = JSON.stringify(traces.map(d => [d.type, d.name, Array.from(d.x || []),
                                                    Array.from(d.y || [])]));
    }
    return c;
  };
  const fetchButton = () => {
    const r = root();
    return r && [...r.querySelectorAll('button')].find(isFetch);
  };
  return {
    root, plots, text, role,
    state(signature) {
      const r = root(), b = fetchButton();
      return {found: !!r, text: text(r), fetchDisabled: b ? b.disabled : null,
              charts: plots().map(p => chart(p, signature))};
    },
    // Records what the dashboard shows while a fetch runs (it may finish between two polls).
    watch() {
      const r = root(), seen = {busy: false, progress: []};
      const look = () => {
        const b = fetchButton(), t = text(r);
        if ((b && b.disabled) || /Fetching/.test(t)) seen.busy = true;
        const m = t.match(/[\\d,]+ ?\\/ ?[\\d,]+/);
        if (m && seen.progress[seen.progress.length - 1] !== m[0]) seen.progress.push(m[0]);
      };
      const observer = new MutationObserver(look);
      observer.observe(r, {subtree: true, childList: true, characterData: true,
                           attributes: true, attributeFilter: ['disabled']});
      look();
      window.__capnbSeen = seen;
      seen.stop = () => observer.disconnect();
    },
    // Every output of the notebook's model (outputs out of view included).
    outputs() {
      const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      const cells = w && w.content && w.content.model ? w.content.model.cells : null;
      const out = [];
      for (let i = 0; cells && i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type === 'code') out.push(JSON.stringify(c.outputs.toJSON()));
      }
      return out.join('\\n');
    },
    executed() {
      const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      const cells = w && w.content && w.content.model ? w.content.model.cells : null;
      const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
      if (!cells || !k || k.status !== 'idle') return false;
      for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type === 'code' && c.executionCount == null) return false;
      }
      return true;
    },
  };
})();
"""

_KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session
              && w.sessionContext.session.kernel;
    return k && k.status === 'idle'; }"""

# 'fetched' once the dashboard finished a fetch of `total` customers, every chart titled for
# `subject`; with `afterRunAll`, 'idle' when every cell ran and the kernel stayed idle 15 s
# without that (lost output: waiting longer would not help).
_FETCHED = """([subject, total, charts, needBusy, afterRunAll]) => {
    const seen = window.__capnbSeen;
    const s = window.__capnb.state(false);
    const done = new RegExp(total + ' ?/ ?' + total);
    if ((!needBusy || (seen && seen.busy)) && s.found && s.fetchDisabled === false
        && done.test(s.text) && !/Fetching/.test(s.text) && s.charts.length >= charts
        && s.charts.every(c => c.title.includes(subject) && (c.points > 0 || c.noData.length)))
      return 'fetched';
    if (afterRunAll && window.__capnb.executed()) {
      window.__capnbIdle = window.__capnbIdle || Date.now();
      if (Date.now() - window.__capnbIdle > 15000) return 'idle';
    } else {
      window.__capnbIdle = 0;
    }
    return false;
}"""


@dataclass
class _Lab:
    base: str
    token: str
    log: Path


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on loopback with its default settings (message rate limits included),
    serving a copy of explore.ipynb as shipped (5,000 sandbox customers)."""
    work = tmp_path / "work"
    work.mkdir()
    source = ROOT / "capnb" / "reports" / "notebooks" / "explore.ipynb"
    nb = nbformat.read(source, as_version=4)
    assert f"customers = {CUSTOMERS}" in nb.cells[1].source, nb.cells[1].source
    nbformat.write(nb, work / "explore.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    # Private config, data, runtime, settings and workspace folders: nothing of the user's. The
    # kernel imports capnb from this tree (not from whatever the venv has installed).
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                         if p)}
    # No iopub/rate-limit option: the limits are the server's defaults, as a user has them.
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = tmp_path / "jupyterlab.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", process)
        yield _Lab(base, token, log_path)
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


def _decode_frame(payload: str | bytes) -> tuple[str, str, Any]:
    """(channel, msg_type, content thunk) of a kernel websocket frame: JupyterLab 4 speaks the
    binary v1 protocol (offsets, then channel, header, parent header, metadata, content,
    buffers); the legacy protocol sends JSON text."""
    if isinstance(payload, str):
        msg = json.loads(payload)
        return msg.get("channel", ""), msg.get("header", {}).get("msg_type", ""), \
            lambda: msg.get("content") or {}
    count = int.from_bytes(payload[:8], "little")
    offsets = [int.from_bytes(payload[8 * (i + 1):8 * (i + 2)], "little") for i in range(count)]
    channel = payload[offsets[0]:offsets[1]].decode()
    header = json.loads(payload[offsets[1]:offsets[2]])
    return channel, header.get("msg_type", ""), \
        lambda: json.loads(payload[offsets[4]:offsets[5]])


class _IOPub:
    """Counts the IOPub messages each kernel websocket of the page receives, per phase."""

    def __init__(self) -> None:
        self.phase = "start"
        self.counts: dict[tuple[str, str], Counter] = {}
        self.warnings: list[str] = []
        self.undecoded = 0

    def attach(self, ws: Any) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framereceived", lambda payload: self._frame(ws.url, payload))

    def _frame(self, url: str, payload: str | bytes) -> None:
        try:
            channel, msg_type, content = _decode_frame(payload)
        except (ValueError, IndexError, UnicodeDecodeError):
            self.undecoded += 1
            return
        if channel != "iopub":
            return
        self.counts.setdefault((url, self.phase), Counter())[msg_type] += 1
        if msg_type == "stream":
            text = str(content().get("text", ""))
            if IOPUB_WARNING in text:
                self.warnings.append(f"{self.phase}: {text.strip()[:200]}")

    def total(self, phase: str) -> int:
        """Messages of `phase` on the busiest kernel connection (each sees the whole IOPub)."""
        return max((sum(c.values()) for (_, p), c in self.counts.items() if p == phase),
                   default=0)

    def by_type(self, phase: str) -> dict[str, int]:
        merged: Counter = Counter()
        for (_, p), c in self.counts.items():
            if p == phase:
                merged = merged | c
        return dict(merged.most_common())


def _describe(state: dict[str, Any]) -> str:
    charts = "\n".join(f"    chart {i + 1}: {c['title']!r}: {c['traces']} traces, "
                       f"{c['points']} points" + (f", says {c['noData']}" if c["noData"] else "")
                       for i, c in enumerate(state.get("charts", [])))
    return (f"  dashboard found: {state.get('found')}; Fetch disabled: "
            f"{state.get('fetchDisabled')}\n  dashboard text: {state.get('text', '')[:600]!r}\n"
            f"{charts}")


def _state(page: Any, signature: bool = False) -> dict[str, Any]:
    return page.evaluate("s => window.__capnb.state(s)", signature)


def _by_role(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["role"]: c for c in state["charts"]}


def _issued_kinds(promotion_id: int) -> set[str]:
    """What the sandbox's promotion issues to the cohort: 'points', 'currencies', 'incentives'."""
    from capnb.sandbox import SandboxData

    data, kinds = SandboxData(customers=CUSTOMERS), set()
    for customer in data.customer_ids:
        for event in data.events(customer, promotion_id):
            kinds |= ({"points"} if event.points > 0 else set()) \
                | ({"currencies"} if event.currency_amount > 0 else set()) \
                | ({"incentives"} if event.action is not None else set())
        if kinds == {"points", "currencies", "incentives"}:
            break
    return kinds


_KIND_WORDS = (("currencies", "currenc"), ("incentives", "incentive"), ("points", "point"))


def _check_charts(state: dict[str, Any], subject: str, kinds: set[str], when: str,
                  problems: list[str]) -> None:
    """Every chart titled for `subject` and drawing data, except an incentives chart when the
    promotion issued no incentives (it may say so)."""
    charts = state["charts"]
    if len(charts) < MIN_CHARTS:
        problems.append(f"{when}: {len(charts)} charts in the dashboard, expected "
                        f"{MIN_CHARTS}\n{_describe(state)}")
    for i, c in enumerate(charts, 1):
        name = f"{when}: chart {i} {c['title']!r}"
        if subject not in c["title"]:
            problems.append(f"{name} does not name {subject!r}")
        may_be_empty = c["role"] == "incentives" and "incentives" not in kinds
        if c["points"] == 0 and not may_be_empty:
            problems.append(f"{name} draws no data ({c['traces']} traces), says {c['noData']}")
        # a note beside data is stale unless it is about a kind the promotion never issued (a
        # points chart may say no currency was issued)
        stale = [n for n in c["noData"] if not any(
            word in n.lower() for kind, word in _KIND_WORDS if kind not in kinds)]
        if c["points"] > 0 and stale:
            problems.append(f"{name} draws data under a stale note {stale}")
        if c["points"] == 0 and not c["noData"] and may_be_empty:
            problems.append(f"{name} is empty without saying why")
        if not 0.95 <= c["fill"] <= 1.05:
            problems.append(f"{name} is drawn {c['fill']:.0%} of the width it has")


def _wait(page: Any, script: str, arg: Any, timeout: float, problems: list[str],
          what: str) -> Any:
    """What `script` returned once truthy, or None (and a problem saying what the page shows)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        result = page.wait_for_function(script, arg=arg, timeout=timeout * 1000,
                                        polling=250).json_value()
    except PlaywrightTimeout:
        result, why = None, f"not within {timeout:.0f} s"
    else:
        why = "every cell ran, the kernel has been idle 15 s" if result == "idle" else ""
    if result is None or result == "idle":
        problems.append(f"{what}: {why}; the page shows:\n{_describe(_state(page))}")
        return None
    return result


def _screenshots(page: Any, name: str) -> list[Path]:
    """The dashboard at 1280 and 1920 px wide, whole (the viewport is made as tall as it)."""
    paths = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 1000})
        height = page.evaluate("() => { const r = window.__capnb.root(); "
                               "return r ? r.getBoundingClientRect().height : 0; }")
        page.set_viewport_size({"width": width, "height": int(min(max(height + 250, 1000),
                                                                  7000))})
        page.evaluate("() => { window.__capnbSettle = {last: null, n: 0}; "
                      "const r = window.__capnb.root(); if (r) r.scrollIntoView(); }")
        try:  # plotly follows the new width: wait until every chart's size holds still
            page.wait_for_function(
                """() => { const s = window.__capnbSettle;
                           const now = window.__capnb.plots().map(p =>
                               ((p._fullLayout || {}).width || 0) + 'x' + p.clientWidth).join();
                           s.n = now === s.last ? s.n + 1 : 0; s.last = now; return s.n >= 4; }""",
                timeout=15_000, polling=250)
        except Exception:  # noqa: BLE001 - a screenshot for review, not an assertion
            pass
        path = SCREENSHOTS / f"jupyterlab-explore-{name}-{width}.png"
        root = page.evaluate_handle("() => window.__capnb.root()").as_element()
        (root or page).screenshot(path=str(path))
        paths.append(path)
    page.set_viewport_size({"width": 1400, "height": 1000})
    return paths


def test_jupyterlab_explore_5000_customers_within_default_iopub_limits(browser, jupyterlab):
    """Issue 12: Run All of explore.ipynb on 5,000 sandbox customers in JupyterLab as it comes
    (default message rate limits) shows the dashboard, finishes its fetch, draws every chart for
    the header's promotion; a Fetch of another promotion stays far below the IOPub limit and
    redraws every chart for it; filters change the charts."""
    lab = jupyterlab
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside, console_errors = [], []
    iopub = _IOPub()

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    context.add_init_script(_PAGE_HELPERS)
    page = context.new_page()
    page.on("websocket", iopub.attach)
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    first_kinds, second_kinds = _issued_kinds(FIRST_PROMOTION), _issued_kinds(DOUBLE_POINTS)
    assert second_kinds == {"points"}, second_kinds  # the sandbox's truth the checks rely on
    shots: list[Path] = []
    started = time.monotonic()
    try:
        page.goto(f"{lab.base}/lab/tree/explore.ipynb?token={lab.token}")
        page.wait_for_function(_KERNEL_IDLE, timeout=90_000)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")

        # -- 1. Run All: the dashboard appears, fetched, every chart for the header's promotion
        iopub.phase = "run-all"
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        header = page.wait_for_function(  # "Enrol & Earn Stars (1133601377)"
            """() => { const h = document.querySelector('.capnb-title');  // "Explore: name (id)"
                       return h && h.textContent.split(': ').slice(1).join(': ').trim(); }""",
            timeout=120_000, polling=250).json_value()
        assert f"({FIRST_PROMOTION})" in header, header
        if not _wait(page, _FETCHED, [header, f"{CUSTOMERS:,}", MIN_CHARTS, False, True], 150,
                     problems, f"Run All: the dashboard showing {CUSTOMERS:,} / {CUSTOMERS:,} "
                               f"customers fetched and every chart titled {header!r}"):
            state = _state(page)
            if not state["found"] or not state["charts"]:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                shot = SCREENSHOTS / "jupyterlab-explore-no-dashboard.png"
                page.screenshot(path=str(shot))
                shown = IOPUB_WARNING in page.evaluate(
                    "() => document.body.innerText + window.__capnb.outputs()")
                pytest.fail("\n".join([
                    *problems, f"the dashboard never appeared; '{IOPUB_WARNING}' received "
                    f"{len(iopub.warnings)} time(s) on the kernel websocket, "
                    f"{'shown' if shown else 'not shown'} in the notebook; IOPub messages "
                    f"during Run All: {iopub.total('run-all')} {iopub.by_type('run-all')}; "
                    f"screenshot {shot}"]))
        first = _state(page, signature=True)
        _check_charts(first, header, first_kinds, "after Run All", problems)
        _wait(page, "() => window.__capnb.executed()", None, 60, problems,
              "Run All: every cell executed and the kernel idle")
        iopub.phase = "idle"
        shots += _screenshots(page, "before-fetch")

        # -- 2. Filters (recomputed from the fetched cohort): activity, then a date range
        charts = _by_role(first)
        activity = page.locator('.widget-dropdown:has(label:text-is("Activity")) select')
        options = [o.strip() for o in activity.locator("option").all_inner_texts()]
        chosen = "activity_reward_1" if "activity_reward_1" in options else next(
            (o for o in options if o.startswith("activity_")), None)
        if chosen is None:
            problems.append(f"the Activity filter lists no activity: {options}")
        else:
            activity.select_option(label=chosen)
            before = {r: charts[r]["signature"] for r in ("incentives", "timeline") if r in charts}
            _wait(page, """before => { const s = window.__capnb.state(true);
                       const now = s.charts.filter(x => ['incentives', 'timeline']
                                                        .includes(x.role));
                       return now.length === 2 && now.every(
                           x => x.points > 0 && !before.includes(x.signature)); }""",
                  list(before.values()), 60, problems,
                  f"Activity {chosen!r}: the incentives and timeline charts change and keep data")
            _check_charts(_state(page), header, first_kinds, f"Activity {chosen!r}", problems)
        filtered = _by_role(_state(page, signature=True))
        for label, day in (("From", "2026-10-01"), ("To", "2026-11-14")):
            page.locator(f'.widget-datepicker:has(label:text-is("{label}")) input').fill(day)
        timeline_periods = filtered.get("timeline", {}).get("periods", 0)
        points_before = filtered.get("points", {}).get("signature")
        _wait(page, """([periods, points]) => { const s = window.__capnb.state(true);
                   const t = s.charts.find(x => x.role === 'timeline');
                   const p = s.charts.find(x => x.role === 'points');
                   return t && p && t.points > 0 && t.periods < periods && p.points > 0
                          && p.signature !== points; }""",
              [timeline_periods, points_before], 60, problems,
              f"Dates 2026-10-01 to 2026-11-14: fewer periods than {timeline_periods} on the "
              "timeline, new points totals, both with data")
        _check_charts(_state(page), header, first_kinds, "Activity and date range", problems)
        # the period: days, then months (fewer periods)
        daily = _by_role(_state(page)).get("timeline", {}).get("periods", 0)
        page.locator('.widget-dropdown:has(label:text-is("Period")) select').select_option(
            label="Month")
        _wait(page, """daily => { const t = window.__capnb.state(false).charts.find(
                                      x => x.role === 'timeline');
                                  return t && t.periods > 0 && t.periods !== daily; }""",
              daily, 60, problems, "Period Month: the timeline changes")
        monthly = _by_role(_state(page)).get("timeline", {}).get("periods", 0)
        if not daily > monthly > 0:
            problems.append(f"Period: {daily} daily periods, then {monthly} monthly ones "
                            "(expected fewer, at least one)")
        # back to everything before fetching another promotion
        activity.select_option(label=options[0])
        for label in ("From", "To"):
            page.locator(f'.widget-datepicker:has(label:text-is("{label}")) input').fill("")
        _wait(page, """before => { const c = window.__capnb.state(true).charts.find(
                                       x => x.role === 'incentives');
                                   return c && c.signature === before; }""",
              charts.get("incentives", {}).get("signature"), 60, problems,
              "Filters reset: the incentives chart as after Run All")
        page.wait_for_function(_KERNEL_IDLE, timeout=60_000)

        # -- 3. Another promotion from the picker, then Fetch: IOPub messages counted
        picker = page.locator('.widget-dropdown:has(label:text-is("Promotion")) select')
        listed = [o.replace("\xa0", " ") for o in picker.locator("option").all_inner_texts()]
        assert DOUBLE_POINTS_LABEL in listed and len(listed) == 6, listed  # 2 of the new UI
        picker.select_option(label=DOUBLE_POINTS_LABEL)
        id_box = page.locator('.widget-text:has(label:text-is("Promotion id")) input')
        page.wait_for_function(f"box => box.value === '{DOUBLE_POINTS}'",
                               arg=id_box.element_handle(), timeout=30_000)
        subject = DOUBLE_POINTS_LABEL.split(" · ")[0]  # "Double Points Weekend (1133600978)"
        page.evaluate("() => window.__capnb.watch()")
        iopub.phase = "fetch"
        fetch_started = time.monotonic()
        page.locator("button", has_text="Fetch").click()
        finished = _wait(page, _FETCHED, [subject, f"{CUSTOMERS:,}", MIN_CHARTS, True, False], 120,
                         problems, f"Fetch of {subject}: {CUSTOMERS:,} / {CUSTOMERS:,} customers "
                                   "and every chart titled for it")
        fetch_seconds = time.monotonic() - fetch_started
        iopub.phase = "after"
        seen = page.evaluate("() => { const s = window.__capnbSeen; s.stop(); "
                             "return {busy: s.busy, progress: s.progress}; }")
        second = _state(page)
        _check_charts(second, subject, second_kinds, f"after Fetch of {subject}", problems)
        if not seen["busy"]:
            problems.append("Fetch: the dashboard never showed a fetch running")
        if finished:
            shots += _screenshots(page, "after-fetch")
        else:
            shots += _screenshots(page, "after-fetch-unfinished")
        page_text = page.evaluate("() => document.body.innerText")
        outputs = page.evaluate("() => window.__capnb.outputs()")
    finally:
        context.close()
    elapsed = time.monotonic() - started
    fetch_messages = iopub.total("fetch")
    log_text = lab.log.read_text(errors="replace")
    print(f"IOPub messages: Run All {iopub.total('run-all')} {iopub.by_type('run-all')}; "
          f"Fetch of {CUSTOMERS:,} customers {fetch_messages} in {fetch_seconds:.1f} s "
          f"{iopub.by_type('fetch')}; undecoded frames {iopub.undecoded}; progress shown "
          f"during the fetch: {seen['progress'][:3]} ... {seen['progress'][-3:]} "
          f"({len(seen['progress'])} values); test {elapsed:.0f} s; screenshots "
          f"{[str(p) for p in shots]}")
    where = [name for name, found in (
        ("the page", IOPUB_WARNING in page_text),
        ("the notebook's outputs", IOPUB_WARNING in outputs),
        ("the kernel websocket", bool(iopub.warnings)),
        ("the server log", IOPUB_WARNING in log_text)) if found]
    if where:
        problems.append(f"'{IOPUB_WARNING}' in {', '.join(where)} (received "
                        f"{len(iopub.warnings)} time(s): {iopub.warnings[:1]})")
    if fetch_messages >= FETCH_IOPUB_BUDGET:
        problems.append(f"Fetch of {CUSTOMERS:,} customers sent {fetch_messages} IOPub messages "
                        f"(budget {FETCH_IOPUB_BUDGET}): {iopub.by_type('fetch')}")
    front_end = [e for e in console_errors if any(s in e for s in _FRONT_END_ERRORS)]
    if front_end:
        problems.append(f"{len(front_end)} front-end errors, e.g. {front_end[:3]}")
    if outside:
        problems.append(f"JupyterLab page reached beyond loopback: {outside}")
    assert not problems, "\n".join(problems)


# -- JupyterLab: the dashboard's sample mode and its running estimate (issue 16) -------------------

SAMPLE_PARAMETERS = {"sample = 0 ": "sample = 1000 ", "precision = 0.0 ": "precision = 0.01 "}
"""explore.ipynb's parameters as an analyst sets them for a sample (they go to dashboard())."""
# Every distinct text of the dashboard's running-estimate line, as the page showed it.
_ESTIMATE_WATCH = """
window.__capnbEstimates = [];
new MutationObserver(() => {
  const line = document.querySelector('.jp-OutputArea-output .capnb-estimate');
  const seen = window.__capnbEstimates, text = line ? line.textContent : null;
  if (text && seen[seen.length - 1] !== text) seen.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
_ESTIMATE_SAYS = """([prefix, from]) => window.__capnbEstimates.slice(from)
    .some(text => text.startsWith(prefix))"""


def _shot(page: Any, name: str) -> Path:
    """The dashboard as it is now (no waiting for charts to settle: a fetch is running)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"jupyterlab-sample-{name}.png"
    page.evaluate("() => { const r = window.__capnb.root(); if (r) r.scrollIntoView(); }")
    page.screenshot(path=str(path))  # the top of the dashboard: controls, estimate, banner
    return path


def test_jupyterlab_dashboard_sample_shows_the_running_estimate(browser, jupyterlab, tmp_path):
    """Issue 16 as an analyst runs it: explore.ipynb with its parameters ``sample = 1000`` and
    ``precision = 0.01`` on 5,000 sandbox customers in JupyterLab (default limits): the running
    estimate appears during the fetch and its intervals narrow; then every customer in random
    order until ±1 pp (the sample box set to 0, Fetch), with the IOPub messages counted."""
    lab, problems = jupyterlab, []
    nb = nbformat.read(tmp_path / "work" / "explore.ipynb", as_version=4)
    cell = nb.cells[1]
    for shipped, chosen in SAMPLE_PARAMETERS.items():
        assert shipped in cell.source, cell.source
        cell.source = cell.source.replace(shipped, chosen)
    nbformat.write(nb, tmp_path / "work" / "sample.ipynb")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if urlsplit(
        route.request.url).hostname in ("127.0.0.1", "localhost") else route.abort())
    context.add_init_script(_PAGE_HELPERS)
    context.add_init_script(_ESTIMATE_WATCH)
    iopub, console_errors, shots = _IOPub(), [], []
    page = context.new_page()
    page.on("websocket", iopub.attach)
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{lab.base}/lab/tree/sample.ipynb?token={lab.token}")
        page.wait_for_function(_KERNEL_IDLE, timeout=90_000)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        # -- 1. Run All: a random sample of 1,000 of the 5,000, fetched in rounds
        iopub.phase = "run-all"
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        if _wait(page, _ESTIMATE_SAYS, ["After ", 0], 150, problems,
                 "Run All: the running estimate during the fetch"):
            shots.append(_shot(page, "run-all-during"))
        _wait(page, _ESTIMATE_SAYS, ["Estimate from ", 0], 150, problems,
              "Run All: the final estimate")
        _wait(page, "() => window.__capnb.executed()", None, 90, problems,
              "Run All: every cell executed and the kernel idle")
        shots.append(_shot(page, "run-all-after"))
        first = page.evaluate("() => window.__capnbEstimates")
        # -- 2. Every customer in random order until ±1 pp: the sample box set to 0, Fetch
        page.wait_for_function(_KERNEL_IDLE, timeout=60_000)
        size = page.locator('.widget-inline-hbox:has(label:text-is("Sample size")) input')
        size.fill("0")
        size.press("Enter")
        page.wait_for_function(_KERNEL_IDLE, timeout=30_000)
        start = len(first)
        iopub.phase = "fetch"
        fetch_started = time.monotonic()
        page.locator("button", has_text="Fetch").click()
        if _wait(page, _ESTIMATE_SAYS, ["After ", start], 120, problems,
                 "Fetch until ±1 pp: the running estimate during the fetch"):
            shots.append(_shot(page, "precision-during"))
        _wait(page, _ESTIMATE_SAYS, ["Estimate from ", start], 120, problems,
              "Fetch until ±1 pp: the final estimate")
        fetch_seconds = time.monotonic() - fetch_started
        page.wait_for_function(_KERNEL_IDLE, timeout=60_000)
        iopub.phase = "after"
        shots += _screenshots(page, "sample-after")
        second = page.evaluate("() => window.__capnbEstimates")[start:]
        page_text = page.evaluate("() => document.body.innerText")
    finally:
        context.close()
    print(f"IOPub messages: Run All (sample of 1,000) {iopub.total('run-all')} "
          f"{iopub.by_type('run-all')}; Fetch until ±1 pp {iopub.total('fetch')} in "
          f"{fetch_seconds:.1f} s {iopub.by_type('fetch')}; estimate lines seen: Run All "
          f"{len(first)}, Fetch {len(second)}; last: {second[-1:]}; screenshots "
          f"{[str(p) for p in shots]}")
    interval = r"\d+\.\d% \(\d+\.\d–\d+\.\d%\)"
    during = [t for t in second if t.startswith("After ")]
    if len(during) < 2:
        problems.append(f"Fetch until ±1 pp: {len(during)} running estimates seen: {second}")
    for text in (first[-1:] + second[-1:]):
        if not text.startswith("Estimate from ") or len(re.findall(interval, text)) < 2:
            problems.append(f"a final estimate without its intervals: {text!r}")
    if first and "1,000 sampled customers (random sample of 5,000)" not in first[-1]:
        problems.append(f"Run All: the final estimate is not of the sample: {first[-1]!r}")
    if second and "stopped at the target" not in second[-1]:
        problems.append(f"Fetch until ±1 pp did not stop at the target: {second[-1]!r}")
    if iopub.total("fetch") >= FETCH_IOPUB_BUDGET:
        problems.append(f"Fetch until ±1 pp sent {iopub.total('fetch')} IOPub messages")
    if IOPUB_WARNING in page_text or iopub.warnings:
        problems.append(f"'{IOPUB_WARNING}': {iopub.warnings[:1]}")
    front_end = [e for e in console_errors if any(s in e for s in _FRONT_END_ERRORS)]
    if front_end:
        problems.append(f"{len(front_end)} front-end errors, e.g. {front_end[:3]}")
    assert not problems, "\n".join(problems)
