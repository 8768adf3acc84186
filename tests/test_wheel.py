"""The built wheel works on its own: installed in a fresh virtualenv and run from a folder that is
not the checkout, it lists and renders the packaged notebooks and runs the demo.

The fresh environment sees the dev environment's dependencies (a ``.pth`` line naming its
site-packages, whose own ``.pth`` files, the editable capnb among them, are not processed; and
``JUPYTER_PATH`` for nbconvert's templates) but not the checkout: capnb comes from the wheel only.
About 15 s on a 2-core machine (build 1 s, install 1 s, report 5-10 s, demo 1 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"promotion_overview", "customer_benefits", "explore", "portfolio"}

pytestmark = pytest.mark.slow


def build_wheel(out: Path) -> Path:
    """The wheel of a clean copy of the sources (the build writes ``build/`` and egg-info)."""
    source = out / "source"
    shutil.copytree(ROOT / "capnb", source / "capnb",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out / "dist"), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = (out / "dist").glob("capnb-*.whl")
    return wheel


def fresh_venv(folder: Path, wheel: Path) -> Path:
    """A virtualenv with only the wheel installed; its Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True,
                   timeout=120)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--quiet", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    return python


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    started = time.monotonic()
    wheel = build_wheel(tmp_path / "build")
    names = zipfile.ZipFile(wheel).namelist()
    assert {Path(n).stem for n in names
            if n.startswith("capnb/reports/notebooks/") and n.endswith(".ipynb")} == NOTEBOOKS
    assert "capnb/reports/__init__.py" in names and "capnb/py.typed" in names
    python = fresh_venv(tmp_path / "venv", wheel)
    built = time.monotonic()

    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"), "CAPNB_PROGRESS": "0"}
    capnb = python.parent / "capnb"

    def run(*argv: str | Path, timeout: float = 60) -> str:
        result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    where = Path(run(python, "-c", "import capnb; print(capnb.__file__)").strip())
    assert where.is_relative_to(tmp_path / "venv") and not where.is_relative_to(ROOT)
    listing = run(capnb, "report", "--list")
    packaged = where.parent / "reports" / "notebooks"
    assert f"notebooks packaged with capnb: {packaged}" in listing
    for name in NOTEBOOKS:
        assert f"{name}  ({packaged / name}.ipynb)" in listing
    report = cwd / "out.html"
    printed = run(capnb, "report", "promotion_overview", "-o", "out.html",
                  "-p", "customers", "300", timeout=300)
    assert (cwd / printed.strip()).resolve() == report.resolve()
    body = report.read_text()
    assert body.startswith("<!DOCTYPE html>") and 'class="capnb-report-header"' in body
    assert re.search(r'<h1[^>]*class="capnb-title"[^>]*>Promotion overview: ', body)
    assert "plotly.js" in body
    assert '<nav class="capnb-toc"' in body and 'id="capnb-page-css"' in body
    demo = run(capnb, "demo", "--customers", "200")
    assert "Promotion" in demo and "points:" in demo
    timings = (f"build + venv + install {built - started:.1f} s, "
               f"runs {time.monotonic() - built:.1f} s")
    print(timings)  # shown with pytest -s
