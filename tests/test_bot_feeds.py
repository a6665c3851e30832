"""The living archive through SimCord, on real pages of ../shared/data copied into a temp
folder that is a git work tree whose remote is unreachable: the bot follows the archive every
interval, the news feeds post each new event exactly once (never the edited old one, never
again after a restart), /ask and /event see the new day at once, an index rewritten by another
process is picked up, and the per-server edition (bot/cogs/feeds.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from archive.ingest import ingest
from archive.store import Store
from bot.client import DatelineBot, create_bot
from bot.cogs.feeds import FEED_SHOWN
from bot.render import escape
from bot.state import BotState
from dateline.config import ArchiveSettings, BotSettings, Settings, StorageSettings
from embeddings.indexing import update_index
from embeddings.search import Searcher
from tests.bot_fixtures import assert_no_mentions_allowed, make_event
from tests.follow_fixtures import copy_days, edit_day, make_work_tree


async def feed_deliveries(store: Store, feed_id: int) -> list[tuple[int, str]]:
    """(event id, status) of every event claimed or sent to a feed, read straight from the
    bot's table."""
    async with store.connection.execute(
        "SELECT event_id, status FROM bot_feed_deliveries WHERE feed_id = ? ORDER BY event_id",
        (feed_id,),
    ) as cur:
        return [(int(event_id), str(status)) for event_id, status in await cur.fetchall()]


OLD = [dt.date(2015, 11, 19), dt.date(2015, 11, 20)]
NEW = dt.date(2015, 11, 21)
INTERVAL = 15 * 60.0


@pytest.fixture
def living(tmp_path: Path) -> Settings:
    root = copy_days("archive-en", tmp_path / "archive", OLD)
    make_work_tree(root, tmp_path / "remote-that-does-not-exist")
    return Settings(
        storage=StorageSettings(dir=tmp_path / "data"),
        archive=ArchiveSettings(
            path=root, base_url="https://archive.example/blob/master", follow_interval="15m"
        ),
        bot=BotSettings(),
    )


@pytest.fixture
async def living_store(living: Settings) -> AsyncIterator[Store]:
    async with Store.open(living.storage.database) as store:
        await ingest(store, living.archive.path)
        yield store


@pytest.fixture
async def living_bot(living: Settings, living_store: Store, real_encoder: Any) -> Any:
    state = await BotState.attach(living_store.connection)
    searcher = await Searcher.load(
        living.storage.index_dir, living.embeddings, living.search, living_store, real_encoder
    )

    def build() -> DatelineBot:
        return create_bot(
            living.bot,
            living.archive,
            store=living_store,
            state=state,
            searcher=searcher,
            sync_on_start=True,
        )

    return build


@pytest.fixture
def simcord_bot(living_bot: Any) -> DatelineBot:
    return living_bot()


def admin(env: Any, guild: Any) -> Any:
    role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(env.create_user("admin"), roles=[role])


def feed_posts(channel: Any) -> list[Any]:
    return [m for m in channel.history() if "in the archive" in m.content]


def shown(result: Any) -> str:
    """Everything an interaction's answer showed: content and embeds, follow-ups included."""
    messages = [result.response, *getattr(result, "followups", ())]
    return "".join(
        (m.content or "") + "".join((e.title or "") + (e.description or "") for e in m.embeds)
        for m in messages
        if m is not None
    )


def posted_text(message: Any) -> str:
    return message.content + "".join(e.description or "" for e in message.embeds)


