"""Ingest an archive folder into the store: incremental, idempotent, never fatal on bad pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from archive.dedupe import merge_day
from archive.parser import (
    DayEntry,
    EventPage,
    ParseError,
    link_lang,
    parse_day_page,
    parse_event_page,
)
from archive.rows import EventRows, event_rows
from archive.store import IngestState, Store

# Bump when parsing or merging changes what is stored, so unchanged folders are read again.
PARSER_VERSION = "2"
DAY_PAGE = "index.md"
DAY_PAGE_COPIES = frozenset({"readme.md"})
_YEAR, _MONTH, _DAY = re.compile(r"^\d{4}$"), re.compile(r"^\d{1,2}$"), re.compile(r"^\d{1,2}$")


class ArchiveNotFound(FileNotFoundError):
    pass


@dataclass(frozen=True, slots=True)
class DayFolder:
    date: dt.date
    path: Path


@dataclass
class IngestReport:
    lang: str = ""
    days: int = 0
    pages_read: int = 0
    day_pages: int = 0
    event_pages: int = 0
    events_seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    merged_duplicates: int = 0
    days_unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed)

    def summary(self) -> str:
        lines = [
            f"edition {self.lang}: {self.days} days, {self.pages_read} pages read"
            f" ({self.day_pages} day pages, {self.event_pages} event pages)",
            f"events: {self.new} new, {self.updated} updated, {self.unchanged} unchanged,"
            f" {self.removed} removed; {self.merged_duplicates} duplicate copies merged",
        ]
        if self.days_unchanged:
            lines.append(f"{self.days_unchanged} day folders unchanged since the last ingest")
        if not self.changed:
            lines.append("nothing changed: the store already matches the archive")
        if self.skipped:
            lines.append(f"{len(self.skipped)} pages skipped:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.skipped)
        if self.warnings:
            lines.append(f"{len(self.warnings)} pages read with warnings:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.warnings)
        return "\n".join(lines)


def news_root(path: Path) -> Path:
    """The ``news`` folder of an archive given its root or the folder itself."""
    if not path.is_dir():
        raise ArchiveNotFound(f"no such archive folder: {path}")
    if (path / "news").is_dir():
        return path / "news"
    if path.name == "news":
        return path
    raise ArchiveNotFound(f"not an archive (no news/ folder): {path}")


def _subdirs(path: Path, pattern: re.Pattern[str]) -> Iterator[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir() and pattern.match(entry.name):
                yield entry


def find_day_folders(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[DayFolder]:
    """Every ``news/YYYY/MM/D`` folder, in date order."""
    folders = []
    for year in _subdirs(root, _YEAR):
        for month in _subdirs(Path(year.path), _MONTH):
            for day in _subdirs(Path(month.path), _DAY):
                try:
                    date = dt.date(int(year.name), int(month.name), int(day.name))
                except ValueError:
                    if skipped is not None:
                        skipped.append((day.path, "folder name is not a real date"))
                    continue
                folders.append(DayFolder(date, Path(day.path)))
    folders.sort(key=lambda f: f.date)
    return folders


@dataclass(slots=True)
class PreparedDay:
    """One day folder, parsed and merged into events, as rows ready to store."""

    date: dt.date
    events: list[EventRows]
    merged: int
    pages_read: int
    day_pages: int
    event_pages: int
    skipped: list[tuple[str, str]]
    warnings: list[tuple[str, str]]
    failed_slugs: set[str]
    day_page_failed: bool


def _read_text(path: str, warnings: list[tuple[str, str]]) -> str:
    with open(path, "rb") as file:
        data = file.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append((path, "invalid UTF-8 bytes replaced"))
        return data.decode("utf-8", errors="replace")


def prepare_day(folder: DayFolder, lang: str) -> PreparedDay:
    """Read, parse and merge one day folder. A bad page is reported and skipped, never raised."""
    entries: tuple[DayEntry, ...] = ()
    pages: list[EventPage] = []
    skipped: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    failed: set[str] = set()
    day_page_failed = False
    read = day_pages = 0
    folder_path = str(folder.path)
    with os.scandir(folder_path) as listing:
        files = sorted(e.name for e in listing if e.is_file() and e.name.endswith(".md"))
    for name in files:
        if name.lower() in DAY_PAGE_COPIES:
            continue
        path = os.path.join(folder_path, name)
        is_day_page = name == DAY_PAGE
        try:
            text = _read_text(path, warnings)
            read += 1
            if is_day_page:
                entries = parse_day_page(text, folder.date).entries
                day_pages += 1
            else:
                pages.append(parse_event_page(text, folder.date, name[: -len(".md")]))
            continue
        except ParseError as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"unreadable: {exc.strerror or exc}"
        except Exception as exc:  # a parser bug must not stop the run or lose other pages
            reason = f"parser error: {type(exc).__name__}: {exc}"
        skipped.append((path, reason))
        if is_day_page:
            day_page_failed = True
        else:
            failed.add(name[: -len(".md")])
    events, merged = merge_day(folder.date, lang, entries, pages) if entries or pages else ([], 0)
    return PreparedDay(
        folder.date,
        [event_rows(event) for event in events],
        merged,
        read,
        day_pages,
        len(pages),
        skipped,
        warnings,
        failed,
        day_page_failed,
    )


def folder_fingerprint(folder: DayFolder) -> str:
    """Names, sizes and modification times of a day folder's pages, and the parser version:
    equal fingerprints mean the folder needs no reading."""
    digest = hashlib.blake2b(PARSER_VERSION.encode(), digest_size=16)
    with os.scandir(folder.path) as listing:
        for entry in sorted(listing, key=lambda e: e.name):
            if entry.name.endswith(".md") and entry.is_file():
                info = entry.stat()
                digest.update(f"{entry.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def prepare_days(folders: list[DayFolder], lang: str) -> list[PreparedDay]:
    """``prepare_day`` over a chunk of folders (the unit of work of the process pool)."""
    return [prepare_day(folder, lang) for folder in folders]


def detect_lang(folders: list[DayFolder], default: str, sample: int = 20) -> str:
    """The edition's language, from the ``/xx/news/`` prefix of the first links found."""
    for folder in folders[:sample]:
        try:
            with os.scandir(folder.path) as listing:
                names = sorted(e.name for e in listing if e.name.endswith(".md"))
            for name in names[:3]:
                lang = link_lang((folder.path / name).read_text("utf-8", errors="replace"))
                if lang:
                    return lang
        except OSError:
            continue
    return default


