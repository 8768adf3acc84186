"""The one restriction vocabulary: what each promotion restriction is called, counts and caps.

Every module that needs a restriction's name, spelling, family, scope, legacy ``limits`` twin,
promotionData ``kpi``/``limitOn`` or budget kind reads it here, the sandbox included. The names
are the ones ``../shared/CAPILLARY-FACTS.md`` lists; the per-promotion earn cap is documented as
``MAX_NUMBER_OF_EARNS_PER_PROMOTION`` and spelled ``MAX_NUMBER_OF_EARN_PER_PROMOTION`` in the
promotion example, so both spellings name one restriction.

>>> restriction("MAX_NUMBER_OF_EARN_PER_PROMOTION").name
'MAX_NUMBER_OF_EARNS_PER_PROMOTION'
>>> restriction("pointsPerCustomer").name        # a legacy ``limits`` field reads as its twin
'MAX_ALLOWED_POINTS_PER_CUSTOMER'
>>> restriction_for_kpi("earn", "NUMBER_OF_POINTS", "EVENT").name
'MAX_POINTS_PER_EARN_PER_CUSTOMER'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BUDGETS",
    "LEGACY_LIMITS",
    "LIMIT_ON_SCOPES",
    "QUANTITIES",
    "RESTRICTIONS",
    "SPELLINGS",
    "LegacyLimit",
    "Restriction",
    "canonical_name",
    "documented",
    "guess_scope",
    "legacy_limit",
    "restriction",
    "restriction_for_kpi",
]

QUANTITIES = ("points", "issuals", "earns", "events", "per_event", "redemptions")
"""What a usage cap counts. ``points``: points issued; ``issuals``: incentives issued;
``earns``: points issuances; ``events``: events whatever they issued ("times");
``per_event``: the points of one event (usage is the largest); ``redemptions``: redemptions of
one earn."""

BUDGETS = {"points": "points", "events": "times", "earns": "earns"}
"""Quantity of a promotion-wide cap -> the budget it caps (``portfolio``'s names)."""


@dataclass(frozen=True, slots=True)
class Restriction:
    """One restriction of ``promotionRestrictions``.

    ``family`` is the list that carries it (``redemption``, ``issual``, ``earn``, ``expiry``);
    ``scope`` who it caps (``customer``, ``event``, ``earn``, ``promotion``, ``expiry``);
    ``quantity`` what it counts (one of :data:`QUANTITIES`, None for expiry rules); ``kpi`` and
    ``limit_on`` how promotionData reports it (None where it does not).
    """

    name: str
    family: str
    scope: str
    quantity: str | None
    kpi: str | None = None
    limit_on: str | None = None

    @property
    def budget(self) -> str | None:
        """``points``, ``times`` or ``earns`` for a promotion-wide cap, else None."""
        return BUDGETS.get(self.quantity or "") if self.scope == "promotion" else None


RESTRICTIONS: dict[str, Restriction] = {r.name: r for r in (
    Restriction("MAX_ALLOWED_POINTS_PER_CUSTOMER", "redemption", "customer", "points",
                "NUMBER_OF_POINTS", "CUSTOMER"),
    Restriction("MAX_ALLOWED_TIMES_PER_CUSTOMER", "redemption", "customer", "events",
                "NUMBER_OF_TIMES", "CUSTOMER"),
    Restriction("MAX_ALLOWED_POINTS_PER_EVENT", "redemption", "event", "per_event",
                "NUMBER_OF_POINTS", "EVENT"),
    Restriction("MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", "redemption", "earn", "redemptions",
                "NUMBER_OF_REDEMPTIONS_PER_EARN", "CUSTOMER"),
    Restriction("MAX_ALLOWED_POINTS_PER_PROMOTION", "redemption", "promotion", "points",
                "NUMBER_OF_POINTS", "PROMOTION"),
    Restriction("MAX_ALLOWED_TIMES_PER_PROMOTION", "redemption", "promotion", "events",
                "NUMBER_OF_TIMES", "PROMOTION"),
    Restriction("MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "issual", "customer", "issuals",
                "NUMBER_OF_ISSUALS", "CUSTOMER"),
    Restriction("MAX_NUMBER_OF_EARNS_PER_CUSTOMER", "earn", "customer", "earns",
                "NUMBER_OF_EARNS", "CUSTOMER"),
    Restriction("MAX_POINTS_PER_EARN_PER_CUSTOMER", "earn", "event", "per_event",
                "NUMBER_OF_POINTS", "EVENT"),
    Restriction("MAX_NUMBER_OF_EARNS_PER_PROMOTION", "earn", "promotion", "earns",
                "NUMBER_OF_EARNS", "PROMOTION"),
    Restriction("ISSUAL_PROMOTION_EXPIRY_BASED_ON", "expiry", "expiry", None),
    Restriction("EARN_PROMOTION_EXPIRY_BASED_ON", "expiry", "expiry", None),
)}
"""Every documented restriction by its documented name."""

SPELLINGS = {"MAX_NUMBER_OF_EARN_PER_PROMOTION": "MAX_NUMBER_OF_EARNS_PER_PROMOTION"}
"""Other spellings seen in documented payloads -> the documented name."""


@dataclass(frozen=True, slots=True)
class LegacyLimit:
    """A field of a promotion's legacy ``limits`` object.

    ``twin`` is the restriction it mirrors; ``usage_field`` the promotionData ``customerUsage``
    field that reports its usage (None where none does). A value of 0 means "not configured".
    """

    field: str
    twin: str
    usage_field: str | None

    @property
    def restriction(self) -> Restriction:
        """The restriction this field mirrors."""
        return RESTRICTIONS[self.twin]


LEGACY_LIMITS: dict[str, LegacyLimit] = {f.field: f for f in (
    LegacyLimit("pointsPerCustomer", "MAX_ALLOWED_POINTS_PER_CUSTOMER",
                "currentPointsPerCustomer"),
    LegacyLimit("numberOfTimesPerCustomer", "MAX_ALLOWED_TIMES_PER_CUSTOMER",
                "currentNumberOfTimesPerCustomer"),
    # promotionData's spelling of the same field (capital F)
    LegacyLimit("numberOFTimesPerCustomer", "MAX_ALLOWED_TIMES_PER_CUSTOMER",
                "currentNumberOfTimesPerCustomer"),
    LegacyLimit("totalPointsInPromotion", "MAX_ALLOWED_POINTS_PER_PROMOTION",
                "currentTotalPointsInPromotion"),
    LegacyLimit("totalPointsPerEventLimit", "MAX_ALLOWED_POINTS_PER_EVENT", None),
    # promotionData's name of the per-event points cap
    LegacyLimit("maxPointsPerEvent", "MAX_ALLOWED_POINTS_PER_EVENT", None),
)}
"""Legacy ``limits`` fields: the promotion-by-id names, and promotionData's
(``numberOFTimesPerCustomer`` with a capital F, ``maxPointsPerEvent``)."""

LIMIT_ON_SCOPES = {"CUSTOMER": "customer", "PROMOTION": "promotion", "EVENT": "event"}
"""promotionData ``limitOn`` -> who an item caps, as promotionData counts it."""

_BY_KPI = {(r.family, r.kpi, r.limit_on): r for r in RESTRICTIONS.values() if r.kpi}


def restriction(name: object) -> Restriction | None:
    """The restriction a name means: a documented name, another spelling, or a legacy field.

    None for a name capnb does not know (callers list it as not measurable, never drop it).
    """
    if not isinstance(name, str):
        return None
    if name in LEGACY_LIMITS:
        return LEGACY_LIMITS[name].restriction
    return documented(name)


def documented(name: object) -> Restriction | None:
    """The restriction a documented name or another spelling means; None for anything else
    (legacy ``limits`` fields included: they are restrictions only in the ``limits`` object).

    >>> documented("MAX_NUMBER_OF_EARN_PER_PROMOTION").scope
    'promotion'
    >>> documented("pointsPerCustomer") is None
    True
    """
    if not isinstance(name, str):
        return None
    return RESTRICTIONS.get(SPELLINGS.get(name, name))


def canonical_name(family: object, name: object) -> str:
    """The name whose meaning a configured restriction has: a field of the legacy ``limits``
    object reads as its twin, any other name (spellings included) stays as configured.

    >>> canonical_name("limits", "totalPointsInPromotion")
    'MAX_ALLOWED_POINTS_PER_PROMOTION'
    """
    legacy = legacy_limit(name) if family == "limits" else None
    return legacy.twin if legacy is not None else str(name)


def legacy_limit(field: object) -> LegacyLimit | None:
    """The legacy ``limits`` field of that name, or None."""
    return LEGACY_LIMITS.get(field) if isinstance(field, str) else None


def restriction_for_kpi(family: object, kpi: object, limit_on: object) -> Restriction | None:
    """The restriction a promotionData item (family, ``kpi``, ``limitOn``) reports, or None."""
    return _BY_KPI.get((family, kpi, limit_on))  # type: ignore[arg-type]


_SCOPE_TOKENS = (("EXPIRY", "expiry"), ("REDEMPTIONS_PER_EARN", "earn"),
                 ("PER_PROMOTION", "promotion"), ("PER_EVENT", "event"), ("PER_EARN", "event"),
                 ("PER_CUSTOMER", "customer"))


def guess_scope(name: object) -> str:
    """The scope a name the vocabulary does not know suggests by its words, else ``unknown``.

    >>> guess_scope("MAX_COUPONS_PER_CUSTOMER"), guess_scope("pointsPerCustomer")
    ('customer', 'unknown')
    """
    upper = str(name).upper()
    return next((scope for token, scope in _SCOPE_TOKENS if token in upper), "unknown")
