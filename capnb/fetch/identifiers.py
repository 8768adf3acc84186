"""Resolving customer identifiers (mobile numbers, emails, external ids...) to customer ids.

Analysts rarely start from internal ids: :func:`resolve_identifiers` looks each distinct value up
with ``GET /v2/customers/lookup`` (a bounded pool of threads, sharing the client's connection
pool and an optional rate limiter) and reports every value it could not resolve, so that
:func:`capnb.fetch.cohort.fetch_cohort` (``identifier="mobile"``) never drops a row silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from capnb.api.client import Client, Throttle
from capnb.errors import CapnbError, ValidationError, failure_fields
from capnb.schema import CUSTOMER_COLUMNS, typed_frame
from capnb.validation import check_identifier, check_identifier_name

__all__ = ["read_identifiers", "resolve_identifiers"]


def read_identifiers(values: Any, identifier_name: str) -> list[Any]:
    """The raw identifier values of an iterable, a Series, or a CSV/Parquet file.

    A file (or DataFrame) needs a column named ``identifier_name`` (``mobile``...),
    ``identifier`` or ``customer_id``; CSV cells are read as text so leading zeros and ``+``
    survive.
    """
    if isinstance(values, str | os.PathLike):
        path = Path(values).expanduser()
        if not path.is_file():
            raise ValidationError("customer_ids", f"no file at {path}")
        try:
            if path.suffix.lower() == ".parquet":
                values = pd.read_parquet(path)
            else:
                values = pd.read_csv(path, dtype=str, keep_default_na=False,
                                     skipinitialspace=True)
        except (OSError, ValueError) as exc:
            raise ValidationError("customer_ids", f"cannot read {path}: {exc}") from exc
    if isinstance(values, pd.DataFrame):
        column = next((c for c in (identifier_name, "identifier", "customer_id")
                       if c in values.columns), None)
        if column is None:
            raise ValidationError("customer_ids", f"expected a '{identifier_name}', "
                                  "'identifier' or 'customer_id' column (columns: "
                                  f"{', '.join(map(str, values.columns))})")
        values = values[column]
    if isinstance(values, pd.Series):
        return [None if pd.isna(v) else v for v in values.tolist()]
    if isinstance(values, bytes | dict) or not isinstance(values, Iterable):
        raise ValidationError("customer_ids", "must be an iterable of identifiers, a pandas "
                              f"Series, or a path to a CSV/Parquet file, got "
                              f"{type(values).__name__}")
    return list(values)


def _lookup(client: Client, name: str, value: str, source: str, throttle: Throttle | None,
            ) -> tuple[int | None, str | None, str | None, str | None]:
    """(customer id, status, error code, message): status None when resolved."""
    try:
        return client.lookup_customer(name, value, source, throttle=throttle), None, None, None
    except CapnbError as exc:
        failure = failure_fields(exc)
        return None, failure["status"], failure["error_code"], failure["error_message"]


def resolve_identifiers(client: Client, values: Any, identifier_name: str, *,
                        source: str = "INSTORE", workers: int = 8,
                        throttle: Throttle | None = None) -> tuple[list[int], pd.DataFrame]:
    """Resolve identifier values to customer ids with the lookup endpoint.

    Parameters
    ----------
    client : Client
    values : iterable, Series, DataFrame or path
        See :func:`read_identifiers`. Duplicates are looked up once.
    identifier_name : str
        ``mobile``, ``email``, ``externalId``, ``cardnumber`` or ``id``.
    source : str
    workers : int
        Concurrent lookups.
    throttle : RateLimiter, optional

    Returns
    -------
    (list of int, DataFrame)
        The distinct customer ids found, in input order, and a frame with
        ``capnb.schema.CUSTOMER_COLUMNS`` for every value that did not resolve: status
        ``not_found`` (error 8015), ``failed`` (any other error) or ``invalid`` (blank), the
        identifier and its row in ``error_message``; ``customer_id`` is NA.
    """
    name = check_identifier_name(identifier_name)
    source = check_identifier("source", source)
    raw = read_identifiers(values, name)
    problems: list[dict[str, Any]] = []
    distinct: dict[str, int] = {}
    for position, value in enumerate(raw):
        try:
            text = check_identifier("identifier", value)
        except ValidationError:
            problems.append({"status": "invalid", "error_code": "invalid_identifier",
                             "error_message": f"row {position}: blank {name} {value!r}"})
            continue
        distinct.setdefault(text, position)
    texts = list(distinct)

    def one(text: str) -> tuple[int | None, str | None, str | None, str | None]:
        return _lookup(client, name, text, source, throttle)

    if texts:
        with ThreadPoolExecutor(max(1, min(workers, len(texts))),
                                thread_name_prefix="capnb-lookup") as pool:
            answers = list(pool.map(one, texts))
    else:
        answers = []
    ids: list[int] = []
    seen: set[int] = set()
    for text, (customer, status, code, message) in zip(texts, answers, strict=True):
        if customer is None:
            problems.append({"status": status, "error_code": code,
                             "error_message": f"{name} {text} (row {distinct[text]}): "
                                              f"{message}"})
        elif customer not in seen:
            seen.add(customer)
            ids.append(customer)
    frame = typed_frame(pd.DataFrame(problems, columns=["status", "error_code",
                                                        "error_message"]), CUSTOMER_COLUMNS)
    return ids, frame
