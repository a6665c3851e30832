"""``/event``: a day's events, pagination, autocomplete, bad input."""

from __future__ import annotations

import discord
import pytest

from bot.dates import DATE_HELP
from bot.views import NOT_YOURS
from tests.bot_fixtures import BASE_URL, BUSY_DAY_EVENTS, assert_no_mentions_allowed


@pytest.fixture
def world(simcord_env):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    bob = guild.add_member(simcord_env.create_user("bob"))
    return channel, alice, bob


@pytest.mark.parametrize("typed", ["2019-01-01", "1 January 2019", "Jan 1 2019", "January 1, 2019"])
async def test_event_lists_the_day(simcord_env, world, typed):
    channel, alice, _ = world
    result = await alice.slash(channel, "event", date=typed)
    assert not result.ephemeral
    message = channel.last_message
    assert "1 January 2019" in message.content
    [embed] = message.embeds
    assert embed.title == "Jair Bolsonaro takes office as President of Brazil"
    assert embed.url == f"{BASE_URL}/news/2019/01/1/brazil-president.md"
    assert "**1 January 2019**" in embed.description
    assert "Summary of Jair Bolsonaro" in embed.description
    sources = embed.fields[0]
    assert sources.name == "Sources"
    assert "[Agency report](https://news.example/a)" in sources.value
    # One button: the card's Related button (its custom id carries the event id).
    [[button]] = [row.children for row in message.components]
    assert button.label == "Related: Jair Bolsonaro takes office as President of Brazil"
    assert button.custom_id.startswith("dl:rel:")


def _embed_chars(message: discord.Message) -> int:
    return sum(len(embed) for embed in message.embeds)


async def test_busy_day_is_paginated_within_limits(simcord_env, world):
    channel, alice, _ = world
    await alice.slash(channel, "event", date="2015-11-20")
    first = channel.last_message
    assert "24 events · page 1/" in first.content
    assert 1 <= len(first.embeds) <= 10
    assert _embed_chars(first) <= 6000
    labels = [child.label for row in first.components for child in row.children]
    # Page buttons, then a Related button per card of the page.
    assert labels == ["Prev", "Next"] + [f"Related: {e.title}" for e in first.embeds]

    seen = [e.title for e in first.embeds]
    pages = int(first.content.rsplit("/", 1)[1])
    for number in range(2, pages + 1):
        await alice.click(channel.last_message, label="Next")
        message = channel.last_message
        assert f"page {number}/{pages}" in message.content
        assert _embed_chars(message) <= 6000
        labels = [child.label for row in message.components for child in row.children]
        assert labels[2:] == [f"Related: {e.title}" for e in message.embeds]
        seen += [e.title for e in message.embeds]
    assert seen == [f"Busy day event number {n:02d}" for n in range(BUSY_DAY_EVENTS)]

    await alice.click(channel.last_message, label="Prev")
    assert f"page {pages - 1}/{pages}" in channel.last_message.content


async def test_only_the_invoker_can_turn_pages(simcord_env, world):
    channel, alice, bob = world
    await alice.slash(channel, "event", date="2015-11-20")
    message = channel.last_message
    result = await bob.click(message, label="Next")
    assert result.ephemeral
    assert result.response.content == NOT_YOURS
    assert "page 1/" in channel.last_message.content


async def test_buttons_go_away_on_timeout(simcord_env, world):
    channel, alice, _ = world
    await alice.slash(channel, "event", date="2015-11-20")
    await simcord_env.advance_time(179)
    assert channel.last_message.components
    await simcord_env.advance_time(2)
    assert channel.last_message.components == []
    assert "page 1/" in channel.last_message.content


@pytest.mark.parametrize("typed", ["yesterday", "2015-13-40", "   ", "20/11"])
async def test_bad_date_gets_private_one_line_help(simcord_env, world, typed):
    channel, alice, _ = world
    result = await alice.slash(channel, "event", date=typed)
    assert result.ephemeral
    assert result.response.content == DATE_HELP
    assert "\n" not in result.response.content
    assert simcord_env.errors == []  # a user's mistake is answered, not an error


async def test_day_without_events_points_to_nearby_days(simcord_env, world):
    channel, alice, _ = world
    result = await alice.slash(channel, "event", date="2015-11-25")
    assert "No events on 25 November 2015" in result.response.content
    assert "2015-11-20" in result.response.content


async def test_archive_text_cannot_ping_or_break_layout(simcord_env, world):
    channel, alice, _ = world
    await alice.slash(channel, "event", date="2017-03-05")
    message = channel.last_message
    [embed] = message.embeds
    assert "@everyone" not in embed.title.replace("@\u200beveryone", "")
    assert "\\*\\*Breaking\\*\\*" in embed.title
    assert "<@123456789012345678>" not in embed.title
    assert "\\`code\\`" in embed.description
    assert "\\[bracketed\\]" in embed.fields[0].value
    assert "%282%29" in embed.fields[0].value  # parentheses can't close the link early
    assert not message.mention_everyone
    assert message.mentions == []
    assert_no_mentions_allowed(simcord_env)


async def test_autocomplete_suggests_days_with_events_near_what_is_typed(simcord_env, world):
    channel, alice, _ = world
    choices = await alice.autocomplete(channel, "event", "date", "2015-11-18")
    assert choices[0] == {"name": "20 November 2015 · 24 events", "value": "2015-11-20"}
    assert len(choices) == 1  # nothing else within a month

    choices = await alice.autocomplete(channel, "event", "date", "2019")
    assert [c["value"] for c in choices] == ["2019-01-01"]

    choices = await alice.autocomplete(channel, "event", "date", "")
    values = [c["value"] for c in choices]
    assert values[1] == "2020-01-01"  # after today, newest first
    assert len(values) <= 25
    assert values[1:] == sorted(values[1:], reverse=True)


async def test_autocomplete_with_nothing_typed_offers_today_first(simcord_env, world):
    channel, alice, _ = world
    choices = await alice.autocomplete(channel, "event", "date", "")
    # SimCord's clock: 1 January 2026 (UTC, the default timezone), a day without events.
    assert choices[0] == {"name": "1 January 2026 · today", "value": "2026-01-01"}
    assert choices[1]["value"] == "2020-01-01"  # then the newest days with events
    assert len(choices) <= 25


async def test_autocomplete_of_a_month_day_lists_that_day_of_every_year(simcord_env, world):
    channel, alice, _ = world
    choices = await alice.autocomplete(channel, "event", "date", "January 1")
    assert [c["value"] for c in choices] == ["2020-01-01", "2019-01-01", "2015-01-01"]
    choices = await alice.autocomplete(channel, "event", "date", "1 jan")
    assert [c["value"] for c in choices] == ["2020-01-01", "2019-01-01", "2015-01-01"]
