"""Bodies of the new-UI promotion endpoints -> :class:`~capnb.models.PromotionsV3`; pure, no I/O.

``GET /v3/promotions/{id}`` answers ``{"data": {...}, "errors", "warnings"}`` (documented);
``GET /v3/promotions`` pages, but its envelope is **not documented**. :func:`parse_v3_page`
reads the interface hint ``{"data": {"content": [...], "totalPages", "totalElements"}}`` and
also the plausible variants (the list straight in ``data``, under ``promotions``/``items``, or
``content`` at the top; ``pageDetails.pageCount`` as in the older list endpoints), because a
guessed envelope must not break on the first real answer. Only the documented fields are read
(``metadata``, ``customerEnrolment.enrolmentMethod``, ``activities[]`` with their
``milestones[]``); ``limits[]`` items, whose fields are not documented, are kept as JSON text.
:func:`promotion_from_v3` turns one new-UI promotion into a :class:`~capnb.models.Promotion`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from capnb.api._coerce import (
    as_epoch_ms,
    as_int,
    as_str,
    bad_value,
    keep_item,
    records,
    tag_request_id,
)
from capnb.api._frames import Row, rows_frame
from capnb.api.envelope import raise_for_envelope, unwrap_summary
from capnb.errors import ApiError, ResponseFormatError, ValidationError
from capnb.models import PROMOTION_SOURCE_V3, Promotion, PromotionsV3
from capnb.schema import (
    ACTION_COLUMNS,
    RESTRICTION_COLUMNS,
    RULE_COLUMNS,
    V3_ACTIVITY_COLUMNS,
    V3_LIMIT_COLUMNS,
    V3_MILESTONE_COLUMNS,
    V3_PROMOTION_COLUMNS,
    empty_frame,
)

__all__ = [
    "NO_LIMITS_NOTE",
    "V3Page",
    "check_hex_id",
    "parse_v3_page",
    "parse_v3_promotion",
    "promotion_from_v3",
    "promotions_from_v3",
    "v3_frames",
]

_HEX_ID = re.compile(r"[0-9a-fA-F]{24}")
_LIST_KEYS = ("content", "promotions", "items", "data")
_DATE_FIELDS = ("startDate", "endDate", "createdOn", "lastModifiedOn")
NO_LIMITS_NOTE = ("No restrictions: the promotion's own limits[] are not documented, and no "
                  "promotionData sample was taken.")
"""``Promotion.restrictions_note`` of a new-UI promotion before any promotionData sample."""


def check_hex_id(value: Any, name: str = "promotion_id") -> str:
    """A new-UI promotion's string id: 24 hexadecimal characters (the documented examples are
    MongoDB ObjectIds such as ``6903253184daf5486232dec9``), returned in lower case."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value.strip()):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValidationError(name, "must be a new-UI promotion id of 24 hexadecimal "
                              f"characters (e.g. '6903253184daf5486232dec9'), got {shown}")
    return value.strip().lower()


@dataclass(frozen=True)
class V3Page:
    """One page of ``GET /v3/promotions``: its promotion objects and, when the answer says,
    the page count and total."""

    items: list[dict[str, Any]]
    total_pages: int | None
    total_elements: int | None


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is not None and not isinstance(value, dict):
        bad_value(f"{what}: expected an object", value)
    return value or {}


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    return [item for item in records(value, what) if type(item) is dict or keep_item(item, what)]


def _program_id(value: Any) -> int | None:
    # CONFLICT in the docs: the GET example shows a placeholder string, create/update send an
    # integer. An integer (or digits) is read; any other string is "not given", not an error.
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return None
    return as_int(value, "metadata.programId")


def _engine_id(value: Any) -> int | None:
    # metadata.promotionId is the points-engine id; the DRAFT example shows 0 (interface notes:
    # set only once the promotion is published), which is no id.
    number = as_int(value, "metadata.promotionId")
    return number if number else None


