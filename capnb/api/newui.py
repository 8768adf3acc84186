"""Requests behind the new-UI promotion methods of :class:`~capnb.api.client.Client`: reading
every page of ``GET /v3/promotions`` (bounded, whatever the server says) and finding a promotion
by its integer id among them. Parsing is :mod:`capnb.api.promotion_v3`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from capnb.api.promotion_v3 import parse_v3_page, promotion_from_v3, v3_frames
from capnb.errors import NotFound, PromotionNotFound, ResponseFormatError, ValidationError
from capnb.models import Promotion, PromotionsV3

__all__ = ["fetch_v3_pages", "find_new_ui_promotion", "flag", "statuses"]

GetJson = Callable[[str, Mapping[str, Any]], tuple[dict[str, Any], str | None]]


def statuses(status: Any) -> str:
    """``status`` (one status or a list) as the comma-separated upper-case query value."""
    wanted = [status] if isinstance(status, str) else status
    if (isinstance(wanted, str | bytes) or not isinstance(wanted, list | tuple) or not wanted
            or not all(isinstance(s, str) and s.strip() for s in wanted)):
        raise ValidationError("status", "must be a status such as 'LIVE' or a list of "
                              f"them, got {status!r}")
    return ",".join(s.strip().upper() for s in wanted)


def flag(value: Any, name: str = "include_draft_details") -> bool:
    """``value`` when it is a bool; a ``ValidationError`` otherwise."""
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be True or False, got {value!r}")
    return value


def _key(item: dict[str, Any]) -> Any:
    """What identifies a v3 promotion object across pages."""
    key = item.get("id", item.get("unifiedPromotionId"))
    if isinstance(key, str):
        return key
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    return ("promotionId", str(meta.get("promotionId")), str(meta.get("name")))


def fetch_v3_pages(get_json: GetJson, path: str, params: Mapping[str, Any],
                   max_pages: int) -> PromotionsV3:
    """Pages ``0, 1, ...`` of ``path`` until ``totalPages`` is reached, a page is empty or
    brings only promotions already seen; a ``ResponseFormatError`` after ``max_pages``."""
    items: list[dict[str, Any]] = []
    request_ids: list[str] = []
    seen: set[Any] = set()
    for page_number in range(max_pages):
        payload, request_id = get_json(path, {**params, "page": page_number})
        page = parse_v3_page(payload, request_id=request_id)
        if request_id:
            request_ids.append(request_id)
        fresh = [p for p in page.items if _key(p) not in seen]
        v3_frames(fresh)  # a malformed promotion fails here, before asking for more pages
        seen.update(_key(p) for p in fresh)
        items += fresh
        if not fresh or (page.total_pages is not None and page_number + 1 >= page.total_pages):
            return v3_frames(items, request_ids=request_ids)
    raise ResponseFormatError(f"GET {path}: still more pages after {max_pages} pages "
                              "(max_pages); the server's paging never ends",
                              request_id=request_ids[-1] if request_ids else None)


def find_new_ui_promotion(listed: PromotionsV3, program: int, promotion: int,
                          missing: NotFound, by_hex: Callable[[str], PromotionsV3],
                          ) -> Promotion:
    """The promotion whose ``metadata.promotionId`` is ``promotion`` (and whose program, when
    given, is ``program``) among ``listed``, read again by its string id with ``by_hex`` (the
    documented single-promotion answer); ``PromotionNotFound`` (from ``missing``, the old
    endpoint's answer) when none matches."""
    meta = listed.metadata
    found = meta[(meta["promotion_id"] == promotion).fillna(False)
                 & (meta["program_id"] == program).fillna(True)]
    if found.empty:
        raise PromotionNotFound(
            f"{missing.message.rstrip('.')}; promotion {promotion} of program {program} is not "
            f"among the {len(meta)} new-UI promotions of GET /v3/promotions either",
            code=missing.code, http_status=missing.http_status,
            request_id=missing.request_id) from None
    hex_id = found["hex_id"].iloc[0]
    try:
        one = by_hex(hex_id) if isinstance(hex_id, str) else None
    except ValidationError:  # the list's id is not the documented 24-hex form
        one = None
    if one is not None and len(one) and one.metadata["promotion_id"].iloc[0] == promotion:
        return promotion_from_v3(one, one.request_ids[0] if one.request_ids else None)
    # no usable string id: the list's own object describes the promotion
    row = int(found.index[0])
    return promotion_from_v3(v3_frames([listed.raw[row]], request_ids=listed.request_ids[:1]))
