"""``capnb``'s public surface is honest: ``__all__`` lists exactly what the package re-exports,
and every import path the README's Python examples show resolves."""

from __future__ import annotations

import ast
import importlib
import re
import types
from pathlib import Path

import pytest

import capnb

ROOT = Path(__file__).resolve().parents[1]
DOTTED = re.compile(r"(?<![\w.])capnb(?:\.\w+)+")


def test_every_name_in_all_exists():
    missing = [name for name in capnb.__all__ if not hasattr(capnb, name)]
    assert missing == []
    assert len(set(capnb.__all__)) == len(capnb.__all__)


def test_every_public_reexport_is_in_all():
    exported = {name for name, value in vars(capnb).items()
                if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert exported - set(capnb.__all__) == set()


def readme_paths(text: str) -> list[str]:
    """The ``capnb`` import paths in README.md's ```python blocks: ``from capnb.x import a``
    gives ``capnb.x.a``, ``import capnb.x`` gives ``capnb.x``, and any ``capnb.x.y`` in code."""
    paths: list[str] = []
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "capnb":
                paths += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                paths += [a.name for a in node.names if a.name.split(".")[0] == "capnb"]
        paths += DOTTED.findall(block)
    return list(dict.fromkeys(paths))


def resolves(path: str) -> bool:
    """Whether ``path`` names a module, or an attribute reachable from one (a dataclass field of
    a class counts), importing submodules on the way as ``import`` would."""
    parts = path.split(".")
    obj: object = importlib.import_module(parts[0])
    for depth, name in enumerate(parts[1:], start=2):
        if hasattr(obj, name):
            obj = getattr(obj, name)
        elif isinstance(obj, types.ModuleType):
            try:
                obj = importlib.import_module(".".join(parts[:depth]))
            except ModuleNotFoundError:
                return False
        elif isinstance(obj, type) and name in getattr(obj, "__dataclass_fields__", {}):
            return depth == len(parts)
        else:
            return False
    return True


def test_readme_paths_are_found():
    paths = readme_paths((ROOT / "README.md").read_text())
    assert "capnb.connect" in paths and "capnb.fetch_cohort" in paths


@pytest.mark.parametrize("path", readme_paths((ROOT / "README.md").read_text()))
def test_readme_import_path_resolves(path):
    assert resolves(path), f"README.md shows {path}, which capnb does not have"


def test_path_resolution_rejects_what_is_not_there():
    assert resolves("capnb.reports.widgets.dashboard") and resolves("capnb.sandbox.Sandbox")
    assert resolves("capnb.Cohort.incentives") and resolves("capnb.analysis.utilisation")
    assert not resolves("capnb.charts") and not resolves("capnb.Client.no_such_method")
    assert readme_paths("```python\nfrom capnb import analysis, charts\n"
                        "x = capnb.fetch.cohort.fetch_cohort(client.cohort)\n```\n"
                        "```bash\ncapnb.nothing\n```") == [
        "capnb.analysis", "capnb.charts", "capnb.fetch.cohort.fetch_cohort"]
