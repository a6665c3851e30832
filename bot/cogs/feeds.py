"""The living archive in the bot: the follow pass, hot reload of search, and news feeds.

A plain task (``bot.timer.PeriodicJob``, started in ``cog_load``) runs every
``[archive] follow_interval``:

1. the follow pass (``embeddings.follow``: git pull, incremental ingest, and, when anything
   changed, ``Searcher.refresh``, which builds the new index aside and swaps it in); with
   ``follow_interval`` off, every ``[archive] watch_interval`` only a check for an index or
   store changed by another process (cron ``dateline ingest`` + ``dateline index``, or
   ``dateline follow``), reloaded the same way; with neither, the job does not run;
2. the news feeds: each feed posts the events created since it last looked (ids above its
   high-water mark, which starts at the store's newest id when the feed is made, so the
   existing archive is never back-posted; an edited event keeps its id, so it is not new),
   of its edition, matching its filter (the same hybrid search and relevance floor as
   ``/ask``). One message per feed and pass, "+N more" beyond ``FEED_SHOWN``; each (feed,
   event) is claimed in the database before posting, so it goes out at most once across
   restarts. A claim older than ``FEED_CLAIM_LEASE`` was left by a process that died
   mid-post: it is taken over, and the channel's recent history is first searched for that
   post (its ``feed_marker`` line) so the batch is neither lost nor posted twice. A feed
   whose channel is gone or forbidden gets its error recorded
   (``/dateline feed list`` shows it) and the other feeds go on.

``/dateline feed add|list|remove`` is added to the ``/dateline``
group of the settings cog (Manage Server only, like the rest of it).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from archive.fts import fts_terms
from archive.models import Event
from archive.store import Store
from bot.client import DatelineBot
from bot.cogs.settings import missing_permissions, require_manager
from bot.dates import long_date
from bot.errors import reply_privately
from bot.render import NO_MENTIONS, archive_url, escape, link, truncate
from bot.state import FeedRow
from bot.timer import PeriodicJob
from embeddings.follow import follow_pass, parse_interval
from embeddings.search import Searcher as HybridSearcher
from embeddings.search import keyword_matches

log = logging.getLogger(__name__)

# After a failed pass.
RETRY_PASS = 60.0
# New events one feed considers per pass (the rest wait for the next pass).
FEED_BATCH = 200
# Events listed in one feed message; more are counted as "+N more".
FEED_SHOWN = 10
# A claim older than this belongs to a process that died while posting (as the daily post).
FEED_CLAIM_LEASE = dt.timedelta(minutes=5)
# Messages of a feed's channel searched for a post made just before a crash.
HISTORY_LOOKBACK = 50


_MARKER = re.compile(r"feed #(\d+) · events (\d+)–(\d+)")


def feed_marker(feed_id: int, event_ids: Sequence[int]) -> str:
    """The line that identifies a feed post and the events it carries (the range of their
    ids), found again in the channel after a crash."""
    return f"feed #{feed_id} · events {min(event_ids)}–{max(event_ids)}"


def parse_marker(text: str, feed_id: int) -> tuple[int, int] | None:
    """The (lowest, highest) event id of a post of feed ``feed_id``, from its marker."""
    for match in _MARKER.finditer(text):
        if int(match[1]) == feed_id:
            return int(match[2]), int(match[3])
    return None


def feed_message(
    events: list[Event], base_url: str, query: str | None, marker: str = ""
) -> tuple[str, discord.Embed]:
    """One message for a feed's new events: a line per event, "+N more" with day links;
    ``marker`` goes on a small line of its own."""
    shown = events[:FEED_SHOWN]
    lines = [
        truncate(f"**{long_date(e.date)}** · {link(e.headline, archive_url(e, base_url))}", 400)
        for e in shown
    ]
    rest = events[FEED_SHOWN:]
    if rest:
        days = sorted({e.date for e in rest})
        day_links = ", ".join(
            link(d.isoformat(), f"{base_url.rstrip('/')}/news/{d.year}/{d.month:02d}/{d.day}/")
            for d in days[:8]
        )
        lines.append(f"+{len(rest)} more ({day_links}; `/event` lists a whole day)")
    count = f"{len(events)} new event" + ("s" if len(events) != 1 else "")
    content = f"**{count}** in the archive" + (f" matching “{escape(query)}”" if query else "")
    if marker:
        content = truncate(content, 1900) + f"\n-# {marker}"
    embed = discord.Embed(
        title="New in the archive",
        description=truncate("\n".join(lines), 4000),
        colour=discord.Colour.green(),
    )
    return content, embed


class FeedsCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot
        self.interval = parse_interval(bot.archive_settings.follow_interval)
        self.watch = parse_interval(bot.archive_settings.watch_interval)
        self.job = PeriodicJob(
            "archive follow",
            self.step,
            retry_after=RETRY_PASS,
            before=bot.wait_until_ready,
        )
        self.feed_group = FeedGroup(self)

    async def cog_load(self) -> None:
        group = self._dateline_group()
        group.add_command(self.feed_group)
        if self.interval is not None or self.watch is not None:
            self.job.start()

    async def cog_unload(self) -> None:
        if self.job.running:
            await self.job.stop()
        group = self._dateline_group()
        group.remove_command("feed")

    def _dateline_group(self) -> app_commands.Group:
        group = self.bot.tree.get_command("dateline")
        if not isinstance(group, app_commands.Group):
            raise RuntimeError("bot.cogs.feeds needs bot.cogs.settings loaded first")
        return group

    # ----- the pass -------------------------------------------------------------------

    async def step(self) -> float:
        await self.run_pass()
        return self.interval or self.watch or RETRY_PASS

    async def run_pass(self) -> None:
        """Follow (or only reload), then post the feeds."""
        searcher = self.bot.searcher
        hybrid = searcher if isinstance(searcher, HybridSearcher) else None
        if self.interval is not None:
            stale = hybrid is not None and await hybrid.changed_elsewhere()
            refresh = hybrid.refresh if hybrid is not None else None
            path = await self.bot.store.database_file()
            if path is None:  # in memory: nobody else can open it
                await follow_pass(
                    self.bot.archive_settings, self.bot.store, refresh_index=refresh,
                    index_stale=stale,
                )  # fmt: skip
            else:
                # The ingest writes on its own connection: the commands keep reading the
                # bot's, and see a day's changes only once they are committed whole.
                async with Store.open(path) as writer:
                    await follow_pass(
                        self.bot.archive_settings, writer, refresh_index=refresh,
                        index_stale=stale,
                    )  # fmt: skip
        elif hybrid is not None:
            report = await hybrid.reload_if_changed()
            if report is not None:
                log.info("reloaded the search index changed by another process: %d events",
                         report.total)  # fmt: skip
        await self.post_feeds()

    async def post_feeds(self) -> None:
        for feed in await self.bot.state.feeds():
            try:
                await self.post_feed(feed)
            except Exception:
                # One feed's trouble never stops the others.
                log.exception("feed %s of server %s failed", feed.id, feed.guild_id)

    async def post_feed(self, feed: FeedRow) -> None:
        store, state = self.bot.store, self.bot.state
        edition = feed.edition or await self.bot.edition_for(feed.guild_id)
        newest = await store.max_event_id()
        events = await store.events_after(feed.after_event_id, lang=edition, limit=FEED_BATCH)
        # Everything up to here has been looked at once the post is out (or nothing matched).
        seen = newest if len(events) < FEED_BATCH else events[-1].id
        if feed.query and events:
            wanted = await self._matching(feed.query, events)
            events = [e for e in events if e.id in wanted]
        if not events:
            await state.advance_feed(feed.id, seen)
            return
        now = self.bot.clock()
        ids = [e.id for e in events]
        open_claims = await state.open_feed_claims(feed.id, ids)
        claimed = set(await state.claim_feed_events(feed.id, ids, now, lease=FEED_CLAIM_LEASE))
        # Claimed by a process that may still be posting them: look again next pass (if it
        # died, its claims are taken over once the lease runs out).
        waiting = [i for i in ids if i in open_claims and i not in claimed]
        if waiting:
            seen = min(seen, min(waiting) - 1)
        taken_over = {i: open_claims[i] for i in claimed if i in open_claims}
        events = [e for e in events if e.id in claimed]
        if not events:
            await state.advance_feed(feed.id, seen)
            return
        try:
            channel = await self.bot.messageable(feed.channel_id)
            if taken_over:
                # A process died between its claim and recording its post: the post may be
                # in the channel already.
                events = await self._reconcile(channel, feed, events, taken_over, now)
                if not events:
                    await state.advance_feed(feed.id, seen)
                    return
            ids = [e.id for e in events]
            content, embed = feed_message(
                events, self.bot.archive_settings.base_url, feed.query, feed_marker(feed.id, ids)
            )
            message = await channel.send(content, embed=embed, allowed_mentions=NO_MENTIONS)
        except (discord.HTTPException, discord.ClientException, LookupError) as exc:
            # Nothing went out: the events may be posted by a later pass.
            await state.release_feed_claims(feed.id, [e.id for e in events])
            await state.set_feed_error(feed.id, _describe(exc), now)
            log.warning("feed %s (channel %s): %s", feed.id, feed.channel_id, _describe(exc))
            return
        await state.mark_feed_sent(feed.id, ids, message.id, now)
        await state.advance_feed(feed.id, seen)
        log.info("feed %s: posted %d new events to channel %s", feed.id, len(ids), feed.channel_id)

    async def _reconcile(
        self,
        channel: discord.abc.Messageable,
        feed: FeedRow,
        events: list[Event],
        taken_over: dict[int, dt.datetime],
        now: dt.datetime,
    ) -> list[Event]:
        """Mark the taken-over events that an earlier post of this feed carries as sent (that
        post's message); return the events still to post."""
        after = min(taken_over.values()) - dt.timedelta(minutes=1)
        posted: dict[int, int] = {}  # event id -> message id
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK, after=after):
                if not (self.bot.user and message.author.id == self.bot.user.id):
                    continue
                span = parse_marker(message.content, feed.id)
                if span is None:
                    continue
                for event_id in taken_over:
                    if span[0] <= event_id <= span[1]:
                        posted.setdefault(event_id, message.id)
        except discord.Forbidden:
            # Without Read Message History we can't tell; posting beats never posting.
            log.warning("feed %s: can't read the history of channel %s to check for an"
                        " earlier post", feed.id, feed.channel_id)  # fmt: skip
        for message_id in set(posted.values()):
            done = [i for i, m in posted.items() if m == message_id]
            await self.bot.state.mark_feed_sent(feed.id, done, message_id, now)
            log.info("feed %s: %d events were posted before a crash (message %s)",
                     feed.id, len(done), message_id)  # fmt: skip
        return [e for e in events if e.id not in posted]

    async def _matching(self, query: str, events: list[Event]) -> set[int]:
        searcher = self.bot.searcher
        if isinstance(searcher, HybridSearcher):
            return await searcher.matching(query, [e.id for e in events])
        # No index: the keyword half of the relevance floor only.
        return keyword_matches(fts_terms(query), events)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, discord.NotFound):
        return "the channel is gone (deleted, or I was removed from it)"
    if isinstance(exc, discord.Forbidden):
        return "I may not post there (missing View Channel, Send Messages or Embed Links)"
    if isinstance(exc, discord.HTTPException):
        return f"Discord error {exc.status}: {exc.text or type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"


