"""Result objects: small dataclasses holding typed DataFrames and the metadata around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True, eq=False)
class ApiWarning:
    """A warning the API returned next to its data (for example 8116, no summary)."""

    code: int | str | None
    message: str


@dataclass(eq=False)
class ActionSummary:
    """One customer's benefits in one promotion (the ``actionSummary`` endpoint).

    ``incentives``, ``points`` and ``alternate_currencies`` always have the columns of
    ``capnb.schema.INCENTIVE_COLUMNS``, ``POINTS_COLUMNS`` and ``CURRENCY_COLUMNS``.
    ``empty`` is True when the customer has no benefits (warning 8116 or nothing issued).
    """

    org_id: int | None
    customer_id: int | None
    program_id: int | None
    promotion_id: int | None
    incentives: pd.DataFrame
    points: pd.DataFrame
    alternate_currencies: pd.DataFrame
    empty: bool
    warnings: list[ApiWarning] = field(default_factory=list)
    request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (
            f"ActionSummary(customer_id={self.customer_id}, program_id={self.program_id}, "
            f"promotion_id={self.promotion_id}, incentives={len(self.incentives)}, "
            f"points={len(self.points)}, alternate_currencies={len(self.alternate_currencies)}, "
            f"empty={self.empty}, warnings={[w.code for w in self.warnings]})"
        )


@dataclass(eq=False)
class PromotionsV3:
    """New-UI promotions (``GET /v3/promotions`` and ``GET /v3/promotions/{id}``) as frames.

    ``metadata`` has ``capnb.schema.V3_PROMOTION_COLUMNS`` (one row per promotion),
    ``activities`` ``V3_ACTIVITY_COLUMNS``, ``milestones`` ``V3_MILESTONE_COLUMNS`` and
    ``limits`` ``V3_LIMIT_COLUMNS``: the ``limits[]`` items' fields are not documented, so each
    item is kept whole as JSON text in ``raw``, never interpreted. ``raw`` holds the promotion
    objects as received.
    """

    metadata: pd.DataFrame
    activities: pd.DataFrame
    milestones: pd.DataFrame
    limits: pd.DataFrame
    request_ids: list[str] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.metadata)

    def __repr__(self) -> str:
        return (f"PromotionsV3(promotions={len(self.metadata)}, "
                f"activities={len(self.activities)}, milestones={len(self.milestones)}, "
                f"limits={len(self.limits)})")


PROMOTION_SOURCE_V1 = "v1 promotion by id"
"""``Promotion.source`` of a promotion described by *Get Loyalty Promotion by ID* (old UI)."""
PROMOTION_SOURCE_V3 = "v3 promotions"
"""``Promotion.source`` of a promotion described by ``GET /v3/promotions`` (new UI)."""


@dataclass(eq=False)
class Promotion:
    """A loyalty promotion's configuration.

    ``source`` says which endpoint described it: :data:`PROMOTION_SOURCE_V1` (*Get Loyalty
    Promotion by ID*, old-UI promotions) or :data:`PROMOTION_SOURCE_V3` (``/v3/promotions``,
    new-UI promotions; ``v3`` then holds its frames, ``rules`` and ``actions`` are empty and
    ``restrictions`` stays empty until filled from promotionData's ``maxLimit`` items by
    :func:`capnb.analysis.with_sampled_limits`). ``restrictions_note`` says in words where the
    restrictions came from when that is not the promotion itself.

    ``restrictions`` has ``capnb.schema.RESTRICTION_COLUMNS``, ``rules`` ``RULE_COLUMNS`` and
    ``actions`` ``ACTION_COLUMNS``. ``start``/``end`` are tz-aware UTC timestamps or NaT.
    """

    id: int | None
    name: str | None
    program_id: int | None
    status: str | None
    offer_type: str | None
    start: pd.Timestamp
    end: pd.Timestamp
    is_active: bool | None
    restrictions: pd.DataFrame
    rules: pd.DataFrame
    actions: pd.DataFrame
    description: str | None = None
    program_name: str | None = None
    request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    source: str = PROMOTION_SOURCE_V1
    restrictions_note: str | None = None
    v3: PromotionsV3 | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Promotion(id={self.id}, name={self.name!r}, program_id={self.program_id}, "
            f"status={self.status!r}, offer_type={self.offer_type!r}, "
            f"restrictions={len(self.restrictions)}, rules={len(self.rules)}, "
            f"source={self.source!r})"
        )