def _rows(item: dict[str, Any]) -> tuple[Row, list[Row], list[Row], list[Row]]:
    hex_id = as_str(item.get("id", item.get("unifiedPromotionId")), "id")
    meta = _object(item.get("metadata"), "metadata")
    if not meta:
        bad_value("promotion: no metadata object", item)
    engine = _engine_id(meta.get("promotionId"))
    dates = [as_epoch_ms(meta.get(key), f"metadata.{key}") for key in _DATE_FIELDS]
    enrolment = _object(item.get("customerEnrolment"), "customerEnrolment")
    promotion = (hex_id, engine, as_str(meta.get("name"), "metadata.name"),
                 as_str(meta.get("description"), "metadata.description"),
                 _program_id(meta.get("programId")), as_int(meta.get("orgId"), "metadata.orgId"),
                 dates[0], dates[1], as_str(meta.get("timezoneName"), "metadata.timezoneName"),
                 as_str(meta.get("promotionType"), "metadata.promotionType"),
                 as_str(meta.get("status"), "metadata.status"),
                 as_str(meta.get("promoIdentifier"), "metadata.promoIdentifier"),
                 dates[2], dates[3],
                 as_str(enrolment.get("enrolmentMethod"), "customerEnrolment.enrolmentMethod"))
    activities: list[Row] = []
    milestones: list[Row] = []
    for activity in _objects(item.get("activities"), "activities"):
        activity_id = as_str(activity.get("id"), "activities.id")
        steps = _objects(activity.get("milestones"), "activities.milestones")
        activities.append((hex_id, engine, activity_id, as_str(activity.get("name"), "name"),
                           as_str(activity.get("type"), "activities.type"),
                           as_str(activity.get("event"), "activities.event"), len(steps)))
        for position, step in enumerate(steps):
            milestones.append((hex_id, engine, activity_id, position,
                               *(as_str(step.get(key), f"milestones.{key}") for key in (
                                   "name", "trackingType", "targetEvaluationType",
                                   "frequencyType", "targetEntity", "targetType")),
                               _json(step)))
    limits = [(hex_id, engine, position, _json(limit))
              for position, limit in enumerate(records(item.get("limits"), "limits"))
              if limit is not None]
    return promotion, activities, milestones, limits


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN/inf cannot come from JSON; anything else is not data we keep
        bad_value("limits: not JSON data", value)


def v3_frames(items: list[dict[str, Any]], *, request_ids: list[str] | None = None
              ) -> PromotionsV3:
    """The frames of v3 promotion objects (see :class:`~capnb.models.PromotionsV3`)."""
    parts: tuple[list[Row], list[Row], list[Row], list[Row]] = ([], [], [], [])
    for item in items:
        promotion, activities, milestones, limits = _rows(item)
        parts[0].append(promotion)
        parts[1].extend(activities)
        parts[2].extend(milestones)
        parts[3].extend(limits)
    return PromotionsV3(rows_frame(parts[0], V3_PROMOTION_COLUMNS),
                        rows_frame(parts[1], V3_ACTIVITY_COLUMNS),
                        rows_frame(parts[2], V3_MILESTONE_COLUMNS),
                        rows_frame(parts[3], V3_LIMIT_COLUMNS),
                        request_ids=list(request_ids or []), raw=list(items))


def parse_v3_promotion(payload: Any, *, request_id: str | None = None) -> PromotionsV3:
    """Parse ``GET /v3/promotions/{id}`` (``{"data": {...}}``, or the bare object).

    Raises
    ------
    ResponseFormatError
        Invalid JSON, values of the wrong type, or an object without ``metadata``.
    ApiError
        An error envelope.
    """
    try:
        item, _ = unwrap_summary(payload, request_id=request_id)
        return v3_frames([item], request_ids=[request_id] if request_id else [])
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise


def _count(value: Any, what: str) -> int | None:
    number = as_int(value, what)
    if number is not None and number < 0:
        bad_value(f"{what}: negative", value)
    return number