class FeedGroup(app_commands.Group):
    """``/dateline feed add|list|remove``."""

    def __init__(self, cog: FeedsCog) -> None:
        super().__init__(name="feed", description="News feeds: new events posted to a channel")
        self.cog = cog

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    @app_commands.command(name="add", description="Post new events to a channel as they land")
    @app_commands.describe(
        channel="Where new events are posted",
        filter="Only events matching these words (like /ask); empty: every new event",
        edition="Which edition (default: the server's)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        filter: str | None = None,
        edition: Literal["en", "zh"] | None = None,
    ) -> None:
        bot = self.cog.bot
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage()
        missing = missing_permissions(channel, guild.me)
        if missing:
            await reply_privately(
                interaction,
                f"I can't post in {channel.mention}: I am missing {', '.join(missing)} there.",
            )
            return
        query = " ".join((filter or "").split()) or None
        if query and len(query) > 200:
            await reply_privately(interaction, "Keep the filter under 200 characters.")
            return
        if query and not fts_terms(query):
            await reply_privately(
                interaction, f"“{escape(query)}” has no words to match events by; name a subject."
            )
            return
        # The high-water mark: nothing that exists now is ever posted to this feed.
        newest = await bot.store.max_event_id()
        feed = await bot.state.add_feed(
            guild.id, channel.id, query=query, edition=edition, after_event_id=newest,
            now=bot.clock(),
        )  # fmt: skip
        what = f"new events matching “{escape(query)}”" if query else "every new event"
        shown = edition or await bot.edition_for(guild.id)
        follow = bot.archive_settings.follow_interval or "whenever the archive is updated"
        await reply_privately(
            interaction,
            f"Feed #{feed.id}: {what} of the `{shown}` edition goes to {channel.mention},"
            f" one message per update (checked every {follow}).",
        )

    @app_commands.command(name="list", description="This server's news feeds")
    async def list(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        feeds = await self.cog.bot.state.feeds(interaction.guild_id)
        if not feeds:
            await reply_privately(interaction, "No news feeds. `/dateline feed add` makes one.")
            return
        lines = []
        for feed in feeds:
            what = f"“{escape(feed.query)}”" if feed.query else "every new event"
            edition = feed.edition or "server edition"
            line = f"#{feed.id} → <#{feed.channel_id}>: {what} ({edition})"
            if feed.last_error:
                line += f" — **not posting**: {escape(feed.last_error)}"
            elif feed.last_post_at:
                line += f" — last post <t:{int(feed.last_post_at.timestamp())}:R>"
            lines.append(line)
        await reply_privately(interaction, truncate("\n".join(lines), 2000))

    @app_commands.command(name="remove", description="Stop a news feed")
    @app_commands.describe(feed="The feed's number, from /dateline feed list")
    async def remove(self, interaction: discord.Interaction, feed: int) -> None:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if not await self.cog.bot.state.remove_feed(interaction.guild_id, feed):
            await reply_privately(
                interaction, f"No feed #{feed} here; `/dateline feed list` shows them."
            )
            return
        await reply_privately(interaction, f"Feed #{feed} removed.")


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(FeedsCog(bot))
