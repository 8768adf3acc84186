"""The ``actionSummary`` body -> :class:`~capnb.models.ActionSummary`; pure, no I/O.

:func:`parse_action_summary` reads one body (bare, v3 or api_gateway envelope; values as
:mod:`capnb.api._coerce` reads them). Null or missing lists give empty frames with the schema's
columns, enum-like strings are kept verbatim and unknown fields ignored. For many summaries,
:func:`summary_rows` and :func:`frames_from_rows` batch them into one set of frames without
per-row pandas work; :func:`build_action_summary` serves the v2 summary too (one ``normalise``
step first). The v2 benefits shape (``rewards``, ``badges``, currencies with sub-details; see
:mod:`capnb.api.lookup`) is recognised wherever it comes and rewritten by
:func:`normalise_v2_summary`, so it never gives a NaN row. An ``actionId`` spelled as an
integral decimal (``"118221.0"``) is read as ``"118221"`` in both shapes, so v2 and v3 frames
join; a list item with none of its documented fields is a ``ResponseFormatError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from capnb.api._coerce import (
    INT64_BOUND,
    ISSUED_MAX_MS,
    ISSUED_MIN_MS,
    as_count,
    as_float,
    as_id,
    as_int,
    as_issued_ms,
    as_str,
    bad_value,
    keep_item,
    records,
    tag_request_id,
)
from capnb.api._frames import Row, rows_frame
from capnb.api.envelope import NO_SUMMARY_CODE, unwrap_summary
from capnb.errors import ApiError, ResponseFormatError
from capnb.models import ActionSummary, ApiWarning
from capnb.schema import CURRENCY_COLUMNS, INCENTIVE_COLUMNS, POINTS_COLUMNS

__all__ = [
    "build_action_summary",
    "check_summary_ids",
    "frames_from_rows",
    "normalise_v2_summary",
    "parse_action_summary",
    "summary_is_empty",
    "summary_rows",
]

_I64 = INT64_BOUND
_MIN_MS, _MAX_MS = ISSUED_MIN_MS, ISSUED_MAX_MS
_V2_CURRENCY_KEYS = ("alternateCurrencyName", "alternateCurrencySubDetails",
                     "alternateCurrenciesSubDetails")
_NOT_ISSUED = frozenset({"REDEEMED", "EXPIRED", "REVERSED", "RETURNED"})
_BENEFIT_LISTS = (("rewards", "REWARD", "rewardSeriesId"), ("badges", "BADGES", "badgeSeriesId"))


def _summary_ids(obj: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    customer, program, promotion = obj.get("entityId"), obj.get("programId"), obj.get("promotionId")
    if type(customer) is int and type(program) is int and type(promotion) is int \
            and -_I64 <= customer < _I64 and -_I64 <= program < _I64 and -_I64 <= promotion < _I64:
        return customer, program, promotion
    return (as_int(obj.get("customerId") if customer is None else customer, "entityId"),
            as_int(program, "programId"), as_int(promotion, "promotionId"))


def check_summary_ids(obj: Mapping[str, Any], customer_id: int | None = None,
                      program_id: int | None = None, promotion_id: int | None = None, *,
                      request_id: str | None = None) -> None:
    """Raise :class:`~capnb.errors.ResponseFormatError` when the summary ``obj`` names another
    customer (``entityId``/``customerId``), ``programId`` or ``promotionId`` than the request's
    (ids that either side leaves out are not compared): its rows belong to someone else."""
    named = _summary_ids(obj)
    for what, got, wanted in zip(("customer", "programId", "promotionId"), named,
                                 (customer_id, program_id, promotion_id), strict=True):
        if got is not None and wanted is not None and got != wanted:
            raise ResponseFormatError(f"the answer is the summary of {what} {got}, not of the "
                                      f"{what} {wanted} asked for", request_id=request_id)


# The hot loops below test the documented types inline and convert only when they differ: the
# benchmark parses 100,000 summaries, and a function call per value doubles the time.

def _incentive_rows(items: list[Any], ids: Row) -> list[Row]:
    rows = []
    customer, program, promotion = ids
    for item in items:
        if type(item) is not dict and not keep_item(item, "incentives"):
            continue
        get = item.get
        activity, action, action_id, count, last = (
            get("activityId"), get("action"), get("actionId"), get("actionIssuedCount"),
            get("lastIssuedOn"))
        if not (type(action) is str and type(action_id) is str and type(count) is int
                and type(last) is int and (activity is None or type(activity) is str)
                and -_I64 <= count < _I64 and _MIN_MS <= last < _MAX_MS and "." not in action_id):
            activity, action, action_id = (as_str(activity, "activityId"),
                                           as_str(action, "action"),
                                           as_id(action_id, "actionId"))
            count = as_count(count, "actionIssuedCount")
            last = as_issued_ms(last, "lastIssuedOn")
            if action is None and action_id is None and count is None and last is None:
                bad_value("incentives: an item with no documented field", item)
        rows.append((customer, program, promotion, activity, action, action_id, count, last))
    return rows


def _amount_rows(items: list[Any], ids: Row, name_key: str, total_key: str, what: str,
                 ) -> list[Row]:
    rows = []
    customer, program, promotion = ids
    for item in items:
        if type(item) is not dict and not keep_item(item, what):
            continue
        get = item.get
        name, times, last = get(name_key), get("numberOfTimesIssued"), get("lastIssuedOn")
        if not (type(name) is str and type(times) is int and type(last) is int
                and -_I64 <= times < _I64 and _MIN_MS <= last < _MAX_MS):
            name, times = as_str(name, name_key), as_count(times, "numberOfTimesIssued")
            last = as_issued_ms(last, "lastIssuedOn")
        total = as_float(get(total_key), total_key)
        if name is None and total is None and times is None and last is None:
            bad_value(f"{what}: an item with no documented field", item)
        rows.append((customer, program, promotion, name, total, times, last))
    return rows


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
        times += as_count(sub.get("numberOfTimesIssued"), "numberOfTimesIssued") or 0
        stamp = as_issued_ms(sub.get("lastIssuedOn"), "lastIssuedOn")
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


def _is_v2(obj: Mapping[str, Any]) -> bool:
    """True for the v2 benefits shape (``rewards``, ``badges`` or v2 currency objects)."""
    if "rewards" in obj or "badges" in obj:
        return True
    currencies = obj.get("alternateCurrencies")
    return type(currencies) is list and any(
        type(item) is dict and "currencyName" not in item
        and any(key in item for key in _V2_CURRENCY_KEYS) for item in currencies)


def summary_rows(obj: Mapping[str, Any]) -> tuple[list[Row], list[Row], list[Row]]:
    """Rows of one unwrapped summary object, as plain tuples for :func:`frames_from_rows`.

    Parameters
    ----------
    obj : dict
        A summary object, as returned by :func:`capnb.api.envelope.unwrap_summary`.

    Returns
    -------
    (list of tuple, list of tuple, list of tuple)
        Incentive, points and alternate-currency rows, each tuple in the column order of
        ``schema.INCENTIVE_COLUMNS``, ``POINTS_COLUMNS`` and ``CURRENCY_COLUMNS``; values are
        int, float, str or None, and ``last_issued_on`` is epoch milliseconds (int) or None.

    Raises
    ------
    ResponseFormatError
        A list or a value of the wrong type.
    """
    if type(obj) is not dict and not isinstance(obj, Mapping):
        bad_value("summary: expected an object", obj)
    if _is_v2(obj):
        obj = normalise_v2_summary(obj)
    ids = _summary_ids(obj)
    get = obj.get
    return (_incentive_rows(records(get("incentives"), "incentives"), ids),
            _amount_rows(records(get("points"), "points"), ids, "pointsCategory",
                         "totalPointsIssued", "points"),
            _amount_rows(records(get("alternateCurrencies"), "alternateCurrencies"), ids,
                         "currencyName", "totalCurrencyIssued", "alternateCurrencies"))


def frames_from_rows(incentive_rows: Sequence[Row], points_rows: Sequence[Row],
                     currency_rows: Sequence[Row],
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Build the three typed frames from :func:`summary_rows` rows of any number of summaries.

    Returns
    -------
    (DataFrame, DataFrame, DataFrame)
        Exactly the ``schema`` columns and dtypes, even with no rows. Incentives:
        ``customer_id, program_id, promotion_id`` (Int64), ``activity_id, action, action_id``
        (str), ``issued_count`` (Int64), ``last_issued_on`` (datetime64[us, UTC]). Points: the
        three ids, ``points_category`` (str), ``total_points`` (float64), ``times_issued``
        (Int64), ``last_issued_on``. Alternate currencies: the three ids, ``currency_name``
        (str), ``total_issued`` (float64), ``times_issued`` (Int64), ``last_issued_on``.
    """
    return (rows_frame(incentive_rows, INCENTIVE_COLUMNS),
            rows_frame(points_rows, POINTS_COLUMNS),
            rows_frame(currency_rows, CURRENCY_COLUMNS))


