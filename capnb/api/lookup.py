"""Bodies of the identifier endpoints -> capnb results; pure, no I/O.

``GET /v2/customers/lookup`` -> a customer id (:func:`parse_lookup`), and the v2 action summary
by identifier (``/v2/customers/lookup/customerPromotionDetails/actionSummary``) -> the same
:class:`~capnb.models.ActionSummary` frames as the v3 summary (:func:`parse_v2_action_summary`).

The v2 summary differs from v3 in shape only: ``customerId`` instead of ``entityId``, ISO dates
with offsets, totals as numbers, ``rewards[] {rewardSeriesId, numberOfTimesIssued,
lastIssuedOn}`` and ``badges[] {badgeSeriesId, ...}`` next to (or instead of) ``incentives[]``,
and alternate currencies as ``{alternateCurrencyName, alternateCurrencySubDetails: [...]}``
(also spelled ``alternateCurrenciesSubDetails``). :func:`normalise_v2_summary` (defined in
:mod:`capnb.api.summary`, which applies it to any summary in this shape) rewrites it into
the v3 object so that :func:`capnb.api.summary.summary_rows` does the rest: rewards become
incentive rows with action ``REWARD``, badges ``BADGES``, and each currency one row whose totals
are the sums over its sub-details that record issuance (types ``REDEEMED``, ``EXPIRED``,
``REVERSED`` and ``RETURNED`` are left out), with the latest ``lastIssuedOn``.
"""

from __future__ import annotations

from typing import Any

from capnb.api._coerce import (
    as_int,
    bad_value,
    tag_request_id,
)
from capnb.api.envelope import raise_for_envelope
from capnb.api.summary import build_action_summary, normalise_v2_summary
from capnb.errors import ApiError, ResponseFormatError
from capnb.models import ActionSummary

__all__ = ["parse_lookup", "parse_v2_action_summary"]


def parse_lookup(payload: Any, *, request_id: str | None = None) -> int:
    """The customer id of a ``/v2/customers/lookup`` answer (``{"entity": id, ...}``).

    ``entity`` may be the id (number or digit string) or an object holding ``id``; a v3-style
    ``{"data": {...}}`` wrapper is accepted too.

    Raises
    ------
    CustomerNotFound
        Error 8015 (or another ``ApiError`` the body describes).
    ResponseFormatError
        No usable ``entity``.
    """
    try:
        raise_for_envelope(payload, request_id=request_id)
        if not isinstance(payload, dict):
            bad_value("lookup: expected a JSON object", payload)
        body = payload.get("data") if isinstance(payload.get("data"), dict) else payload
        entity = body.get("entity", body.get("customerId"))
        if isinstance(entity, dict):
            entity = entity.get("id", entity.get("customerId"))
        customer_id = as_int(entity, "entity")
        if customer_id is None or customer_id <= 0:
            bad_value("lookup: no customer id in entity", payload)
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return customer_id


def parse_v2_action_summary(payload: Any, *, request_id: str | None = None) -> ActionSummary:
    """Parse a v2 action summary (by identifier) into the v3 :class:`ActionSummary` frames.

    Returns
    -------
    ActionSummary
        ``incentives`` (rewards, badges and other incentive actions), ``points`` and
        ``alternate_currencies`` with the columns of :func:`capnb.api.summary.frames_from_rows`;
        ``customer_id`` from ``customerId``; ``empty`` when nothing was issued or warning 8116
        came; ``raw`` is the v2 object as received.

    Raises
    ------
    ApiError
        8015 (``CustomerNotFound``), 8874 (``PromotionNotFound``), 8883 (``BadRequest``)...
    ResponseFormatError
        A value of the wrong type.
    """
    return build_action_summary(payload, request_id=request_id, normalise=normalise_v2_summary)
