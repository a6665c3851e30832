"""``dateline index`` and ``dateline ask``."""

from __future__ import annotations

import argparse
import errno
import sys
from typing import Any

from dateline.commands.common import (
    UsageError,
    format_event,
    parse_iso_date,
    print_json,
    require_writable,
    write_failure,
)
from dateline.config import Settings


class TerminalProgress:
    """Shows indexing on stderr: why a rebuild happens, then a bar with an ETA. The ETA uses
    the average rate since the start (``smoothing=0``): batches are sorted by length inside
    each checkpoint, so the momentary rate swings and would promise too much."""

    def __init__(self, *, always: bool) -> None:
        self._always = always  # False: no bar when there is nothing to embed
        self._bar: Any = None

    def callbacks(self) -> dict[str, Any]:
        return {"progress": self.update, "on_total": self.total, "on_rebuild": self.rebuild}

    def rebuild(self, reason: str) -> None:
        print(f"dateline: rebuilding the search index ({reason}); this takes a while",
              file=sys.stderr, flush=True)  # fmt: skip

    def total(self, count: int) -> None:
        if count or self._always:
            from tqdm import tqdm

            self._bar = tqdm(total=count, unit="event", desc="index", file=sys.stderr, smoothing=0)

    def update(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _check_index_location(settings: Settings) -> None:
    from embeddings.index import IndexLocationError, check_location

    try:
        check_location(settings.storage.index_dir)
    except IndexLocationError as exc:
        raise UsageError(str(exc)) from None


def register(commands: Any) -> None:
    index = commands.add_parser(
        "index", help="embed new or changed events into the vector index (incremental)"
    )
    index.add_argument("--rebuild", action="store_true", help="embed every event again")
    index.set_defaults(handler=run_index)

    ask = commands.add_parser("ask", help="search the archive with a question")
    ask.add_argument("question", help='a question in plain words, e.g. "floods in 2015"')
    ask.add_argument("--k", type=int, default=None, help="number of events (default: [search] k)")
    ask.add_argument("--from", dest="date_from", metavar="DATE", help="only events on or after")
    ask.add_argument("--to", dest="date_to", metavar="DATE", help="only events on or before")
    ask.add_argument("--json", action="store_true", help="print a JSON array of hits")
    ask.set_defaults(handler=run_ask)


async def _require_events(store: Any) -> None:
    if await store.count_events() == 0:
        raise UsageError("the database is empty: run `dateline ingest` first")


async def run_index(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from archive.store import Store
    from embeddings.encoder import load_encoder
    from embeddings.indexing import update_index

    _check_index_location(settings)
    index_dir = settings.storage.index_dir
    async with Store.open(settings.storage.database) as store:
        await _require_events(store)
        require_writable(index_dir, "search index")  # before minutes of embedding
        encoder = await asyncio.to_thread(
            load_encoder, settings.embeddings, settings.storage.models_dir
        )
        progress = TerminalProgress(always=True)
        try:
            _, report = await update_index(
                index_dir,
                settings.embeddings,
                store,
                encoder,
                rebuild=args.rebuild,
                **progress.callbacks(),
            )
        except OSError as exc:  # a full disk: the last checkpoint is kept
            raise UsageError(write_failure(index_dir, "search index", exc)) from None
        except RuntimeError as exc:  # FAISS reports a failed write so
            if "No space left" not in str(exc):
                raise
            full = OSError(errno.ENOSPC, "No space left on device")
            raise UsageError(write_failure(index_dir, "search index", full)) from None
        finally:
            progress.close()
    print(report.summary())
    return 0


async def run_ask(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store
    from embeddings.index import META_FILE
    from embeddings.search import Searcher

    question = args.question.strip()
    if not question:
        raise UsageError("the question is empty")
    if args.k is not None and not 1 <= args.k <= 100:
        raise UsageError("--k must be between 1 and 100")
    date_from = parse_iso_date(args.date_from) if args.date_from else None
    date_to = parse_iso_date(args.date_to) if args.date_to else None
    if date_from and date_to and date_from > date_to:
        raise UsageError("--from is after --to")
    _check_index_location(settings)
    async with Store.open(settings.storage.database) as store:
        await _require_events(store)
        if not (settings.storage.index_dir / META_FILE).exists():
            raise UsageError("there is no search index yet: run `dateline index` first")
        # Usually nothing to embed; a damaged index or a changed encoder means a rebuild,
        # which the terminal is told about with a progress bar instead of a silent wait.
        progress = TerminalProgress(always=False)
        try:
            searcher = await Searcher.load(
                settings.storage.index_dir,
                settings.embeddings,
                settings.search,
                store,
                progress=progress,
                models=settings.storage.models_dir,
            )
        finally:
            progress.close()
        answer = await searcher.ask(question, k=args.k, date_from=date_from, date_to=date_to)
    if args.json:
        print_json({**hit.event.to_dict(), "score": hit.score} for hit in answer.hits)
        return 0
    if answer.nothing_close:
        print("nothing in the archive is close enough to that question")
        return 0
    for n, hit in enumerate(answer.hits):
        if n:
            print()
        print(f"[{hit.score:.4f}] " + format_event(hit.event, settings.archive.base_url))
    return 0
