"""The tree's one error handler: an unexpected failure is logged with a reference and
answered politely; expected ones are covered with each command."""

from __future__ import annotations

import logging
import re

import pytest


class ExplodingSearcher:
    """A search layer that fails (not a Discord object: the bot is tested through SimCord)."""

    async def ask(self, question, *, k=None, date_from=None, date_to=None, lang=None):
        raise RuntimeError("the index exploded")


@pytest.fixture
def bot_searcher():
    return ExplodingSearcher()


async def test_unexpected_error_is_logged_with_a_reference(simcord_env, caplog):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await alice.slash(channel, "ask", question="what happened")
    reply = channel.last_message.content
    match = re.search(r"reference `([0-9a-f]{8})`", reply)
    assert reply.startswith("Sorry, something went wrong on my side.")
    assert match
    [record] = caplog.records
    assert match[1] in record.getMessage()
    assert "the index exploded" in str(record.exc_info[1])
    [error] = simcord_env.errors
    assert "the index exploded" in str(error)
    # The bot keeps working.
    await alice.slash(channel, "onthisday", date="2019-01-01")
    assert "On this day, 1 January" in channel.last_message.content
