"""Ingest an archive folder into the store: incremental, idempotent, never fatal on bad pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from archive.parser import link_lang
from archive.prepare import (
    DayFolder,
    PreparedDay,
    folder_fingerprint,
    parser_process_started,
    prepare_days,
)
from archive.rows import EventRows
from archive.store import IngestState, Store

_YEAR, _MONTH, _DAY = re.compile(r"^\d{4}$"), re.compile(r"^\d{1,2}$"), re.compile(r"^\d{1,2}$")


class ArchiveNotFound(FileNotFoundError):
    pass


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
    texts_repaired: int = 0  # lines of text whose mojibake was repaired
    inline_sources: int = 0  # sources found written inline in headlines and summaries
    inline_repaired: int = 0  # of those, mangled addresses repaired from another copy
    inline_dropped: int = 0  # of those, mangled addresses nothing could repair (not stored)
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
        if self.texts_repaired or self.inline_sources:
            lines.append(
                f"{self.texts_repaired} texts repaired (mojibake); {self.inline_sources} inline"
                f" sources found ({self.inline_repaired} mangled addresses repaired,"
                f" {self.inline_dropped} unrepairable and not stored)"
            )
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
                linked = year.is_symlink() or month.is_symlink() or day.is_symlink()
                folders.append(DayFolder(date, Path(day.path), linked))
    folders.sort(key=lambda f: f.date)
    return folders


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
    # A folder ingested before is skipped when its fingerprint is unchanged; the others are
    # fingerprinted by the parsing processes as they read them.
    unchanged = [
        f
        for f in folders
        if (known := state.fingerprints.get(f.date.isoformat())) is not None
        and _fingerprint_or_none(f) == known
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
    chunks = [folders[i : i + chunk_days] for i in range(0, len(folders), chunk_days)]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    async with store.bulk_writes():
        if workers <= 1 or len(chunks) < 3:
            await _parse_here(store, chunks, edition, state, report, progress)
        else:
            await _parse_in_processes(store, chunks, edition, workers, state, report, progress)
    return report


async def _parse_here(
    store: Store,
    chunks: list[list[DayFolder]],
    edition: str,
    state: IngestState,
    report: IngestReport,
    progress: Callable[[int], None] | None,
) -> None:
    for chunk in chunks:
        days = await asyncio.to_thread(prepare_days, chunk, edition)
        await _store_days(store, days, edition, state, report)
        if progress is not None:
            progress(len(chunk))


async def _parse_in_processes(
    store: Store,
    chunks: list[list[DayFolder]],
    edition: str,
    workers: int,
    state: IngestState,
    report: IngestReport,
    progress: Callable[[int], None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    processes = ProcessPoolExecutor(
        max_workers=workers, mp_context=_parser_processes(), initializer=parser_process_started
    )
    with processes as pool:
        futures = [loop.run_in_executor(pool, prepare_days, chunk, edition) for chunk in chunks[1:]]
        # The first chunk is parsed here while the pool starts, so writing starts sooner.
        futures.insert(
            0, asyncio.ensure_future(asyncio.to_thread(prepare_days, chunks[0], edition))
        )
        try:
            done = 0
            while done < len(futures):
                try:
                    days = await futures[done]
                except BrokenProcessPool as exc:  # a parser process was killed (out of memory?)
                    reason = f"{exc}; the remaining days were read in the main process"
                    report.warnings.append(("parser processes", reason))
                    await _parse_here(store, chunks[done:], edition, state, report, progress)
                    return
                batch = 1
                # Whatever else is ready goes into the same transaction: fewer commits when
                # the writing falls behind the parsing.
                while (
                    done + batch < len(futures)
                    and futures[done + batch].done()
                    and futures[done + batch].exception() is None
                ):
                    days += futures[done + batch].result()
                    batch += 1
                await _store_days(store, days, edition, state, report)
                if progress is not None:
                    progress(sum(len(chunk) for chunk in chunks[done : done + batch]))
                done += batch
        finally:
            for future in futures:
                future.cancel()


def _fingerprint_or_none(folder: DayFolder) -> str | None:
    try:
        return folder_fingerprint(folder)
    except OSError:
        return None  # read (and reported) with the changed folders


def _parser_processes() -> multiprocessing.context.BaseContext:
    # A fork server: one clean process, started once, that has imported the parser and is
    # forked for each worker. Workers start in milliseconds instead of each paying a Python
    # start-up, and nothing is forked from this process and its threads (the database's).
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "archive.prepare"])
    return context


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
        report.texts_repaired += day.repaired
        if day.inline is not None:
            report.inline_sources += day.inline.inline_sources
            report.inline_repaired += day.inline.inline_repaired
            report.inline_dropped += day.inline.inline_dropped
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
        folder_rows.append((lang, iso, day.fingerprint if clean else None))
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
