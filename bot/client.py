"""The bot: a ``commands.Bot`` subclass and the factory that builds it without connecting.

``create_bot`` is what ``dateline run``, ``dateline preview`` and the SimCord tests all drive.
The store, the bot's state (its own tables, on the store's connection) and the searcher are
opened by the caller (``bot.runner.open_resources``) and passed in, so tests inject their own
and a restarted bot reuses the same database. Settings come as slices: ``BotSettings`` and the
``ArchiveSettings`` (for links to event pages), never the composed ``dateline`` settings.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import discord
from discord.ext import commands

from archive.models import Event
from archive.settings import ArchiveSettings
from archive.store import Store
from bot.errors import DatelineTree
from bot.render import NO_MENTIONS
from bot.schedule import DailySchedule, parse_post_time, parse_timezone
from bot.settings import BotSettings
from bot.state import BotState
from bot.timer import Wakeup
from embeddings.stories import IndexSimilarity, Stories

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.events",
    "bot.cogs.onthisday",
    "bot.cogs.ask",
    "bot.cogs.settings",
    "bot.cogs.daily",
    "bot.cogs.story",
    "bot.cogs.feeds",  # after settings: it adds /dateline feed to its group
)

Clock = Callable[[], dt.datetime]


class SearchHit(Protocol):
    @property
    def event(self) -> Event: ...


class SearchAnswer(Protocol):
    @property
    def hits(self) -> Sequence[SearchHit]: ...

    @property
    def nothing_close(self) -> bool: ...


class Searcher(Protocol):
    """What ``/ask`` needs: ``embeddings.search.Searcher`` in production."""

    async def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        lang: str | None = None,
    ) -> SearchAnswer: ...


class DatelineBot(commands.Bot):
    def __init__(
        self,
        settings: BotSettings,
        archive: ArchiveSettings,
        *,
        store: Store,
        state: BotState,
        searcher: Searcher | None = None,
        clock: Clock = discord.utils.utcnow,
        sync_on_start: bool = False,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=DatelineTree,
        )
        self.bot_settings = settings
        self.archive_settings = archive
        self.store = store
        self.state = state
        self.searcher = searcher
        self.clock = clock
        self.sync_on_start = sync_on_start
        # Set when a server's daily-post settings change: the daily job looks again now.
        self.daily_wakeup = Wakeup()
        # Related events and stories; meaning closeness comes from the search index, if any.
        self.stories = Stories(store, IndexSimilarity.of(searcher))
        # Fail at construction, not at the first daily post, on a bad [bot] section.
        self.default_schedule = DailySchedule(
            parse_post_time(settings.default_post_time),
            parse_timezone(settings.default_timezone),
        )

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.sync_on_start:
            await self.sync_app_commands()

    async def sync_app_commands(self, guild_id: int | None = None) -> list[str]:
        """Register the slash commands with Discord: in one guild (instant) or globally."""
        guild_id = self.bot_settings.dev_guild_id if guild_id is None else guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        return [command.name for command in synced]

    async def schedule_for(self, guild_id: int | None) -> DailySchedule:
        """A server's daily schedule, the configured defaults filling what it did not set."""
        row = await self.state.guild_settings(guild_id) if guild_id else None
        if row is None:
            return self.default_schedule
        return DailySchedule(
            parse_post_time(row.post_time) if row.post_time else self.default_schedule.post_time,
            parse_timezone(row.timezone) if row.timezone else self.default_schedule.timezone,
            row.enabled_since,
        )

    async def edition_for(self, guild_id: int | None) -> str:
        """The archive edition a server shows (``/dateline edition``), or the default."""
        chosen = await self.state.guild_edition(guild_id) if guild_id else None
        return chosen or self.archive_settings.default_lang

    async def messageable(self, channel_id: int) -> discord.abc.Messageable:
        """A channel to post in (daily post, feeds), from the cache or else from Discord;
        raises discord's errors for a channel gone or forbidden, LookupError for one that
        can't hold messages."""
        channel = self.get_channel(channel_id)
        if channel is None:
            channel = await self.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise LookupError(f"channel {channel_id} can't hold messages")
        return channel

    async def on_ready(self) -> None:
        log.info("logged in as %s in %d servers", self.user, len(self.guilds))


def create_bot(
    settings: BotSettings,
    archive: ArchiveSettings,
    *,
    store: Store,
    state: BotState,
    searcher: Searcher | None = None,
    clock: Clock = discord.utils.utcnow,
    sync_on_start: bool = False,
) -> DatelineBot:
    """Build the bot; nothing connects until ``start`` (or SimCord) logs it in."""
    return DatelineBot(
        settings,
        archive,
        store=store,
        state=state,
        searcher=searcher,
        clock=clock,
        sync_on_start=sync_on_start,
    )
