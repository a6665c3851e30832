"""Ingest an archive folder into the store: incremental, idempotent, never fatal on bad pages."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from archive.dedupe import UnionFind, headline_key, same_event
from archive.models import Event, RelatedLink, Source
from archive.parser import DayEntry, EventPage, ParseError, parse_day_page, parse_event_page
from archive.store import Store, content_hash

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
    skipped: list[tuple[str, str]] = field(default_factory=list)

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
        if not self.changed:
            lines.append("nothing changed: the store already matches the archive")
        if self.skipped:
            lines.append(f"{len(self.skipped)} pages skipped:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.skipped)
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


@dataclass
class _Group:
    entry: DayEntry | None
    pages: list[EventPage]
    slugs: list[str]


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_")]
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}?{urlencode(query)}"


def _merge_sources(pages: list[EventPage]) -> tuple[Source, ...]:
    seen: dict[str, Source] = {}
    for page in pages:
        for source in page.sources:
            seen.setdefault(_url_key(source.url), source)
    return tuple(seen.values())


def _merge_related(pages: list[EventPage]) -> tuple[RelatedLink, ...]:
    seen: dict[tuple[dt.date | None, str], RelatedLink] = {}
    for page in pages:
        for link in page.related:
            seen.setdefault((link.date, link.slug), link)
    return tuple(seen.values())


def _page_rank(page: EventPage) -> tuple[int, int]:
    # The current version first; among the rest the shortest headline, i.e. no topic prefix.
    return (0 if page.is_current else 1, len(page.headline))


def merge_day(
    date: dt.date,
    lang: str,
    entries: tuple[DayEntry, ...],
    pages: list[EventPage],
) -> tuple[list[Event], int]:
    """Turn a day's listing and pages into events, merging copies (see ``archive.dedupe``).

    Returns the events (id 0: not stored yet) and how many copies were merged away."""
    by_slug = {page.slug: page for page in pages}
    groups: list[_Group] = []
    owner: dict[str, int] = {}
    for entry in entries:
        slug = entry.link.slug if entry.link and entry.link.date == date else None
        if slug is not None and slug in owner:
            continue  # the day page lists the very same link twice
        group = _Group(entry, [], [])
        if slug is not None:
            group.slugs.append(slug)
            owner[slug] = len(groups)
            if slug in by_slug:
                group.pages.append(by_slug[slug])
        groups.append(group)

    # Explicit aliases from ### Changes: sections.
    links = UnionFind()
    for page in pages:
        for earlier in page.earlier_slugs:
            links.union(page.slug, earlier)

    def key_of(group: _Group) -> list[str]:
        keys = [headline_key(p.headline) for p in group.pages]
        if group.entry is not None:
            keys.append(headline_key(group.entry.headline))
        return keys

    merged_away = 0
    for page in sorted(pages, key=_page_rank):
        if page.slug in owner:
            continue
        target = next((owner[s] for s in owner if links.find(s) == links.find(page.slug)), None)
        if target is None:
            key = headline_key(page.headline)
            target = next(
                (i for i, g in enumerate(groups) if any(same_event(key, k) for k in key_of(g))),
                None,
            )
        if target is None:
            owner[page.slug] = len(groups)
            groups.append(_Group(None, [page], [page.slug]))
        else:
            owner[page.slug] = target
            groups[target].pages.append(page)
            groups[target].slugs.append(page.slug)
            merged_away += 1

    events = []
    for position, group in enumerate(groups):
        events.append(_event_of(date, lang, position, group, links))
    return events, merged_away


def _event_of(date: dt.date, lang: str, position: int, group: _Group, links: UnionFind) -> Event:
    pages = sorted(group.pages, key=_page_rank)
    if group.entry is not None and group.slugs:
        linked = [p for p in pages if p.slug == group.slugs[0]]
        pages = linked + [p for p in pages if p.slug != group.slugs[0]]
    entry = group.entry
    headline = entry.headline if entry else pages[0].headline
    summaries = [p.summary for p in pages] + ([entry.summary] if entry else [])
    summary = max(summaries, key=len, default="")
    topic = (entry.topic if entry else None) or next((p.topic for p in pages if p.topic), None)
    related = _merge_related(pages)
    tag_counts: Counter[str] = Counter()
    for link in related:
        tag_counts.update(link.tags)
    tags = tuple(
        dict.fromkeys([*(entry.tags if entry else ()), *(t for t, _ in tag_counts.most_common())])
    )
    slugs = list(group.slugs)
    for page in pages:
        slugs.extend(page.earlier_slugs)
    canonical = group.slugs[0] if group.slugs else _fallback_slug(headline)
    return Event(
        id=0,
        lang=lang,
        date=date,
        slug=canonical,
        headline=headline,
        summary=summary,
        topic=topic,
        tags=tags,
        sources=_merge_sources(pages),
        aliases=tuple(sorted(set(slugs) | {canonical})),
        cover_image=next((p.cover_image for p in pages if p.cover_image), None),
        related=related,
        has_page=bool(pages),
        position=position,
    )


def _fallback_slug(headline: str) -> str:
    """A slug for a day-page entry without a link, shaped like the archive's own."""
    return re.sub(r"[\W_]+", "-", headline.lower()).strip("-")[:140] or "event"