def parse_action_summary(payload: Any, *, request_id: str | None = None,
                         customer_id: int | None = None, program_id: int | None = None,
                         promotion_id: int | None = None) -> ActionSummary:
    """Parse an ``actionSummary`` body: bare, v3 or api_gateway envelope; dict, str or bytes.

    ``customer_id``, ``program_id`` and ``promotion_id``, when given, are the request's: an
    answer naming other ids raises (see :func:`check_summary_ids`).

    Returns
    -------
    ActionSummary
        ``incentives``, ``points`` and ``alternate_currencies`` with the columns listed in
        :func:`frames_from_rows`; ``warnings`` from envelope and object (8116, no summary, is a
        warning, not an error); ``empty`` True when there is no row at all or warning 8116
        came (the rows, if any, are kept).

    Raises
    ------
    ResponseFormatError, ApiError
        As :func:`capnb.api.envelope.unwrap_summary`, :func:`summary_rows` and
        :func:`check_summary_ids`.
    """
    return build_action_summary(payload, request_id=request_id, customer_id=customer_id,
                                program_id=program_id, promotion_id=promotion_id)


def summary_is_empty(rows: tuple[list[Row], list[Row], list[Row]],
                     warnings: list[ApiWarning], obj: Mapping[str, Any] | None = None) -> bool:
    """True when a summary has no rows at all or carries warning 8116 (no summary).

    "No benefits" needs evidence: warning 8116, or (with ``obj``, the unwrapped object) the
    summary's documented ids ``entityId`` (or ``customerId``), ``programId`` and ``promotionId``
    next to the absent or empty lists. A rowless ``obj`` with neither (``{}``, a promotion,
    snake_case keys) raises :class:`~capnb.errors.ResponseFormatError`: it is not a summary.
    """
    if any(rows):
        return any(w.code == NO_SUMMARY_CODE for w in warnings)
    if obj is not None and not any(w.code == NO_SUMMARY_CODE for w in warnings) and (
            obj.get("promotionId") is None or obj.get("programId") is None
            or (obj.get("entityId") is None and obj.get("customerId") is None)):
        bad_value("body: not an action summary (no benefit rows, no warning 8116 and not the "
                  "entityId, programId and promotionId of one)", obj)
    return True


def build_action_summary(payload: Any, *, request_id: str | None = None,
                         normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                         customer_id: int | None = None, program_id: int | None = None,
                         promotion_id: int | None = None) -> ActionSummary:
    """:func:`parse_action_summary`, with ``normalise`` turning the unwrapped object into the v3
    shape first (the v2 lookup endpoints send the same data in another shape)."""
    try:
        obj, warnings = unwrap_summary(payload, request_id=request_id)
        summary = normalise(obj) if normalise is not None else obj
        check_summary_ids(summary, customer_id, program_id, promotion_id)
        rows = summary_rows(summary)
        customer_id, program_id, promotion_id = _summary_ids(summary)
        org_id = as_int(obj.get("orgId"), "orgId")
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    incentives, points, currencies = frames_from_rows(*rows)
    return ActionSummary(org_id=org_id, customer_id=customer_id, program_id=program_id,
                         promotion_id=promotion_id, incentives=incentives, points=points,
                         alternate_currencies=currencies,
                         empty=summary_is_empty(rows, warnings, summary),
                         warnings=warnings, request_id=request_id, raw=obj)
