"""Dates as people type them, in a slash command or on the command line: the one parser the
bot and the CLI share, and windows for autocomplete. (Dates inside questions, "in November
2015", are ``embeddings.dates``.)"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

DATE_HELP = "Give a date like 2015-11-20, 20 November 2015 or Nov 20 2015."
MONTH_DAY_HELP = "Give a date like 2015-11-20, 20 November 2015, Nov 20 or 11-20."

_FULL_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y")
_MONTH_DAY_FORMATS = ("%m-%d", "%d %B", "%d %b", "%B %d", "%b %d")
_MONTH_FORMATS = ("%Y-%m", "%B %Y", "%b %Y")


class DateInputError(ValueError):
    """Text that is not a date we understand; the message is a one-line help."""


def _normalise(text: str) -> str:
    text = text.strip().lower().replace(",", " ").replace(".", " ").replace("/", "-")
    text = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\bsept\b", "sep", text)
    return " ".join(text.split())


def _try(text: str, formats: tuple[str, ...]) -> dt.datetime | None:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_date(text: str) -> dt.date:
    """A full date: ``2015-11-20``, ``20 November 2015``, ``Nov 20 2015`` (commas, dots and
    ordinal suffixes are ignored)."""
    parsed = _try(_normalise(text), _FULL_FORMATS)
    if parsed is None:
        raise DateInputError(DATE_HELP)
    return parsed.date()


def parse_day(text: str) -> tuple[int, int, int | None]:
    """A full date or a month-day (``Nov 20``, ``11-20``): (month, day, year or None)."""
    normalised = _normalise(text)
    full = _try(normalised, _FULL_FORMATS)
    if full is not None:
        return full.month, full.day, full.year
    # strptime's default year (1900) is not a leap year: parse month-days in a leap year.
    partial = _try(f"2000 {normalised}", tuple(f"%Y {fmt}" for fmt in _MONTH_DAY_FORMATS))
    if partial is None:
        raise DateInputError(MONTH_DAY_HELP)
    return partial.month, partial.day, None


@dataclass(frozen=True, slots=True)
class Window:
    """Days to look for events in; suggestions nearest ``anchor`` first (None: newest first)."""

    date_from: dt.date | None
    date_to: dt.date | None
    anchor: dt.date | None
    # A month-day typed without a year ("November 26"): that day of every year.
    month_day: tuple[int, int] | None = None


def suggestion_window(text: str, radius_days: int = 31) -> Window:
    """Where to look for dates with events, given what someone has typed so far."""
    normalised = _normalise(text)
    full = _try(normalised, _FULL_FORMATS)
    if full is not None:
        day = full.date()
        radius = dt.timedelta(days=radius_days)
        return Window(day - radius, day + radius, day)
    month = _try(normalised, _MONTH_FORMATS)
    if month is not None:
        last = calendar.monthrange(month.year, month.month)[1]
        first = dt.date(month.year, month.month, 1)
        return Window(first, dt.date(month.year, month.month, last), first)
    partial = _try(f"2000 {normalised}", tuple(f"%Y {fmt}" for fmt in _MONTH_DAY_FORMATS))
    if partial is not None:
        return Window(None, None, None, (partial.month, partial.day))
    if re.fullmatch(r"\d{4}", normalised):
        year = int(normalised)
        if dt.MINYEAR <= year <= dt.MAXYEAR:
            return Window(dt.date(year, 1, 1), dt.date(year, 12, 31), dt.date(year, 1, 1))
    return Window(None, None, None)


def long_date(day: dt.date) -> str:
    """``20 November 2015``."""
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def long_month_day(month: int, day: int) -> str:
    """``20 November``."""
    return f"{day} {calendar.month_name[month]}"
