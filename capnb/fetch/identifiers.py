"""Resolving customer identifiers (mobile numbers, emails, external ids...) to customer ids.

Analysts rarely start from internal ids: :func:`resolve_identifiers` reads the values with
:func:`capnb.fetch.inputs.read_identifiers`, looks each distinct one up with
``GET /v2/customers/lookup`` through :func:`capnb.fetch.pool.fan_out` (a bounded pool of
threads, sharing the client's connection pool and an optional rate limiter) and reports every
value it could not resolve, so that :func:`capnb.fetch.summaries.fetch_cohort`
(``identifier="mobile"``) never drops a row silently.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from capnb.api.client import Client, Throttle
from capnb.errors import ValidationError
from capnb.fetch.inputs import read_identifiers
from capnb.fetch.pool import Outcome, fan_out
from capnb.schema import CUSTOMER_COLUMNS, typed_frame
from capnb.validation import check_identifier, check_identifier_name

__all__ = ["resolve_identifiers"]


def resolve_identifiers(client: Client, values: Any, identifier_name: str, *,
                        source: str = "INSTORE", workers: int = 8,
                        throttle: Throttle | None = None) -> tuple[list[int], pd.DataFrame]:
    """Resolve identifier values to customer ids with the lookup endpoint.

    Parameters
    ----------
    client : Client
    values : iterable, Series, DataFrame or path
        See :func:`capnb.fetch.inputs.read_identifiers`. Duplicates are looked up once.
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
    answers: dict[str, Outcome[str, int]] = {}

    def lookup(text: str) -> int:
        return client.lookup_customer(name, text, source, throttle=throttle)

    fan_out(list(distinct), lookup, lambda outcome: answers.setdefault(outcome.item, outcome),
            workers=workers, name="capnb-lookup", on_stop=client.cancel)
    ids: list[int] = []
    seen: set[int] = set()
    for text, row in distinct.items():
        answer = answers[text]
        if answer.error is not None:
            failure = answer.failure()
            problems.append({"status": failure["status"], "error_code": failure["error_code"],
                             "error_message": f"{name} {text} (row {row}): "
                                              f"{failure['error_message']}"})
        elif answer.result not in seen:
            seen.add(answer.result)
            ids.append(answer.result)
    frame = typed_frame(pd.DataFrame(problems, columns=["status", "error_code",
                                                        "error_message"]), CUSTOMER_COLUMNS)
    return ids, frame
