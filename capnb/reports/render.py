"""Reports: finding the notebooks and rendering them, ``capnb report NOTEBOOK``.

:func:`render_report` has papermill execute the notebook and nbconvert export **one
self-contained HTML file** (plotly.js inlined once, no MathJax, require.js, mermaid or
widget-manager CDN reference), written atomically; a failing cell raises :class:`ReportError`
naming the cell, and no report is left behind. The notebook, the parameter values (plain data
only: papermill writes them into code) and the output paths are checked before a kernel starts.
What the notebooks themselves call is in :mod:`capnb.reports.notebook` (and
:mod:`capnb.reports.downloads`, whose files go to ``data_dir``); the page around the outputs is
:mod:`capnb.reports.page`, the PDF :mod:`capnb.reports.pdf`.

Untrusted text from the API only reaches HTML through :func:`html.escape`, pandas' escaping
``to_html`` or plotly's JSON (which escapes ``<``, ``>`` and ``/``). Credentials never do: they
are not parameters.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from capnb.config import ENV_DATA_DIR
from capnb.errors import CapnbError, ReportError, ValidationError
from capnb.reports.files import check_folder as _check_folder
from capnb.reports.files import check_writable as _check_writable
from capnb.reports.files import write_atomically as _write_atomically
from capnb.reports.kernel import quiet_shutdown_manager
from capnb.reports.notebook import SOURCES
from capnb.reports.page import finish_page

__all__ = [
    "ReportError",
    "export_html",
    "find_notebook",
    "list_notebooks",
    "notebook_parameters",
    "plain_value",
    "render_report",
]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_ONLY_TAG = "notebook-only"  # a cell the notebook shows and its report leaves out
_CREDENTIAL_NAME = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_VALUES = 10_000
_MAX_DEPTH = 20


# -- finding and inspecting notebooks ------------------------------------------------------------

PACKAGED_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
"""The notebooks shipped in the package (in a checkout, ``notebooks/`` links here)."""


def notebook_dirs() -> list[Path]:
    """Where notebook names are looked up: ``./notebooks``, then the ones shipped with capnb."""
    here = Path.cwd() / "notebooks"
    return [here] if here.resolve() == PACKAGED_NOTEBOOKS else [here, PACKAGED_NOTEBOOKS]


def find_notebook(notebook: str | os.PathLike[str]) -> Path:
    """A notebook path, or a name (``promotion_overview``) found in :func:`notebook_dirs`."""
    path = Path(notebook).expanduser()
    candidates = [path, path.with_suffix(".ipynb")] if path.suffix != ".ipynb" else [path]
    if not path.is_absolute() and len(path.parts) == 1:
        stem = path.name.removesuffix(".ipynb")
        candidates += [folder / f"{stem}.ipynb" for folder in notebook_dirs()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    names = ", ".join(sorted(p.stem for p in _all_notebooks())) or "none found"
    raise ValidationError("notebook", f"no notebook {str(notebook)!r} (capnb notebooks: {names})")


def _all_notebooks() -> list[Path]:
    seen: dict[str, Path] = {}
    for folder in notebook_dirs():
        for path in sorted(folder.glob("*.ipynb")):
            seen.setdefault(path.stem, path)
    return list(seen.values())


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The ``parameters`` cell's names: ``{name: {default, inferred_type_name, help}}``.

    A file that is not a valid notebook with a kernelspec raises :class:`ValidationError`."""
    import nbformat
    from papermill.inspection import inspect_notebook

    path = find_notebook(notebook)
    try:
        # nbformat and papermill raise half a dozen types (NotJSONError, UnicodeDecodeError,
        # jsonschema's ValidationError, AttributeError...) for a file that is not a notebook.
        nbformat.validate(nb := nbformat.read(path, as_version=4))
        if not nb.metadata.get("kernelspec", {}).get("name"):
            raise ValueError("no kernelspec in its metadata")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "the file is not specified with any extension")
            inspected = inspect_notebook(str(path))
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ValidationError("notebook", f"{path} is not a Jupyter notebook "
                              f"({type(exc).__name__}: {reason})") from None
    return {name: {k: v for k, v in spec.items() if k != "name"}
            for name, spec in inspected.items()}


def _title(path: Path) -> str:
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def list_notebooks() -> list[dict[str, Any]]:
    """Every notebook :func:`find_notebook` knows: ``name``, ``path``, ``title``, ``parameters``."""
    return [{"name": path.stem, "path": path, "title": _title(path),
             "parameters": notebook_parameters(path)} for path in _all_notebooks()]


# -- running and exporting -----------------------------------------------------------------------

