"""A headline's parts: :class:`Fact` (one sentence and how exact it is), :class:`Headline` (a
title and its facts) and the wording every headline shares (limits, time left, plurals).

:mod:`capnb.analysis.headline` builds the headlines of the reports from these.

>>> fact = Fact("Customers reached", "3,912 of 5,000 fetched (78.2%)", "exact")
>>> Headline("Enrol & Earn Stars (1133601377)", (fact,)).to_frame()["text"].tolist()
['3,912 of 5,000 fetched (78.2%)']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from capnb import validation
from capnb.analysis.notes import number_text, share_text
from capnb.errors import ValidationError
from capnb.labels import MEASURABILITY, PERIOD_UNIT, restriction_label

if TYPE_CHECKING:
    from capnb.models import Promotion

__all__ = [
    "CAVEAT",
    "FACT_COLUMNS",
    "LEVELS",
    "MAX_FACTS",
    "Fact",
    "Headline",
    "amount_text",
    "check_frame",
    "collapse",
    "limit_words",
    "plural",
    "subject",
    "time_left",
    "weakest",
]

LEVELS = ("info", "warning")
"""A fact's level: ``warning`` draws the eye (a limit at 80% or more, customers that failed)."""
MAX_FACTS = 8
"""A headline holds at most this many facts (extra limits are collapsed into one fact)."""
FACT_COLUMNS = ("label", "text", "exactness", "note", "level")
"""The columns of :meth:`Headline.to_frame` (all str)."""
CAVEAT = {"exact": "",
          "lower_bound": "A lower bound: the true figure may be higher.",
          "proxy": "A proxy: the action summary has no single events.",
          "not_measurable": "Not measurable from the action summary.",
          "estimate": "An estimate for every customer from a random sample (see its note)."}
"""Measurability -> the short note of a figure that is not exact."""
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Fact:
    """One line of a headline.

    ``label`` names it ("Customers reached"), ``text`` says it ("3,912 of 5,000 fetched
    (78.2%)"), ``exactness`` is a key of :data:`capnb.labels.MEASURABILITY` (how exact the
    figure is), ``note`` one short sentence on why or what (may be empty), ``level`` one of
    :data:`LEVELS`. Texts are plain (not HTML): whoever shows them escapes them.
    """

    label: str
    text: str
    exactness: str
    note: str = ""
    level: str = "info"

    def __post_init__(self) -> None:
        if self.exactness not in MEASURABILITY:
            raise ValidationError("exactness", f"must be one of {', '.join(MEASURABILITY)}, "
                                  f"got {self.exactness!r}")
        if self.level not in LEVELS:
            raise ValidationError("level", f"must be 'info' or 'warning', got {self.level!r}")


@dataclass(frozen=True)
class Headline:
    """What a report says first: a ``title`` (what it is about) and its ``facts``, in order."""

    title: str
    facts: tuple[Fact, ...]

    def __post_init__(self) -> None:
        facts = tuple(self.facts)
        if not all(isinstance(f, Fact) for f in facts):
            raise ValidationError("facts", "must be Fact objects")
        object.__setattr__(self, "facts", facts)

    def to_frame(self) -> pd.DataFrame:
        """The facts as a table: ``label, text, exactness, note, level`` (str), one row each."""
        rows = [[getattr(f, c) for c in FACT_COLUMNS] for f in self.facts]
        return pd.DataFrame(rows, columns=list(FACT_COLUMNS), dtype="str")


def plural(count: Any, word: str) -> str:
    """``"1 customer"``, ``"2,000 customers"``."""
    return f"{number_text(count)} {word}{'' if count == 1 else 's'}"


def subject(promotion: Promotion) -> str:
    """``"Name (id)"`` of a promotion."""
    return f"{promotion.name or '(unnamed)'} ({promotion.id})"


def weakest(levels: Iterable[Any]) -> str:
    """The least exact of some measurabilities (``exact`` for none), so that a fact summing
    up several figures is never more exact than any of them.

    >>> weakest(["exact", "lower_bound", "exact"]), weakest([])
    ('lower_bound', 'exact')
    """
    order = tuple(MEASURABILITY)
    known = [str(v) for v in levels if pd.notna(v)]
    unknown = [v for v in known if v not in order]
    if unknown:
        raise ValidationError("measurability", f"unknown value {unknown[0]!r}")
    return max(known, key=order.index, default="exact")


def limit_words(row: Any) -> str:
    """A restriction's words (a utilisation row): its label, and the period of a PERIOD_BASED
    one ("Earns per customer per week"; an unknown period as it came)."""
    name = restriction_label(row["canonical_name"] if pd.notna(row["canonical_name"])
                             else row["name"])
    unit = row["period_unit"]
    if row["type"] == "PERIOD_BASED" and pd.notna(unit):
        name += (f" per {PERIOD_UNIT[unit]}" if unit in PERIOD_UNIT else
                 f" (period {unit})")
    return name


def amount_text(value: Any, of: Any = None, unit: Any = None) -> str:
    """``"4,697"``, ``"4,697 of 5,000"``; ``" points"`` after when ``unit`` is ``points``."""
    text = number_text(value) + ("" if of is None else f" of {number_text(of)}")
    return text + (" points" if unit == "points" else "")


def check_frame(name: str, frame: Any, columns: Iterable[str], source: str) -> pd.DataFrame:
    """``frame`` when it has ``columns`` (and known ``measurability`` values, if any), else a
    ValidationError naming ``source``."""
    validation.check_frame(name, frame, columns, source)
    if "measurability" in frame.columns:
        unknown = set(frame["measurability"].dropna().astype(str)) - set(MEASURABILITY)
        if unknown:
            raise ValidationError(name, f"has measurability {sorted(unknown)[0]!r}, not one "
                                  f"of {', '.join(MEASURABILITY)}")
    return frame


def time_left(promotion: Promotion, now: pd.Timestamp) -> Fact:
    """How long the promotion still runs at ``now`` (days rounded as the portfolio shows
    them): days left, "Ended N days ago", "Starts in N days" or "No end date"."""
    start, end = promotion.start, promotion.end
    if end is None or pd.isna(end):
        return Fact("Time left", "No end date", "exact")
    dated = start is not None and pd.notna(start)
    if dated and now < start:
        return Fact("Time left", f"Starts in {plural(round((start - now) / _DAY), 'day')} "
                    f"({start:%Y-%m-%d}), ends {end:%Y-%m-%d}", "exact")
    left = (end - now) / _DAY
    if left < 0:
        return Fact("Time left", f"Ended {plural(round(-left), 'day')} ago ({end:%Y-%m-%d})",
                    "exact")
    text = "Less than a day left" if left < 1 else f"{plural(round(left), 'day')} left"
    note = (f"{share_text((now - start) / (end - start))} of its "
            f"{plural(round((end - start) / _DAY), 'day')} have passed."
            if dated and end > start else "")
    return Fact("Time left", f"{text} (ends {end:%Y-%m-%d})", "exact", note)


def collapse(facts: list[Fact], shares: list[float], room: int) -> list[Fact]:
    """One fact per limit at 80% or more (``shares`` of each, same order) fitted into ``room``
    facts: the first ``room - 1`` as they are, the rest as one "N more limits" fact."""
    if len(facts) <= room:
        return facts
    keep = max(room - 1, 0)
    rest = list(zip(facts[keep:], shares[keep:], strict=True))
    text = "; ".join(f"{f.label} ({share_text(s)})" for f, s in rest)
    return [*facts[:keep], Fact(f"{len(rest)} more limits at 80% or more", text,
                                weakest(f.exactness for f, _ in rest), level="warning")]
