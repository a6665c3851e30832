"""Stories in Discord (SimCord) on the real archive-en pages: the Related button, ``/story``
pages with the chart attached, ``/ask`` one card per story, the on-this-day digest spread over
the years and paged, the daily post's More button, "+N more sources", Discord's limits."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from archive.ingest import ingest
from archive.store import Store
from bot.client import DatelineBot, create_bot
from bot.state import BotState
from dateline.config import Settings
from embeddings.encoder import FakeEncoder
from embeddings.search import Searcher
from embeddings.timeline_chart import HEIGHT_PX, WIDTH_PX, png_size
from tests.bot_fixtures import assert_no_mentions_allowed
from tests.conftest import shared_archive

CASPIAN = "russian-warships-launch-cruise-missiles-from-the-caspian-sea"
NOV_20 = dt.date(2015, 11, 20)
# The clock stands on 2025-11-20 08:00 UTC (SimCord starts at 2026-01-01 00:00 UTC).
OFFSET = dt.datetime(2025, 11, 20, 8, tzinfo=dt.UTC) - dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def real_store(bot_settings: Settings) -> AsyncIterator[Store]:
    async with Store.open(bot_settings.storage.database) as store:
        await ingest(store, shared_archive("archive-en"))
        yield store


@pytest.fixture
async def real_searcher(bot_settings: Settings, real_store: Store) -> Searcher:
    return await Searcher.load(
        bot_settings.storage.index_dir,
        bot_settings.embeddings,
        bot_settings.search,
        real_store,
        FakeEncoder(),
    )


@pytest.fixture
async def real_state(real_store: Store) -> BotState:
    return await BotState.attach(real_store.connection)


@pytest.fixture
def simcord_bot(
    bot_settings: Settings, real_store: Store, real_state: BotState, real_searcher: Searcher
) -> DatelineBot:
    return create_bot(
        bot_settings.bot,
        bot_settings.archive,
        store=real_store,
        state=real_state,
        searcher=real_searcher,
        clock=lambda: discord.utils.utcnow() + OFFSET,
        sync_on_start=True,
    )


@pytest.fixture
def world(simcord_env: Any) -> tuple[Any, Any, Any]:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    return guild, channel, alice


async def event_id(store: Store, day: dt.date, slug_start: str) -> int:
    [event] = [e for e in await store.events_on(day) if e.slug.startswith(slug_start)]
    return event.id


def buttons(message: Any) -> list[Any]:
    return [child for row in message.components for child in row.children]


def assert_within_limits(message: Any) -> None:
    assert len(message.content) <= 2000
    assert len(message.embeds) <= 10
    assert sum(len(e) for e in message.embeds) <= 6000
    for embed in message.embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
    assert len(message.components) <= 5
    for row in message.components:
        assert len(row.children) <= 5
        for child in row.children:
            assert len(child.label or "") <= 80
            assert len(child.custom_id or "") <= 100


async def page_with(alice: Any, channel: Any, custom_id: str) -> Any:
    """Turn the pages of the channel's last message until a button has ``custom_id``."""
    message = channel.last_message
    while custom_id not in [b.custom_id for b in buttons(message)]:
        await alice.click(message, label="Next")
        message = channel.last_message
    return message


async def test_related_button_answers_privately_newest_first(simcord_env, world, real_store):
    _, channel, alice = world
    caspian = await event_id(real_store, NOV_20, CASPIAN)
    await alice.slash(channel, "event", date="2015-11-20")
    message = await page_with(alice, channel, f"dl:rel:{caspian}")
    assert_within_limits(message)
    result = await alice.click(message, custom_id=f"dl:rel:{caspian}")
    assert result.ephemeral
    reply = result.response
    assert reply.content.startswith("**Related to:** Russian warships launch cruise missiles")
    lines = "\n".join(e.description for e in reply.embeds).split("\n")
    dates = [re.match(r"`(\d{4}-\d{2}-\d{2})`", line)[1] for line in lines]
    assert dates == sorted(dates, reverse=True)
    # Each line whole: its link complete (never cut inside the markdown), no stray markup.
    assert all(re.search(r"\]\(https://[^)\s]+\.md\)", line) for line in lines), lines
    assert not any("-#" in line for line in lines)
    # Resolved through the store: the 9 December event is in the archive and linked to...
    assert any("2015-12-09" in line and "not in this archive" not in line for line in lines)
    # ...a 2017 page is not: it stays a plain link to the archive page.
    assert any(
        "2017-" in line and "not in this archive" in line and "/news/2017/" in line
        for line in lines
    )
    assert_within_limits(reply)
    assert_no_mentions_allowed(simcord_env)


