"""Packaging: dependency lists in step, public names, version and command line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import capnb

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    wanted |= {_name(r): r.replace(" ", "") for r in project["optional-dependencies"]["dev"]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d.replace(" ", "") for d in environment["dependencies"]
             if isinstance(d, str) and _name(d) not in ("python", "pip")}
    assert conda == wanted
    assert {"pip": ["-e ."]} in environment["dependencies"]


def test_public_names():
    assert capnb.__all__ == sorted(capnb.__all__)
    expected = {
        "ActionSummary", "ApiError", "ApiWarning", "AuthenticationError", "BadRequest",
        "BasicAuth", "CapnbError", "CapnbWarning", "Client", "ConfigError", "CustomerNotFound",
        "NotFound", "OAuth", "PermissionDenied", "ProgramNotFound", "Promotion",
        "PromotionNotFound", "PromotionsV3", "RateLimited", "ResponseFormatError", "ServerError",
        "StoreError",
        "TransportError", "ValidationError", "__version__", "connect", "parse_action_summary",
        "parse_promotion", "ReportError", "Cohort", "FetchInterrupted", "RateLimiter", "Store",
        "fetch_cohort", "ExactUsage", "fetch_exact_usage", "fetch_program", "Sample",
        "draw_sample", "fetch_sample",
    }
    assert set(capnb.__all__) == expected
    for name in capnb.__all__:
        assert hasattr(capnb, name)


def test_error_tree():
    assert issubclass(capnb.ValidationError, ValueError)
    assert issubclass(capnb.ConfigError, ValueError)
    for error in (capnb.CustomerNotFound, capnb.ProgramNotFound, capnb.PromotionNotFound,
                  capnb.BadRequest, capnb.AuthenticationError, capnb.PermissionDenied,
                  capnb.RateLimited, capnb.ServerError):
        assert issubclass(error, capnb.ApiError)
    for error in (capnb.ApiError, capnb.TransportError, capnb.ResponseFormatError,
                  capnb.ValidationError, capnb.ConfigError, capnb.StoreError,
                  capnb.ReportError):
        assert issubclass(error, capnb.CapnbError)


def test_version_and_help():
    out = subprocess.run([sys.executable, "-c", "import capnb; print(capnb.__version__)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == capnb.__version__
    script = shutil.which("capnb", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "capnb"]
    help_text = subprocess.run(command + ["--help"], capture_output=True, text=True, check=True)
    assert all(c in help_text.stdout for c in ("sandbox", "demo", "report"))


def test_demo_prints_frames():
    out = subprocess.run([sys.executable, "-m", "capnb", "demo", "--customers", "200"],
                         capture_output=True, text=True, check=True, timeout=60)
    assert "Promotion" in out.stdout and "points:" in out.stdout
    assert "last_issued_on" in out.stdout
