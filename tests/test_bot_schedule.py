"""``bot.schedule``: when the daily post is due, across timezones and DST changes."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.schedule import (
    DailySchedule,
    due_date,
    next_post_instant,
    parse_post_time,
    parse_timezone,
    post_instant,
    retry_delay,
    seconds_until,
)


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def schedule(time="09:00", zone="UTC", since=None) -> DailySchedule:
    return DailySchedule(parse_post_time(time), parse_timezone(zone), since)


def test_parse_time_and_zone():
    assert parse_post_time("7:05") == dt.time(7, 5)
    for bad in ("24:00", "12:60", "noon", "12", "12:5"):
        with pytest.raises(ValueError):
            parse_post_time(bad)
    assert parse_timezone("utc").key == "UTC"
    assert parse_timezone("Europe/Paris").key == "Europe/Paris"
    for bad in ("Europe/Atlantis", "/etc/localtime", "", "localtime"):
        with pytest.raises(ValueError):
            parse_timezone(bad)


def test_due_only_for_todays_local_date_after_the_post_time():
    tokyo = schedule("08:00", "Asia/Tokyo")
    assert due_date(at(2026, 1, 1, 22, 59), tokyo) is None  # 07:59 on 2 January in Tokyo
    assert due_date(at(2026, 1, 1, 23, 0), tokyo) == dt.date(2026, 1, 2)
    assert due_date(at(2026, 1, 2, 14, 59), tokyo) == dt.date(2026, 1, 2)  # still 2 January
    assert due_date(at(2026, 1, 2, 15, 0), tokyo) is None  # 3 January, before 08:00


def test_not_due_for_a_day_whose_time_passed_before_posts_were_switched_on():
    since = at(2026, 1, 1, 12, 0)
    assert due_date(at(2026, 1, 1, 12, 1), schedule(since=since)) is None
    assert due_date(at(2026, 1, 2, 9, 0), schedule(since=since)) == dt.date(2026, 1, 2)


def test_next_post_instant_and_dst():
    paris = schedule("02:30", "Europe/Paris")
    # 29 March 2026: Paris skips from 02:00 to 03:00; 02:30 that day is 01:30 UTC.
    assert post_instant(dt.date(2026, 3, 29), paris) == at(2026, 3, 29, 1, 30)
    assert post_instant(dt.date(2026, 3, 30), paris) == at(2026, 3, 30, 0, 30)
    assert next_post_instant(at(2026, 3, 29, 1, 30), paris) == at(2026, 3, 30, 0, 30)
    new_york = schedule("09:00", "America/New_York")
    assert next_post_instant(at(2026, 1, 1), new_york) == at(2026, 1, 1, 14, 0)
    assert next_post_instant(at(2026, 7, 1), new_york) == at(2026, 7, 1, 13, 0)


def test_sleep_and_backoff():
    now = at(2026, 1, 1)
    hour = dt.timedelta(hours=1)
    assert seconds_until(now, [], longest=hour) == 3600
    assert seconds_until(now, [now + dt.timedelta(minutes=5)], longest=hour) == 300
    assert seconds_until(now, [now - hour], longest=hour) == 0
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 10)] == [1, 2, 4, 60]