async def test_related_buttons_work_after_a_restart(simcord_env, world, real_store, bot_settings):
    _, channel, alice = world
    await alice.slash(channel, "event", date="2015-12-09")
    message = channel.last_message
    first = buttons(message)[2] if len(buttons(message)) > 2 else buttons(message)[0]
    fresh = create_bot(
        bot_settings.bot,
        bot_settings.archive,
        store=real_store,
        state=await BotState.attach(real_store.connection),
        sync_on_start=True,
    )
    await simcord_env.restart_bot(fresh)
    [again] = [m for m in channel.history() if m.id == message.id]
    result = await alice.click(again, custom_id=first.custom_id)
    assert result.ephemeral
    assert result.response.content.startswith("**Related to:**")


async def test_story_pages_and_chart(simcord_env, world, real_store):
    _, channel, alice = world
    caspian = await event_id(real_store, NOV_20, CASPIAN)
    choices = await alice.autocomplete(channel, "story", "event", "caspian cruise")
    assert str(caspian) in [c["value"] for c in choices]
    assert all(len(c["name"]) <= 100 for c in choices)

    result = await alice.slash(channel, "story", event=str(caspian))
    assert not result.ephemeral
    message = channel.last_message
    assert message.content.startswith("**Story:** Russian warships launch cruise missiles")
    [chart] = message.attachments
    assert chart.filename == "story.png"
    assert chart.content_type == "image/png"
    data = await chart.read()
    assert png_size(data) == (WIDTH_PX, HEIGHT_PX)
    # Opens on the page holding the chosen event; every page within the limits, in date order.
    assert f"dl:rel:{caspian}" in [b.custom_id for b in buttons(message)]
    [anchor_line] = [
        line for e in message.embeds for line in e.description.splitlines() if "▶" in line
    ]
    assert "**20 November 2015** · ▶ **[Russian warships launch cruise missiles" in anchor_line
    match = re.search(r"page (\d+)/(\d+)", message.content)
    assert match, message.content
    count = int(re.search(r"(\d+) events", message.content)[1])
    assert count > 10
    while int(match[1]) > 1:
        await alice.click(channel.last_message, label="Prev")
        match = re.search(r"page (\d+)/(\d+)", channel.last_message.content)
    dates: list[str] = []
    for number in range(1, int(match[2]) + 1):
        if number > 1:
            await alice.click(channel.last_message, label="Next")
        page = channel.last_message
        assert_within_limits(page)
        assert len(page.attachments) == 1  # the chart stays with the message
        # One timeline line per event: its date in bold, then its headline linked.
        dates += [
            d
            for e in page.embeds
            for d in re.findall(r"^\*\*(\d+ \w+ \d{4})\*\* · ", e.description, re.M)
        ]
    parsed = [dt.datetime.strptime(d, "%d %B %Y").date() for d in dates]
    assert len(parsed) == count
    assert parsed == sorted(parsed)
    assert_no_mentions_allowed(simcord_env)


async def test_story_from_a_question_and_bad_input(simcord_env, world):
    _, channel, alice = world
    await alice.slash(channel, "story", question="Russian warships cruise missiles Caspian Sea")
    assert channel.last_message.content.startswith("**Story:**")
    assert channel.last_message.attachments
    result = await alice.slash(channel, "story")
    assert result.ephemeral
    assert "event" in result.response.content
    assert simcord_env.errors == []  # a mistake of the user's is answered, not an error


async def test_ask_shows_one_card_per_story(simcord_env, world, real_store):
    _, channel, alice = world
    await alice.slash(
        channel, "ask", question="Russia fires cruise missiles at Islamic State in Syria"
    )
    message = channel.last_message
    assert_within_limits(message)
    cards = message.embeds
    assert 2 <= len(cards) <= 5
    ids = [
        int(b.custom_id.split(":")[2])
        for b in buttons(message)
        if b.custom_id.startswith("dl:rel:")
    ]
    assert len(ids) == len(cards)
    # No card is linked to another card's event (links are the strongest story tie).
    forward = await real_store.resolved_related(ids)
    backward = await real_store.linking_events(ids)
    for event in ids:
        tied = set(forward.get(event, [])) | set(backward.get(event, []))
        assert not tied & (set(ids) - {event})
    # A story with more events says so, and its Story button opens it privately with the chart.
    more = [c for c in cards if "more in this story" in c.description]
    assert more
    story_buttons = [b for b in buttons(message) if b.custom_id.startswith("dl:story:")]
    assert len(story_buttons) == len(more)
    result = await alice.click(message, custom_id=story_buttons[0].custom_id)
    assert result.ephemeral
    assert result.response.content.startswith("**Story:**")
    n = int(re.search(r"\+(\d+) more in this story", more[0].description)[1])
    assert f"{n + 1} events" in result.response.content
    [chart] = result.response.attachments
    assert png_size(await chart.read()) == (WIDTH_PX, HEIGHT_PX)
    assert_no_mentions_allowed(simcord_env)


