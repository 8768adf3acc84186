"""Bodies of the identifier endpoints -> capnb results; pure, no I/O.

``GET /v2/customers/lookup`` -> a customer id (:func:`parse_lookup`), and the v2 action summary
by identifier (``/v2/customers/lookup/customerPromotionDetails/actionSummary``) -> the same
:class:`~capnb.models.ActionSummary` frames as the v3 summary (:func:`parse_v2_action_summary`).

The v2 summary differs from v3 in shape only: ``customerId`` instead of ``entityId``, ISO dates
with offsets, totals as numbers, ``rewards[] {rewardSeriesId, numberOfTimesIssued,
lastIssuedOn}`` and ``badges[] {badgeSeriesId, ...}`` next to (or instead of) ``incentives[]``,
and alternate currencies as ``{alternateCurrencyName, alternateCurrencySubDetails: [...]}``
(also spelled ``alternateCurrenciesSubDetails``). :func:`normalise_v2_summary` rewrites it into
the v3 object so that :func:`capnb.api.summary.summary_rows` does the rest: rewards become
incentive rows with action ``REWARD``, badges ``BADGES``, and each currency one row whose totals
are the sums over its sub-details that record issuance (types ``REDEEMED``, ``EXPIRED``,
``REVERSED`` and ``RETURNED`` are left out), with the latest ``lastIssuedOn``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capnb.api._coerce import (
    as_epoch_ms,
    as_float,
    as_int,
    as_str,
    bad_value,
    keep_item,
    records,
    tag_request_id,
)
from capnb.api.envelope import raise_for_envelope
from capnb.api.summary import build_action_summary
from capnb.errors import ApiError, ResponseFormatError
from capnb.models import ActionSummary

__all__ = ["normalise_v2_summary", "parse_lookup", "parse_v2_action_summary"]

_NOT_ISSUED = frozenset({"REDEEMED", "EXPIRED", "REVERSED", "RETURNED"})
_BENEFIT_LISTS = (("rewards", "REWARD", "rewardSeriesId"), ("badges", "BADGES", "badgeSeriesId"))


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


def _currency(item: Mapping[str, Any]) -> dict[str, Any]:
    if "alternateCurrencyName" not in item and "currencyName" in item:
        return dict(item)  # already the v3 shape
    subs = item.get("alternateCurrencySubDetails", item.get("alternateCurrenciesSubDetails"))
    total, times, last, seen = 0.0, 0, None, False
    for sub in records(subs, "alternateCurrencySubDetails", single_ok=True):
        if type(sub) is not dict and not keep_item(sub, "alternateCurrencySubDetails"):
            continue
        kind = as_str(sub.get("alternateCurrencyType"), "alternateCurrencyType")
        if kind is not None and kind.upper() in _NOT_ISSUED:
            continue
        seen = True
        total += as_float(sub.get("totalIssued"), "totalIssued") or 0.0
        times += as_int(sub.get("numberOfTimesIssued"), "numberOfTimesIssued") or 0
        stamp = as_epoch_ms(sub.get("lastIssuedOn"), "lastIssuedOn")
        if stamp is not None and (last is None or stamp > last):
            last = stamp
    return {"currencyName": item.get("alternateCurrencyName"),
            "totalCurrencyIssued": total if seen else None,
            "numberOfTimesIssued": times if seen else None, "lastIssuedOn": last}


def normalise_v2_summary(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite a v2 summary object into the v3 one (``entityId``, ``incentives``, flat
    ``alternateCurrencies``); values are checked later by :func:`capnb.api.summary.summary_rows`.

    >>> normalise_v2_summary({"customerId": 7, "rewards": [{"rewardSeriesId": "9",
    ...     "numberOfTimesIssued": 2, "lastIssuedOn": None}]})["incentives"][0]["action"]
    'REWARD'
    """
    if not isinstance(obj, Mapping):
        bad_value("summary: expected an object", obj)
    incentives = list(records(obj.get("incentives"), "incentives"))
    for key, action, id_key in _BENEFIT_LISTS:
        for item in records(obj.get(key), key):
            if type(item) is not dict and not keep_item(item, key):
                continue
            count = item.get("numberOfTimesIssued", item.get("actionIssuedCount"))
            incentives.append({"activityId": item.get("activityId"), "action": action,
                               "actionId": item.get(id_key, item.get("actionId")),
                               "actionIssuedCount": count,
                               "lastIssuedOn": item.get("lastIssuedOn")})
    currencies = [_currency(item) for item in records(obj.get("alternateCurrencies"),
                                                        "alternateCurrencies")
                  if type(item) is dict or keep_item(item, "alternateCurrencies")]
    customer = obj.get("entityId")
    return {"orgId": obj.get("orgId"),
            "entityId": obj.get("customerId") if customer is None else customer,
            "programId": obj.get("programId"), "promotionId": obj.get("promotionId"),
            "incentives": incentives, "points": obj.get("points"),
            "alternateCurrencies": currencies}


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
