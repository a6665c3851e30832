"""``/onthisday``: the digest on demand, today by default, in the server's timezone."""

from __future__ import annotations

import pytest

from bot.dates import MONTH_DAY_HELP
from tests.bot_fixtures import assert_no_mentions_allowed


@pytest.fixture
def world(simcord_env):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    return guild, channel, alice


async def test_today_by_default_one_event_a_year_newest_first(simcord_env, world):
    _, channel, alice = world
    result = await alice.slash(channel, "onthisday")
    assert not result.ephemeral
    message = channel.last_message
    assert message.content.startswith("**On this day, 1 January** · 3 events, 2015–2020")
    assert [e.title for e in message.embeds] == [
        "A minor New Year note",
        "Jair Bolsonaro takes office as President of Brazil",
        "Lithuania adopts the euro",
    ]


async def test_today_follows_the_server_timezone(simcord_env, world, bot_state):
    guild, channel, alice = world
    await bot_state.set_guild_timezone(guild.id, "America/New_York", simcord_env.now())
    await alice.slash(channel, "onthisday")  # 31 December 19:00 in New York
    assert "On this day, 31 December" in channel.last_message.content
    assert "Nothing in the archive happened" in channel.last_message.content


@pytest.mark.parametrize("typed", ["March 5", "03-05", "5 Mar", "2026-03-05"])
async def test_a_chosen_day(simcord_env, world, typed):
    _, channel, alice = world
    await alice.slash(channel, "onthisday", date=typed)
    message = channel.last_message
    assert "On this day, 5 March" in message.content
    [embed] = message.embeds
    assert "\\*\\*Breaking\\*\\*" in embed.title
    assert not message.mention_everyone
    assert_no_mentions_allowed(simcord_env)


async def test_a_full_date_shows_only_earlier_years(simcord_env, world):
    _, channel, alice = world
    await alice.slash(channel, "onthisday", date="2019-01-01")
    assert [e.title for e in channel.last_message.embeds] == ["Lithuania adopts the euro"]


async def test_bad_date(simcord_env, world):
    _, channel, alice = world
    result = await alice.slash(channel, "onthisday", date="the ides of March")
    assert result.ephemeral
    assert result.response.content == MONTH_DAY_HELP
    assert simcord_env.errors == []  # a user's mistake is answered, not an error


async def test_busy_month_day_is_paged_with_every_event_reachable(simcord_env, world):
    _, channel, alice = world
    await alice.slash(channel, "onthisday", date="Nov 20")
    message = channel.last_message
    pages = int(message.content.rsplit("/", 1)[1])
    seen = []
    for number in range(1, pages + 1):
        if number > 1:
            await alice.click(channel.last_message, label="Next")
            message = channel.last_message
        assert f"page {number}/{pages}" in message.content
        assert len(message.embeds) <= 10
        assert sum(len(e) for e in message.embeds) <= 6000
        seen += [e.title for e in message.embeds]
    assert "more not shown" not in message.content
    assert sorted(seen) == [f"Busy day event number {n:02d}" for n in range(24)]