async def test_more_sources_are_counted_with_the_archive_link(simcord_env, world, real_store):
    _, channel, alice = world
    nine = next(e for e in await real_store.events_on(NOV_20) if len(e.sources) == 9)
    await alice.slash(channel, "event", date="2015-11-20")
    message = await page_with(alice, channel, f"dl:rel:{nine.id}")
    [embed] = [e for e in message.embeds if e.url and e.url.endswith(nine.path)]
    value = embed.fields[0].value
    shown = value.count("• ")
    assert 1 <= shown <= 8  # at most 8, fewer when their links fill the field
    assert value.endswith(f"+{9 - shown} more sources on the [archive page]({embed.url})")
    assert len(value) <= 1024


async def test_digest_spreads_over_the_years_and_pages_reach_every_event(simcord_env, world):
    _, channel, alice = world
    await alice.slash(channel, "onthisday", date="Nov 20")
    first = channel.last_message
    assert "144 events, 2004–2017" in first.content
    assert "more not shown" not in first.content
    years = [int(re.search(r"\*\*\d+ \w+ (\d{4})\*\*", e.description)[1]) for e in first.embeds]
    # Round anniversaries first (2025-11-20 today: 2015 is 10 years ago, 2005 20, 2010 15).
    assert years[0] == 2015
    assert {2015, 2010, 2005} <= set(years[:6])
    # At most two events of a year on the first page.
    assert max(years.count(y) for y in years) <= 2
    assert len(set(years)) >= len(years) - 3
    pages = int(re.search(r"page \d+/(\d+)", first.content)[1])
    seen = [e.url for e in first.embeds]
    for _ in range(2, pages + 1):
        await alice.click(channel.last_message, label="Next")
        assert_within_limits(channel.last_message)
        seen += [e.url for e in channel.last_message.embeds]
    assert len(seen) == 144 and len(set(seen)) == 144
    assert_no_mentions_allowed(simcord_env)


@pytest.mark.simcord(settle_timeout=30)
async def test_daily_post_is_one_message_with_a_more_button(simcord_env, real_store):
    guild = simcord_env.create_guild("server")
    channel = guild.create_text_channel("daily")
    role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    boss = guild.add_member(simcord_env.create_user("boss"), roles=[role])
    await boss.slash(channel, "dateline channel", channel=channel)
    await simcord_env.advance_time(3 * 3600)  # past 09:00 UTC on 2025-11-20 (bot clock)
    [post] = [m for m in channel.history() if "Daily post for 2025-11-20" in m.content]
    assert_within_limits(post)
    labels = [b.label for b in buttons(post)]
    shown = len(post.embeds)
    assert f"{144 - shown} more under **More**" in post.content
    assert f"More ({144 - shown} events)" in labels
    assert sum(label.startswith("Related") for label in labels) == shown
    more = next(b for b in buttons(post) if b.label.startswith("More"))
    result = await boss.click(post, custom_id=more.custom_id)
    assert result.ephemeral
    reply = result.response
    seen = [e.url for e in post.embeds] + [e.url for e in reply.embeds]
    total = int(re.search(r"page \d+/(\d+)", reply.content)[1])
    for _ in range(total - 1):
        await boss.click(reply.message, label="Next")
        reply = result.response
        seen += [e.url for e in reply.embeds]
    assert len(set(seen)) == 144
    assert_no_mentions_allowed(simcord_env)


def test_custom_ids_fit_discord(tmp_path: Path) -> None:
    from bot.story_views import DigestMoreButton, RelatedButton, StoryButton

    for item in (
        RelatedButton(2**53, "x" * 500),
        StoryButton(2**53, "y" * 500),
        DigestMoreButton(dt.date(2015, 11, 20), 10_000, skip=10_000),
    ):
        assert len(item.item.custom_id or "") <= 100
        assert len(item.item.label or "") <= 80


def test_related_lists_keep_whole_lines_when_headlines_are_long():
    from bot.story_views import related_pages
    from embeddings.stories import RelatedEvent

    long = "A very long headline about a federal security service raid " * 6
    from tests.search_fixtures import make_event

    event = make_event("2015-11-20", "Anchor", None, (), 0)
    related = [
        RelatedEvent(
            dt.date(2016, 1, 1) + dt.timedelta(days=n),
            long,
            f"news/2016/01/{n + 1}/{'-'.join(long.lower().split())[:150]}-{n}.md",
            None,
            "links to",
        )
        for n in range(45)
    ]
    pages = related_pages(event, related, "https://github.com/nixworks/public/blob/master")
    lines = [line for p in pages for e in p.embeds for line in e.description.split("\n")]
    assert len(lines) == 45  # every related event reachable, none cut off
    assert all(line.endswith(".md) · *not in this archive*") for line in lines)
    for page in pages:
        assert sum(len(e.description) for e in page.embeds) + len(page.content) <= 6000
        assert all(len(e.description) <= 4096 for e in page.embeds)
