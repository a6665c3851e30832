"""Running the bot for real (``dateline run``), registering its commands (``dateline sync``)
and the local preview without a token (``dateline preview``).

All three open the same resources the same way: the store and the bot's state on its
connection, then the search index and model (``open_resources``), and hand them to
``create_bot``. The preview keeps its own server state (``preview_state_path``): settings made
while trying the bot never reach the database ``dateline run`` uses. It reserves its port
before opening anything, and runs the daily scheduler on the real clock
(``preview_session``). These entry points take the composed settings (``RunSettings``: any object
with the five slices, ``dateline.config.Settings`` in practice) and pass each part its slice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import discord

from archive.settings import ArchiveSettings, StorageSettings
from archive.store import Store
from bot.client import Searcher, create_bot
from bot.settings import BotSettings
from bot.state import BotState
from embeddings.settings import EmbeddingSettings, SearchSettings

log = logging.getLogger(__name__)

# The preview wakes the daily scheduler this often (real seconds) to look at the real clock:
# SimCord's virtual clock, which ``asyncio.sleep`` follows there, only moves when told to.
PREVIEW_TICK_SECONDS = 5.0


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
            settings.storage.index_dir,
            settings.embeddings,
            settings.search,
            store,
            models=settings.storage.models_dir,
        )
    except IndexUnreadable as exc:
        log.warning("search index unreadable (%s): /ask is disabled", exc)
        return None


def preview_state_path(storage: StorageSettings) -> Path:
    """The preview's own server-state database (daily-post settings and posts)."""
    return storage.dir / "preview-state.sqlite3"


@asynccontextmanager
async def open_resources(
    settings: RunSettings,
    *,
    ingest_if_empty: bool = False,
    searcher: bool = True,
    state_path: Path | None = None,
) -> AsyncIterator[tuple[Store, BotState, Searcher | None]]:
    """Open the store and the bot's state (on the store's connection, or in ``state_path``
    when given), ingesting the configured archive into an empty store if asked, and load the
    searcher once; all are closed on exit."""
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(Store.open(settings.storage.database))
        if state_path is None:
            state = await BotState.attach(store.connection)
        else:
            state = await stack.enter_async_context(BotState.open(state_path))
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


def reserve_port(port: int) -> socket.socket | None:
    """Bind the preview's port on 127.0.0.1 before anything starts (None for port 0: any
    free port). A busy port raises ``StartupError`` with one line; close the socket just
    before the preview listens."""
    if port == 0:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"port {port} on 127.0.0.1 is busy ({exc.strerror}): is another "
            "`dateline preview` running? Choose another with --port"
        ) from None
    return sock


def real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _last_message_id(channel: Any) -> int | None:
    last = channel.last_message
    return None if last is None else int(last.id)


async def _keep_time(wakeup: Any, seconds: float, preview: Any, channel: Any) -> None:
    """The preview's clock: wake the daily scheduler every ``seconds``; when it posted,
    republish the page (the page shows new messages on its own only after an action)."""
    from simcord.backend.errors import SetupError

    seen = _last_message_id(channel)
    while True:
        await asyncio.sleep(seconds)
        wakeup.set()
        await asyncio.sleep(min(seconds, 1.0))  # time for the job to post
        latest = _last_message_id(channel)
        if latest != seen:
            seen = latest
            # Busy with someone's action: that action republishes the page itself.
            with contextlib.suppress(SetupError):
                await preview.refresh()


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
    reserved: socket.socket | None = None,
    clock: Callable[[], dt.datetime] = real_clock,
    tick: float = PREVIEW_TICK_SECONDS,
) -> AsyncIterator[Any]:
    """The real bot in SimCord's simulated Discord, with a local page of one channel where
    you (a member with Manage Server) can run every command. Yields the SimCord ``Preview``
    (its ``url`` is the page).

    The bot reads ``clock`` (the real time by default), and the daily scheduler is woken
    every ``tick`` seconds, so the daily post goes out at its real local time, and at once
    when ``/dateline channel`` is run after the post time. (SimCord's own clock, which stamps
    the messages on the page, stays at its start, 1 January 2026.) ``reserved`` is the port's
    socket from ``reserve_port``, released just before the page listens."""
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
        clock=clock,
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
            if reserved is not None:
                reserved.close()
            preview = env.preview(channel, viewers=[you], layout="channel", port=port)
            async with preview:
                ticker = asyncio.create_task(
                    _keep_time(bot.daily_wakeup, tick, preview, channel), name="preview clock"
                )
                try:
                    yield preview
                finally:
                    ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ticker
        except SetupError as exc:
            raise StartupError(f"SimCord preview: {exc}") from None


async def serve_preview(settings: RunSettings, port: int) -> None:
    """``dateline preview``: print the page's address and serve it until interrupted."""
    if settings.bot.preview_host not in ("127.0.0.1", "localhost"):
        log.warning("SimCord serves previews on 127.0.0.1 only; [bot] preview_host is ignored")
    reserved = reserve_port(port)
    try:
        async with (
            open_resources(
                settings, ingest_if_empty=True, state_path=preview_state_path(settings.storage)
            ) as (store, state, searcher),
            preview_session(
                settings, store, state, searcher, port=port, reserved=reserved
            ) as preview,
        ):
            print(f"Dateline preview: {preview.url}", flush=True)
            print("(the address carries its access key; Ctrl-C stops the preview)", flush=True)
            print(
                "The bot runs on the real clock: to see the daily post, run /dateline channel,"
                " then /dateline time with a time a minute ahead (UTC unless you set"
                " /dateline timezone).",
                flush=True,
            )
            await preview.wait_closed()
    finally:
        if reserved is not None:
            reserved.close()
