"""The dashboard's cohort filters: activity, actions and the date range of the last issuance.

:func:`filter_cohort` returns a view of a fetched cohort with the same customers (so shares keep
the whole cohort as denominator) and only the benefit rows the filters keep; the cohort itself is
untouched and nothing is fetched again. Activity and action filters apply to incentives (points
and currencies carry no activity in the summary).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from capnb.errors import ValidationError
from capnb.fetch.cohort import Cohort

__all__ = ["ALL_ACTIVITIES", "NO_ACTIVITY", "action_options", "activity_options",
           "filter_cohort"]

ALL_ACTIVITIES = "All activities"
NO_ACTIVITY = "(no activity)"


def activity_options(incentives: pd.DataFrame) -> list[str]:
    """The activity filter's choices: all, each activity id, then rows without one (if any)."""
    activities = sorted(set(incentives["activity_id"].dropna()))
    if incentives["activity_id"].isna().any():
        activities.append(NO_ACTIVITY)
    return [ALL_ACTIVITIES, *activities]


def action_options(incentives: pd.DataFrame) -> list[str]:
    """The action filter's choices (none selected = every action)."""
    return sorted(set(incentives["action"].dropna()))


def filter_cohort(cohort: Cohort, *, activity: str = ALL_ACTIVITIES,
                  actions: Sequence[str] = (), date_from: dt.date | None = None,
                  date_to: dt.date | None = None, tz: str = "UTC") -> Cohort:
    """The cohort with the filters applied (customers unchanged: same denominator; a random
    sample keeps its design, so the charts still estimate the population).

    ``date_from`` and ``date_to`` (inclusive days in ``tz``) keep benefits whose *last*
    issuance falls in the range; a reversed range raises ``ValidationError``.
    """
    incentives, frames = cohort.incentives, {}
    if activity == NO_ACTIVITY:
        incentives = incentives[incentives["activity_id"].isna()]
    elif activity != ALL_ACTIVITIES:
        incentives = incentives[incentives["activity_id"].eq(activity).fillna(False)]
    if actions:
        incentives = incentives[incentives["action"].isin(actions)]
    frames["incentives"] = incentives
    frames["points"], frames["alternate_currencies"] = cohort.points, \
        cohort.alternate_currencies
    low, high = date_from, date_to
    if low is not None and high is not None and low > high:
        raise ValidationError("date range", f"'From' ({low}) is after 'To' ({high})")
    if low is not None or high is not None:
        start = pd.Timestamp(low or dt.date(1970, 1, 1)).tz_localize(tz)
        end = pd.Timestamp(high or dt.date(2261, 12, 31)).tz_localize(tz) + pd.Timedelta(
            days=1)
        for name, frame in frames.items():
            last = frame["last_issued_on"]
            frames[name] = frame[(last >= start) & (last < end)]
    return Cohort(program_id=cohort.program_id, promotion_id=cohort.promotion_id,
                  activity_id=cohort.activity_id, host=cohort.host,
                  customers=cohort.customers, design=cohort.design, **frames)
