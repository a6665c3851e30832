"""``/ask``: defers, searches (real hybrid searcher, fake encoder), answers or says so."""

from __future__ import annotations

import pytest

from bot.cogs.ask import NOTHING_CLOSE
from tests.bot_fixtures import assert_no_mentions_allowed


@pytest.fixture
def world(simcord_env):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    return channel, alice


async def test_ask_defers_and_answers_with_events(simcord_env, world):
    channel, alice = world
    result = await alice.slash(channel, "ask", question="Lithuania adopts the euro")
    assert not result.ephemeral
    callbacks = [r.json for r in simcord_env.http_requests if r.path.endswith("/callback")]
    assert callbacks[0]["type"] == 5  # deferred at once, answered by editing that response
    message = channel.last_message
    assert "Lithuania adopts the euro" in message.content
    titles = [e.title for e in message.embeds]
    assert titles[0] == "Lithuania adopts the euro"
    first = message.embeds[0]
    assert "**1 January 2015**" in first.description
    assert "Summary of Lithuania adopts the euro" in first.description
    assert (
        "[Report on lithuania-euro](https://news.example/lithuania-euro)" in first.fields[0].value
    )
    assert_no_mentions_allowed(simcord_env)


async def test_ask_with_a_date_window(simcord_env, world):
    channel, alice = world
    await alice.slash(
        channel, "ask", question="busy day event", **{"from": "2015-11-20", "to": "Nov 20 2015"}
    )
    message = channel.last_message
    assert message.embeds
    assert all("20 November 2015" in e.description for e in message.embeds)
    assert "20 November 2015 – 20 November 2015" in message.content


async def test_ask_nothing_close_enough(simcord_env, world):
    channel, alice = world
    await alice.slash(channel, "ask", question="quantum chromodynamics zebra violin")
    message = channel.last_message
    assert NOTHING_CLOSE in message.content
    assert message.embeds == []


async def test_ask_bad_window_gets_private_help(simcord_env, world):
    channel, alice = world
    result = await alice.slash(channel, "ask", question="euro", **{"from": "someday"})
    assert result.ephemeral
    assert "2015-11-20" in result.response.content
    result = await alice.slash(
        channel, "ask", question="euro", **{"from": "2016-01-01", "to": "2015-01-01"}
    )
    assert result.ephemeral
    assert result.response.content == "`from` must be on or before `to`."
    assert simcord_env.errors == []  # a user's mistake is answered, not an error


async def test_ask_names_only_the_date_options_given(simcord_env, world):
    channel, alice = world
    result = await alice.slash(channel, "ask", question="euro", **{"from": "someday"})
    assert result.response.content.startswith("`from`: Give a date like")
    result = await alice.slash(channel, "ask", question="euro", to="someday")
    assert result.response.content.startswith("`to`: Give a date like")
