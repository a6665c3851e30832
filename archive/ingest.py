"""Ingest an archive folder into the store: incremental, idempotent, never fatal on bad pages."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from archive.lifeline import parser_started
from archive.parser import link_lang
from archive.prepare import (
    DayFolder,
    PreparedDay,
    folder_fingerprint,
    prepare_days,
)
from archive.rows import EventRows
from archive.store import IngestState, Store

_YEAR, _MONTH, _DAY = re.compile(r"^\d{4}$"), re.compile(r"^\d{1,2}$"), re.compile(r"^\d{1,2}$")


class ArchiveNotFound(FileNotFoundError):
    pass


class IngestRefused(Exception):
    """Ingest would do something that is more likely a mistake than intended: nothing was
    written. The message says why and what to do."""


class IngestBusy(IngestRefused):
    """Another ingest holds the store's ingest lock."""


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
    # Ids of the events this ingest created (an edited event keeps its id: not here).
    created: list[int] = field(default_factory=list)
    days_removed: int = 0
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
        if self.days_removed:
            lines.append(
                f"{self.days_removed} day folders gone from the archive: their events removed"
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


def _subdirs(
    path: Path, pattern: re.Pattern[str], skipped: list[tuple[str, str]] | None
) -> list[os.DirEntry[str]] | None:
    """The subfolders of ``path`` whose names match; None when it can't be listed (reported)."""
    try:
        with os.scandir(path) as entries:
            return [e for e in entries if pattern.match(e.name) and _is_dir(e)]
    except OSError as exc:
        if skipped is not None:
            skipped.append((str(path), f"folder unreadable: {exc.strerror or exc}"))
        return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return True  # listed as a folder we can't read: reported when it is opened


def find_day_folders(
    root: Path,
    skipped: list[tuple[str, str]] | None = None,
    unreadable: list[str] | None = None,
) -> list[DayFolder]:
    """Every ``news/YYYY/MM/D`` folder, in date order (two folders for one date, such as
    ``11/5`` and ``11/05``, are both listed). A year or month folder that can't be listed is
    reported in ``skipped`` and its date prefix (``2015`` or ``2015-11``) added to
    ``unreadable``, so that its days are not taken for deleted ones."""
    folders = []
    years = _subdirs(root, _YEAR, skipped)
    if years is None:
        raise ArchiveNotFound(f"archive folder unreadable: {root}")
    for year in years:
        months = _subdirs(Path(year.path), _MONTH, skipped)
        if months is None:
            if unreadable is not None:
                unreadable.append(year.name)
            continue
        for month in months:
            days = _subdirs(Path(month.path), _DAY, skipped)
            if days is None:
                if unreadable is not None:
                    unreadable.append(f"{year.name}-{int(month.name):02d}")
                continue
            for day in days:
                try:
                    date = dt.date(int(year.name), int(month.name), int(day.name))
                except ValueError:
                    if skipped is not None:
                        skipped.append((day.path, "folder name is not a real date"))
                    continue
                linked = year.is_symlink() or month.is_symlink() or day.is_symlink()
                folders.append(DayFolder(date, Path(day.path), linked))
    folders.sort(key=lambda f: (f.date, str(f.path)))
    return folders


def _by_date(folders: list[DayFolder]) -> list[list[DayFolder]]:
    """Folders grouped by date (sorted by date already): a date's folders are one unit."""
    groups: list[list[DayFolder]] = []
    for folder in folders:
        if groups and groups[-1][0].date == folder.date:
            groups[-1].append(folder)
        else:
            groups.append([folder])
    return groups


def _combined(fingerprints: list[str]) -> str:
    """One fingerprint for a date kept in several folders."""
    if len(fingerprints) == 1:
        return fingerprints[0]
    return hashlib.blake2b("+".join(fingerprints).encode(), digest_size=16).hexdigest()


@contextlib.contextmanager
def ingest_lock(database: str | None) -> Iterator[None]:
    """Hold the store's ingest lock (a lock file next to the database) or raise IngestBusy.
    The kernel releases it when the process ends, however it ends."""
    if not database:
        yield
        return
    lock_path = f"{database}.ingest-lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestBusy(
                f"another ingest is running on {database}: wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


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
    max_removed_share: float = 0.25,
    allow_mass_removal: bool = False,
) -> IngestReport:
    """Bring the store in line with the archive at ``path``.

    Events are matched to stored ones through their aliases, so ids stay stable; an event
    whose content hash is unchanged is not written. A day folder is authoritative for its
    date: stored events of that edition and day that the folder no longer has are removed,
    unless one of the day's pages failed to parse (then nothing of that page is lost; a day
    page that fails keeps every stored event of the day as it is). Two folders for one date
    are read as one day. A day folder that is gone has its events removed, unless that would
    remove more than ``max_removed_share`` of the stored days (IngestRefused, nothing
    written; ``allow_mass_removal`` overrides) or the archive has no day folder at all.
    Only one ingest runs on a store at a time (IngestBusy). Parsing runs in a process pool
    for large archives while the store writes.
    """
    with ingest_lock(await store.database_file()):
        return await _ingest(
            store,
            path,
            lang=lang,
            default_lang=default_lang,
            progress=progress,
            on_total=on_total,
            workers=workers,
            chunk_days=chunk_days,
            max_removed_share=max_removed_share,
            allow_mass_removal=allow_mass_removal,
        )


