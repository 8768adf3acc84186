"""Files a report writes: atomic writes, and the checks that a path or folder can be written
(made before a kernel starts, so a long run never ends in an unwritable path).

Used by :mod:`capnb.reports.render` (the HTML, the executed notebook, the PDF) and
:mod:`capnb.reports.downloads` (CSV and Parquet files in the data folder).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from capnb.errors import ValidationError

__all__ = ["check_folder", "check_writable", "write_atomically"]


def check_writable(name: str, target: Path) -> None:
    """Refuse, before anything runs, a path that cannot be written: a directory, one under a
    file, or one in a folder that refuses a new file (:class:`ValidationError` naming ``name``)."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    problem = ""
    if target.is_dir():
        problem = "it is a directory"
    elif not folder.is_dir():
        problem = f"{folder} is not a directory"
    elif folder == target.parent:
        problem = _probe(folder, target.name)
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"{folder} is not writable"
    if problem:
        raise ValidationError(name, f"cannot write {target}: {problem}")


def check_folder(name: str, folder: Path) -> None:
    """Refuse, before anything runs, a folder that cannot be created or written into: a file, one
    under a file, or one that refuses a new file (:class:`ValidationError` naming ``name``)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = ""
    if not existing.is_dir():
        problem = "it is a file" if existing == folder else f"{existing} is not a directory"
    elif existing == folder:
        problem = _probe(folder, "capnb-data")
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    if problem:
        raise ValidationError(name, f"cannot write into {folder}: {problem}")


def _probe(folder: Path, name: str) -> str:
    """'' if a new file can be created in ``folder``, else why not: the real test (permissions,
    read-only file systems, root squash), which ``os.access`` cannot make."""
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def write_atomically(target: Path, data: bytes | Callable[[Path], None]) -> None:
    """Write ``data`` (bytes, or a function writing the file at the path it is given) to a
    temporary file beside ``target``, then rename it over ``target``: readers see the old file
    or the new one, never half of one, and a failure leaves no new file behind. The file gets
    the usual permissions (``0o666`` less the umask), not ``mkstemp``'s ``0o600``: a report
    is for sharing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
        if not isinstance(data, bytes):
            data(Path(temporary))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
