"""A customer's enrolment and issuals in a promotion, as promotionData's
``customerPromotionTimelines`` reports them, and the redemptions of each issual.

Built from the events :mod:`capnb.sandbox.generate` admitted, so the timelines agree with the
action summary and the restriction usage:

- the **enrolment** is the customer's first event in the promotion (as the generator's expiry
  rule already assumes); it expires at the promotion's end;
- every event carrying an incentive action is one **issual** (the quantity
  ``MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER`` counts, and the summary's ``actionIssuedCount`` adds
  up); it expires ``N`` days after the enrolment when the promotion has an
  ``EARN_PROMOTION_EXPIRY_BASED_ON`` of type ``CUSTOM`` with value ``N``, else at the
  promotion's end (never after it);
- each issual is **redeemed** a number of times drawn from its own seeded stream (so the events
  never change), never more than the promotion's ``MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER``
  (at most 3 when that is unlimited or absent). The usage of that restriction is the largest
  ``redeemedCount`` of one issual (0 without issuals).

Ids are derived from the seed, customer, promotion and event time: ``enrollEventLogId`` is the
event log id of the first event, ``issualEventLogId`` that of the issual's event.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capnb.sandbox.catalog import MS_DAY, iso_ms
from capnb.sandbox.generate import Event

__all__ = ["DEFAULT_MAX_REDEMPTIONS", "Enrolment", "Issual", "enrolment_of",
           "redemption_cap"]

DEFAULT_MAX_REDEMPTIONS = 3
"""Most redemptions of one issual when the promotion does not cap them."""


@dataclass(frozen=True, slots=True)
class Issual:
    """One issual: ids, times (epoch ms) and how often it was redeemed."""

    issual_id: int
    issued_ms: int
    expiry_ms: int
    event_log_id: int
    redeemed: int


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A customer's enrolment in a promotion and its issuals, oldest first."""

    enrolment_id: int
    enrolled_ms: int
    expiry_ms: int
    event_log_id: int
    issuals: tuple[Issual, ...]


def _number(*parts: object, digits: int) -> int:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return 10 ** (digits - 1) + int.from_bytes(digest, "big") % (9 * 10 ** (digits - 1))


def redemption_cap(payload: Mapping[str, Any]) -> int:
    """Most redemptions of one issual the promotion allows (:data:`DEFAULT_MAX_REDEMPTIONS`
    when unlimited or not configured)."""
    restrictions = payload["promotionRestrictions"]["restrictions"] or {}
    for item in restrictions.get("redemptionRestrictions") or []:
        if item["name"] == "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER" and int(item["value"]) >= 0:
            return int(item["value"])
    return DEFAULT_MAX_REDEMPTIONS


def _issual_days(payload: Mapping[str, Any]) -> int | None:
    restrictions = payload["promotionRestrictions"]["restrictions"] or {}
    for item in restrictions.get("expiryRestrictions") or []:
        if item["name"] == "EARN_PROMOTION_EXPIRY_BASED_ON" and item.get("type") == "CUSTOM":
            return int(item["value"])
    return None


def enrolment_of(seed: int, customer_id: int, payload: Mapping[str, Any],
                 events: list[Event]) -> Enrolment | None:
    """The enrolment and issuals of a customer with ``events`` in the promotion ``payload``;
    None without events."""
    if not events:
        return None
    promotion_id = payload["id"]
    end = iso_ms(payload["endDate"])
    enrolled = events[0].timestamp
    days = _issual_days(payload)
    issual_expiry = end if days is None else min(end, enrolled + days * MS_DAY)
    cap = redemption_cap(payload)
    draws = random.Random(f"{seed}:{customer_id}:{promotion_id}:redemptions")
    issuals = []
    for event in events:
        if event.action is None:
            continue
        redeemed = 0 if cap == 0 or draws.random() < 0.45 else draws.randint(1, cap)
        issuals.append(Issual(
            _number(seed, customer_id, promotion_id, event.timestamp, "issual", digits=9),
            event.timestamp, issual_expiry,
            _number(seed, customer_id, promotion_id, event.timestamp, "log", digits=10),
            redeemed))
    return Enrolment(_number(seed, customer_id, promotion_id, "enrolment", digits=9),
                     enrolled, end,
                     _number(seed, customer_id, promotion_id, enrolled, "log", digits=10),
                     tuple(issuals))