async def _ingest(
    store: Store,
    path: Path,
    *,
    lang: str | None,
    default_lang: str,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int], None] | None,
    workers: int | None,
    chunk_days: int,
    max_removed_share: float,
    allow_mass_removal: bool,
) -> IngestReport:
    report = IngestReport()
    unreadable: list[str] = []
    folders = find_day_folders(news_root(path), report.skipped, unreadable)
    dates = _by_date(folders)
    if on_total is not None:
        on_total(len(dates))
    edition = lang or detect_lang(folders, default_lang)
    report.lang, report.days = edition, len(dates)
    state = await store.ingest_state(edition)
    vanished = _vanished_days(state, dates, unreadable)
    stored_days = {d for d, ids in state.by_day.items() if ids} | set(state.fingerprints)
    if stored_days and not dates:
        raise IngestRefused(
            f"the archive at {path} has no day folders (not mounted? wrong path?):"
            " refusing to remove every stored event; nothing was changed"
        )
    if len(vanished) > max_removed_share * len(stored_days) and not allow_mass_removal:
        raise IngestRefused(
            f"{len(vanished)} of {len(stored_days)} stored days are gone from the archive at"
            f" {path}, more than [archive] max_removed_share ({max_removed_share:g});"
            " nothing was changed. Check the archive path (is it mounted?), or run"
            " `dateline ingest --allow-mass-removal` if they were deleted on purpose"
        )
    # A date ingested before is skipped when its folders' fingerprint is unchanged; the
    # others are fingerprinted by the parsing processes as they read them.
    unchanged = [
        group
        for group in dates
        if (known := state.fingerprints.get(group[0].date.isoformat())) is not None
        and _fingerprint_or_none(group) == known
    ]
    for group in unchanged:
        report.days_unchanged += 1
        count = len(state.by_day.get(group[0].date.isoformat(), ()))
        report.unchanged += count
        report.events_seen += count
    if progress is not None and unchanged:
        progress(len(unchanged))
    skip = {group[0].date for group in unchanged}
    todo = [group for group in dates if group[0].date not in skip]
    chunks = [
        [folder for group in todo[i : i + chunk_days] for folder in group]
        for i in range(0, len(todo), chunk_days)
    ]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    async with store.bulk_writes():
        if vanished:
            await _remove_days(store, vanished, edition, state, report)
        if workers <= 1 or len(chunks) < 3:
            await _parse_here(store, chunks, edition, state, report, progress)
        else:
            await _parse_in_processes(store, chunks, edition, workers, state, report, progress)
    return report


def _vanished_days(
    state: IngestState, dates: list[list[DayFolder]], unreadable: list[str]
) -> list[str]:
    """Stored days (ISO dates) with no folder in the archive, those under a folder that
    could not be listed aside."""
    present = {group[0].date.isoformat() for group in dates}
    stored = {d for d, ids in state.by_day.items() if ids} | set(state.fingerprints)
    return sorted(
        day for day in stored - present if not any(day.startswith(prefix) for prefix in unreadable)
    )


async def _remove_days(
    store: Store, days: list[str], lang: str, state: IngestState, report: IngestReport
) -> None:
    deletes = sorted(i for day in days for i in state.by_day.get(day, ()))
    await store.write_events([], deletes, [(lang, day, None) for day in days])
    for day in days:
        state.by_day.pop(day, None)
        state.fingerprints.pop(day, None)
    for event_id in deletes:
        state.hashes.pop(event_id, None)
    report.removed += len(deletes)
    report.days_removed += len(days)


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
        max_workers=workers,
        mp_context=_parser_processes(),
        initializer=parser_started,
        initargs=(os.getpid(),),
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


def _fingerprint_or_none(folders: list[DayFolder]) -> str | None:
    try:
        fingerprint = folder_fingerprint(folders[0])
        for folder in folders[1:]:  # as _merge_same_dates combines them
            fingerprint = _combined([fingerprint, folder_fingerprint(folder)])
        return fingerprint
    except OSError:
        return None  # read (and reported) with the changed folders


def _parser_processes() -> multiprocessing.context.BaseContext:
    # A fork server: one clean process, started once, that has imported the parser and is
    # forked for each worker. Workers start in milliseconds instead of each paying a Python
    # start-up, and nothing is forked from this process and its threads (the database's).
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "archive.prepare", "archive.lifeline"])
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
    for day in _merge_same_dates(days, report):
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
                if day.day_page_failed:
                    # The day page gave each event its headline, topic and place: without
                    # it the stored version is the better one.
                    report.unchanged += 1
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
    report.created.extend(result.inserted)
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


def _merge_same_dates(days: list[PreparedDay], report: IngestReport) -> list[PreparedDay]:
    """One PreparedDay per date: the folders of one date (``11/5`` and ``11/05``) are read
    as one day, so neither removes the other's events. A copy of an event (same slug) in a
    later folder is merged into the first; the conflict is reported as a warning."""
    merged: list[PreparedDay] = []
    for day in days:
        if not merged or merged[-1].date != day.date:
            merged.append(day)
            continue
        first = merged[-1]
        report.warnings.append(
            (str(day.date), "two folders for this date: read as one day (merge them)")
        )
        slugs = {alias for event in first.events for alias in event.aliases}
        offset = len(first.events)
        for event in day.events:
            if slugs.intersection(event.aliases):
                first.merged += 1
                continue
            first.events.append(event._replace(position=event.position + offset))
        first.merged += day.merged
        first.pages_read += day.pages_read
        first.day_pages += day.day_pages
        first.event_pages += day.event_pages
        first.skipped.extend(day.skipped)
        first.warnings.extend(day.warnings)
        first.failed_slugs |= day.failed_slugs
        first.day_page_failed = first.day_page_failed or day.day_page_failed
        first.fingerprint = _combined([first.fingerprint, day.fingerprint])
    return merged
