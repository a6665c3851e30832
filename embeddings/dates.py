"""Dates in questions: "in November 2015", "on 20 November 2015", "2015", "before 2010",
"after March 2016", "since 2012", "between 2009 and 2011", "last week of November 2015",
"early 2015".

``understand_dates(question)`` returns the date window and the question without the date
phrase (the date is a filter, not something to match words against). The grammar is written
out here rather than left to dateparser: ``dateparser.search`` splits phrases such as "the
first week of October 2015" into pieces and fills in today's month and day, which would turn a
question into a wrong filter without a trace. Only absolute dates are understood: "last year"
depends on when the question is asked and is left in the text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower())
}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>1[89]\d\d|20\d\d)"
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
             "fourth": 4, "4th": 4, "last": -1, "final": -1}  # fmt: skip
_PARTS = {"early": (1, 3), "mid": (2, 3), "middle of": (2, 3), "late": (3, 3), "end of": (3, 3)}
_PART = r"(?P<part>early|mid|middle of|late|end of)[\s-]*"

# Point patterns, most specific first; each names the parts it captures.
_POINT_PATTERNS = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")),
    (
        "week",
        re.compile(
            r"\b(?:the\s+)?(?P<ordinal>"
            + "|".join(_ORDINALS)
            + r")\s+week\s+(?:of|in)\s+"
            + _MONTH
            + r",?\s+"
            + _YEAR
            + r"\b",
            re.I,
        ),
    ),
    ("dmy", re.compile(r"\b" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I)),
    ("mdy", re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b", re.I)),
    ("part-month", re.compile(r"\b" + _PART + _MONTH + r",?\s+" + _YEAR + r"\b", re.I)),
    ("month", re.compile(r"\b" + _MONTH + r",?\s+(?:of\s+)?" + _YEAR + r"\b", re.I)),
    ("part-year", re.compile(r"\b" + _PART + _YEAR + r"\b", re.I)),
    ("year", re.compile(r"(?<![\w-])" + _YEAR + r"(?![\w-])")),
]
_BEFORE = re.compile(
    r"\b(?:before|prior\s+to|earlier\s+than|until|till|up\s+to)\s+(?:the\s+)?$", re.I
)
_AFTER = re.compile(r"\b(?:after|later\s+than)\s+(?:the\s+)?$", re.I)
_SINCE = re.compile(r"\b(?:since|from)\s+(?:the\s+)?$", re.I)
_AT = re.compile(r"\b(?:in|on|during|of|at|throughout)\s+(?:the\s+)?(?:year\s+)?$", re.I)
_RANGE_START = re.compile(r"\b(?:between|from)\s+(?:the\s+)?$", re.I)
_RANGE_JOIN = re.compile(r"^\s*(?:and|to|until|till|through|-|–)\s*(?:the\s+)?$", re.I)


@dataclass(frozen=True, slots=True)
class DateWindow:
    """The dates a question is about (either end may be open) and its text without them."""

    date_from: dt.date | None
    date_to: dt.date | None
    text: str
    phrase: str | None = None  # the date phrase understood, as written

    @property
    def bounded(self) -> bool:
        return self.date_from is not None or self.date_to is not None


@dataclass(frozen=True, slots=True)
class _Point:
    start: int
    end: int
    first: dt.date
    last: dt.date


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _point(kind: str, match: re.Match[str]) -> tuple[dt.date, dt.date] | None:
    parts = match.groupdict()
    year = int(parts["year"])
    month_text = parts.get("month")
    if month_text is None:
        month = 0
    elif month_text.isdigit():
        month = int(month_text)
    else:
        month = _MONTHS[month_text.lower().rstrip(".")]
    try:
        if kind in ("iso", "dmy", "mdy"):
            day = dt.date(year, month, int(parts["day"]))
            return day, day
        if kind == "week":
            ordinal = _ORDINALS[parts["ordinal"].lower()]
            end = _month_end(year, month)
            if ordinal == -1:
                return end - dt.timedelta(days=6), end
            first = dt.date(year, month, 1 + 7 * (ordinal - 1))
            return first, min(first + dt.timedelta(days=6), end)
        if kind == "month":
            return dt.date(year, month, 1), _month_end(year, month)
        if kind == "part-month":
            third, _ = _PARTS[" ".join(parts["part"].lower().split())]
            ranges = {1: (1, 10), 2: (11, 20), 3: (21, _month_end(year, month).day)}
            lo, hi = ranges[third]
            return dt.date(year, month, lo), dt.date(year, month, hi)
        if kind == "part-year":
            third, _ = _PARTS[" ".join(parts["part"].lower().split())]
            months = {1: (1, 4), 2: (5, 8), 3: (9, 12)}[third]
            return dt.date(year, months[0], 1), _month_end(year, months[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    except (ValueError, KeyError):
        return None


def _find_points(text: str) -> list[_Point]:
    points: list[_Point] = []
    for kind, pattern in _POINT_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < p.end and p.start < match.end() for p in points):
                continue
            span = _point(kind, match)
            if span is not None:
                points.append(_Point(match.start(), match.end(), *span))
    return sorted(points, key=lambda p: p.start)


def _strip(text: str, start: int, end: int) -> str:
    rest = f"{text[:start]} {text[end:]}"
    rest = re.sub(r"\s+([?.!,;:])", r"\1", rest)
    return " ".join(rest.split())


def understand_dates(question: str) -> DateWindow:
    """The date window a question asks about, and the question with that phrase removed.

    The first date phrase is used, with the word before it: "in"/"on"/"during" (or nothing)
    keep its span, "before" ends the window the day before, "after" starts it the day after,
    "since"/"from" starts it on the phrase's first day, "between A and B" / "from A to B"
    spans both. A question without a date gives an open window and its text unchanged.
    """
    points = _find_points(question)
    if not points:
        return DateWindow(None, None, question)
    first = points[0]
    head = question[: first.start]
    if len(points) > 1:
        second = points[1]
        between = question[first.end : second.start]
        opener = _RANGE_START.search(head)
        if _RANGE_JOIN.match(between) and (opener or not head.strip() or _AT.search(head)):
            start = opener.start() if opener else first.start
            return DateWindow(
                first.first, second.last, _strip(question, start, second.end),
                question[start : second.end],
            )  # fmt: skip
    date_from: dt.date | None = first.first
    date_to: dt.date | None = first.last
    start = first.start
    if (before := _BEFORE.search(head)) is not None:
        date_from, date_to, start = None, first.first - dt.timedelta(days=1), before.start()
    elif (after := _AFTER.search(head)) is not None:
        date_from, date_to, start = first.last + dt.timedelta(days=1), None, after.start()
    elif (since := _SINCE.search(head)) is not None:
        date_from, date_to, start = first.first, None, since.start()
    elif (at := _AT.search(head)) is not None:
        start = at.start()
    return DateWindow(
        date_from, date_to, _strip(question, start, first.end), question[start : first.end]
    )
