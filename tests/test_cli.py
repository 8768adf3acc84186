"""The ``capnb`` command with hostile inputs (issue 13): parameter files and values that are not
plain data, error text carrying terminal escapes, files that are not notebooks, outputs that
cannot be written, other failures. Each ends in one clean line on stderr and exit code 1 (130 for
Ctrl-C); what can be checked before a kernel starts is, and ``never_run`` fails the test if the
notebook runs."""

from __future__ import annotations

import logging
import warnings
from itertools import pairwise
from pathlib import Path

import pytest

import capnb
from capnb import cli
from capnb.reports import render


@pytest.fixture
def never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*args, **kwargs):
        raise AssertionError("the notebook ran")

    monkeypatch.setattr(render, "_execute", run)


def _refused(capsys, *argv: str) -> str:
    """``capnb ARGV`` exits 1 with one ``capnb: error:`` line and no traceback; its stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 1 and not out
    assert err.startswith("capnb: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# -- case 3: parameter files and values are plain data ---------------------------------------

INJECTION = '"; import os; os.system(chr(105) + chr(100)); "'


@pytest.mark.parametrize("text", [
    "promotion_id: !!set {1133601377: null}",
    f"activity_id: !!set {{'{INJECTION}': null}}",
    "activity_id: !!binary " + __import__("base64").b64encode(INJECTION.encode()).decode(),
    "activity_id: !!python/object/apply:os.system ['id']",
    "activity_id: !!python/name:os.system",
    "activity_id: !!omap [{a: 1}]",
    "activity_id: {? [1, 2] : x}",
    "activity_id: {1: x}",
    "activity_id: &a [*a]",
    "activity_id: " + "9" * 5000,
    "activity_id:\n  a: &a [x, x, x, x, x, x, x, x, x]\n"  # 9 ** 6 values by aliases
    + "".join(f"  {b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in pairwise("abcdef")),
])
def test_parameters_file_with_non_plain_values_is_refused(tmp_path, capsys, never_run, text):
    path = tmp_path / "params.yaml"
    path.write_text(text + "\n")
    err = _refused(capsys, "report", "promotion_overview", "-f", str(path),
                   "-o", str(tmp_path / "r.html"))
    assert "-f" in err or "parameters" in err
    assert not (tmp_path / "r.html").exists()


def test_parameters_file_that_is_not_text_is_refused(tmp_path, capsys, never_run):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    _refused(capsys, "report", "promotion_overview", "-f", str(path))


def test_parameters_file_dates_inside_lists_become_iso_strings(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("activity_id: [2026-11-15, {from: 2026-11-16}]\n")
    assert cli._parameters_file(str(path)) == {
        "activity_id": ["2026-11-15", {"from": "2026-11-16"}]}


@pytest.mark.parametrize("value", [{1, 2}, b"x", (1, 2), {"k": object()}, [float], {1: "x"}])
def test_render_report_refuses_values_that_are_not_plain_data(tmp_path, never_run, value):
    with pytest.raises(capnb.ValidationError, match="activity_id"):
        render.render_report("promotion_overview", tmp_path / "r.html", {"activity_id": value})


def test_parameter_source_is_checked_before_running(tmp_path, capsys, never_run):
    err = _refused(capsys, "report", "promotion_overview", "-p", "source", "production")
    assert "source" in err and "'sandbox' or 'env'" in err


# -- case 5: no terminal control sequence reaches the terminal -------------------------------

HOSTILE_TEXT = "Promotion \x1b]0;pwned\x07 gone\x1b[2J\r\x9b31m\u202eevil\x00"


@pytest.mark.parametrize("error", [
    capnb.PromotionNotFound(HOSTILE_TEXT, code=3013, http_status=404, request_id="r\x1b[1m"),
    capnb.ReportError(f"promotion_overview.ipynb: cell 2 failed:\n\tsrc.promotion(1)\n"
                      f"PromotionNotFound: {HOSTILE_TEXT}"),
])
def test_error_text_is_printed_without_control_characters(monkeypatch, capsys, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(render, "render_report", fail)
    assert cli.main(["report", "promotion_overview"]) == 1
    out, err = capsys.readouterr()
    assert not out and err.startswith("capnb: error: ")
    body = err.removesuffix("\n")
    assert not [c for c in body if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160
                or c == "\u202e"], repr(err)
    for shown in (r"\x1b]0;pwned\x07", r"\x1b[2J", r"\r", r"\x9b31m", r"\u202e", r"\x00"):
        assert shown in body
    assert body.count("\n") == str(error).count("\n")  # line breaks and tabs kept
    assert "\t" in body or "\t" not in str(error)


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_warnings_and_log_lines_are_printed_without_control_characters(
        monkeypatch, capsys, verbose):
    def warn_and_log(*args, **kwargs):
        warnings.warn(f"server said {HOSTILE_TEXT}", UserWarning, stacklevel=1)
        logging.getLogger("capnb.api.transport").warning("retry after %s", HOSTILE_TEXT)
        return Path("report.html")

    monkeypatch.setattr(render, "render_report", warn_and_log)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main([*verbose, "report", "promotion_overview"]) == 0
    err = capsys.readouterr().err
    assert err.count(r"\x1b]0;pwned\x07") == 2, err
    assert "\x1b" not in err and "\u202e" not in err and "\x9b" not in err


# -- case 16: what is not a notebook, outputs that cannot be written, other failures ---------

@pytest.mark.parametrize("content", [b"my-host\n", b"{}", b"[1, 2]", b'{"nbformat": 4}',
                                     b"\xff\xfe\x00\x01", b"",
                                     b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
                                     b'"cells": []}'])
def test_a_file_that_is_not_a_notebook_is_refused(tmp_path, capsys, never_run, content):
    path = tmp_path / "hostname"
    path.write_bytes(content)
    err = _refused(capsys, "report", str(path), "-o", str(tmp_path / "r.html"))
    assert "not a Jupyter notebook" in err and str(path) in err


def test_etc_hostname_is_not_a_notebook(capsys, never_run):
    hostname = Path("/etc/hostname")
    if not hostname.is_file():
        pytest.skip("no /etc/hostname")
    assert "not a Jupyter notebook" in _refused(capsys, "report", str(hostname))


@pytest.mark.parametrize("option", ["-o", "--save-notebook"])
def test_an_output_that_cannot_be_written_is_refused_before_running(tmp_path, capsys, never_run,
                                                                    option):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (tmp_path, blocker / "r.html", blocker / "sub" / "r.html"):
        argv = ["report", "promotion_overview", option, str(target)]
        if option != "-o":
            argv += ["-o", str(tmp_path / "r.html")]
        err = _refused(capsys, *argv)
        assert str(target) in err and "cannot write" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_write_failing_after_the_run_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    def execute(path, executed, *args, **kwargs):
        executed.write_bytes(path.read_bytes())

    def full(target, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(render, "_execute", execute)
    monkeypatch.setattr(render, "_write_atomically", full)
    err = _refused(capsys, "report", "explore", "-o", str(tmp_path / "r.html"))
    assert "No space left on device" in err


@pytest.mark.parametrize(("error", "code", "message"), [
    (KeyboardInterrupt(), 130, "capnb: interrupted\n"),
    (RuntimeError("boom\nsecond line"), 1,
     "capnb: error: RuntimeError: boom second line (capnb -v report ... shows the traceback)\n"),
])
def test_other_failures_are_one_line(monkeypatch, capsys, error, code, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(render, "render_report", fail)
    assert cli.main(["report", "promotion_overview"]) == code
    out, err = capsys.readouterr()
    assert not out and err == message
    monkeypatch.setattr(render, "render_report", fail)
    if code == 1:
        with pytest.raises(RuntimeError):
            cli.main(["-v", "report", "promotion_overview"])


# -- issue 14: a failed cell is one line; --data-dir; --pdf -----------------------------------

@pytest.mark.slow
@pytest.mark.parametrize(("name", "value", "expected"), [
    ("customers", "abc", "parameter customers: no file at abc (expected: sandbox: how many "
     "customers; or a CSV/Parquet file with a customer_id column)"),
    ("timezone", "Mars/Olympus", "parameter timezone: unknown timezone 'Mars/Olympus'; use an "
     "IANA name such as 'UTC' or 'Asia/Kolkata' (expected: IANA timezone"),
    ("promotion_id", "12x", "parameter promotion_id: must be a positive integer id, got '12x' "
     "(expected: promotion to analyse)"),
])
def test_a_bad_parameter_value_is_one_line_naming_it(tmp_path, capsys, name, value, expected):
    err = _refused(capsys, "report", "promotion_overview", "-o", str(tmp_path / "r.html"),
                   "-p", "store", "", "-p", name, value)
    assert err.startswith(f"capnb: error: promotion_overview: {expected}"), err
    assert "open_source" not in err and "cell" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_verbose_shows_the_failing_cell(tmp_path, capsys):
    code = cli.main(["-v", "report", "promotion_overview", "-o", str(tmp_path / "r.html"),
                     "-p", "store", "", "-p", "customers", "abc"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "capnb: error: promotion_overview.ipynb: cell 2 (In [3]) failed:\n" in err
    assert "    src = notebook.open_source(source, population or customers, store=store)\n" in err
    assert err.endswith("ValidationError: customers: no file at abc\n")


def _downloads_notebook(path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    parameters = nbformat.v4.new_code_cell("rows = 3  # how many customers")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Downloads"), parameters,
                nbformat.v4.new_markdown_cell("## Customers at a cap"),
                nbformat.v4.new_code_cell(
                    "import pandas as pd\nfrom capnb.reports import downloads\n"
                    "frame = pd.DataFrame({'customer_id': range(rows), 'note': ['=1+1'] * rows})\n"
                    "display(downloads.download(frame, 'at_cap_customers', 'All customers'))")]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_data_dir_gets_the_notebooks_downloads(tmp_path, capsys, monkeypatch):
    import base64
    import contextlib
    import os

    import pandas as pd

    notebook = _downloads_notebook(tmp_path / "downloads.ipynb")
    inherited, data, html = tmp_path / "inherited", tmp_path / "data" / "new", tmp_path / "r.html"
    monkeypatch.setenv("CAPNB_DATA_DIR", str(inherited))
    hooks, original = [], render._kernel_environment

    @contextlib.contextmanager
    def recording(values):
        with original(values) as restore:
            def started(**kwargs):
                hooks.append(sorted(kwargs))
                restore(**kwargs)

            yield started

    monkeypatch.setattr(render, "_kernel_environment", recording)
    assert cli.main(["report", str(notebook), "-o", str(html), "--data-dir", str(data),
                     "-p", "rows", "1200"]) == 0
    assert capsys.readouterr().out == f"{html}\n"
    csv, parquet = data / "at_cap_customers.csv", data / "at_cap_customers.parquet"
    assert sorted(data.iterdir()) == [csv, parquet]
    assert len(pd.read_parquet(parquet)) == 1200
    assert csv.read_bytes().decode("utf-8-sig").splitlines()[1] == "0,'=1+1"
    assert base64.b64encode(csv.read_bytes()).decode() in html.read_text()
    assert hooks == [["notebook"]]  # our variables were put back once the kernel had started
    assert os.environ["CAPNB_DATA_DIR"] == str(inherited) and not inherited.exists()


def test_a_data_dir_that_cannot_be_written_is_refused_before_running(tmp_path, capsys,
                                                                     never_run):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (blocker, blocker / "sub"):
        err = _refused(capsys, "report", "promotion_overview", "-o", str(tmp_path / "r.html"),
                       "--data-dir", str(target))
        assert err.startswith(f"capnb: error: data_dir: cannot write into {target}: "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_pdf_that_cannot_be_written_is_refused_before_running(tmp_path, capsys, never_run):
    err = _refused(capsys, "report", "explore", "-o", str(tmp_path / "r.html"),
                   "--pdf", str(tmp_path))
    assert "pdf: cannot write" in err and "it is a directory" in err


def test_without_chromium_the_html_is_written_and_the_pdf_refused(tmp_path, capsys,
                                                                  monkeypatch):
    def execute(path, executed, *args, **kwargs):
        executed.write_bytes(path.read_bytes())

    monkeypatch.setattr(render, "_execute", execute)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CAPNB_CHROMIUM", raising=False)
    err = _refused(capsys, "report", "explore", "-o", str(tmp_path / "r.html"), "--pdf")
    assert "a PDF needs Chromium" in err and "apt-get install chromium" in err
    assert f"(the HTML report is {tmp_path / 'r.html'})" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    monkeypatch.setenv("CAPNB_CHROMIUM", str(tmp_path / "no-such-chrome"))
    err = _refused(capsys, "report", "explore", "-o", str(tmp_path / "r.html"), "--pdf")
    assert "CAPNB_CHROMIUM=" in err and "is not an executable" in err


@pytest.mark.parametrize(("argv", "notebook", "pdf"), [
    (["--pdf", "explore"], "explore", True),
    (["explore", "--pdf"], "explore", True),
    (["explore", "--pdf", "out.pdf"], "explore", "out.pdf"),
    (["explore"], "explore", None),
])
def test_pdf_option_forms(monkeypatch, capsys, argv, notebook, pdf):
    calls = []

    def render_report(name, output, parameters, **kwargs):
        calls.append((name, kwargs["pdf"], kwargs["data_dir"]))
        return Path("reports/explore.html")

    monkeypatch.setattr(render, "render_report", render_report)
    assert cli.main(["report", *argv]) == 0
    assert calls == [(notebook, pdf, None)]
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["reports/explore.html"] + (
        [] if pdf is None else ["reports/explore.pdf" if pdf is True else pdf])


def test_capnb_sandbox_serves_the_promotion_data_variants():
    """``capnb sandbox --promotion-data no_timelines --extra-promotions 110`` serves what it
    announces: answers without timelines, paged past 100 promotions."""
    import subprocess
    import sys

    from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID

    process = subprocess.Popen(
        [sys.executable, "-m", "capnb", "sandbox", "--port", "0", "--customers", "30",
         "--promotion-data", "no_timelines", "--extra-promotions", "110"],
        stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("capnb sandbox listening on http://127.0.0.1:")
        assert "(new UI: 1133602011, 1133602023)" in lines[1]
        assert lines[2].strip() == ("promotionData: no_timelines form, 110 extra promotion(s) "
                                    "per customer")
        url = lines[0].split(" on ")[1].strip()
        environ = {"CAPILLARY_HOST": url, "CAPILLARY_TILL_ID": SANDBOX_TILL_ID,
                   "CAPILLARY_PASSWORD": SANDBOX_PASSWORD}
        with capnb.connect(environ) as client:
            exact = capnb.fetch_exact_usage(client, [388000001], progress=False)
            assert client.customer_promotion_data(388000001, 3334).pages == 2  # 110 + 6 items
        assert exact.customers["status"].tolist() == ["ok"] and exact.issuals.empty
        assert not exact.timelines["has_timelines"].any()
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