@dataclass
class _ParsedDay:
    date: dt.date
    entries: tuple[DayEntry, ...]
    pages: list[EventPage]
    link_lang: str | None
    pages_read: int
    day_pages: int
    skipped: list[tuple[str, str]]


def parse_day_folder(folder: DayFolder) -> _ParsedDay:
    """Read and parse one day folder; a bad page is reported, never raised."""
    entries: tuple[DayEntry, ...] = ()
    pages: list[EventPage] = []
    skipped: list[tuple[str, str]] = []
    link_lang: str | None = None
    read = day_pages = 0
    with os.scandir(folder.path) as listing:
        files = sorted(e.name for e in listing if e.is_file() and e.name.endswith(".md"))
    for name in files:
        if name.lower() in DAY_PAGE_COPIES:
            continue
        path = folder.path / name
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped.append((str(path), "not UTF-8 text"))
            continue
        except OSError as exc:
            skipped.append((str(path), f"unreadable: {exc.strerror or exc}"))
            continue
        read += 1
        try:
            if name == DAY_PAGE:
                day = parse_day_page(text, folder.date)
                entries, link_lang = day.entries, day.lang or link_lang
                day_pages += 1
            else:
                page = parse_event_page(text, folder.date, name[: -len(".md")])
                pages.append(page)
                link_lang = link_lang or page.lang
        except ParseError as exc:
            skipped.append((str(path), str(exc)))
        except Exception as exc:  # a parser bug must not stop the run or lose other pages
            skipped.append((str(path), f"parser error: {type(exc).__name__}: {exc}"))
    return _ParsedDay(folder.date, entries, pages, link_lang, read, day_pages, skipped)


async def ingest(
    store: Store,
    path: Path,
    *,
    lang: str | None = None,
    default_lang: str = "en",
    progress: Callable[[int], None] | None = None,
    batch_days: int = 200,
) -> IngestReport:
    """Bring the store in line with the archive at ``path``.

    Events are matched to stored ones through their aliases, so ids stay stable; an event
    whose content hash is unchanged is not written. A day folder is authoritative for its
    date: stored events of that edition and day that the folder no longer has are removed.
    """
    report = IngestReport()
    folders = find_day_folders(news_root(path), report.skipped)
    aliases, hashes = await store.ingest_state()
    edition = lang
    for start in range(0, len(folders), batch_days):
        batch = [parse_day_folder(f) for f in folders[start : start + batch_days]]
        if edition is None:
            edition = next((d.link_lang for d in batch if d.link_lang), None)
            edition = edition or default_lang
        await _store_days(store, batch, edition, aliases, hashes, report)
        if progress is not None:
            progress(len(batch))
    report.lang = edition or lang or default_lang
    report.days = len(folders)
    return report


async def _store_days(
    store: Store,
    days: list[_ParsedDay],
    lang: str,
    aliases: dict[tuple[str, str, str], int],
    hashes: dict[int, str],
    report: IngestReport,
) -> None:
    upserts: list[tuple[int | None, Event]] = []
    deletes: list[int] = []
    stored_on = await store.event_ids_on(lang, [d.date.isoformat() for d in days])
    for day in days:
        report.pages_read += day.pages_read
        report.day_pages += day.day_pages
        report.event_pages += len(day.pages)
        report.skipped.extend(day.skipped)
        if not day.entries and not day.pages:
            continue
        events, merged = merge_day(day.date, lang, day.entries, day.pages)
        report.merged_duplicates += merged
        report.events_seen += len(events)
        iso = day.date.isoformat()
        claimed: set[int] = set()
        for event in events:
            event = replace(event, content_hash=content_hash(event))
            known = sorted(
                {aliases[k] for a in event.aliases if (k := (lang, iso, a)) in aliases} - claimed
            )
            event_id = known[0] if known else None
            if event_id is not None:
                claimed.add(event_id)
                if hashes.get(event_id) == event.content_hash:
                    report.unchanged += 1
                    continue
                report.updated += 1
            else:
                report.new += 1
            upserts.append((event_id, event))
        gone = stored_on.get(iso, set()) - claimed
        deletes.extend(sorted(gone))
        report.removed += len(gone)
    if not upserts and not deletes:
        return
    result = await store.write_events(upserts, deletes)
    new_ids = iter(result.inserted)
    for event_id, event in upserts:
        event_id = event_id if event_id is not None else next(new_ids)
        hashes[event_id] = event.content_hash
        for alias in event.aliases:
            aliases[(lang, event.date.isoformat(), alias)] = event_id
    for event_id in deletes:
        hashes.pop(event_id, None)
