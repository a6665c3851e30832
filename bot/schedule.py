"""Pure scheduling of the daily post: when it is due, and when to look again.

Everything takes ``now`` (an aware UTC datetime) so it can be tested without a clock.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

TIME_HELP = "Give a 24-hour time as HH:MM, like 09:00 or 18:30."
TIMEZONE_HELP = "Give an IANA timezone like Europe/Paris, America/New_York or UTC."


def parse_post_time(text: str) -> dt.time:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(TIME_HELP)
    return dt.time(int(match[1]), int(match[2]))


# Files of the system's zoneinfo folder that are not IANA zone names.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_ZONES and not name.startswith(("posix/", "right/"))
    )


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA timezone by its exact name (``Europe/Paris``); ``utc`` is accepted too."""
    name = name.strip()
    if name.upper() == "UTC":
        name = "UTC"
    if name not in _timezone_names():
        raise ValueError(TIMEZONE_HELP)
    return zoneinfo.ZoneInfo(name)


def timezone_names() -> list[str]:
    return sorted(_timezone_names())


def resolve_timezone(text: str) -> zoneinfo.ZoneInfo:
    """A timezone as someone types it: the exact name (any case), or the one zone whose city
    it names ("paris" -> Europe/Paris, "new york" -> America/New_York). Otherwise
    ``ValueError`` with a "did you mean" of the closest names, or the general help."""
    try:
        return parse_timezone(text)
    except ValueError:
        pass
    needle = "_".join(text.strip().lower().split())
    if not needle:
        raise ValueError(TIMEZONE_HELP)
    names = timezone_names()
    exact = [n for n in names if n.lower() == needle]
    cities = [n for n in names if n.lower().rsplit("/", 1)[-1] == needle.rsplit("/", 1)[-1]]
    containing = [n for n in names if needle in n.lower()]
    for found in (exact, cities, containing):
        if len(found) == 1:
            return zoneinfo.ZoneInfo(found[0])
        if found:
            break
    suggestions = (exact or cities or containing)[:3] or difflib.get_close_matches(
        needle, [n.lower() for n in names], n=3, cutoff=0.6
    )
    if suggestions:
        proper = {n.lower(): n for n in names}
        shown = [proper.get(s.lower(), s) for s in suggestions]
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        raise ValueError(f"Did you mean {listed}? {TIMEZONE_HELP}")
    raise ValueError(TIMEZONE_HELP)


@dataclass(frozen=True, slots=True)
class DailySchedule:
    post_time: dt.time
    timezone: zoneinfo.ZoneInfo
    # Posts are due only from this instant on: switching posts on after today's post time
    # starts with tomorrow's post.
    enabled_since: dt.datetime | None = None


def post_instant(local_date: dt.date, schedule: DailySchedule) -> dt.datetime:
    """The UTC instant of the post for ``local_date`` (a time skipped by a DST change resolves
    to the same wall time in the offset before the change)."""
    local = dt.datetime.combine(local_date, schedule.post_time, tzinfo=schedule.timezone)
    return local.astimezone(dt.UTC)


def local_today(now: dt.datetime, schedule: DailySchedule) -> dt.date:
    return now.astimezone(schedule.timezone).date()


def due_date(now: dt.datetime, schedule: DailySchedule) -> dt.date | None:
    """The local date whose post should be out by ``now``, if any: only today's local date.

    A day missed entirely (the bot was down past local midnight) is never due again.
    """
    today = local_today(now, schedule)
    instant = post_instant(today, schedule)
    if now < instant:
        return None
    if schedule.enabled_since is not None and instant < schedule.enabled_since:
        return None
    return today


def next_post_instant(now: dt.datetime, schedule: DailySchedule) -> dt.datetime:
    """The first post instant strictly after ``now``."""
    today = local_today(now, schedule)
    for offset in range(3):
        instant = post_instant(today + dt.timedelta(days=offset), schedule)
        if instant > now:
            return instant
    raise AssertionError("a post instant exists within three days")


def seconds_until(
    now: dt.datetime, instants: Iterable[dt.datetime], *, longest: dt.timedelta
) -> float:
    """Seconds from ``now`` to the earliest of ``instants``, at most ``longest``, at least 0."""
    target = min(instants, default=now + longest)
    return max(0.0, min(target - now, longest).total_seconds())


def retry_delay(attempt: int) -> dt.timedelta:
    """Wait before try ``attempt + 1``: one minute, doubling, at most an hour."""
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempt - 1)))
