"""Notebooks and reports: conventions of the committed notebooks, ``capnb report``, the offline
HTML export, escaping of API text, and secrets kept out of every output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import plotly.graph_objects as go
import pytest

import capnb
from capnb import cli
from capnb.reports import kernel, notebook, render, tables
from tests.report_runs import HOSTILE, NOTEBOOKS, render_cli, rendered, rendered_hostile
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "capnb" / "reports" / "notebooks"
COMMON_PARAMETERS = {"source", "program_id", "customers", "as_of"}
PROMOTION_PARAMETERS = {"promotion_id", "activity_id", "timezone"}
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|"""
                    r"""@import\s+["']?(?:https?:)?//""", re.IGNORECASE)


def _outside_plotlyjs(body: str) -> str:
    """The page minus the inlined plotly.js bundle (which holds attribution links and MathJax
    support as strings; the browser test proves nothing is fetched)."""
    from plotly.offline import get_plotlyjs

    return body.replace(get_plotlyjs(), "")


def _remote_references(body: str) -> list[str]:
    """Attributes and CSS that would load something from the network."""
    return REMOTE.findall(_outside_plotlyjs(body))


def _load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def _shown(cell: nbformat.NotebookNode) -> bool:
    return any(o.output_type in ("display_data", "execute_result") for o in cell.outputs)


# -- the committed notebooks --------------------------------------------------------------------

@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_conventions(name):
    nb = _load(name)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata, "commit without widget state (megabytes, not read)"
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert render.NOTEBOOK_ONLY_TAG in first.metadata.get("tags", []), "the header is the title"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [second], "exactly one cell tagged 'parameters', right after the title"
    for previous, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, "committed with outputs from a run"
            assert not [o for o in cell.outputs if o.output_type == "error"]
            assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.source
            if _shown(cell) and "notebook.header(" not in cell.source:
                # every table and chart has a markdown lead-in (the header and headline open it)
                assert previous.cell_type == "markdown", cell.source
    assert (NOTEBOOK_DIR / f"{name}.ipynb").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_parameters_are_literal_and_parsed(name):
    source = _load(name).cells[1].source
    assigned = [line.split("=", 1)[0].strip() for line in source.splitlines()
                if line.strip() and not line.startswith("#")]
    declared = render.notebook_parameters(name)
    assert list(declared) == assigned, "papermill must parse every line (one '=' per line)"
    assert COMMON_PARAMETERS <= set(declared)
    assert all(spec["help"] for spec in declared.values())
    assert declared["source"]["default"] == '"sandbox"'
    assert declared["as_of"]["default"] == '"2026-11-15T00:00:00Z"'
    assert not [n for n in declared if re.search(r"pass|secret|token|key|auth", n)]
    if name != "portfolio":
        assert PROMOTION_PARAMETERS <= set(declared)
    if name == "customer_benefits":
        assert "customer_id" in declared


def test_list_prints_every_notebook_and_parameter():
    code, out, _ = render_cli("report", "--list")
    assert code == 0
    assert out.splitlines()[0] == f"notebooks packaged with capnb: {render.PACKAGED_NOTEBOOKS}"
    for name in NOTEBOOKS:
        assert name in out
    assert 'promotion_id = 1133601377  # promotion to analyse' in out
    assert [e["name"] for e in render.list_notebooks()] == sorted(NOTEBOOKS)


def test_find_notebook_by_name_or_path():
    assert render.find_notebook("explore") == NOTEBOOK_DIR / "explore.ipynb"
    assert render.find_notebook(NOTEBOOK_DIR / "explore.ipynb") == NOTEBOOK_DIR / "explore.ipynb"
    with pytest.raises(capnb.ValidationError, match="promotion_overview"):
        render.find_notebook("no_such_notebook")


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "spec", "expected"), [
    ("1133601204", {"default": "1133601377", "inferred_type_name": "None"}, 1133601204),
    ("customers.csv", {"default": "5000", "inferred_type_name": "None"}, "customers.csv"),
    ("123", {"default": '"UTC"', "inferred_type_name": "None"}, "123"),
    ("None", {"default": "None", "inferred_type_name": "None"}, None),
    ("activity_reward_1", {"default": "None", "inferred_type_name": "None"},
     "activity_reward_1"),
    ("2.5", {}, 2.5),
    ("True", {}, True),
])
def test_cli_parameter_values(raw, spec, expected):
    assert cli._parameter_value(raw, spec) == expected


