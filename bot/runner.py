"""Running the bot for real (``dateline run``), registering its commands (``dateline sync``)
and the local preview without a token (``dateline preview``).

All three open the same resources the same way: the store and the bot's state on its
connection, then the search index and model (``open_resources``), and hand them to
``create_bot``. These entry points take the composed settings (``RunSettings``: any object
with the five slices, ``dateline.config.Settings`` in practice) and pass each part its slice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import discord

from archive.settings import ArchiveSettings, StorageSettings
from archive.store import Store
from bot.client import Searcher, create_bot
from bot.settings import BotSettings
from bot.state import BotState
from embeddings.settings import EmbeddingSettings, SearchSettings

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot can't start; the message says why and what to do (one line)."""


class RunSettings(Protocol):
    """Every slice running the bot touches (``dateline.config.Settings`` has them all)."""

    @property
    def storage(self) -> StorageSettings: ...
    @property
    def archive(self) -> ArchiveSettings: ...
    @property
    def embeddings(self) -> EmbeddingSettings: ...
    @property
    def search(self) -> SearchSettings: ...
    @property
    def bot(self) -> BotSettings: ...


async def load_searcher(settings: RunSettings, store: Store) -> Searcher | None:
    """The hybrid searcher, or None (``/ask`` then says search is unavailable) when there is
    no index yet: building one for a whole archive takes long, so that is ``dateline index``'s
    job, not start-up's."""
    from embeddings.index import META_FILE, IndexUnreadable
    from embeddings.search import Searcher as HybridSearcher

    if not (settings.storage.index_dir / META_FILE).exists():
        log.warning(
            "no search index in %s: /ask is disabled until `dateline index` runs",
            settings.storage.index_dir,
        )
        return None
    try:
        return await HybridSearcher.load(
            settings.storage.index_dir, settings.embeddings, settings.search, store
        )
    except IndexUnreadable as exc:
        log.warning("search index unreadable (%s): /ask is disabled", exc)
        return None


@asynccontextmanager
async def open_resources(
    settings: RunSettings, *, ingest_if_empty: bool = False, searcher: bool = True
) -> AsyncIterator[tuple[Store, BotState, Searcher | None]]:
    """Open the store and the bot's state on its connection (ingesting the configured archive
    into an empty store if asked) and load the searcher once; all are closed on exit."""
    async with Store.open(settings.storage.database) as store:
        state = await BotState.attach(store.connection)
        if await store.count_events() == 0:
            if ingest_if_empty and settings.archive.path.is_dir():
                from archive.ingest import ingest

                log.info("empty database: ingesting %s", settings.archive.path)
                report = await ingest(
                    store, settings.archive.path, default_lang=settings.archive.default_lang
                )
                log.info("%s", report.summary())
            else:
                log.warning(
                    "the database %s holds no events: run `dateline ingest`",
                    settings.storage.database,
                )
        loaded = await load_searcher(settings, store) if searcher else None
        yield store, state, loaded


async def run_bot(settings: RunSettings, token: str) -> None:
    """Connect to Discord and serve until interrupted."""
    async with open_resources(settings) as (store, state, searcher):
        bot = create_bot(
            settings.bot, settings.archive, store=store, state=state, searcher=searcher
        )
        async with bot:
            try:
                await bot.start(token)
            except discord.LoginFailure:
                raise StartupError("Discord rejected the token in DISCORD_TOKEN") from None
            except discord.PrivilegedIntentsRequired:
                raise StartupError("Discord refused the bot's intents (see docs/bot.md)") from None


async def sync_commands(settings: RunSettings, token: str, guild_id: int | None) -> list[str]:
    """Register the slash commands: in ``guild_id`` (instant), or globally when it is 0."""
    async with open_resources(settings, searcher=False) as (store, state, _):
        bot = create_bot(settings.bot, settings.archive, store=store, state=state)
        async with bot:
            try:
                await bot.login(token)  # logs in over HTTP only: no gateway connection
            except discord.LoginFailure:
                raise StartupError("Discord rejected the token in DISCORD_TOKEN") from None
            return await bot.sync_app_commands(guild_id)


@asynccontextmanager
async def preview_session(
    settings: RunSettings,
    store: Store,
    state: BotState,
    searcher: Searcher | None,
    *,
    port: int,
) -> AsyncIterator[Any]:
    """The real bot in SimCord's simulated Discord, with a local page of one channel where
    you (a member with Manage Server) can run every command. Yields the SimCord ``Preview``
    (its ``url`` is the page)."""
    try:
        import simcord
        from simcord.backend.errors import SetupError
    except ImportError:
        raise StartupError(
            "dateline preview needs SimCord: pip install -e '.[preview]' (simcord[preview])"
        ) from None
    bot = create_bot(
        settings.bot,
        settings.archive,
        store=store,
        state=state,
        searcher=searcher,
        sync_on_start=True,
    )
    # Errors the bot handles (bad input and the like) are part of trying it: don't re-raise
    # them when the preview ends.
    async with simcord.run(bot, check_errors=False) as env:
        guild = env.create_guild("Dateline preview")
        channel = guild.create_text_channel("general")
        admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        you = guild.add_member(env.create_user("you"), roles=[admins])
        try:
            preview = env.preview(channel, viewers=[you], layout="channel", port=port)
            async with preview:
                yield preview
        except SetupError as exc:
            raise StartupError(f"SimCord preview: {exc}") from None


async def serve_preview(settings: RunSettings, port: int) -> None:
    """``dateline preview``: print the page's address and serve it until interrupted."""
    if settings.bot.preview_host not in ("127.0.0.1", "localhost"):
        log.warning("SimCord serves previews on 127.0.0.1 only; [bot] preview_host is ignored")
    async with (
        open_resources(settings, ingest_if_empty=True) as (store, state, searcher),
        preview_session(settings, store, state, searcher, port=port) as preview,
    ):
        print(f"Dateline preview: {preview.url}", flush=True)
        print("(the address carries its access key; Ctrl-C stops the preview)", flush=True)
        await preview.wait_closed()
