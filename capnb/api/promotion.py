"""The promotion-by-id body -> :class:`~capnb.models.Promotion`; pure, no I/O.

:func:`parse_promotion` reads the api_gateway envelope, v3 or the bare object (values as
:mod:`capnb.api._coerce` reads them) into the promotion's fields and three frames:
restrictions (``promotionRestrictions`` families and the legacy ``limits``), rules and their
actions. Enum-like strings are kept verbatim and unknown fields ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from capnb.api._coerce import (
    as_bool,
    as_epoch_ms,
    as_id,
    as_int,
    as_str,
    bad_value,
    keep_item,
    records,
    tag_request_id,
)
from capnb.api._frames import Row, rows_frame, utc_column
from capnb.api.envelope import unwrap_summary
from capnb.errors import ApiError, ResponseFormatError
from capnb.models import Promotion
from capnb.restrictions import legacy_limit
from capnb.schema import ACTION_COLUMNS, RESTRICTION_COLUMNS, RULE_COLUMNS

__all__ = ["parse_promotion"]

_FAMILIES = ("redemption", "issual", "earn", "expiry")


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is not None and not isinstance(value, dict):
        bad_value(f"{what}: expected an object", value)
    return value or {}


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    return [item for item in records(value, what, single_ok=True)
            if type(item) is dict or keep_item(item, what)]


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
            value = as_int(item.get("value"), f"{key}.value")
            rows.append((key.removesuffix("Restrictions"), as_str(item.get("name"), "name"),
                         value, value == -1, as_str(item.get("type"), "type"),
                         as_str(item.get("periodType"), "periodType"),
                         as_str(item.get("periodUnit"), "periodUnit"), "promotionRestrictions"))
    for name, raw in _object(promo.get("limits"), "limits").items():
        try:
            value = as_int(raw, f"limits.{name}")
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
        ruleset_id = as_int(ruleset.get("id"), "rulesetInfos.id")
        for rule in _objects(ruleset.get("rules"), "rules"):
            rule_id = as_int(rule.get("id"), "rules.id")
            rules.append((as_int(rule.get("ruleSetId"), "ruleSetId") if ruleset_id is None
                          else ruleset_id, rule_id, as_str(rule.get("name"), "rules.name"),
                          as_str(rule.get("exp"), "exp"),
                          as_bool(rule.get("isActive"), "isActive"),
                          as_int(rule.get("priority"), "priority"),
                          as_epoch_ms(rule.get("startDate"), "rules.startDate"),
                          as_epoch_ms(rule.get("endDate"), "rules.endDate")))
            for case, items in _object(rule.get("caseToActions"), "caseToActions").items():
                for action in _objects(items, "caseToActions"):
                    props = _object(action.get("mandatoryPropertiesValues"),
                                    "mandatoryPropertiesValues")
                    actions.append((rule_id, str(case), as_str(action.get("actionName"), "action"),
                                    as_str(action.get("description"), "description"),
                                    {str(k): _property(str(k), v) for k, v in props.items()}))
    return rules, actions


def _property(key: str, value: Any) -> Any:
    """An action property; the value of an id (a key ending in "id": ``rewardId``,
    ``badgeMetaId``) as text in one spelling, so it joins the incentives' ``action_id``."""
    if not key.lower().endswith("id") or isinstance(value, bool):
        return value
    if isinstance(value, str) or type(value) is int or (
            isinstance(value, float) and value.is_integer() and abs(value) < 2**63):
        return as_id(value, f"mandatoryPropertiesValues.{key}")
    return value


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
          ``properties`` (object: the dict of ``mandatoryPropertiesValues``; an id's value,
          under a key ending in "id", as text in the incentives' spelling: ``133423``,
          ``133423.0`` and ``"133423.0"`` are ``"133423"``).

    Raises
    ------
    ResponseFormatError, ApiError
        As :func:`capnb.api.envelope.unwrap_summary`, for values of the wrong type, and for an
        object without the promotion's ``id`` (``{}`` is not a promotion).
    """
    try:
        promo, _ = unwrap_summary(payload, request_id=request_id)
        if promo.get("id") is None:
            bad_value("body: not a promotion (no promotion id)", promo)
        restriction_rows = _restriction_rows(promo)
        rule_rows, action_rows = _rule_rows(promo)
        start, end = utc_column(np.array([as_epoch_ms(promo.get("startDate"), "startDate"),
                                          as_epoch_ms(promo.get("endDate"), "endDate")],
                                         dtype=float))
        fields = dict(
            id=as_int(promo.get("id"), "id"), name=as_str(promo.get("name"), "name"),
            description=as_str(promo.get("description"), "description"),
            program_id=as_int(promo.get("programId"), "programId"),
            program_name=as_str(promo.get("programName"), "programName"),
            status=as_str(promo.get("promotionStatus"), "promotionStatus"),
            offer_type=as_str(promo.get("pointsOfferType"), "pointsOfferType"),
            is_active=as_bool(promo.get("isActive"), "isActive"))
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise
    return Promotion(**fields, start=start, end=end,
                     restrictions=rows_frame(restriction_rows, RESTRICTION_COLUMNS),
                     rules=rows_frame(rule_rows, RULE_COLUMNS),
                     actions=rows_frame(action_rows, ACTION_COLUMNS), request_id=request_id,
                     raw=promo)