def test_parameters_file_keeps_dates_as_iso_strings(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("as_of: 2026-11-15\npromotion_id: 1133601204\nactivity_id: null\n")
    assert cli._parameters_file(str(path)) == {"as_of": "2026-11-15",
                                               "promotion_id": 1133601204, "activity_id": None}
    path.write_text("- not a mapping\n")
    with pytest.raises(capnb.ValidationError, match="mapping"):
        cli._parameters_file(str(path))


def test_unknown_and_credential_parameters_refused(tmp_path):
    out = tmp_path / "r.html"
    with pytest.raises(capnb.ValidationError, match="credentials are never"):
        render.render_report("promotion_overview", out, {"password": "x"})
    with pytest.raises(capnb.ValidationError, match="no parameter 'colour'"):
        render.render_report("promotion_overview", out, {"colour": "red"})
    with pytest.raises(capnb.ValidationError, match="source"):
        render.render_report("promotion_overview", out, source="prod")
    assert not out.exists()


def test_resolve_as_of_and_timezone():
    assert notebook.resolve_as_of("2026-11-15T05:30:00+05:30") == pd.Timestamp("2026-11-15",
                                                                            tz="UTC")
    assert notebook.resolve_as_of("2026-11-15") == pd.Timestamp("2026-11-15", tz="UTC")
    assert notebook.resolve_as_of("now").tzinfo is not None
    with pytest.raises(capnb.ValidationError, match="as_of"):
        notebook.resolve_as_of("yesterday-ish")
    assert notebook.check_timezone("Asia/Kolkata") == "Asia/Kolkata"
    with pytest.raises(capnb.ValidationError, match="timezone"):
        notebook.check_timezone("Mars/Olympus")


def test_open_source_checks_its_arguments(monkeypatch, tmp_path):
    with pytest.raises(capnb.ValidationError, match="source"):
        notebook.open_source("production")
    with pytest.raises(capnb.ValidationError, match="customers"):
        notebook.open_source("sandbox", 0)
    with pytest.raises(capnb.ValidationError, match="no file"):
        notebook.open_source("sandbox", str(tmp_path / "missing.csv"))
    with pytest.raises(capnb.ConfigError, match="CAPILLARY_HOST"):
        notebook.open_source("env", 10)
    monkeypatch.setenv("CAPILLARY_HOST", "https://analyst:s3cr3t@eu.api.capillarytech.com")
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", "k")
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", "s")
    with pytest.raises(capnb.ConfigError) as refused:  # user info is refused, never echoed
        notebook.open_source("env", 10, store=None)
    assert "s3cr3t" not in str(refused.value) and "analyst" not in str(refused.value)
    monkeypatch.setenv("CAPILLARY_HOST", "https://eu.api.capillarytech.com")
    src = notebook.open_source("env", 10, store=None)
    assert src.label == "https://eu.api.capillarytech.com"
    with pytest.raises(capnb.ValidationError, match="CSV/Parquet"):
        src.cohort(3334, 1133601377)  # a count means nothing on a real cluster
    with pytest.raises(capnb.ValidationError, match="CSV/Parquet"):
        src.portfolio(3334)
    src.close()


def test_data_source_resolves_a_file_of_mobile_numbers(tmp_path):
    from capnb.sandbox.v2 import identifier_of

    counted = notebook.open_source("sandbox", 50, store=None)
    try:
        with pytest.raises(capnb.ValidationError, match="identifier"):
            counted.cohort(3334, 1133601377, identifier="mobile")
        ids = counted.customer_ids[:4]
    finally:
        counted.close()
    path = tmp_path / "mobiles.csv"
    mobiles = [identifier_of(int(i), "mobile") for i in ids] + ["919999999999"]
    pd.DataFrame({"mobile": mobiles}).to_csv(path, index=False)
    src = notebook.open_source("sandbox", str(path), store=None)
    try:
        cohort = src.cohort(3334, 1133601377, identifier="mobile", progress=False)
    finally:
        src.close()
    assert cohort.customers["customer_id"].tolist()[:4] == list(ids)
    unknown = cohort.customers.iloc[4]
    assert unknown["status"] == "not_found" and "919999999999" in unknown["error_message"]


def test_data_source_program_names_the_known_ones():
    src = notebook.open_source("sandbox", 50, store=None)
    try:
        assert src.program(3334)["name"] == "Sandbox Rewards"
        with pytest.raises(capnb.ProgramNotFound, match=r"Program 999 .* Sandbox Rewards \(3334\)"):
            src.program(999)
        with pytest.raises(capnb.ValidationError, match="program_id"):
            src.program("x")
    finally:
        src.close()


def test_benefits_table_localises_and_ages():
    frame = pd.DataFrame({"customer_id": [1], "program_id": [3334], "promotion_id": [7],
                          "action": ["REWARD"], "issued_count": [2],
                          "last_issued_on": pd.to_datetime(["2026-11-13T12:00:00Z"])})
    table = tables.benefits(frame, as_of="2026-11-15T00:00:00Z", timezone="Asia/Kolkata").data
    assert list(table.columns) == ["action", "issued_count", "last_issued_on", "days_since_last"]
    assert table.loc[0, "days_since_last"] == 1.5
    assert str(table["last_issued_on"].dt.tz) == "Asia/Kolkata"


# -- HTML ---------------------------------------------------------------------------------------

def test_header_escapes_api_text():
    promotion = SimpleNamespace(id=7, name=HOSTILE, description="<b>bold</b>",
                                offer_type="GENERIC", status="LIVE",
                                start=pd.Timestamp("2026-01-01", tz="UTC"), end=pd.NaT)
    shown = notebook.header("Overview", promotion=promotion, source="https://eu.example",
                            as_of="2026-11-15T00:00:00Z")
    html_text = shown._repr_html_()
    assert "<script>" not in html_text and "<b>" not in html_text
    assert ('<h1 class="capnb-title">Overview: &lt;script&gt;alert(1)&lt;/script&gt; (7)</h1>'
            in html_text)
    assert "2026-11-15 00:00 UTC" in repr(shown)
    details = notebook.run_details(parameters={"activity_id": HOSTILE},
                                   source="https://eu.example", as_of="2026-11-15T00:00:00Z")
    html_text = details._repr_html_()
    assert "<script>" not in html_text and "activity_id = &#x27;&lt;script&gt;" in html_text
    assert f"capnb</th><td style=\"text-align:left\">{capnb.__version__}" in html_text


def test_header_says_when_the_summary_cannot_cover_the_whole_promotion():
    src = notebook.open_source("sandbox", 20, store=None)
    try:  # Double Points Weekend started on 2025-06-01, Enrol & Earn Stars on 2025-07-31
        early, late = (src.promotion(3334, p) for p in (DOUBLE_POINTS, ENROL_EARN))
    finally:
        src.close()
    said = repr(notebook.header("Overview", promotion=early, source=src, as_of="now"))
    assert ("Coverage: The action summary holds nothing before 2025-06-12; this promotion "
            "started on 2025-06-01") in said
    assert "Coverage" not in repr(notebook.header("Overview", promotion=late, source=src,
                                                  as_of="now"))


def _notebook_with_outputs() -> nbformat.NotebookNode:
    figure = go.Figure(go.Bar(x=[HOSTILE], y=[1]), layout={"title": {"text": HOSTILE}})
    table = pd.DataFrame({"activity_id": [HOSTILE], "issued": [1]})
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    def chart():
        return nbformat.v4.new_code_cell("chart()", outputs=[nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.plotly.v1+json": json.loads(figure.to_json())})])

    frame = nbformat.v4.new_code_cell("table()", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/html": table.to_html(), "text/plain": "..."},
        execution_count=2)])
    widget = nbformat.v4.new_code_cell("app", outputs=[nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {
            "model_id": "abc", "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"})])
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), chart(), frame, chart(), widget]
    return nb


