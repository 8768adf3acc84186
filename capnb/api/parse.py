"""JSON bodies of the two Capillary endpoints -> capnb result objects; pure, no I/O.

``actionSummary`` -> :class:`~capnb.models.ActionSummary`, promotion-by-id ->
:class:`~capnb.models.Promotion`, from the bare object, the v3 envelope ``{"data": {...},
"errors", "warnings"}`` or the api_gateway one ``{"status", "validationErrors", "data": [{...}]}``.
Error bodies raise an :class:`~capnb.errors.ApiError` (:func:`raise_for_envelope`); any other
departure from the documented shape raises :class:`~capnb.errors.ResponseFormatError`.

Values: ids, counts and limits accept an int, an integral float (``1.0``) or a numeric string
(``"113336.0"``), and reject bools, ``1.5``, NaN/inf, other strings and values beyond int64
(negative values are kept; ``""`` is missing). Totals accept decimal strings or numbers.
Timestamps accept epoch ms (number or digits) or ISO 8601 (naive = UTC); sentinels beyond
pandas' range become NaT. Enum-like strings are kept verbatim, unknown fields ignored, and null
or missing lists give empty frames with the schema's columns. :func:`summary_rows` and
:func:`frames_from_rows` batch many summaries into one set of frames without per-row pandas work.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from capnb.errors import ApiError, ResponseFormatError, api_error_class
from capnb.models import ActionSummary, ApiWarning, Promotion
from capnb.restrictions import legacy_limit
from capnb.schema import (  # _MIN_MS/_MAX_MS: epoch_ms_to_utc's NaT bounds, defined once
    _MAX_MS,
    _MIN_MS,
    ACTION_COLUMNS,
    CURRENCY_COLUMNS,
    INCENTIVE_COLUMNS,
    POINTS_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    UTC_TIMESTAMP,
)

__all__ = [
    "NO_SUMMARY_CODE",
    "frames_from_rows",
    "parse_action_summary",
    "parse_promotion",
    "raise_for_envelope",
    "summary_rows",
    "unwrap_summary",
]

NO_SUMMARY_CODE = 8116
_OK_STATUS = (200, 201)
_I64 = 2**63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_FAMILIES = ("redemption", "issual", "earn", "expiry")
_BOOLS = (bool, np.bool_)
_NUMBERS = (int, float, np.integer, np.floating)
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80

Row = tuple[Any, ...]


# -- scalars -------------------------------------------------------------------------------------

def _excerpt(value: Any) -> str:
    if isinstance(value, str):
        return value[:120]
    if isinstance(value, bytes | bytearray):
        return bytes(value[:120]).decode(errors="replace")
    try:
        return _REPR.repr(value)[:120]
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__}>"


def _bad(what: str, value: Any) -> NoReturn:
    raise ResponseFormatError(f"unexpected {what}", excerpt=_excerpt(value))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value: Any, what: str) -> int | None:
    """An id, count or limit as an int in int64 range (rules in the module docstring)."""
    if type(value) is int and -_I64 <= value < _I64:
        return value
    if _blank(value):
        return None
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            _bad(f"{what}: not a number", value)
    elif isinstance(value, _BOOLS) or not isinstance(value, _NUMBERS):
        _bad(f"{what}: expected a number", value)
    try:  # NaN/inf and 1.5 fail here; Decimal NaN raises InvalidOperation (an ArithmeticError)
        if -_I64 <= value < _I64 and value == int(value):
            return int(value)
    except (ArithmeticError, ValueError):
        pass
    _bad(f"{what}: not an integer in int64 range", value)


def _float(value: Any, what: str) -> float | None:
    """A total such as ``"1234.000"`` or ``1234`` as a finite float."""
    if type(value) is str or (isinstance(value, _NUMBERS + (str,))
                              and not isinstance(value, _BOOLS)):
        try:
            number = float(value)
        except ValueError:
            if _blank(value):
                return None
            _bad(f"{what}: not a number", value)
        except OverflowError:
            _bad(f"{what}: not a finite number", value)
        if number - number == 0.0:  # not inf or NaN
            return number
        _bad(f"{what}: not a finite number", value)
    if value is None:
        return None
    _bad(f"{what}: expected a number", value)


def _str(value: Any, what: str) -> str | None:
    """A string; a number (an id sent as a number) becomes its integer spelling."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, _NUMBERS) and not isinstance(value, _BOOLS):
        return str(_int(value, what))  # 5231232.0 -> "5231232"; 1.5 and NaN are rejected
    _bad(f"{what}: expected a string", value)


