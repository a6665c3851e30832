"""``bot.replies.send_followup`` through ``/ask``: a follow-up that fails on Discord's side is
retried a bounded number of times, then "thinking…" becomes an apology with a reference."""

from __future__ import annotations

import logging
import re

import pytest

from bot.replies import FOLLOWUP_ATTEMPTS


@pytest.fixture
def world(simcord_env):
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    return channel, alice


def _followup_posts(env) -> list:
    return [r for r in env.http_requests if r.method == "POST" and r.path.startswith("/webhooks/")]


async def test_a_failing_followup_is_retried_and_then_delivered(simcord_env, world):
    channel, alice = world
    simcord_env.inject_error("POST", "/webhooks/*", status=500, times=FOLLOWUP_ATTEMPTS - 1)
    await alice.slash(channel, "ask", question="Lithuania adopts the euro")
    assert len(_followup_posts(simcord_env)) == FOLLOWUP_ATTEMPTS
    assert channel.last_message.embeds[0].title == "Lithuania adopts the euro"
    assert not simcord_env.errors


async def test_a_followup_that_keeps_failing_becomes_an_apology(simcord_env, world, caplog):
    channel, alice = world
    simcord_env.inject_error("POST", "/webhooks/*", status=503, times=None)
    with caplog.at_level(logging.ERROR, logger="bot.replies"):
        result = await alice.slash(channel, "ask", question="Lithuania adopts the euro")
    assert len(_followup_posts(simcord_env)) == FOLLOWUP_ATTEMPTS  # bounded
    # The deferred "thinking…" response now says what happened, with a reference.
    original = result.response.content if result.response else channel.last_message.content
    match = re.search(r"reference `([0-9a-f]{8})`", original)
    assert original.startswith("Sorry, I found an answer but Discord wouldn't take it."), original
    assert match
    [record] = caplog.records
    assert match[1] in record.getMessage()
    assert "after 3 tries" in record.getMessage()
    assert not simcord_env.errors