def test_export_is_offline_escaped_and_embeds_plotly_once():
    body = render.export_html(_notebook_with_outputs(), title="t")
    assert not _remote_references(body)
    outside = _outside_plotlyjs(body).lower()
    assert "mathjax" not in outside and "require" not in outside and "cdn" not in outside
    assert "widget-state+json" not in body and "embed-amd" not in body
    assert body.count("Plotly.newPlot(") == 2
    assert body.count("window.PlotlyConfig") <= 1 and body.count("plotly.js v") == 1
    assert "<script>alert(1)" not in body
    assert "Interactive control" in body
    assert ">chart<" not in body  # code hidden by default (highlighted code: one span a name)
    assert ">chart<" in render.export_html(_notebook_with_outputs(), title="t", show_code=True)


@pytest.mark.slow
def test_report_of_the_sandbox_overview():
    result = rendered("promotion_overview")
    assert result.stdout.strip() == str(result.html)
    body = result.html.read_text()
    assert len(body.encode()) < 8_000_000
    assert body.count("plotly.js v") == 1 and body.count("Plotly.newPlot(") >= 6
    assert not _remote_references(body)
    for text in ("Enrol &amp; Earn Stars (1133601377)", "capnb sandbox (offline; seed 0, 300 "
                 "customers)", "2026-11-15 00:00 UTC", f"<td style=\"text-align:left\">"
                 f"{capnb.__version__}</td>", "promotion_id = 1133601377", "customers = 300"):
        assert text in body, text
    assert "src.cohort(" not in body  # code cells hidden
    assert result.html.stat().st_mode & 0o044  # readable by others, like any file
    executed = nbformat.read(result.notebook, as_version=4)
    assert "widgets" not in executed.metadata