def _bool(value: Any, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    _bad(f"{what}: expected true or false", value)


def _ms(value: Any, what: str) -> int | None:
    """Epoch milliseconds from ms or ISO 8601; None when missing or beyond int64 (sentinels)."""
    if type(value) is int:
        return value if -_I64 <= value < _I64 else None
    if _blank(value):
        return None
    if isinstance(value, _BOOLS) or not isinstance(value, _NUMBERS + (str,)):
        _bad(f"{what}: expected epoch milliseconds or an ISO 8601 string", value)
    if not isinstance(value, str):
        number = float(value)
        return round(number) if abs(number) < 2**62 else None  # NaN fails the test too
    text = value.strip()
    if text.removeprefix("-").isdecimal():
        return _ms(int(text), what) if len(text) < 20 else None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _bad(f"{what}: not a date", value)
    if moment.tzinfo is None:  # the docs never show one; assume UTC rather than guess a cluster
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


def _code(value: Any) -> int | str | None:
    """An error/warning code: int, a string such as ``"COMMON.INVALID_INPUT"``, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().removeprefix("-").isdecimal():
        return int(value) if len(value) < 30 else value
    if isinstance(value, int | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _excerpt(value)


def _message(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else _excerpt(value))


# -- envelopes -----------------------------------------------------------------------------------

def _entries(value: Any, *, nested: bool = False) -> list[tuple[int | str | None, str]]:
    """``(code, message)`` pairs of an ``errors``, ``validationErrors`` or ``warnings`` value:
    a list, one ``{code, message}`` object, a ``{field: message}`` object or a string."""
    if isinstance(value, list) and not nested:
        return [pair for item in value for pair in _entries(item, nested=True)]
    if isinstance(value, dict):
        if "code" in value or "message" in value:
            return [(_code(value.get("code")), _message(value.get("message")))]
        return [(None, f"{key}: {_message(text)}") for key, text in value.items()]
    if isinstance(value, str):
        return [(None, value)] if value else []
    if value is None or isinstance(value, bool | int | float):
        return []  # null, false or a bare number carries no message
    return [(None, _excerpt(value))]


def _raise(entries: list[tuple[int | str | None, str]], lookup: int | None,
           http_status: int | None, request_id: str | None) -> NoReturn:
    code = entries[0][0]
    message = "; ".join(m for _, m in entries[:5] if m) or f"API error {code}"
    raise api_error_class(code, lookup)(message, code=code, http_status=http_status,
                                        request_id=request_id)


def _lookup(code: int | str | None, http_status: int | None) -> int | None:
    """The status that picks the error class: an HTTP-like code in a body that came with a
    success status (500 inside an HTTP 200) says more than the HTTP status does."""
    failing = http_status is not None and http_status >= 400
    if isinstance(code, int) and 100 <= code <= 599 and not failing:
        return code
    return http_status


def raise_for_envelope(payload: Any, *, http_status: int | None = None,
                       request_id: str | None = None) -> None:
    """Raise the ``ApiError`` an error body describes; do nothing when it describes none.

    Errors recognised, in order: a non-empty ``errors`` (v2/v3) when ``data`` is null, empty or
    missing, or whatever ``data`` holds when ``http_status`` >= 400; an api_gateway
    ``status.code`` other than 200/201 (in both, an HTTP-like code such as 500 chooses the
    class when the HTTP status says success); a non-empty ``validationErrors`` (classed as a
    400 unless ``http_status`` says otherwise). The first entry gives ``code``; messages are joined.

    Parameters
    ----------
    payload : dict
        The decoded body; anything else is ignored.
    http_status : int, optional
        HTTP status of the response; stored on the error and used to choose its class.
    request_id : str, optional
        The ``X-Cap-Requestid`` header, stored on the error.

    Raises
    ------
    ApiError
        The subclass :func:`capnb.errors.api_error_class` gives for the code and status.
    """
    if not isinstance(payload, dict):
        return
    failing = http_status is not None and http_status >= 400
    get = payload.get
    errors, status, invalid = get("errors"), get("status"), get("validationErrors")
    errors = _entries(errors) if errors else []  # falsy values carry no entry anyway
    if errors and (failing or not get("data")):
        _raise(errors, _lookup(errors[0][0], http_status), http_status, request_id)
    code = _code(status.get("code")) if isinstance(status, dict) else None
    if code is not None and code not in _OK_STATUS:
        _raise([(code, _message(status.get("message")))], _lookup(code, http_status),
               http_status, request_id)
    invalid = _entries(invalid) if invalid else []
    if invalid:
        _raise(invalid, http_status if failing else 400, http_status, request_id)


def _warnings(value: Any) -> list[ApiWarning]:
    return [ApiWarning(code, message) for code, message in _entries(value)] if value else []


def unwrap_summary(payload: Any, *, request_id: str | None = None,
                   ) -> tuple[dict[str, Any], list[ApiWarning]]:
    """Return the object inside any accepted envelope, and every warning found on the way.

    Also used for promotions: api_gateway's one-item ``data`` list is unwrapped the same way.

    Parameters
    ----------
    payload : dict, str or bytes
        The body, decoded or not.
    request_id : str, optional
        Stored on any error raised.

    Returns
    -------
    (dict, list of ApiWarning)
        The object (``{}`` when ``data`` is null next to warning 8116), then the warnings of
        the envelope and of the object (strings and ``{code, message}`` objects alike), and
        any ``errors`` that came next to non-null data.

    Raises
    ------
    ResponseFormatError
        Invalid JSON, not an object, or ``data`` neither an object nor a one-object list.
    ApiError
        An error envelope (see :func:`raise_for_envelope`).
    """
    if type(payload) is not dict and isinstance(payload, (str, bytes, bytearray)):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise ResponseFormatError(f"invalid JSON ({type(exc).__name__})",
                                      request_id=request_id, excerpt=_excerpt(payload)) from exc
    if not isinstance(payload, dict):
        _bad("body: expected a JSON object", payload)
    raise_for_envelope(payload, request_id=request_id)
    warnings, errors = payload.get("warnings"), payload.get("errors")
    warnings = _warnings(warnings) + _warnings(errors) if warnings or errors else []
    if "data" not in payload:
        return payload, warnings
    data = payload["data"]
    if isinstance(data, list):
        if len(data) != 1:
            _bad(f"data: expected one object, got a list of {len(data)}", data)
        data = data[0]
    if data is None and any(w.code == NO_SUMMARY_CODE for w in warnings):
        return {}, warnings
    if not isinstance(data, dict):
        _bad("data: expected an object", data)
    inner = data.get("warnings")
    return data, warnings + _warnings(inner) if inner else warnings


# -- action summary ------------------------------------------------------------------------------

def _records(value: Any, what: str, *, single_ok: bool = False) -> list[Any]:
    """A list field (null = empty; one object where the docs say "Object" when ``single_ok``);
    callers test each item with ``type(item) is dict or _item(item, what)``."""
    if type(value) is list:
        return value
    if value is None or (single_ok and isinstance(value, dict)):
        return [] if value is None else [value]
    _bad(f"{what}: expected a list", value)


def _item(item: Any, what: str) -> bool:
    """False for a null item (skipped); raises for anything but an object."""
    if item is None:
        return False
    _bad(f"{what}: expected a list of objects", item)


def _summary_ids(obj: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    customer, program, promotion = obj.get("entityId"), obj.get("programId"), obj.get("promotionId")
    if type(customer) is int and type(program) is int and type(promotion) is int \
            and -_I64 <= customer < _I64 and -_I64 <= program < _I64 and -_I64 <= promotion < _I64:
        return customer, program, promotion
    return (_int(obj.get("customerId") if customer is None else customer, "entityId"),
            _int(program, "programId"), _int(promotion, "promotionId"))


# The hot loops below test the documented types inline and convert only when they differ: the
# benchmark parses 100,000 summaries, and a function call per value doubles the time.

def _incentive_rows(items: list[Any], ids: Row) -> list[Row]:
    rows = []
    customer, program, promotion = ids
    for item in items:
        if type(item) is not dict and not _item(item, "incentives"):
            continue
        get = item.get
        activity, action, action_id, count, last = (
            get("activityId"), get("action"), get("actionId"), get("actionIssuedCount"),
            get("lastIssuedOn"))
        if not (type(action) is str and type(action_id) is str and type(count) is int
                and type(last) is int and (activity is None or type(activity) is str)
                and -_I64 <= count < _I64 and -_I64 <= last < _I64):
            activity, action, action_id = (_str(activity, "activityId"), _str(action, "action"),
                                           _str(action_id, "actionId"))
            count, last = _int(count, "actionIssuedCount"), _ms(last, "lastIssuedOn")
        rows.append((customer, program, promotion, activity, action, action_id, count, last))
    return rows


def _amount_rows(items: list[Any], ids: Row, name_key: str, total_key: str, what: str,
                 ) -> list[Row]:
    rows = []
    customer, program, promotion = ids
    for item in items:
        if type(item) is not dict and not _item(item, what):
            continue
        get = item.get
        name, times, last = get(name_key), get("numberOfTimesIssued"), get("lastIssuedOn")
        if not (type(name) is str and type(times) is int and type(last) is int
                and -_I64 <= times < _I64 and -_I64 <= last < _I64):
            name, times = _str(name, name_key), _int(times, "numberOfTimesIssued")
            last = _ms(last, "lastIssuedOn")
        total = _float(get(total_key), total_key)
        rows.append((customer, program, promotion, name, total, times, last))
    return rows


def summary_rows(obj: Mapping[str, Any]) -> tuple[list[Row], list[Row], list[Row]]:
    """Rows of one unwrapped summary object, as plain tuples for :func:`frames_from_rows`.

    Parameters
    ----------
    obj : dict
        A summary object, as returned by :func:`unwrap_summary`.

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
        _bad("summary: expected an object", obj)
    ids = _summary_ids(obj)
    get = obj.get
    return (_incentive_rows(_records(get("incentives"), "incentives"), ids),
            _amount_rows(_records(get("points"), "points"), ids, "pointsCategory",
                         "totalPointsIssued", "points"),
            _amount_rows(_records(get("alternateCurrencies"), "alternateCurrencies"), ids,
                         "currencyName", "totalCurrencyIssued", "alternateCurrencies"))


def _utc_column(millis: np.ndarray) -> pd.arrays.DatetimeArray:
    """Float epoch ms (NaN = missing) -> datetime64[us, UTC], as ``schema.epoch_ms_to_utc``."""
    valid = (millis >= _MIN_MS) & (millis <= _MAX_MS)  # float64 is exact below 2**53 ms
    stamps = (np.where(valid, millis, 0).astype(np.int64) * 1000).view("datetime64[us]")
    stamps[~valid] = np.datetime64("NaT")
    return pd.array(stamps).tz_localize("UTC")


def _column(rows: Sequence[Row], index: int, dtype: str) -> Any:
    """One typed column of ``rows``, read straight from the tuples where numpy can."""
    n, field = len(rows), itemgetter(index)
    if dtype == "Int64":
        try:
            return pd.arrays.IntegerArray(np.fromiter(map(field, rows), np.int64, count=n),
                                          np.zeros(n, dtype=bool))
        except TypeError:  # some values are None
            values = list(map(field, rows))
            mask = np.array([v is None for v in values], dtype=bool)
            data = np.array([0 if v is None else v for v in values], dtype=np.int64)
            return pd.arrays.IntegerArray(data, mask)
    if dtype in ("float64", UTC_TIMESTAMP):  # None -> NaN
        numbers = np.fromiter(map(field, rows), np.float64, count=n)
        return numbers if dtype == "float64" else _utc_column(numbers)
    values = list(map(field, rows))
    if dtype == "object":  # filled item by item so that dicts stay whole
        column = np.empty(n, dtype=object)
        column[:] = values
        return column
    if dtype != "str":
        return pd.array(values, dtype=dtype)
    try:  # through pyarrow: three times faster than from a list of str
        return pd.array(pa.array(values, type=pa.large_string()), dtype=dtype)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" is valid JSON): keep the rest
        values = [v if v is None else _SURROGATE.sub("\ufffd", v) for v in values]
        return pd.array(pa.array(values, type=pa.large_string()), dtype=dtype)


def _frame(rows: Sequence[Row], columns: Mapping[str, str]) -> pd.DataFrame:
    if set(map(len, rows)) - {len(columns)}:
        raise ValueError(f"every row must have {len(columns)} fields: {', '.join(columns)}")
    # one pass per column: zip(*rows) would allocate an iterator per row, and on 10**6 rows
    # the garbage collector then walks the whole heap again and again
    return pd.DataFrame({name: _column(rows, i, dtype)
                         for i, (name, dtype) in enumerate(columns.items())})


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
    return (_frame(incentive_rows, INCENTIVE_COLUMNS), _frame(points_rows, POINTS_COLUMNS),
            _frame(currency_rows, CURRENCY_COLUMNS))


def _tag(exc: ResponseFormatError | ApiError, request_id: str | None) -> None:
    if exc.request_id is None:
        exc.request_id = request_id


def parse_action_summary(payload: Any, *, request_id: str | None = None) -> ActionSummary:
    """Parse an ``actionSummary`` body: bare, v3 or api_gateway envelope; dict, str or bytes.

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
        As :func:`unwrap_summary` and :func:`summary_rows`.
    """
    return build_action_summary(payload, request_id=request_id)


def summary_is_empty(rows: tuple[list[Row], list[Row], list[Row]],
                     warnings: list[ApiWarning]) -> bool:
    """True when a summary has no rows at all or carries warning 8116 (no summary)."""
    return not any(rows) or any(w.code == NO_SUMMARY_CODE for w in warnings)


def build_action_summary(payload: Any, *, request_id: str | None = None,
                         normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                         ) -> ActionSummary:
    """:func:`parse_action_summary`, with ``normalise`` turning the unwrapped object into the v3
    shape first (the v2 lookup endpoints send the same data in another shape)."""
    try:
        obj, warnings = unwrap_summary(payload, request_id=request_id)
        summary = normalise(obj) if normalise is not None else obj
        rows = summary_rows(summary)
        customer_id, program_id, promotion_id = _summary_ids(summary)
        org_id = _int(obj.get("orgId"), "orgId")
    except (ResponseFormatError, ApiError) as exc:
        _tag(exc, request_id)
        raise
    incentives, points, currencies = frames_from_rows(*rows)
    return ActionSummary(org_id=org_id, customer_id=customer_id, program_id=program_id,
                         promotion_id=promotion_id, incentives=incentives, points=points,
                         alternate_currencies=currencies, empty=summary_is_empty(rows, warnings),
                         warnings=warnings, request_id=request_id, raw=obj)


# -- promotion -----------------------------------------------------------------------------------

def _object(value: Any, what: str) -> dict[str, Any]:
    if value is not None and not isinstance(value, dict):
        _bad(f"{what}: expected an object", value)
    return value or {}


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    return [item for item in _records(value, what, single_ok=True)
            if type(item) is dict or _item(item, what)]


def _restriction_rows(promo: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    families = _object(_object(promo.get("promotionRestrictions"), "promotionRestrictions")
                       .get("restrictions"), "restrictions")
    # the four documented families first, then any new "<family>Restrictions" as it comes
    keys = [f"{family}Restrictions" for family in _FAMILIES]
    keys += [k for k in families if isinstance(k, str) and k.endswith("Restrictions")
             and k not in keys]
    for key in keys:
        for item in _objects(families.get(key), key):
            value = _int(item.get("value"), f"{key}.value")
            rows.append((key.removesuffix("Restrictions"), _str(item.get("name"), "name"),
                         value, value == -1, _str(item.get("type"), "type"),
                         _str(item.get("periodType"), "periodType"),
                         _str(item.get("periodUnit"), "periodUnit"), "promotionRestrictions"))
    for name, raw in _object(promo.get("limits"), "limits").items():
        try:
            value = _int(raw, f"limits.{name}")
        except ResponseFormatError:
            if legacy_limit(name) is not None:
                raise
            continue  # an unknown non-numeric field is not a limit
        if value:  # 0 (or null) means "not configured"
            rows.append(("limits", str(name), value, value == -1, None, None, None, "limits"))
    return rows


def _rule_rows(promo: Mapping[str, Any]) -> tuple[list[Row], list[Row]]:
    rules: list[Row] = []
    actions: list[Row] = []
    for ruleset in _objects(promo.get("rulesetInfos"), "rulesetInfos"):
        ruleset_id = _int(ruleset.get("id"), "rulesetInfos.id")
        for rule in _objects(ruleset.get("rules"), "rules"):
            rule_id = _int(rule.get("id"), "rules.id")
            rules.append((_int(rule.get("ruleSetId"), "ruleSetId") if ruleset_id is None
                          else ruleset_id, rule_id, _str(rule.get("name"), "rules.name"),
                          _str(rule.get("exp"), "exp"), _bool(rule.get("isActive"), "isActive"),
                          _int(rule.get("priority"), "priority"),
                          _ms(rule.get("startDate"), "rules.startDate"),
                          _ms(rule.get("endDate"), "rules.endDate")))
            for case, items in _object(rule.get("caseToActions"), "caseToActions").items():
                for action in _objects(items, "caseToActions"):
                    props = _object(action.get("mandatoryPropertiesValues"),
                                    "mandatoryPropertiesValues")
                    actions.append((rule_id, str(case), _str(action.get("actionName"), "action"),
                                    _str(action.get("description"), "description"), dict(props)))
    return rules, actions


def parse_promotion(payload: Any, *, request_id: str | None = None) -> Promotion:
    """Parse a promotion-by-id body: api_gateway envelope, v3 or bare; dict, str or bytes.

    Returns
    -------
    Promotion
        ``id, name, description, program_id, program_name, status`` (promotionStatus),
        ``offer_type`` (pointsOfferType), ``start``/``end`` (UTC ``Timestamp`` or NaT),
        ``is_active``, ``raw``, and three frames:

        - ``restrictions``: ``family`` (redemption, issual, earn, expiry, or ``limits`` for the
          legacy object), ``name`` (str), ``value`` (Int64; -1 = no limit), ``unlimited``
          (bool), ``type, period_type, period_unit`` (str), ``source`` (str,
          ``promotionRestrictions`` or ``limits``). A legacy limit of 0 is "not configured":
          no row.
        - ``rules``: ``ruleset_id, rule_id`` (Int64), ``name, expression`` (str), ``is_active``
          (boolean), ``priority`` (Int64), ``start, end`` (datetime64[us, UTC]; sentinels NaT).
        - ``actions``: ``rule_id`` (Int64), ``case, action_name, description`` (str),
          ``properties`` (object: the dict of ``mandatoryPropertiesValues``).

    Raises
    ------
    ResponseFormatError, ApiError
        As :func:`unwrap_summary`, and for values of the wrong type.
    """
    try:
        promo, _ = unwrap_summary(payload, request_id=request_id)
        restriction_rows = _restriction_rows(promo)
        rule_rows, action_rows = _rule_rows(promo)
        start, end = _utc_column(np.array([_ms(promo.get("startDate"), "startDate"),
                                           _ms(promo.get("endDate"), "endDate")], dtype=float))
        fields = dict(
            id=_int(promo.get("id"), "id"), name=_str(promo.get("name"), "name"),
            description=_str(promo.get("description"), "description"),
            program_id=_int(promo.get("programId"), "programId"),
            program_name=_str(promo.get("programName"), "programName"),
            status=_str(promo.get("promotionStatus"), "promotionStatus"),
            offer_type=_str(promo.get("pointsOfferType"), "pointsOfferType"),
            is_active=_bool(promo.get("isActive"), "isActive"))
    except (ResponseFormatError, ApiError) as exc:
        _tag(exc, request_id)
        raise
    return Promotion(**fields, start=start, end=end,
                     restrictions=_frame(restriction_rows, RESTRICTION_COLUMNS),
                     rules=_frame(rule_rows, RULE_COLUMNS),
                     actions=_frame(action_rows, ACTION_COLUMNS), request_id=request_id,
                     raw=promo)