@pytest.mark.simcord(settle_timeout=120)
async def test_the_living_archive_end_to_end(
    simcord_env: Any,
    living: Settings,
    living_store: Store,
    living_bot: Any,
    real_encoder: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = simcord_env
    guild = env.create_guild("newsroom")
    every = guild.create_text_channel("every")
    crashes = guild.create_text_channel("crashes")
    boss = admin(env, guild)
    result = await boss.slash(every, "dateline feed add", channel=every)
    assert "every new event" in result.response.content and result.ephemeral
    result = await boss.slash(
        every, "dateline feed add", channel=crashes, filter="helicopter crash in New Zealand"
    )
    assert "matching" in result.response.content
    await env.advance_time(INTERVAL + 1)
    # The existing archive is never back-posted.
    assert feed_posts(every) == [] and feed_posts(crashes) == []

    copy_days("archive-en", living.archive.path, [NEW])
    edit_day(living.archive.path, OLD[0])
    with caplog.at_level(logging.INFO):
        await env.advance_time(INTERVAL + 1)
    assert "git pull" in caplog.text and "failed" in caplog.text  # logged, pass went on
    new_events = await living_store.events_on(NEW)
    assert len(new_events) > FEED_SHOWN  # a busy day: one message, "+N more"

    [post] = feed_posts(every)  # one message for the whole pass
    text = posted_text(post)
    assert f"{len(new_events)} new events" in post.content
    assert f"+{len(new_events) - FEED_SHOWN} more" in text
    assert text.count("2015") >= FEED_SHOWN
    edited = (await living_store.events_on(OLD[0]))[0]
    assert "Edited summary" in edited.summary  # the edit was ingested...
    assert escape(edited.headline)[:40] not in text  # ...and not posted: it is not new
    [crash] = feed_posts(crashes)
    assert "helicopter" in posted_text(crash).lower()
    assert "Rubik" not in posted_text(crash) and "Belgium" not in posted_text(crash)
    assert_no_mentions_allowed(env)

    member = guild.add_member(env.create_user("reader"))
    answer = await member.slash(
        every, "ask", question="teenager sets a world record with a puzzle cube"
    )
    assert "Rubik" in shown(answer)
    listing = await member.slash(every, "event", date="2015-11-21")
    assert f"{len(new_events)} events" in listing.response.content

    # A restart posts nothing again.
    await env.restart_bot(living_bot())
    await env.advance_time(INTERVAL + 1)
    assert len(feed_posts(every)) == 1 and len(feed_posts(crashes)) == 1

    # Another process (cron `dateline ingest` + `dateline index`) ingests a new day and
    # rewrites the index: picked up within one interval.
    day = living.archive.path / "news/2015/11/22"
    day.mkdir(parents=True)
    (day / "index.md").write_text(
        "## [2015-11-22](/news/2015/11/22/index.md)\n\n##### Glaciers\n"
        "### [Scientists map a giant ice cave under a glacier. ]"
        "(/news/2015/11/22/scientists-map-a-giant-ice-cave-under-a-glacier.md)\n"
        "The cave runs for two kilometres beneath the ice.\n",
        encoding="utf-8",
    )
    async with Store.open(living.storage.database) as other:
        await ingest(other, living.archive.path)
        await update_index(living.storage.index_dir, living.embeddings, other, real_encoder)
    await env.advance_time(INTERVAL + 1)
    posts = feed_posts(every)
    assert len(posts) == 2
    [latest] = [m for m in posts if m.id != post.id]
    assert "1 new event" in latest.content and "ice cave" in posted_text(latest)
    found = await member.slash(every, "ask", question="explorers survey an ice cavern")
    assert "ice cave" in shown(found)


@pytest.mark.simcord(settle_timeout=60)
async def test_feed_list_reports_a_gone_channel_and_remove(
    simcord_env: Any, living: Settings
) -> None:
    env = simcord_env
    guild = env.create_guild("g")
    keep = guild.create_text_channel("keep")
    doomed = guild.create_text_channel("doomed")
    boss = admin(env, guild)
    await boss.slash(keep, "dateline feed add", channel=doomed)
    await boss.slash(keep, "dateline feed add", channel=keep)
    # The channel is gone by the time the feed posts (Discord answers 404 Unknown Channel).
    env.inject_error("POST", f"/channels/{doomed.id}/messages", status=404, times=None)
    copy_days("archive-en", living.archive.path, [NEW])
    await env.advance_time(INTERVAL + 1)
    assert len(feed_posts(keep)) == 1  # the other feed went on
    listing = await boss.slash(keep, "dateline feed list")
    assert "not posting" in listing.response.content and "gone" in listing.response.content
    removed = await boss.slash(keep, "dateline feed remove", feed=1)
    assert "removed" in removed.response.content
    listing = await boss.slash(keep, "dateline feed list")
    assert not listing.response.content.startswith("#1 ") and "#2 →" in listing.response.content
    assert "\n" not in listing.response.content  # one feed left


@pytest.mark.simcord(settle_timeout=60)
async def test_per_server_edition_zh_and_en_on_one_database(
    simcord_env: Any, living_store: Store, living: Settings
) -> None:
    env = simcord_env
    day = OLD[1]
    zh = [
        make_event(day, "beijing-quake", "北京发生五级地震，房屋受损", lang="zh", position=0),
        make_event(day, "shanghai-port", "上海港口货运量创新高", lang="zh", position=1),
    ]
    await living_store.write_events([(None, e) for e in zh])
    english = len(await living_store.events_on(day, lang="en"))
    zh_guild, en_guild = env.create_guild("zh"), env.create_guild("en")
    zh_room, en_room = zh_guild.create_text_channel("news"), en_guild.create_text_channel("news")
    zh_boss = admin(env, zh_guild)
    result = await zh_boss.slash(zh_room, "dateline edition", edition="zh")
    assert "`zh` edition" in result.response.content
    reader_zh = zh_guild.add_member(env.create_user("读者"))
    reader_en = en_guild.add_member(env.create_user("reader"))

    listing = await reader_zh.slash(zh_room, "event", date=day.isoformat())
    assert "2 events" in listing.response.content and "北京" in shown(listing)
    listing = await reader_en.slash(en_room, "event", date=day.isoformat())
    assert f"{english} events" in listing.response.content and "北京" not in shown(listing)

    # /event's date suggestions count the server's edition only.
    choices = await reader_zh.autocomplete(zh_room, "event", "date", OLD[0].isoformat())
    assert [c["value"] for c in choices] == [day.isoformat()] and "2 events" in choices[0]["name"]
    choices = await reader_en.autocomplete(en_room, "event", "date", OLD[0].isoformat())
    assert [c["value"] for c in choices][:2] == [d.isoformat() for d in OLD]
    assert f"{english} events" in choices[1]["name"]

    answer = await reader_zh.slash(zh_room, "ask", question="北京地震")
    assert "北京发生五级地震" in shown(answer) and "Paris" not in shown(answer)
    answer = await reader_en.slash(en_room, "ask", question="北京地震")
    assert "北京发生" not in shown(answer)  # the question is echoed, the zh event is not

    # A feed of the zh server posts zh events only.
    await zh_boss.slash(zh_room, "dateline feed add", channel=zh_room)
    extra = make_event(dt.date(2015, 11, 22), "wuhan", "武汉新桥通车", lang="zh")
    await living_store.write_events([(None, extra)])
    copy_days("archive-en", living.archive.path, [NEW])  # English events arrive too
    await env.advance_time(INTERVAL + 1)
    [post] = feed_posts(zh_room)
    assert "1 new event" in post.content and "武汉" in posted_text(post)


async def ingest_elsewhere(living: Settings) -> list[int]:
    """Another process (cron, `dateline follow`) ingests the new day; its event ids."""
    copy_days("archive-en", living.archive.path, [NEW])
    async with Store.open(living.storage.database) as other:
        await ingest(other, living.archive.path)
        return [e.id for e in await other.events_on(NEW)]


@pytest.mark.simcord(settle_timeout=120)
async def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(
    simcord_env: Any, living: Settings, living_store: Store
) -> None:
    env = simcord_env
    guild = env.create_guild("g")
    room = guild.create_text_channel("news")
    await admin(env, guild).slash(room, "dateline feed add", channel=room)
    state = BotState(living_store.connection)
    [feed] = await state.feeds(guild.id)
    ids = await ingest_elsewhere(living)
    # A process claimed the new events just before this bot's next pass, then died.
    claimed_at = env.now() + dt.timedelta(seconds=INTERVAL - 60)
    assert await state.claim_feed_events(feed.id, ids, claimed_at) == ids
    await env.advance_time(INTERVAL + 1)
    # Its claim is a minute old: it may still be posting, so nothing goes out...
    assert feed_posts(room) == []
    assert {s for _, s in await feed_deliveries(living_store, feed.id)} == {"claimed"}
    await env.advance_time(INTERVAL + 1)
    # ...and once the lease has run out, the batch is taken over and posted exactly once.
    [post] = feed_posts(room)
    assert f"{len(ids)} new events" in post.content and f"feed #{feed.id}" in post.content
    await env.advance_time(INTERVAL + 1)
    assert feed_posts(room) == [post]
    assert await feed_deliveries(living_store, feed.id) == [(i, "sent") for i in sorted(ids)]


@pytest.mark.simcord(settle_timeout=120)
async def test_a_post_made_before_a_crash_is_found_in_the_channel_not_posted_again(
    simcord_env: Any, living: Settings, living_store: Store, living_bot: Any
) -> None:
    env = simcord_env
    guild = env.create_guild("g")
    room = guild.create_text_channel("news")
    await admin(env, guild).slash(room, "dateline feed add", channel=room)
    state = BotState(living_store.connection)
    [feed] = await state.feeds(guild.id)
    copy_days("archive-en", living.archive.path, [NEW])
    await env.advance_time(INTERVAL + 1)
    [post] = feed_posts(room)
    # As if the process died after Discord accepted the message but before it was recorded.
    await living_store.connection.execute(
        "UPDATE bot_feed_deliveries SET status = 'claimed', message_id = NULL"
    )
    await living_store.connection.execute(
        "UPDATE bot_feeds SET after_event_id = ?", (feed.after_event_id,)
    )
    await living_store.connection.commit()
    await env.restart_bot(living_bot())
    await env.advance_time(INTERVAL + 1)
    assert feed_posts(room) == [post]
    deliveries = await feed_deliveries(living_store, feed.id)
    assert deliveries and {s for _, s in deliveries} == {"sent"}
    rows = await state.open_feed_claims(feed.id, [i for i, _ in deliveries])
    assert rows == {}
    async with living_store.connection.execute(
        "SELECT DISTINCT message_id FROM bot_feed_deliveries"
    ) as cur:
        assert [row[0] for row in await cur.fetchall()] == [post.id]


@pytest.mark.simcord(settle_timeout=60)
async def test_removing_a_feed_that_does_not_exist_says_so_privately(simcord_env: Any) -> None:
    env = simcord_env
    mine, theirs = env.create_guild("mine"), env.create_guild("theirs")
    room, other_room = mine.create_text_channel("news"), theirs.create_text_channel("news")
    boss, other_boss = admin(env, mine), admin(env, theirs)
    result = await boss.slash(room, "dateline feed remove", feed=42)
    assert result.ephemeral and "No feed #42 here" in result.response.content
    assert "feed list" in result.response.content
    # Another server's feed is not this server's to remove.
    await other_boss.slash(other_room, "dateline feed add", channel=other_room)
    result = await boss.slash(room, "dateline feed remove", feed=1)
    assert result.ephemeral and "No feed #1 here" in result.response.content
    listing = await other_boss.slash(other_room, "dateline feed list")
    assert listing.response.content.startswith("#1 →")
    # Both were the user's mistake: answered privately, not raised as errors.
    assert env.errors == []
