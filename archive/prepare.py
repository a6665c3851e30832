"""Read, parse and merge day folders into rows for the store: the work of ingest's parsing
processes. Kept apart from ``archive.ingest`` so that those processes import only the parser
(no asyncio, no database driver).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from archive.dedupe import MergeStats, merge_day
from archive.parser import (
    DayEntry,
    EventPage,
    ParseError,
    may_have_mojibake,
    parse_day_page,
    parse_event_page,
)
from archive.rows import EventRows, event_rows

# Bump when parsing or merging changes what is stored, so unchanged folders are read again.
PARSER_VERSION = "3"
DAY_PAGE = "index.md"
DAY_PAGE_COPIES = frozenset({"readme.md"})


@dataclass(frozen=True, slots=True)
class DayFolder:
    date: dt.date
    path: Path
    # Whether the day folder, or its month or year folder, may be a symbolic link: then
    # where it leads is checked before it is read. ``find_day_folders`` knows it for free
    # from its folder listings (False for almost every folder); unknown means True.
    maybe_linked: bool = True


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
    fingerprint: str
    repaired: int = 0  # lines of text whose mojibake was repaired
    inline: MergeStats | None = None  # sources written inline: found, repaired, dropped


def _read_text(path: str, size: int, warnings: list[tuple[str, str]]) -> tuple[str, bool]:
    """The page's text, and whether it may hold mojibake (``may_have_mojibake``)."""
    data = _read_bytes(path, size)
    try:
        return data.decode("utf-8"), may_have_mojibake(data)
    except UnicodeDecodeError:
        warnings.append((path, "invalid UTF-8 bytes replaced"))
        return data.decode("utf-8", errors="replace"), may_have_mojibake(data)


def _read_bytes(path: str, size: int) -> bytes:
    # os.read skips the buffered file object that open() builds, and the size known from the
    # folder listing saves a call: ~25% less time per small page.
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = [os.read(fd, size + 1)]
        if len(parts[0]) > size:  # it grew since it was listed
            while part := os.read(fd, 1 << 20):
                parts.append(part)
        return b"".join(parts)
    finally:
        os.close(fd)


def prepare_day(folder: DayFolder, lang: str) -> PreparedDay:
    """Read, parse and merge one day folder. A bad page is reported and skipped, never raised."""
    skipped: list[tuple[str, str]] = []
    try:
        files, fingerprint = _list_pages(folder, skipped)  # fingerprint first: see a change
    except OSError as exc:
        reason = f"folder unreadable: {exc.strerror or exc}"
        return PreparedDay(
            folder.date, [], 0, 0, 0, 0, [(str(folder.path), reason)], [], set(), True, ""
        )
    if skipped and not files:  # the folder itself leads out of the archive
        return PreparedDay(folder.date, [], 0, 0, 0, 0, skipped, [], set(), True, "")
    entries: tuple[DayEntry, ...] = ()
    pages: list[EventPage] = []
    repaired = 0
    warnings: list[tuple[str, str]] = []
    failed: set[str] = set()
    day_page_failed = False
    read = day_pages = 0
    folder_path = str(folder.path)
    for name, size in files:
        path = os.path.join(folder_path, name)
        is_day_page = name == DAY_PAGE
        try:
            text, mojibake = _read_text(path, size, warnings)
            read += 1
            if is_day_page:
                day = parse_day_page(text, folder.date, mojibake)
                entries, found = day.entries, (day.repaired, day.warnings)
                day_pages += 1
            else:
                page = parse_event_page(text, folder.date, name[: -len(".md")], mojibake)
                pages.append(page)
                found = (page.repaired, page.warnings)
            repaired += found[0]
            warnings.extend((path, warning) for warning in found[1])
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
    stats = MergeStats()
    events, merged = (
        merge_day(folder.date, lang, entries, pages, stats) if entries or pages else ([], 0)
    )
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
        fingerprint,
        repaired,
        stats,
    )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@lru_cache(maxsize=16)
def _real(path: str) -> str:
    return os.path.realpath(path)


def _news_of(folder: DayFolder) -> str:
    return str(folder.path.parent.parent.parent)


def _leads_out(folder: Path, news: str) -> bool:
    """Whether the day folder, or its month or year folder, is a link out of ``news``.
    Three ``lstat`` calls; the path is resolved only when one of them is a link."""
    if not any(os.path.islink(p) for p in (folder, folder.parent, folder.parent.parent)):
        return False
    return not _inside(os.path.realpath(folder), _real(news))


def _list_pages(
    folder: DayFolder, skipped: list[tuple[str, str]] | None = None
) -> tuple[list[tuple[str, int]], str]:
    """The folder's pages to read (name, size), sorted, and its fingerprint: their names,
    sizes and modification times, and the parser version. Equal fingerprints: nothing to read.

    A symbolic link (a page, or the day, month or year folder) that resolves outside the
    archive's ``news`` folder is never followed: it is left out and added to ``skipped``."""
    pages = []
    if folder.maybe_linked and _leads_out(folder.path, _news_of(folder)):
        if skipped is not None:
            skipped.append((str(folder.path), "links outside the archive: not followed"))
        return [], hashlib.blake2b(PARSER_VERSION.encode(), digest_size=16).hexdigest()
    with os.scandir(folder.path) as listing:
        for entry in listing:
            name = entry.name
            if not name.endswith(".md") or name.lower() in DAY_PAGE_COPIES:
                continue
            if entry.is_symlink() and not _inside(
                os.path.realpath(entry.path), _real(_news_of(folder))
            ):
                if skipped is not None:
                    skipped.append((entry.path, "links outside the archive: not followed"))
                continue
            try:
                info = entry.stat()
            except FileNotFoundError:
                continue  # gone since the listing, or a broken link
            except OSError:
                pages.append((name, 0, 0))  # reading it fails too, and is reported
                continue
            if stat.S_ISREG(info.st_mode):
                pages.append((name, info.st_size, info.st_mtime_ns))
    pages.sort()
    digest = hashlib.blake2b(PARSER_VERSION.encode(), digest_size=16)
    digest.update("".join(f"{name}\0{size}\0{mtime}\0" for name, size, mtime in pages).encode())
    return [(name, size) for name, size, _ in pages], digest.hexdigest()


def folder_fingerprint(folder: DayFolder) -> str:
    return _list_pages(folder)[1]


# Parser processes yield the CPU to the process writing the database, the narrowest stage
# of the pipeline (and to anything else running): with 2 cores, 3 busy processes otherwise
# starve the writer, which then finishes alone after the parsing is done.
PARSER_NICENESS = 10


def parser_process_started() -> None:
    """Set up one of ingest's parser processes. They make many small objects and no cycles,
    and live for one ingest, so the cycle collector only costs them time (~3%)."""
    gc.disable()
    if hasattr(os, "nice"):
        os.nice(PARSER_NICENESS)


def prepare_days(folders: list[DayFolder], lang: str) -> list[PreparedDay]:
    """``prepare_day`` over a chunk of folders (the unit of work of the process pool)."""
    return [prepare_day(folder, lang) for folder in folders]
