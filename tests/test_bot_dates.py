"""``bot.dates``: what people type into date options."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dates import DateInputError, parse_date, parse_day, suggestion_window

NOV_20 = dt.date(2015, 11, 20)


@pytest.mark.parametrize(
    "text",
    [
        "2015-11-20",
        "20 November 2015",
        "Nov 20 2015",
        "November 20, 2015",
        "20th Nov. 2015",
        " 2015-11-20 ",
        "2015/11/20",
    ],
)
def test_full_dates(text):
    assert parse_date(text) == NOV_20


@pytest.mark.parametrize("text", ["", "  ", "tomorrow", "2015-02-30", "20/11/2015", "Nov 2015"])
def test_not_full_dates(text):
    with pytest.raises(DateInputError, match="2015-11-20"):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 20", (11, 20, None)),
        ("11-20", (11, 20, None)),
        ("20 November", (11, 20, None)),
        ("Feb 29", (2, 29, None)),
        ("2015-11-20", (11, 20, 2015)),
    ],
)
def test_days(text, expected):
    assert parse_day(text) == expected


def test_suggestion_windows():
    window = suggestion_window("2015-11-20")
    assert window.anchor == NOV_20
    assert window.date_from == NOV_20 - dt.timedelta(days=31)
    assert window.date_to == NOV_20 + dt.timedelta(days=31)
    month = suggestion_window("Feb 2016")
    assert (month.date_from, month.date_to) == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))
    year = suggestion_window("2015")
    assert (year.date_from, year.date_to) == (dt.date(2015, 1, 1), dt.date(2015, 12, 31))
    assert suggestion_window("").anchor is None
    assert suggestion_window("gibberish").date_from is None


def test_importing_the_dates_loads_no_discord():
    import subprocess
    import sys

    code = (
        "import sys, bot.dates, archive.dates; "
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
