"""``dateline sync-archive`` (one follow pass) and ``dateline follow`` (passes in a loop).

Both pull the archive when it is a git work tree, ingest what changed and update the vector
index (``embeddings.follow``); the embedding model is loaded only when a pass has something to
embed. ``dateline follow`` is the worker to run beside a bot (or instead of cron): the bot
notices the new store and index within one of its own intervals.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from dateline.commands.common import UsageError
from dateline.config import Settings

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    sync = commands.add_parser(
        "sync-archive", help="one follow pass: git pull, ingest what changed, update the index"
    )
    sync.add_argument("path", type=Path, nargs="?", help="archive folder (default: [archive] path)")
    sync.add_argument("--no-index", action="store_true", help="leave the vector index alone")
    sync.set_defaults(handler=run_sync_archive)

    follow = commands.add_parser(
        "follow", help="follow the archive: a sync-archive pass every [archive] follow_interval"
    )
    follow.add_argument(
        "path", type=Path, nargs="?", help="archive folder (default: [archive] path)"
    )
    follow.add_argument("--interval", help="e.g. 15m (default: [archive] follow_interval)")
    follow.add_argument("--no-index", action="store_true", help="leave the vector index alone")
    follow.set_defaults(handler=run_follow)


class _IndexUpdater:
    """``refresh_index`` for the command line: loads the model on first use only."""

    def __init__(self, settings: Settings, store: Any) -> None:
        self._settings = settings
        self._store = store
        self._encoder: Any = None
        self.data_version = -1  # the store's version when the index was last brought in line

    async def __call__(self) -> Any:
        from embeddings.encoder import load_encoder
        from embeddings.indexing import update_index

        if self._encoder is None:
            self._encoder = await asyncio.to_thread(
                load_encoder, self._settings.embeddings, self._settings.storage.models_dir
            )
        _, report = await update_index(
            self._settings.storage.index_dir, self._settings.embeddings, self._store, self._encoder
        )
        self.data_version = await self._store.data_version()
        log.info("%s", report.summary().replace("\n", "; "))
        return report


def _archive_path(settings: Settings, args: argparse.Namespace) -> Path:
    from archive.ingest import ArchiveNotFound, news_root

    path: Path = args.path or settings.archive.path
    try:
        news_root(path)
    except ArchiveNotFound as exc:
        raise UsageError(str(exc)) from None
    return path


async def run_sync_archive(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store
    from embeddings.follow import follow_pass

    path = _archive_path(settings, args)
    async with Store.open(settings.storage.database) as store:
        updater = None if args.no_index else _IndexUpdater(settings, store)
        report = await follow_pass(settings.archive, store, refresh_index=updater, path=path)
    print(report.summary())
    return 0


async def run_follow(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store
    from embeddings.follow import follow_pass, parse_interval

    path = _archive_path(settings, args)
    try:
        interval = parse_interval(args.interval or settings.archive.follow_interval)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if interval is None:
        raise UsageError("no interval: set [archive] follow_interval or pass --interval 15m")
    async with Store.open(settings.storage.database) as store:
        updater = None if args.no_index else _IndexUpdater(settings, store)
        log.info("following %s every %g s (Ctrl-C stops)", path, interval)
        first = True
        while True:
            # The index is brought in line on the first pass, and whenever another process
            # (a cron `dateline ingest`) changed the store since.
            stale = updater is not None and (
                first or await store.data_version() != updater.data_version
            )
            try:
                await follow_pass(
                    settings.archive, store, refresh_index=updater, index_stale=stale, path=path
                )
            except Exception:
                # e.g. the database was locked by another writer: the next pass tries again.
                log.exception("follow pass failed; trying again in %g s", interval)
            first = False
            await asyncio.sleep(interval)