def render_report(
    notebook: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    source: str | None = None,
    show_code: bool = False,
    executed_notebook: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    pdf: bool | str | os.PathLike[str] | None = None,
) -> Path:
    """Run a notebook with papermill and export it as one self-contained HTML file.

    Parameters
    ----------
    notebook : name or path
        ``promotion_overview`` (looked up by :func:`find_notebook`) or a path.
    output : path, optional
        The HTML file; default ``reports/<notebook>[-<promotion_id>].html``. Written
        atomically: on failure an existing file is left as it was and no new one appears.
    parameters : mapping, optional
        Values for the notebook's ``parameters`` cell; unknown names are refused.
    source : {"sandbox", "env"}, optional
        Shorthand for ``parameters["source"]``.
    show_code : bool
        Keep code cells in the HTML (hidden by default).
    executed_notebook : path, optional
        Also save the executed ``.ipynb`` there.
    cwd : path, optional
        Working directory of the kernel (relative customer files and the store); default the
        current one.
    timeout : float, optional
        Seconds allowed per cell (default: no limit; a real cluster at 100 requests a minute
        takes 50 minutes for 5,000 customers).
    data_dir : path, optional
        Folder where the notebook's downloads (:func:`capnb.reports.downloads.download`) are
        also written as CSV and Parquet (created if missing). The kernel gets it as
        ``CAPNB_DATA_DIR``; without it, the kernel has no ``CAPNB_DATA_DIR`` at all.
    pdf : bool or path, optional
        Also print the report to PDF (A4) with headless Chromium
        (:func:`capnb.reports.pdf.print_pdf`): ``True`` for the HTML path with ``.pdf``, or a
        path. The HTML is written first; a PDF that cannot be made raises :class:`ReportError`.

    Returns
    -------
    Path of the HTML report.

    Raises
    ------
    ReportError
        A cell failed (its index, code and error are attributes and in the message; its
        ``summary`` is one line), the kernel died or timed out, or the PDF failed.
    ValidationError
        Before anything runs: unknown notebook, a file that is not a notebook, an unknown
        parameter or a value that is not plain data (:func:`plain_value`), an output path or
        data folder that cannot be written.
    """
    path = find_notebook(notebook)
    declared = notebook_parameters(path)
    values = dict(parameters or {})
    if source is not None:
        values["source"] = source
    if "source" in values and values["source"] not in SOURCES:
        raise ValidationError("source", f"must be 'sandbox' or 'env', got {values['source']!r}")
    _check_parameters(path, values, declared)
    if output is None:
        suffix = f"-{values.get('promotion_id', declared.get('promotion_id', {}).get('default'))}"
        output = Path("reports") / f"{path.stem}{suffix if 'promotion_id' in declared else ''}.html"
    output = Path(output).expanduser()
    _check_writable("output", output)
    if executed_notebook is not None:
        executed_notebook = Path(executed_notebook).expanduser()
        _check_writable("executed_notebook", executed_notebook)
    pdf_path = None if pdf is None or pdf is False else (
        output.with_suffix(".pdf") if pdf is True else Path(pdf).expanduser())
    if pdf_path is not None:
        _check_writable("pdf", pdf_path)
    environment: dict[str, str | None] = {ENV_DATA_DIR: None}
    if data_dir is not None:
        folder = Path(data_dir).expanduser().resolve()  # the kernel's cwd may differ
        _check_folder("data_dir", folder)
        environment[ENV_DATA_DIR] = str(folder)
    with tempfile.TemporaryDirectory(prefix="capnb-report-") as scratch:
        executed = Path(scratch) / path.name
        _execute(path, executed, values, cwd=Path(cwd or Path.cwd()), timeout=timeout,
                 environment=environment, declared=declared)
        import nbformat

        nb = nbformat.read(executed, as_version=4)
        body = export_html(nb, title=_title(path) or path.stem, show_code=show_code)
        try:
            _write_atomically(output, body.encode("utf-8"))
            if executed_notebook is not None:
                _write_atomically(executed_notebook, executed.read_bytes())
        except OSError as exc:
            raise ReportError(f"{path.name}: ran, but the report could not be written: {exc}",
                              notebook=path) from exc
    if pdf_path is not None:
        _print_pdf(output, pdf_path)
    return output


def _print_pdf(html: Path, target: Path) -> None:
    from capnb.reports.pdf import print_pdf

    try:
        _write_atomically(target, print_pdf(html))
    except ReportError as exc:
        raise ReportError(f"{exc} (the HTML report is {html})") from None
    except OSError as exc:
        raise ReportError(f"the HTML report is {html}, but the PDF could not be written: "
                          f"{exc}") from exc