@pytest.mark.slow
def test_failing_cell_fails_the_command_and_leaves_no_report(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("previous report")
    code, stdout, stderr = render_cli("report", "customer_benefits", "-o", str(out),
                                      "-p", "promotion_id", "999")
    assert code == 1 and not stdout
    assert stderr.startswith("capnb: error: customer_benefits.ipynb: cell 2 failed: "
                             "PromotionNotFound: ") and stderr.count("\n") == 1
    assert "The sandbox has program 3334 with promotions" in stderr
    assert "src.promotion(" not in stderr  # the cell's code only with -v
    assert "Traceback" not in stderr  # a capnb error is a message, not a call stack
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.slow
def test_api_text_is_escaped_and_secrets_never_written():
    result = rendered_hostile()
    body = result.html.read_text()
    executed = result.notebook.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    html_outputs = [o.data["text/html"] for c in nbformat.read(result.notebook, 4).cells
                    for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in html_outputs)
    for raw in ("<script>alert(1)", "<img src=x", "<b onmouseover"):
        assert raw not in body, raw
        assert not [h for h in html_outputs if raw in h], raw  # escaped in the notebook too
    for text in (body, executed):
        lowered = text.lower()
        for secret in result.secrets:
            assert secret.lower() not in lowered
        assert "authorization" not in lowered and "x-cap-api-oauth-token" not in lowered
    assert "http://127.0.0.1:" in body  # the data source is the host, never credentials


def test_a_finished_kernel_is_shut_down_without_an_interrupt(monkeypatch):
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    sent = []

    async def interrupt(self):
        sent.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", interrupt)
    manager = kernel.quiet_shutdown_manager()()
    for shutting_down in (False, True):
        manager.shutting_down = shutting_down
        asyncio.run(manager._async_interrupt_kernel())
    assert sent == [False]  # a timed-out cell is interrupted; a kernel shutting down is not