def parse_v3_page(payload: Any, *, request_id: str | None = None) -> V3Page:
    """Parse one page of ``GET /v3/promotions`` in any of the envelopes the module docstring
    lists. An answer with no list at all is a :class:`ResponseFormatError`."""
    try:
        raise_for_envelope(payload, request_id=request_id)
        if not isinstance(payload, dict):
            bad_value("body: expected a JSON object", payload)
        body: Any = payload
        found: Any = None
        for _ in range(3):  # the list is at the top or in data (at most twice nested)
            if isinstance(body, list):
                found = body
                break
            if not isinstance(body, dict):
                bad_value("data: expected an object or a list", body)
            key = next((k for k in _LIST_KEYS if k in body and k != "data"), None)
            if key is not None:
                found = body[key]
                break
            if "data" not in body:
                break
            body = body["data"]
        if found is None:
            bad_value("body: no list of promotions (content, promotions, items or data)",
                      payload)
        items = _objects(found, "content")
        holder = body if isinstance(body, dict) else payload
        pages = holder.get("totalPages", payload.get("totalPages"))
        total = holder.get("totalElements", payload.get("totalElements"))
        details = holder.get("pageDetails", payload.get("pageDetails"))
        if pages is None and isinstance(details, dict):
            pages, total = details.get("pageCount"), details.get("totalEntries", total)
        return V3Page(items, _count(pages, "totalPages"), _count(total, "totalElements"))
    except (ResponseFormatError, ApiError) as exc:
        tag_request_id(exc, request_id)
        raise


def promotion_from_v3(v3: PromotionsV3, request_id: str | None = None) -> Promotion:
    """A :class:`~capnb.models.Promotion` of a new-UI promotion (the first of ``v3``), with
    ``source`` :data:`~capnb.models.PROMOTION_SOURCE_V3`: ``id`` is the integer
    ``metadata.promotionId``, ``offer_type`` ``metadata.promotionType``, ``is_active`` None (v3
    has no such flag); restrictions, rules and actions are empty (the v3 ``limits[]`` fields
    are not documented: see :func:`capnb.analysis.with_sampled_limits`)."""
    if not len(v3.metadata):
        raise ValidationError("v3", "holds no promotion")
    meta = v3.metadata.iloc[0]

    def value(key: str) -> Any:
        item = meta[key]
        return None if pd.isna(item) else item

    start, end = (pd.Timestamp(meta[k]) if not pd.isna(meta[k])
                  else pd.NaT for k in ("start", "end"))
    hex_id = value("hex_id")
    one = v3 if len(v3.metadata) == 1 else _only(v3, hex_id)
    promotion_id = value("promotion_id")
    program_id = value("program_id")
    return Promotion(
        id=None if promotion_id is None else int(promotion_id), name=value("name"),
        program_id=None if program_id is None else int(program_id), status=value("status"),
        offer_type=value("promotion_type"), start=start, end=end, is_active=None,
        restrictions=empty_frame(RESTRICTION_COLUMNS), rules=empty_frame(RULE_COLUMNS),
        actions=empty_frame(ACTION_COLUMNS), description=value("description"),
        request_id=request_id, raw=one.raw[0] if one.raw else {}, source=PROMOTION_SOURCE_V3,
        restrictions_note=NO_LIMITS_NOTE, v3=one)


def promotions_from_v3(v3: PromotionsV3) -> list[Promotion]:
    """One :class:`~capnb.models.Promotion` per promotion of ``v3`` (see
    :func:`promotion_from_v3`), in its order; promotions without a string id are skipped."""
    return [promotion_from_v3(_only(v3, hex_id), v3.request_ids[0] if v3.request_ids else None)
            for hex_id in v3.metadata["hex_id"] if not pd.isna(hex_id)]


def _only(v3: PromotionsV3, hex_id: Any) -> PromotionsV3:
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        mask = (frame["hex_id"] == hex_id).fillna(False).to_numpy(dtype=bool)
        return frame[mask].reset_index(drop=True)

    raw = [item for item in v3.raw if item.get("id", item.get("unifiedPromotionId")) == hex_id]
    return PromotionsV3(pick(v3.metadata), pick(v3.activities), pick(v3.milestones),
                        pick(v3.limits), request_ids=list(v3.request_ids), raw=raw[:1])

