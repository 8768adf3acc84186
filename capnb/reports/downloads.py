"""Downloads in a report: a whole DataFrame as a CSV file the reader can save from the HTML page.

In a notebook::

    from capnb.reports import downloads

    display(downloads.download(near_cap, "at_cap_customers",
                               "Download all customers at or near a cap"))

:func:`download` embeds the **complete** frame (not the rows a table shows) as a
``data:text/csv`` link, so the report stays one self-contained file. When ``CAPNB_DATA_DIR`` is
set (``capnb report --data-dir DIR`` sets it for the kernel) it also writes ``<name>.csv`` and
``<name>.parquet`` there, atomically.

The CSV is for spreadsheets, and its cells are untrusted text from the API: pandas quotes
commas, quotes and line breaks (lines end in CRLF, so a lone CR is quoted too), and a text cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so
Excel, LibreOffice or Google Sheets show it instead of running it as a formula (OWASP "CSV
injection"). The Parquet file, for analysts, keeps the values as they are. The CSV is UTF-8 with a
byte-order mark, which Excel needs to read non-ASCII names correctly (pandas and other readers
skip the mark).

No Excel (``.xlsx``) file: it would need openpyxl at run time and, base64-encoded in the page,
weighs about as much as the CSV again, for no content the CSV lacks (Excel opens the CSV).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import numbers
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from capnb.config import ENV_DATA_DIR, report_setting
from capnb.errors import ConfigError, ValidationError
from capnb.reports.files import write_atomically

__all__ = ["DEFAULT_MAX_EMBED_BYTES", "Download", "csv_bytes", "download"]

DEFAULT_MAX_EMBED_BYTES = 20 * 1024 * 1024
"""A CSV larger than this (20 MiB, about 27 MiB in the page) is not embedded: the report shows
where the file was written instead (or says to render with ``--data-dir``)."""

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, repr=False)
class Download:
    """A frame to download: ``name`` (the file's stem), ``label`` (the link's text), ``rows``,
    ``csv`` (the file's bytes; None when larger than the embedding limit) and ``files`` (the
    paths written in the data folder, if any).

    Displayed in a notebook or report, it is a link holding the whole CSV; as text, one line.
    """

    name: str
    label: str
    rows: int
    csv: bytes | None
    files: tuple[Path, ...] = ()
    size: int = 0

    def data_uri(self) -> str:
        """The CSV as a ``data:text/csv`` URI ('' when it was too large to embed)."""
        if self.csv is None:
            return ""
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(self.csv).decode()

    def _repr_html_(self) -> str:
        text = html.escape(f"{self.label} ({_rows(self.rows)}, CSV)")
        if self.csv is not None:
            return (f'<a class="capnb-download" download="{self.name}.csv" '
                    f'href="{self.data_uri()}">{text}</a>')
        where = (f"written to {', '.join(str(p) for p in self.files)}" if self.files else
                 "render the report with --data-dir DIR to get it as a file")
        return (f'<p class="capnb-download-note">{text}: {self.size / 1e6:,.1f} MB, too large '
                f"to embed in the report; {html.escape(where)}.</p>")

    def __repr__(self) -> str:
        line = f"{self.label}: {self.name}.csv, {_rows(self.rows)}"
        if self.csv is None:
            line += f" ({self.size / 1e6:,.1f} MB: too large to embed)"
        if self.files:
            line += f"; written to {', '.join(str(p) for p in self.files)}"
        return line


def download(frame: pd.DataFrame, name: str, label: str, *,
             data_dir: str | os.PathLike[str] | None = None,
             max_embed_bytes: int = DEFAULT_MAX_EMBED_BYTES) -> Download:
    """A download link holding all of ``frame`` as CSV; also ``<name>.csv`` and
    ``<name>.parquet`` in the data folder, if there is one.

    Parameters
    ----------
    frame : DataFrame
        Every row and column is written (a named index becomes columns, an unnamed one is
        dropped).
    name : str
        The file's stem: letters, digits, ``_`` and ``-`` only (``at_cap_customers``).
    label : str
        The link's text; `` (N rows, CSV)`` is added.
    data_dir : path, optional
        Where to write the files; default the ``CAPNB_DATA_DIR`` environment variable, and
        none when that is unset.
    max_embed_bytes : int
        Largest CSV embedded in the page (:data:`DEFAULT_MAX_EMBED_BYTES`).

    Raises
    ------
    ValidationError
        ``name`` is not a plain file stem, or ``frame`` is not a DataFrame.
    ConfigError
        The data folder cannot be written.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError("name", f"must be 1-100 letters, digits, '_' or '-' (it names "
                              f"the file), got {name!r}")
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("frame", f"must be a pandas DataFrame, got {type(frame).__name__}")
    table = _plain(frame)
    data = csv_bytes(table)
    files: tuple[Path, ...] = ()
    folder = data_dir if data_dir is not None else report_setting(ENV_DATA_DIR)
    if folder:
        files = _write_files(Path(folder).expanduser(), name, table, data)
    embedded = data if len(data) <= max_embed_bytes else None
    return Download(name, str(label), len(table), embedded, files, len(data))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (with a byte-order mark, no index), every text cell and column name
    starting like a formula prefixed with an apostrophe."""
    guarded = frame.rename(columns=_guard)
    for column in range(guarded.shape[1]):
        values = guarded.iloc[:, column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_datetime64_any_dtype(values)
                or isinstance(values.dtype, pd.PeriodDtype | pd.IntervalDtype)):
            guarded.isetitem(column, values.astype(object).map(_guard))
    # CRLF (RFC 4180): with a bare LF, Python's csv would not quote a cell holding a CR, which
    # spreadsheets and pandas then read as a line break.
    return guarded.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _guard(value: object) -> object:
    """A cell whose text starts like a formula, with a leading apostrophe; numbers (a negative
    one is a number to a spreadsheet too), dates and missing values as they are."""
    if value is None or isinstance(value, bool | int | float | numbers.Number | dt.date):
        return value
    text = value if isinstance(value, str) else str(value)  # a Timedelta, a list...
    return "'" + text if text.startswith(_FORMULA_START) else value


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Index levels with names become columns; columns get string names (Parquet needs them)."""
    if any(level is not None for level in frame.index.names):
        frame = frame.reset_index()
    else:
        frame = frame.reset_index(drop=True)
    if isinstance(frame.columns, pd.MultiIndex):
        names = [" ".join(str(part) for part in column if str(part)) for column in frame.columns]
    else:
        names = [str(column) for column in frame.columns]
    return frame.set_axis(names, axis=1)


def _write_files(folder: Path, name: str, table: pd.DataFrame, data: bytes) -> tuple[Path, ...]:
    csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(csv_path, data)
        write_atomically(parquet_path, lambda path: table.to_parquet(path, index=False))
    except OSError as exc:
        raise ConfigError(f"{ENV_DATA_DIR}: cannot write the download {name!r} into {folder}: "
                          f"{exc.strerror or exc}") from exc
    except (TypeError, ValueError) as exc:  # pyarrow's ArrowTypeError, ArrowInvalid
        reason = " ".join(str(exc).split())[:200]
        raise ValidationError("frame", f"{name!r} cannot be written as Parquet ({reason}); give "
                              "each column one type") from exc
    return csv_path, parquet_path


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")
