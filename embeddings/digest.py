"""The order of an on-this-day digest: spread over the years, most notable first.

1. Round anniversaries first: events 1, 5, 10, 15, 20 ... years before the day, nearest
   anniversary first, at most ``per_round_year`` (2) of each year.
2. Then every other year, newest first, its most notable event (``per_year``, 1).
3. Then everything else, year by year (newest first), most notable first, so every event of
   the day can be reached by turning pages.

Notability (``Stories.notability``) counts sources, related links and the story's size; an
event with its own page always comes before a one-line event of the same year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archive.models import Event


@dataclass(frozen=True, slots=True)
class DigestPlan:
    highlights: tuple[Event, ...]  # the spread: anniversaries, then one per year
    rest: tuple[Event, ...]  # every other event of the day

    @property
    def events(self) -> tuple[Event, ...]:
        return self.highlights + self.rest


def is_round_anniversary(years_ago: int) -> bool:
    return years_ago == 1 or (years_ago > 0 and years_ago % 5 == 0)


def plan_digest(
    events: Sequence[Event],
    scores: Mapping[int, int],
    day: dt.date,
    *,
    per_round_year: int = 2,
    per_year: int = 1,
) -> DigestPlan:
    """Order ``events`` of one month-day for the digest of ``day`` (see the module doc)."""
    by_year: dict[int, list[Event]] = {}
    for event in events:
        by_year.setdefault(event.date.year, []).append(event)
    for year_events in by_year.values():
        year_events.sort(key=lambda e: (-int(e.has_page), -scores.get(e.id, 0), e.position, e.id))
    years = sorted(by_year, reverse=True)
    round_years = [y for y in years if is_round_anniversary(day.year - y)]
    highlights: list[Event] = []
    for year in round_years:
        highlights += by_year[year][:per_round_year]
    for year in years:
        if year not in round_years:
            highlights += by_year[year][:per_year]
    chosen = {e.id for e in highlights}
    rest = [e for year in years for e in by_year[year] if e.id not in chosen]
    return DigestPlan(tuple(highlights), tuple(rest))