async def ingest(
    store: Store,
    path: Path,
    *,
    lang: str | None = None,
    default_lang: str = "en",
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    workers: int | None = None,
    chunk_days: int = 100,
) -> IngestReport:
    """Bring the store in line with the archive at ``path``.

    Events are matched to stored ones through their aliases, so ids stay stable; an event
    whose content hash is unchanged is not written. A day folder is authoritative for its
    date: stored events of that edition and day that the folder no longer has are removed,
    unless one of the day's pages failed to parse (then nothing of that page is lost).
    Parsing runs in a process pool for large archives while the store writes.
    """
    report = IngestReport()
    folders = find_day_folders(news_root(path), report.skipped)
    if on_total is not None:
        on_total(len(folders))
    edition = lang or detect_lang(folders, default_lang)
    report.lang, report.days = edition, len(folders)
    state = await store.ingest_state(edition)
    fingerprints = {f.date: folder_fingerprint(f) for f in folders}
    unchanged = [
        f for f in folders if state.fingerprints.get(f.date.isoformat()) == fingerprints[f.date]
    ]
    for folder in unchanged:
        report.days_unchanged += 1
        count = len(state.by_day.get(folder.date.isoformat(), ()))
        report.unchanged += count
        report.events_seen += count
    if progress is not None and unchanged:
        progress(len(unchanged))
    skip = {f.date for f in unchanged}
    folders = [f for f in folders if f.date not in skip]
    state.fingerprints = {f.date.isoformat(): fingerprints[f.date] for f in folders}
    chunks = [folders[i : i + chunk_days] for i in range(0, len(folders), chunk_days)]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    if workers <= 1 or len(chunks) < 3:
        for chunk in chunks:
            await _store_days(store, prepare_days(chunk, edition), edition, state, report)
            if progress is not None:
                progress(len(chunk))
        return report
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [loop.run_in_executor(pool, prepare_days, chunk, edition) for chunk in chunks]
        try:
            for chunk, future in zip(chunks, futures, strict=True):
                await _store_days(store, await future, edition, state, report)
                if progress is not None:
                    progress(len(chunk))
        finally:
            for future in futures:
                future.cancel()
    return report


async def _store_days(
    store: Store,
    days: list[PreparedDay],
    lang: str,
    state: IngestState,
    report: IngestReport,
) -> None:
    upserts: list[tuple[int | None, EventRows]] = []
    deletes: list[int] = []
    folder_rows: list[tuple[str, str, str | None]] = []
    for day in days:
        report.pages_read += day.pages_read
        report.day_pages += day.day_pages
        report.event_pages += day.event_pages
        report.skipped.extend(day.skipped)
        report.warnings.extend(day.warnings)
        report.merged_duplicates += day.merged
        report.events_seen += len(day.events)
        iso = day.date.isoformat()
        claimed: set[int] = set()
        for event in day.events:
            known = sorted(
                {state.aliases[k] for a in event.aliases if (k := (iso, a)) in state.aliases}
                - claimed
            )
            event_id = known[0] if known else None
            if event_id is not None:
                claimed.add(event_id)
                if state.hashes.get(event_id) == event.content_hash:
                    report.unchanged += 1
                    continue
                if not event.has_page and day.failed_slugs.intersection(event.aliases):
                    report.unchanged += 1  # its page failed to parse: keep what is stored
                    continue
                report.updated += 1
            else:
                report.new += 1
            upserts.append((event_id, event))
        stored = state.by_day.get(iso, set())
        if day.day_page_failed or day.failed_slugs:
            keep = {state.aliases.get((iso, slug)) for slug in day.failed_slugs}
            gone = set() if day.day_page_failed else stored - claimed - keep
        else:
            gone = stored - claimed
        deletes.extend(sorted(gone))
        report.removed += len(gone)
        clean = not (day.skipped or day.warnings)
        folder_rows.append((lang, iso, state.fingerprints.get(iso) if clean else None))
    result = await store.write_events(upserts, deletes, folder_rows)
    new_ids = iter(result.inserted)
    for event_id, event in upserts:
        event_id = event_id if event_id is not None else next(new_ids)
        iso = event.date
        state.hashes[event_id] = event.content_hash
        state.by_day.setdefault(iso, set()).add(event_id)
        for alias in event.aliases:
            state.aliases[(iso, alias)] = event_id
    for event_id in deletes:
        state.hashes.pop(event_id, None)
