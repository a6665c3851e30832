"""``dateline ingest``, ``dateline event`` and ``dateline onthisday``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from dateline.commands.common import (
    UsageError,
    parse_iso_date,
    parse_month_day,
    print_events,
    print_json,
)
from dateline.config import Settings

# SQLite integers stop at 2**63 - 1; no archive day has anywhere near this many events.
MAX_LIMIT = 1_000_000


def register(commands: Any) -> None:
    ingest = commands.add_parser("ingest", help="read an archive folder into the database")
    ingest.add_argument(
        "path", type=Path, nargs="?", help="archive folder (default: [archive] path)"
    )
    ingest.add_argument("--lang", help="edition language (default: detected from the links)")
    ingest.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="remove the events of vanished day folders even beyond [archive] max_removed_share",
    )
    ingest.set_defaults(handler=run_ingest)

    event = commands.add_parser("event", help="print the events of one day")
    event.add_argument("date", help="YYYY-MM-DD")
    event.add_argument("--lang", help="only this edition")
    event.add_argument("--json", action="store_true", help="print a JSON array")
    event.set_defaults(handler=run_event)

    onthisday = commands.add_parser("onthisday", help="events on this month-day in every year")
    onthisday.add_argument("month_day", nargs="?", help="MM-DD (default: today)")
    onthisday.add_argument("--lang", help="only this edition")
    onthisday.add_argument("--limit", type=int, default=0, help="at most this many events")
    onthisday.add_argument("--json", action="store_true", help="print a JSON array")
    onthisday.set_defaults(handler=run_onthisday)


async def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    import sqlite3

    from tqdm import tqdm

    from archive.ingest import ArchiveNotFound, IngestRefused, ingest, news_root
    from archive.store import Store, StoreError, describe_error

    path = args.path or settings.archive.path
    try:
        news_root(path)  # before the database is created for a path that is no archive
    except ArchiveNotFound as exc:
        raise UsageError(str(exc)) from None
    database = settings.storage.database
    try:
        async with Store.open(database) as store:
            with tqdm(unit="day", desc="ingest", file=sys.stderr) as bar:

                def set_total(total: int) -> None:
                    bar.total = total
                    bar.refresh()

                report = await ingest(
                    store,
                    path,
                    lang=args.lang,
                    default_lang=settings.archive.default_lang,
                    progress=bar.update,
                    on_total=set_total,
                    max_removed_share=settings.archive.max_removed_share,
                    allow_mass_removal=args.allow_mass_removal,
                )
    except IngestRefused as exc:
        raise UsageError(str(exc)) from None
    except StoreError:
        raise
    except (sqlite3.Error, OSError) as exc:  # a full disk, a folder made read-only meanwhile
        # Each batch is one transaction: what was written is whole, the rest is read again.
        raise StoreError(describe_error(database, exc) + " (nothing written is lost)") from None
    print(report.summary())
    return 0


async def run_event(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store

    date = parse_iso_date(args.date)
    async with Store.open(settings.storage.database, read_only=True) as store:
        events = await store.events_on(date, lang=args.lang)
    return _output(settings, args, events, f"no events on {date.isoformat()}")


async def run_onthisday(settings: Settings, args: argparse.Namespace) -> int:
    from archive.store import Store

    if args.month_day:
        month, day = parse_month_day(args.month_day)
    else:
        today = dt.date.today()
        month, day = today.month, today.day
    if not 0 <= args.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 0 (no limit) and {MAX_LIMIT:,}")
    async with Store.open(settings.storage.database, read_only=True) as store:
        events = await store.events_on_month_day(
            month, day, lang=args.lang, limit=args.limit or None
        )
    return _output(settings, args, events, f"no events on {month:02d}-{day:02d} in any year")


def _output(settings: Settings, args: argparse.Namespace, events: list, empty: str) -> int:
    if args.json:
        print_json(e.to_dict() for e in events)
    elif not events:
        print(empty)
    else:
        print_events(events, settings.archive.base_url)
    return 0
