"""Progress bars: shown to people, silent under papermill, nbval and CI."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from capnb.fetch import progress


def test_forced_by_environment(monkeypatch):
    monkeypatch.setenv("CAPNB_PROGRESS", "0")
    assert not progress.interactive()
    monkeypatch.setenv("CAPNB_PROGRESS", "1")
    assert progress.interactive()


def test_silent_under_ci(monkeypatch):
    monkeypatch.delenv("CAPNB_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert not progress.interactive()
    assert isinstance(progress.progress_bar(True, 10, "x"), progress._Silent)


@pytest.mark.slow
def test_papermill_run_prints_no_progress(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CAPNB_PROGRESS", raising=False)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import capnb\n"
        "with capnb.sandbox.Sandbox(customers=300) as sb:\n"
        "    c = sb.catalog()\n"
        "    cohort = capnb.fetch_cohort(capnb.connect(sb.environ()),\n"
        "                                c['customer_ids'][:200], c['program_id'],\n"
        "                                c['promotions'][0]['id'], progress=True)\n"
        "len(cohort)")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    source, executed = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(notebook, source)
    env_clean = {k: v for k, v in __import__("os").environ.items() if k != "CI"}
    subprocess.run([sys.executable, "-m", "papermill", str(source), str(executed), "-k",
                    "python3", "--no-progress-bar"], check=True, capture_output=True,
                   env=env_clean, timeout=180)
    outputs = json.loads(executed.read_text())["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["execute_result"]
    assert "".join(outputs[0]["data"]["text/plain"]) == "200"
