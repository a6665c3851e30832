"""``bot.replies.send_followup`` through ``/ask``: a follow-up that fails on Discord's side is
retried a bounded number of times, then "thinking…" becomes an apology with a reference."""

from __future__ import annotations

import asyncio
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


class SlowStore:
    """The real store, with reads of a day that take ``delay`` seconds (as on a day with
    100,000 events)."""

    def __init__(self, store, delay: float) -> None:
        self._store = store
        self._delay = delay

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def events_on(self, *args, **kwargs):
        await asyncio.sleep(self._delay)
        return await self._store.events_on(*args, **kwargs)

    async def events_on_month_day(self, *args, **kwargs):
        await asyncio.sleep(self._delay)
        return await self._store.events_on_month_day(*args, **kwargs)


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("event", {"date": "2015-11-20"}, "**20 November 2015** · 24 events"),
        ("event", {"date": "2015-11-21"}, "No events on 21 November 2015"),
        ("onthisday", {"date": "Jan 1"}, "On this day, 1 January"),
    ],
)
async def test_a_slow_read_is_deferred_and_still_answered(
    simcord_env, make_bot, bot_store, command, options, expected
):
    env = simcord_env
    await env.restart_bot(make_bot(store=SlowStore(bot_store, 4.0)))
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(env.create_user("alice"))
    await alice.slash(channel, command, **options)
    callbacks = [r.json for r in env.http_requests if r.path.endswith("/callback")]
    assert callbacks[-1]["type"] == 5  # deferred before Discord's 3 seconds ran out
    assert expected in channel.last_message.content
    assert not env.errors


async def test_a_fast_read_answers_at_once(simcord_env, world):
    channel, alice = world
    await alice.slash(channel, "event", date="2015-11-20")
    callbacks = [r.json for r in simcord_env.http_requests if r.path.endswith("/callback")]
    assert callbacks[-1]["type"] == 4  # one response, no "thinking…"
