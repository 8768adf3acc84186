"""Words for people: the labels reports, tables, charts and headlines show for API names and
capnb's own codes. API names stay available beside them where an analyst needs them.

>>> restriction_label("MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER")
'Incentives per customer'
>>> restriction_label("MAX_COUPONS_PER_CUSTOMER")  # not documented: shown as it came
'MAX_COUPONS_PER_CUSTOMER'
>>> restriction_label("MAX_NUMBER_OF_EARNS_PER_CUSTOMER (weekly)")  # an analysis label
'Earns per customer (weekly)'
>>> restriction_label("pointsPerCustomer")  # a field of the legacy ``limits`` object
'Points per customer (legacy limit)'
>>> limit_text(-1), limit_text(6), limit_text(None)
('no limit', '6', '—')
"""

from __future__ import annotations

import math
import re
from typing import Any

from capnb.restrictions import LEGACY_LIMITS, SPELLINGS

__all__ = [
    "CUSTOMER_STATUS",
    "FAMILY",
    "MEASURABILITY",
    "MISSING",
    "PERIOD_UNIT",
    "RESTRICTION_LABELS",
    "RESTRICTION_TYPE",
    "SCOPE",
    "label",
    "limit_text",
    "restriction_label",
]

MISSING = "—"
"""What a table shows for a missing value."""

RESTRICTION_LABELS = {
    # The documented meaning, in a manager's words (get-loyalty-promotion-by-id, name enums).
    "MAX_ALLOWED_POINTS_PER_CUSTOMER": "Points per customer",
    "MAX_ALLOWED_TIMES_PER_CUSTOMER": "Activities per customer",
    "MAX_ALLOWED_POINTS_PER_EVENT": "Points per activity",
    "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER": "Redemptions per earn",
    "MAX_ALLOWED_POINTS_PER_PROMOTION": "Points in the whole promotion",
    "MAX_ALLOWED_TIMES_PER_PROMOTION": "Activities in the whole promotion",
    "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER": "Incentives per customer",
    "MAX_NUMBER_OF_EARNS_PER_CUSTOMER": "Earns per customer",
    "MAX_POINTS_PER_EARN_PER_CUSTOMER": "Points per earn",
    "MAX_NUMBER_OF_EARNS_PER_PROMOTION": "Earns in the whole promotion",
    "ISSUAL_PROMOTION_EXPIRY_BASED_ON": "Issue expiry",
    "EARN_PROMOTION_EXPIRY_BASED_ON": "Earn expiry",
}
"""Documented restriction name -> label."""

MEASURABILITY = {"exact": "exact", "lower_bound": "lower bound", "proxy": "proxy",
                 "not_measurable": "not measurable", "estimate": "estimate"}
"""How far a figure can be trusted (``measurability`` column) -> words. ``estimate``: from a
random sample, always shown with its 95% interval (:mod:`capnb.analysis.estimates`)."""

SCOPE = {"customer": "per customer", "event": "per activity", "earn": "per earn",
         "promotion": "whole promotion", "expiry": "expiry"}
"""Who a restriction caps (``scope`` column) -> words."""

FAMILY = {"redemption": "redemption", "issual": "issue", "earn": "earn", "expiry": "expiry",
          "legacy": "legacy limit", "limits": "legacy limit"}
"""The ``promotionRestrictions`` list a restriction comes from (``limits``: the legacy
``limits`` object) -> words."""

RESTRICTION_TYPE = {"PERIOD_BASED": "per period", "NON_PERIOD_BASED": "whole promotion"}
"""A restriction's documented ``type`` -> words (the period is ``periodUnit``)."""

PERIOD_UNIT = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month"}
"""A documented ``periodUnit`` -> the period in words."""

CUSTOMER_STATUS = {"ok": "benefits found", "no_benefits": "no benefits yet",
                   "not_found": "not found", "failed": "failed", "invalid": "not a valid id"}
"""A cohort customer's ``status`` -> words."""


# capnb.analysis's unique restriction label: the name, then "(weekly)", "[family]", "#2" as needed
_ANALYSIS_LABEL = re.compile(r"(?P<name>\S+)(?P<period> \([a-z]+\))?(?: \[(?P<family>[^\]]+)\])?"
                             r"(?P<number> #\d+)?")


def restriction_label(name: Any) -> str:
    """The label of a documented restriction (any spelling), of a legacy ``limits`` field, or of
    the unique restriction label ``capnb.analysis`` gives (``NAME (weekly) [family] #2``); any
    other name as it came (never guessed)."""
    text = "" if name is None else str(name)
    match = _ANALYSIS_LABEL.fullmatch(text)
    if match is None:
        return text
    base = match["name"]
    legacy = LEGACY_LIMITS.get(base)
    if legacy is not None:
        words = f"{RESTRICTION_LABELS[legacy.twin]} (legacy limit)"
    elif SPELLINGS.get(base, base) in RESTRICTION_LABELS:
        words = RESTRICTION_LABELS[SPELLINGS.get(base, base)]
    else:
        return text
    family = f" [{label(FAMILY, match['family'])}]" if match["family"] else ""
    return f"{words}{match['period'] or ''}{family}{match['number'] or ''}"


def label(mapping: dict[str, str], value: Any) -> str:
    """``mapping[value]``, the value itself when unmapped, :data:`MISSING` when missing."""
    if _missing(value):
        return MISSING
    return mapping.get(str(value), str(value))


def limit_text(value: Any) -> str:
    """A restriction's limit: ``no limit`` for -1, thousands separators, ``—`` when missing."""
    if _missing(value):
        return MISSING
    number = float(value)
    if number == -1:
        return "no limit"
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False
