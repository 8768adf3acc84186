"""The package's structure: import layers, no import cycles, private names stay home, small
modules that say what they own.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``): ``capnb.cli`` > ``reports``
> ``analysis`` > ``fetch`` > ``api`` > the core modules, a sandbox that imports core modules only,
and no import cycle between sibling modules or packages at any depth (a cycle anywhere is one
between the children of its members' lowest common package).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "capnb"
MAX_LINES = 500


def run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``capnb`` under ``root`` (not whichever one is installed)."""
    script = Path(sys.executable).parent / "lint-imports"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([*command, "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_contracts_are_kept():
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_every_module_is_small_and_says_what_it_owns():
    too_long, undocumented = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        if not ast.get_docstring(ast.parse(text)):
            undocumented.append(str(path.relative_to(ROOT)))
    assert too_long == [], f"modules over {MAX_LINES} lines"
    assert undocumented == [], "modules without a docstring"


# -- private names ---------------------------------------------------------------------------------

def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _subpackage(module: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    is_package = (ROOT.joinpath(*module.split(".")) / "__init__.py").is_file()
    return module if is_package else module.rpartition(".")[0]


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def private_imports_across_packages(package: Path = PACKAGE) -> list[str]:
    """Every import in ``package`` of a ``_private`` name defined in another subpackage, or of a
    ``_private`` module from outside the package that holds it.

    A private name (``_limiter_for``) is shared within its subpackage (``capnb.fetch``, or the
    core ``capnb``); a private module (``capnb._version``, ``capnb.api._coerce``) within its
    package and that package's subpackages. Dunder names (``__version__``) are not private.
    """
    found = []
    for path in sorted(package.rglob("*.py")):
        importer = _module_name(path)
        home = _subpackage(importer)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets: list[tuple[str, str | None]] = []  # (module, imported name)
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    base = home.split(".")[: len(home.split(".")) - node.level + 1]
                    module = ".".join([*base, *filter(None, [module])])
                targets = [(module, alias.name) for alias in node.names]
            for module, name in targets:
                if not _inside(module, "capnb"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                parts = module.split(".")
                for depth, part in enumerate(parts):
                    owner = ".".join(parts[:depth])
                    if _is_private(part) and not _inside(importer, owner):
                        found.append(f"{where}: {importer} imports private module {module}")
                        break
                if name is None or not _is_private(name):
                    continue
                if (ROOT.joinpath(*parts, f"{name}.py")).is_file():  # a private module
                    if not _inside(importer, module):
                        found.append(f"{where}: {importer} imports private module "
                                     f"{module}.{name}")
                elif _subpackage(module) != home:
                    found.append(f"{where}: {importer} imports {module}.{name}")
    return found


def test_no_private_name_is_imported_across_subpackages():
    assert private_imports_across_packages() == []


def test_the_private_import_check_catches_what_it_should(tmp_path, monkeypatch):
    fake = tmp_path / "capnb"
    for folder in ("api", "fetch"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("from capnb._version import __version__\n")
    (fake / "_version.py").write_text("__version__ = '0'\n")
    (fake / "errors.py").write_text("def _plain(): ...\n")
    (fake / "api" / "_coerce.py").write_text("def to_int(): ...\n")
    (fake / "api" / "client.py").write_text(
        "from capnb.api._coerce import to_int\nfrom capnb.api import _coerce\n"
        "from capnb.errors import _plain\nfrom ._coerce import to_int as again\n")
    (fake / "fetch" / "cohort.py").write_text("def _limiter(): ...\n")
    (fake / "fetch" / "usage.py").write_text(
        "from capnb.fetch.cohort import _limiter\nfrom capnb._version import __version__\n"
        "import capnb.api._coerce\nfrom capnb.api import _coerce\n"
        "from capnb.api.client import _hidden\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert private_imports_across_packages(fake) == [
        "capnb/api/client.py:3: capnb.api.client imports capnb.errors._plain",
        "capnb/fetch/usage.py:3: capnb.fetch.usage imports private module capnb.api._coerce",
        "capnb/fetch/usage.py:4: capnb.fetch.usage imports private module capnb.api._coerce",
        "capnb/fetch/usage.py:5: capnb.fetch.usage imports capnb.api.client._hidden",
    ]


def test_no_test_module_imports_another_or_conftest():
    """Shared fixtures live in conftest.py, shared values in plain modules (``tests/*.py`` not
    named ``test_*``); a test module importing another test module, or conftest, couples them."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                leaf = name.rsplit(".", 1)[-1]
                if leaf.startswith("test_") or leaf == "conftest":
                    offenders.append(f"{path.name} imports {name}")
    assert not offenders, offenders
