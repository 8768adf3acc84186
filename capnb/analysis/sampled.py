"""A new-UI promotion's restrictions, read from promotionData's ``maxLimit`` items.

``GET /v3/promotions`` describes a new-UI promotion's ``limits[]``, but the fields of its items
are not documented, so capnb does not read them. What the platform enforces is visible another
way: promotionData lists, per customer, each restriction of each promotion with its
``maxLimit``. :func:`with_sampled_limits` takes those items for the customers of an
:class:`~capnb.fetch.exact_usage.ExactUsage` sample and makes them the promotion's
restrictions, marked as such (``source`` :data:`SAMPLED_SOURCE`, and
``Promotion.restrictions_note`` saying it in words, which every utilisation note repeats).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from capnb.errors import ValidationError
from capnb.fetch.exact_usage import ExactUsage
from capnb.models import Promotion
from capnb.schema import RESTRICTION_COLUMNS, typed_frame

__all__ = ["SAMPLED_SOURCE", "sampled_limits_note", "with_sampled_limits"]

SAMPLED_SOURCE = "promotionData maxLimit"
"""``restrictions.source`` of a restriction read from promotionData's ``maxLimit`` items."""


def sampled_limits_note(customers: int) -> str:
    """The words saying where such restrictions came from (``customers`` answered)."""
    return (f"Limits from promotionData maxLimit for {customers:,} sampled customer"
            f"{'' if customers == 1 else 's'}; the promotion's own limits[] are not "
            "documented.")


def with_sampled_limits(promotion: Promotion, exact: ExactUsage) -> Promotion:
    """``promotion`` with its restrictions read from promotionData's ``maxLimit`` items.

    Parameters
    ----------
    promotion : Promotion
        Typically a new-UI promotion (``source`` ``"v3 promotions"``), whose restrictions are
        empty.
    exact : ExactUsage
        promotionData of a sample of the promotion's customers
        (:func:`capnb.fetch_exact_usage`).

    Returns
    -------
    Promotion
        A copy whose ``restrictions`` hold one row per distinct item the sample reported for
        the promotion (``family`` issual/earn/redemption or ``limits``, ``name`` the
        restriction name, or ``kpi/limitOn`` when unknown, ``value`` the ``maxLimit``
        rounded to an integer, ``type``, ``period_unit``, ``source`` :data:`SAMPLED_SOURCE`);
        the same item with different limits for different customers gives one row per limit.
        ``restrictions_note`` says how many customers answered (and that no limit is
        measured when they reported none). Its other fields are unchanged.
    """
    if not isinstance(promotion, Promotion):
        raise ValidationError("promotion", f"must be a capnb.Promotion, got "
                              f"{type(promotion).__name__}")
    if not isinstance(exact, ExactUsage):
        raise ValidationError("exact", "must be the promotionData of a sample "
                              "(capnb.fetch_exact_usage), got " + type(exact).__name__)
    usage = exact.usage
    if promotion.id is not None:
        usage = usage[(usage["promotion_id"] == promotion.id).fillna(False)]
    keys = ["family", "name", "kpi", "limit_on", "type", "period_unit", "max_limit"]
    items = usage[keys].drop_duplicates().reset_index(drop=True)
    names = items["name"].where(items["name"].notna(),
                                items["kpi"].astype("object").astype(str) + "/"
                                + items["limit_on"].astype("object").astype(str))
    limits = items["max_limit"].to_numpy(dtype="float64", na_value=np.nan)
    frame = pd.DataFrame({
        "family": items["family"], "name": names,
        "value": pd.array([None if np.isnan(v) else round(v) for v in limits], dtype="Int64"),
        "unlimited": limits == -1, "type": items["type"], "period_type": None,
        "period_unit": items["period_unit"], "source": SAMPLED_SOURCE})
    answered = int(exact.customers["status"].eq("ok").sum())
    note = sampled_limits_note(answered) if len(frame) else (
        f"promotionData reported no limit of this promotion for {answered:,} sampled "
        f"customer{'' if answered == 1 else 's'}; the promotion's own limits[] are not "
        "documented, so no limit is measured.")
    return dataclasses.replace(promotion, restrictions=typed_frame(frame, RESTRICTION_COLUMNS),
                               restrictions_note=note)
