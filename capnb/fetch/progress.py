"""Progress bars for long work: a ``tqdm.auto`` bar when someone is watching, silence otherwise.

Silent when ``progress=False``, when ``CAPNB_PROGRESS=0``, under CI (``CI`` set), and in kernels
run by papermill, nbconvert, nbclient or pytest (nbval), so executed notebooks stay
deterministic. ``CAPNB_PROGRESS=1`` forces the bar on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

_EXECUTORS = ("papermill", "nbconvert", "nbclient", "pytest", "nbval")


def _parent_command() -> str:
    try:
        return Path(f"/proc/{os.getppid()}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any failure means "not a kernel we can tell"
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def interactive() -> bool:
    """True when a person is likely watching this process (terminal or a JupyterLab kernel)."""
    forced = os.environ.get("CAPNB_PROGRESS")
    if forced is not None:
        return forced.strip().lower() not in ("0", "false", "no", "off", "")
    if os.environ.get("CI"):
        return False
    if _in_kernel():
        parent = _parent_command()
        return not any(name in parent for name in _EXECUTORS)
    return sys.stderr is not None and sys.stderr.isatty()


class _Silent:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(enabled: bool, total: int, description: str, unit: str = "it") -> Any:
    """A ``tqdm.auto`` bar if ``enabled`` and someone is watching, else a silent stand-in."""
    if not enabled or not interactive():
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=unit, mininterval=0.5, smoothing=0.1,
                dynamic_ncols=True)
