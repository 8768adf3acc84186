"""Everything :func:`capnb.analysis.portfolio_frame` needs about a program: its promotions
(the paginated promotions list, parsed, then the program's new-UI promotions from
``GET /v3/promotions``) and, for given customers, one cohort per promotion."""

from __future__ import annotations

from typing import Any

from capnb.api.client import Client
from capnb.api.promotion import parse_promotion
from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort
from capnb.fetch.summaries import fetch_cohort
from capnb.models import Promotion
from capnb.validation import check_bool, check_id

__all__ = ["fetch_program"]


def fetch_program(client: Client, program_id: int | str, *,
                  status: str | list[str] | None = None, customers: Any = None,
                  new_ui: bool = True, **fetch: Any) -> tuple[list[Promotion], dict[int, Cohort]]:
    """Every promotion of a program and, with ``customers``, their cohort in each.

    Parameters
    ----------
    client : Client
    program_id : int
    status : str or list of str, optional
        Only promotions with this status (``LIVE``, ``UPCOMING``, ...).
    customers : ids, Series or CSV/Parquet path, optional
        Fetch the action summaries of these customers for every promotion (``fetch_cohort``;
        other keyword arguments such as ``store`` go to it). Budget usage is exact when they
        are every customer of the program, a lower bound otherwise.
    new_ui : bool
        Also list the program's promotions made in the new UI (``GET /v3/promotions``, with
        ``status``; ``source`` ``"v3 promotions"``, no restrictions: their ``limits[]`` are
        not documented). A cluster without that endpoint (404) lists none.

    Returns
    -------
    (list of Promotion, dict of promotion id -> Cohort)
        The promotions in list order (all pages), then the new-UI ones not already listed; no
        cohorts without ``customers``.

    >>> promotions, cohorts = fetch_program(client, 3334, customers="ids.csv")  # doctest: +SKIP
    >>> capnb.analysis.portfolio_frame(promotions, cohorts)  # doctest: +SKIP
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    program = check_id("program_id", program_id)
    if customers is None and fetch:
        raise ValidationError(next(iter(fetch)), "is a fetch_cohort argument: pass customers "
                              "too")
    promotions = [parse_promotion(item) for item in client.promotion_payloads(program, status)]
    if check_bool("new_ui", new_ui):
        listed = {p.id for p in promotions}
        promotions += [p for p in client.new_ui_promotions(program, status)
                       if p.id is not None and p.id not in listed]
    if customers is None:
        return promotions, {}
    return promotions, {p.id: fetch_cohort(client, customers, program, p.id, **fetch)
                        for p in promotions if p.id is not None}