def plain_value(name: str, value: Any, *, iso_dates: bool = False) -> Any:
    """``value`` if it is plain data papermill writes as a Python literal: a str, int, float,
    bool or None, or lists and str-keyed dicts of those (at most 10,000 values, 20 levels deep).
    Dates become ISO strings if ``iso_dates``. Anything else (sets, bytes, tuples, objects: which
    papermill would quote with ``str()``, unescaped) raises :class:`ValidationError`."""
    count = 0

    def walk(item: Any, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > _MAX_VALUES or depth > _MAX_DEPTH:
            raise ValidationError(name, f"more than {_MAX_VALUES:,} values or {_MAX_DEPTH} "
                                  "levels of nesting (a recursive YAML alias?)")
        if item is None or type(item) in (str, int, float, bool):
            return item
        if iso_dates and type(item) in (dt.date, dt.datetime):
            return item.isoformat()
        if type(item) is list:
            return [walk(v, depth + 1) for v in item]
        if type(item) is dict:
            for key in item:
                if type(key) is not str:
                    raise ValidationError(name, f"mapping key {key!r} is not a string")
            return {k: walk(v, depth + 1) for k, v in item.items()}
        raise ValidationError(name, f"a {type(item).__name__} is not a parameter value; use "
                              "strings, numbers, true/false, null, or lists and mappings of "
                              "those")

    return walk(value, 0)


def _check_parameters(path: Path, values: Mapping[str, Any],
                      declared: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name in declared:
            plain_value(name, value)
            continue
        if _CREDENTIAL_NAME.search(name):
            raise ValidationError("parameters", f"{name!r}: credentials are never notebook "
                                  "parameters (papermill writes parameters into the output); "
                                  "set CAPILLARY_* environment variables and use source='env'")
        raise ValidationError("parameters", f"{path.stem} has no parameter {name!r}; it takes "
                              f"{', '.join(declared) or 'none'}")


_ENVIRONMENT_LOCK = threading.Lock()


@contextlib.contextmanager
def _kernel_environment(values: Mapping[str, str | None]) -> Iterator[Callable[..., None]]:
    """Set (``None``: remove) environment variables for the kernel about to start; yield the
    function that puts them back.

    papermill has no way to give its kernel variables: the kernel copies ``os.environ`` when it
    starts. So they are set here, and put back as soon as the kernel has started (nbclient's
    ``on_notebook_start`` hook calls the function) or when the block ends, whichever comes
    first; a lock keeps reports started at once from threads of one process apart.
    """
    _ENVIRONMENT_LOCK.acquire()
    once = threading.Lock()
    saved = {name: os.environ.get(name) for name in values}

    def apply(settings: Mapping[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def restore(**_: Any) -> None:
        if once.acquire(blocking=False):
            apply(saved)
            _ENVIRONMENT_LOCK.release()

    try:
        apply(values)
        yield restore
    finally:
        restore()


def _execute(path: Path, executed: Path, values: Mapping[str, Any], *, cwd: Path,
             timeout: float | None, environment: Mapping[str, str | None] | None = None,
             declared: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # The kernel's parent is this process (not papermill's CLI), so without CAPNB_PROGRESS=0
    # capnb.fetch.progress would not recognise a batch run.
    try:
        with _kernel_environment({"CAPNB_PROGRESS": "0", **(environment or {})}) as started:
            papermill.execute_notebook(str(path), str(executed), parameters=dict(values),
                                       progress_bar=False, log_output=False, cwd=str(cwd),
                                       # One write at the end, not one per cell.
                                       request_save_on_cell_execute=False,
                                       execution_timeout=timeout,
                                       # Widget views cannot work offline and are replaced
                                       # by a note; their saved state would only add
                                       # megabytes (every live figure's data and code).
                                       store_widget_state=False,
                                       on_notebook_start=started,
                                       # ipykernel 7 warns on stderr about plain-TCP
                                       # loopback sockets on every start; keep real errors.
                                       extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                       kernel_manager_class=quiet_shutdown_manager())
    except PapermillExecutionError as exc:
        traceback = _ANSI.sub("", "\n".join(exc.traceback or []))
        short = f"{exc.ename}: {exc.evalue}"
        code = "\n".join(f"    {line}" for line in (exc.source or "").splitlines()[:12])
        detail = "" if _is_capnb_error(exc.ename) else f"\n{traceback}"
        index = _cell_index(path, exc.source, exc.cell_index)
        raise ReportError(f"{path.name}: cell {index} (In [{exc.exec_count}]) failed:\n"
                          f"{code}\n{short}{detail}", notebook=path, cell_index=index,
                          exec_count=exc.exec_count, source=exc.source or "", ename=exc.ename,
                          evalue=exc.evalue, traceback=traceback,
                          summary=_summary(path, index, exc.ename, exc.evalue,
                                           declared or {})) from None
    except (RuntimeError, TimeoutError, OSError) as exc:
        # nbclient's DeadKernelError and CellTimeoutError derive from RuntimeError/TimeoutError.
        raise ReportError(f"{path.name}: the kernel failed: {type(exc).__name__}: {exc}",
                          notebook=path) from exc


def _summary(path: Path, index: int, ename: str, evalue: str,
             declared: Mapping[str, Mapping[str, Any]]) -> str:
    """One line for a failed cell: a capnb error about a parameter names it, says what is wrong
    and what the parameter takes (its help); any other error names the cell and the error."""
    message = " ".join(str(evalue).split())
    name, _, reason = message.partition(": ")
    if _is_capnb_error(ename) and name in declared and reason:
        takes = str(declared[name].get("help") or "")
        return (f"{path.stem}: parameter {name}: {reason}"
                + (f" (expected: {takes})" if takes else ""))
    hint = ("" if _is_capnb_error(ename)
            else " (capnb -v report ... shows the cell and its traceback)")
    return f"{path.name}: cell {index} failed: {ename}: {message}{hint}"


def _cell_index(path: Path, source: str, executed_index: int) -> int:
    """The failing cell's index in the notebook as written (papermill's count includes the
    parameters cell it injects)."""
    import nbformat

    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "code" and cell.source == source:
            return index
    return executed_index


def _is_capnb_error(name: str) -> bool:
    import capnb

    return isinstance(getattr(capnb, name, None), type) and issubclass(getattr(capnb, name),
                                                                        CapnbError)


# -- HTML ----------------------------------------------------------------------------------------

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{#- capnb report: the lab template minus every network reference. -#}
{%- block html_head_js_requirejs -%}
{%- if resources.capnb_plotlyjs -%}
<script type="text/javascript">{{ resources.capnb_plotlyjs }}</script>
{%- endif -%}
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
  .capnb-report-header table { border-collapse: collapse; margin-bottom: 1em; }
  .capnb-report-header th, .capnb-report-header td { padding: 2px 8px; vertical-align: top; }
  .jp-Notebook { padding-top: 1em; }
</style>
{%- endblock extra_css -%}
"""

_WIDGET_NOTE = ('<p class="capnb-widget-note"><em>Interactive control: open this notebook in '
                'JupyterLab to use it.</em></p>')


def export_html(nb: Any, *, title: str, show_code: bool = False) -> str:
    """Export an executed notebook as one self-contained HTML page (no network references).

    plotly figures (stored as plotly JSON) become interactive charts sharing one inlined
    plotly.js; widget views, which cannot work offline, become a short note (outputs they
    produced as ordinary display data are kept); papermill's error banners and cells tagged
    ``notebook-only`` (a notebook's own title: the report's is in its header) are dropped. The
    page gets heading anchors, a table of contents, the report's title and screen and print
    styles (:func:`capnb.reports.page.finish_page`).
    """
    import jinja2
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    nb.cells = [c for c in nb.cells if NOTEBOOK_ONLY_TAG not in c.metadata.get("tags", [])]
    nb.metadata["title"] = title
    figures = _prepare_outputs(nb)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"capnb_report.html.j2": _TEMPLATE})],
        template_file="capnb_report.html.j2",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )
    resources: dict[str, Any] = {}
    if figures:
        from plotly.offline import get_plotlyjs

        # A literal "</script>" inside the bundle would end the element; escape it if present.
        resources["capnb_plotlyjs"] = get_plotlyjs().replace("</script", "<\\/script")
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return finish_page(body)


def _prepare_outputs(nb: Any) -> int:
    """Rewrite outputs for static HTML in place; return the number of plotly figures."""
    import plotly.io as pio

    figures = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill's id is random: same run, same bytes
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIMETYPE in data:
                figures += 1
                figure = data[PLOTLY_MIMETYPE]
                div = pio.to_html(figure, include_plotlyjs=False, full_html=False,
                                  div_id=f"capnb-figure-{figures}",
                                  config=figure.get("config") or {"responsive": True},
                                  validate=False)
                output["data"] = {"text/html": f'<div class="capnb-figure">{div}</div>'}
            elif WIDGET_VIEW_MIMETYPE in data:
                output["data"] = {"text/html": _WIDGET_NOTE}
            kept.append(output)
        cell["outputs"] = kept
    return figures
