"""The helpers the notebooks call: kernel setup, the data source, parameter checks, one
customer's benefits table and the report header.

In a notebook (kept thin, see ``capnb/reports/notebooks/``)::

    from capnb.reports import notebook

    notebook.setup_notebook()                          # plotly renderer, short capnb errors
    src = notebook.open_source(source, customers)      # sandbox or CAPILLARY_* cluster
    promotion = src.promotion(program_id, promotion_id)
    notebook.header("Promotion overview", promotion=promotion, source=src, as_of=as_of)
    ...
    notebook.run_details(parameters={...}, source=src, as_of=as_of)   # at the end

Untrusted text from the API (promotion and program names, descriptions) only reaches HTML through
:func:`html.escape` here. Credentials never do: they are not parameters, and the data-source
label is the host without any user info.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from capnb._version import __version__
from capnb.analysis import coverage_sentence
from capnb.errors import CapnbError, NotFound, ProgramNotFound, ValidationError
from capnb.validation import check_as_of, check_id, check_tz

__all__ = [
    "DataSource",
    "SANDBOX_STORE_PREFIX",
    "check_timezone",
    "header",
    "open_source",
    "resolve_as_of",
    "run_details",
    "setup_notebook",
]

SOURCES = ("sandbox", "env")
SANDBOX_STORE_PREFIX = "sandbox"
"""Store host alias prefix for sandbox data (the sandbox's port changes on every run)."""


@contextlib.contextmanager
def _without_module(name: str) -> Iterator[None]:
    """Inside the block, ``import name`` fails (unless it was imported already)."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def _import_jsonschema_lightly() -> None:
    # nbformat (under papermill, nbconvert and plotly's renderers) imports jsonschema, which
    # imports rfc3987_syntax when installed (jupyter's dependencies pull it in); that module
    # builds a parser at import: 1.5-4 s of every report, and of every kernel's first figure,
    # on a 2-core machine, for an optional "iri" format check no notebook uses.
    with _without_module("rfc3987_syntax"), contextlib.suppress(ImportError):
        import jsonschema  # noqa: F401


_import_jsonschema_lightly()


def setup_notebook(*, short_errors: bool = True) -> None:
    """Prepare a capnb notebook's kernel; call it once, before any chart.

    - plotly's renderer becomes ``plotly_mimetype``: figures are stored as plotly JSON, which
      JupyterLab draws, nbval compares deterministically (no random div ids) and
      :func:`render_report` turns into offline HTML with plotly.js inlined once;
    - pandas shows tables up to 60 rows, with whole cell texts;
    - with ``short_errors``, a :class:`~capnb.CapnbError` (promotion not found, missing
      credentials...) shows as one line naming the problem instead of a traceback.
    """
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype"
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", None)  # restriction notes are whole sentences
    if short_errors:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipykernel
            return
        shell = get_ipython()
        if shell is not None:
            shell.set_custom_exc((CapnbError,), _short_capnb_error)


def _short_capnb_error(shell: Any, etype: type, value: BaseException, tb: Any,
                       tb_offset: int | None = None) -> list[str]:
    # The cell still fails (papermill and nbval see an error output with ename and evalue),
    # but the reader gets the message instead of capnb's call stack.
    lines = [f"{etype.__name__}: {value}"]
    show = getattr(shell, "_showtraceback", None)  # what IPython's showtraceback ends with
    if show is not None:
        show(etype, value, lines)
    else:  # pragma: no cover - every IPython since 2.0 has it
        print(lines[0], file=sys.stderr)
    return lines


@dataclass(eq=False)
class DataSource:
    """Where a notebook's data comes from: the embedded sandbox or the cluster in ``CAPILLARY_*``.

    ``label`` is what reports show (never credentials); ``customer_ids`` is what
    :meth:`cohort` fetches (a list of ids or a CSV/Parquet path); ``store`` the Parquet store
    (None = keep nothing).
    """

    kind: str
    client: Any
    label: str
    customer_ids: Any
    store: Any = None
    sandbox: Any = field(default=None, repr=False)
    _exact: dict[tuple, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"DataSource({self.kind!r}, {self.label!r}, store={self.store!r})"

    def promotion(self, program_id: int | str, promotion_id: int | str) -> Any:
        """The promotion's configuration; a clear :class:`~capnb.NotFound` when it is unknown."""
        try:
            return self.client.promotion(program_id, promotion_id)
        except NotFound as exc:
            hint = ""
            if self.sandbox is not None:
                catalog = self.sandbox.catalog()
                ids = ", ".join(str(p["id"]) for p in catalog["promotions"])
                new_ui = ", ".join(str(p["id"]) for p in catalog.get("new_ui_promotions", []))
                hint = (f" The sandbox has program {catalog['program_id']} with promotions "
                        f"{ids}" + (f" and new-UI promotions {new_ui}." if new_ui else "."))
            raise type(exc)(f"{exc.message.rstrip('.')}: program {program_id}, promotion "
                            f"{promotion_id} on {self.label}.{hint}", code=exc.code,
                            http_status=exc.http_status, request_id=exc.request_id) from None

    def cohort(self, program_id: int | str, promotion_id: int | str,
               activity_id: str | None = None, *, customer_ids: Any = None,
               identifier: str = "id", sample: int = 0, precision: float = 0.0,
               sample_seed: int = 0, promotion: Any = None, as_of: Any = None,
               **kwargs: Any) -> Any:
        """``capnb.fetch_cohort`` over ``customer_ids`` (default :attr:`customer_ids`), through
        :attr:`store`; other keyword arguments go to ``fetch_cohort``.

        ``identifier`` says what the customers are: ``"id"`` (customer ids), or ``"mobile"``,
        ``"email"``, ``"externalId"``... (a file's column named so), looked up first; values
        that match no customer are reported ``not_found``.

        ``sample`` (a count, 0: everyone) or ``precision`` (a half-width as a share, 0: off)
        fetch a random sample of the customers instead (``capnb.draw_sample`` with
        ``sample_seed``; with ``precision``, ``capnb.fetch_sample`` stops once the share of
        customers reached and, given ``promotion``, every promotion-wide cap's share are
        within it at ``as_of``): the cohort then carries the sample's design.
        """
        from capnb.fetch.summaries import fetch_cohort

        ids = self.customer_ids if customer_ids is None else customer_ids
        if ids is None:
            raise ValidationError("customers", "with source='env', pass the path of a "
                                  "CSV/Parquet file with a customer_id column (a count only "
                                  "works with the sandbox)")
        if identifier != "id":
            if customer_ids is None and not isinstance(ids, str | os.PathLike):
                raise ValidationError("identifier", f"is {identifier!r}, but customers is a "
                                      "count of sandbox customers (ids): give a CSV/Parquet "
                                      f"file with a {identifier} column")
            kwargs["identifier"] = identifier
        kwargs.setdefault("store", self.store)
        if sample or precision:
            return self._sample(ids, program_id, promotion_id, activity_id, identifier, sample,
                                precision, sample_seed, promotion, as_of, kwargs)
        return fetch_cohort(self.client, ids, program_id, promotion_id,
                            activity_id=activity_id or None, **kwargs)

    def _sample(self, ids: Any, program_id: int | str, promotion_id: int | str,
                activity_id: str | None, identifier: str, size: Any, precision: Any,
                seed: Any, promotion: Any, as_of: Any, kwargs: dict[str, Any]) -> Any:
        """A random sample of ``ids`` fetched (see :meth:`cohort`)."""
        from capnb.analysis.estimates import precision_watch
        from capnb.fetch.sampling import draw_sample
        from capnb.fetch.sequential import fetch_sample

        if identifier != "id":
            raise ValidationError("sample", "a random sample is drawn from customer ids: "
                                  "resolve the identifiers first (identifier='id')")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValidationError("sample", f"must be a count of customers (0: all), got "
                                  f"{size!r}")
        if precision and (isinstance(precision, bool) or not isinstance(precision, int | float)
                          or not 0 < precision < 0.5):
            raise ValidationError("precision", "must be a half-width between 0 and 0.5 (0.01: "
                                  f"+-1 percentage point; 0: off), got {precision!r}")
        drawn = draw_sample(ids, size or None, seed=seed)
        watch = (precision_watch(promotion, as_of=as_of) if precision and promotion is not None
                 else None)
        return fetch_sample(self.client, drawn, program_id, promotion_id, activity_id or None,
                            precision=precision or None, watch=watch, **kwargs)

    def exact_usage(self, cohort: Any, **kwargs: Any) -> Any:
        """``capnb.fetch_exact_usage`` (promotionData) for the fetched customers of ``cohort``
        and its promotion; other keyword arguments go to ``fetch_exact_usage``. Without them,
        the same customers asked twice (a new-UI promotion's limits, then its exact usage)
        are fetched once."""
        from capnb.fetch.exact_usage import fetch_exact_usage

        key = (cohort.program_id, cohort.promotion_id,
               tuple(sorted(cohort.fetched_customer_ids.astype("int64").tolist())))
        if not kwargs and key in self._exact:
            return self._exact[key]
        exact = fetch_exact_usage(self.client, cohort, cohort.program_id, cohort.promotion_id,
                                  **kwargs)
        if not kwargs:
            self._exact[key] = exact
        return exact

    def with_limits(self, promotion: Any, cohort: Any, sample: int | None = None) -> Any:
        """``promotion`` with restrictions to measure: unchanged when the promotion described
        them (old UI); for a new-UI promotion, whose ``limits[]`` are not documented, the
        ``maxLimit`` items promotionData reports for ``sample`` customers of ``cohort`` drawn
        with seed 0 (all of them when None; none when 0), marked as such
        (:func:`capnb.analysis.with_sampled_limits`); :meth:`exact_usage` serves a sample
        already fetched."""
        from capnb.analysis.sampled import with_sampled_limits
        from capnb.models import PROMOTION_SOURCE_V3

        if getattr(promotion, "source", None) != PROMOTION_SOURCE_V3 or sample == 0:
            return promotion
        part = cohort if sample is None else cohort.sample(sample, seed=0)
        return with_sampled_limits(promotion, self.exact_usage(part))

    def program(self, program_id: int | str) -> pd.Series:
        """The program's row of ``client.programs()``; a clear ``ProgramNotFound`` otherwise."""
        program = check_id("program_id", program_id)
        programs = self.client.programs()
        row = programs[programs["program_id"] == program]
        if row.empty:
            known = ", ".join(f"{name} ({pid})" for pid, name in zip(
                programs["program_id"], programs["name"], strict=True))
            raise ProgramNotFound(f"Program {program} is not one of the org's programs on "
                                  f"{self.label}: {known or 'none'}.", code=2010)
        return row.iloc[0]

    def portfolio(self, program_id: int | str, *, as_of: Any = None,
                  status: str | list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """``capnb.analysis.portfolio_frame`` of the program's promotions
        (``capnb.fetch.program.fetch_program``), with budget usage measured over
        :attr:`customer_ids` (one cohort per promotion, through :attr:`store`)."""
        from capnb.analysis.portfolio import portfolio_frame
        from capnb.fetch.program import fetch_program

        if self.customer_ids is None:
            raise ValidationError("customers", "with source='env', pass the path of a "
                                  "CSV/Parquet file with a customer_id column")
        now = check_as_of(as_of)
        kwargs.setdefault("store", self.store)
        promotions, cohorts = fetch_program(self.client, program_id, status=status,
                                            customers=self.customer_ids, **kwargs)
        return portfolio_frame(promotions, cohorts, as_of=now)

    def action_summary(self, customer_id: int | str, program_id: int | str,
                       promotion_id: int | str, activity_id: str | None = None) -> Any:
        """One customer's benefits (``client.action_summary``)."""
        return self.client.action_summary(customer_id, program_id, promotion_id,
                                          activity_id or None)

    def close(self) -> None:
        """Close connections and stop the sandbox, if any."""
        self.client.close()
        if self.sandbox is not None:
            self.sandbox.stop()


def open_source(source: str = "sandbox", customers: int | str | os.PathLike[str] = 5000, *,
                store: str | os.PathLike[str] | None = ".capnb-store",
                seed: int = 0) -> DataSource:
    """Connect a notebook to its data.

    Parameters
    ----------
    source : {"sandbox", "env"}
        ``"sandbox"`` starts the embedded sandbox (offline, seeded); ``"env"`` connects with
        ``capnb.connect()`` to the cluster named by the ``CAPILLARY_*`` variables.
    customers : int or path
        A count (sandbox only: that many sandbox customers, the sandbox sized to match) or the
        path of a CSV/Parquet file with a ``customer_id`` column.
    store : path or None
        Parquet store folder; ``None`` or ``""`` keeps nothing. Sandbox data is filed under a
        host alias naming the seed, the size and a fingerprint of the generated data, so a
        changed generator never reuses stale summaries.
    seed : int
        Sandbox seed.
    """
    from capnb.fetch.store import Store

    if source not in SOURCES:
        raise ValidationError("source", f"must be 'sandbox' or 'env', got {source!r}")
    by_count = isinstance(customers, int) and not isinstance(customers, bool)
    if by_count and customers <= 0:
        raise ValidationError("customers", f"must be a positive count or a file path, got "
                              f"{customers!r}")
    if not by_count:
        if not isinstance(customers, str | os.PathLike) or not str(customers).strip():
            raise ValidationError("customers", "must be a count (sandbox) or the path of a "
                                  f"CSV/Parquet file with a customer_id column, got {customers!r}")
        customers = Path(customers).expanduser()
        if not customers.is_file():
            raise ValidationError("customers", f"no file at {customers}")
    from capnb.api.client import connect

    if source == "env":
        client = connect()
        # A count means nothing on a real cluster: cohort() then asks for a file.
        return DataSource("env", client, _public_host(client.base_url),
                          None if by_count else customers, Store(store) if store else None)
    from capnb.sandbox import Sandbox

    size = customers if by_count else 5000
    sandbox = Sandbox(customers=size, seed=seed).start()
    ids = list(sandbox.catalog()["customer_ids"]) if by_count else customers
    alias = f"{SANDBOX_STORE_PREFIX}-seed{seed}-{size}-{_sandbox_fingerprint(sandbox.data)}"
    label = f"capnb sandbox (offline; seed {seed}, {size:,} customers)"
    return DataSource("sandbox", connect(sandbox.environ()), label, ids,
                      Store(store, host_alias=alias) if store else None, sandbox)


def _public_host(base_url: str) -> str:
    """The base URL without any user info (a URL can carry ``user:password@``)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _sandbox_fingerprint(data: Any) -> str:
    """A short hash of what the sandbox serves and how capnb parses it, for a few customers.

    The store keeps *parsed* frames: a change to the generator or to the parser gives a new
    fingerprint, hence a new store partition, instead of silently re-using stale rows.
    """

    from capnb.api.summary import parse_action_summary

    digest = hashlib.sha256(__version__.encode())
    ids = data.customer_ids
    sample = [ids[i] for i in sorted({0, 1, 2, 3, len(ids) // 2, len(ids) - 1})
              if 0 <= i < len(ids)]
    for promotion_id in getattr(data, "engine_promotion_ids", data.promotion_ids):
        digest.update(json.dumps(data.promotion_payload(promotion_id), sort_keys=True).encode())
        for customer_id in sample:
            summary = parse_action_summary(data.summary_payload(customer_id, promotion_id))
            for frame in (summary.incentives, summary.points, summary.alternate_currencies):
                digest.update(frame.to_csv(index=False).encode())
                digest.update(str(frame.dtypes.to_dict()).encode())
    return digest.hexdigest()[:10]


resolve_as_of = check_as_of
"""``as_of`` as a UTC timestamp (:func:`capnb.validation.check_as_of`): an ISO string or datetime
(naive = UTC), or ``"now"``."""


def check_timezone(timezone: str) -> str:
    """Return ``timezone`` when it is an IANA name (``"Asia/Kolkata"``) or ``"UTC"``
    (:func:`capnb.validation.check_tz`, keeping the name)."""
    return check_tz(timezone, "timezone").key


class _Header:
    """A report header: HTML for JupyterLab and reports, plain text for everything else."""

    def __init__(self, html_text: str, plain: str) -> None:
        self._html, self._plain = html_text, plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain


def header(title: str, *, source: DataSource | str, as_of: Any, promotion: Any = None,
           program: Mapping[str, Any] | None = None, customer_id: Any = None,
           cohort: Any = None) -> _Header:
    """The header every report starts with: the title naming the customer, promotion or
    program, then what the promotion is, the data source and ``as_of``. Display it (last
    expression of a cell).

    The title is an ``h1`` of class ``capnb-title``, which the exported page also uses as its
    ``<title>``. API text (names, descriptions) is escaped: it is untrusted. The parameters and
    the capnb version are in :func:`run_details`, at the end of a report. A ``cohort`` drawn
    from a random sample adds a line saying how many of how many customers were fetched and
    why that is enough.
    """
    where = source.label if isinstance(source, DataSource) else str(source)
    stamp = resolve_as_of(as_of)
    rows: list[tuple[str, str]] = []
    subject = ""
    if program is not None:
        subject = f"{program['name'] or '(unnamed)'} ({program['program_id']})"
    if promotion is not None:
        dates = " to ".join(f"{d:%Y-%m-%d}" for d in (promotion.start, promotion.end)
                            if d is not None and not pd.isna(d))
        subject = f"{promotion.name or '(unnamed)'} ({promotion.id})"
        facts = [promotion.offer_type, promotion.status, dates]
        rows.append(("Type, status, dates", ", ".join(str(f) for f in facts if f)))
        if promotion.description:
            rows.append(("Description", promotion.description))
        rows += _configuration_rows(promotion)
        if coverage := coverage_sentence(promotion.start):
            rows.append(("Coverage", coverage))
    rows.append(("Data", f"{where}, as of {stamp:%Y-%m-%d %H:%M UTC}"))
    if getattr(cohort, "design", None) is not None:
        rows.append(("Customers", _sample_words(cohort, promotion, stamp)))
    if customer_id is not None:
        subject = f"customer {customer_id}, {subject}" if subject else f"customer {customer_id}"
    heading = f"{title}: {subject}" if subject else title
    html_text = (f'<div class="capnb-report-header"><h1 class="capnb-title">'
                 f'{html.escape(heading)}</h1>{_rows_html(rows, "capnb-header-table")}</div>')
    plain = "\n".join([heading, *(f"{k}: {v}" for k, v in rows)])
    return _Header(html_text, plain)


def _configuration_rows(promotion: Any) -> list[tuple[str, str]]:
    """Where a new-UI promotion's description and limits came from (an old-UI promotion's
    come from *Get Loyalty Promotion by ID*, as *How to read this report* says)."""
    from capnb.models import PROMOTION_SOURCE_V3

    if getattr(promotion, "source", None) != PROMOTION_SOURCE_V3:
        return []
    v3 = getattr(promotion, "v3", None)
    hex_id = v3.metadata["hex_id"].iloc[0] if v3 is not None and len(v3) else None
    described = ("GET /v3/promotions: a promotion made in the new promotions UI"
                 + (f" (string id {hex_id})" if isinstance(hex_id, str) else "")
                 + "; Get Loyalty Promotion by ID does not know it")
    return [("Described by", described),
            ("Restrictions", promotion.restrictions_note or "none read")]


def _sample_words(cohort: Any, promotion: Any, as_of: pd.Timestamp) -> str:
    """How many of how many customers a sampled cohort holds, and why that is enough."""
    from capnb.analysis.estimates import population_estimates, sample_text

    estimates = population_estimates(promotion, cohort, as_of=as_of)
    shares = estimates["precision"].dropna()
    widest = (f" Every share about all customers has a 95% interval within "
              f"±{shares.max() * 100:.2g} percentage points of its estimate."
              if len(shares) else "")
    words = sample_text(cohort)
    return (f"{words[0].upper()}{words[1:]}.{widest} Every figure about all customers is an "
            "estimate with its 95% interval; lists of customers and the platform's own "
            "count describe the sampled customers.")


def run_details(*, parameters: Mapping[str, Any], source: DataSource | str,
                as_of: Any) -> _Header:
    """How a report was made: the parameters it ran with, the data source (never credentials),
    ``as_of`` and the capnb version, for the end of a report."""
    where = source.label if isinstance(source, DataSource) else str(source)
    rows = [("Parameters", ", ".join(f"{k} = {_show(v)}" for k, v in parameters.items())),
            ("Data source", where),
            ("As of", f"{resolve_as_of(as_of):%Y-%m-%d %H:%M UTC}"),
            ("capnb", __version__)]
    return _Header(_rows_html(rows, "capnb-details-table"),
                   "\n".join(f"{k}: {v}" for k, v in rows))


def _rows_html(rows: list[tuple[str, str]], css_class: str) -> str:
    body = "".join(f'<tr><th style="text-align:left;padding-right:1em">{html.escape(k)}</th>'
                   f'<td style="text-align:left">{html.escape(v)}</td></tr>' for k, v in rows)
    return f'<table class="{css_class}">{body}</table>'


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
