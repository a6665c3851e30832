"""The SQLite store: every SQL statement of the project lives in this module.

One aiosqlite connection per process, WAL mode, numbered migrations recorded per owner
(``archive.migrations``). The bot keeps its own tables in the same database file, with its own
SQL and migrations (``bot.state``), on this store's connection.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import count, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import aiosqlite

from archive.fts import fts_match, fts_terms
from archive.migrations import (
    ARCHIVE_MIGRATIONS,
    SchemaTooNew,
    apply_migrations,
    check_not_newer,
)
from archive.models import Event, NewEvent, RelatedLink, Source
from archive.rows import TAG_SEPARATOR, EventRows, event_rows

# SQLite page cache (negative: KiB): modest while serving, larger for a big ingest batch,
# where it halves the time spent writing indexes.
READ_CACHE_KIB = -8192
WRITE_CACHE_KIB = -65536
# 8 KiB pages: a tenth less time to write a large archive than SQLite's default 4 KiB.
PAGE_SIZE = 8192
# Write-ahead log size before SQLite copies it into the database, during bulk writes: larger
# than the default (each copy waits for the disk), small enough that the copy at the end of
# an ingest, which nothing overlaps, is short.
BULK_CHECKPOINT_BYTES = 16 << 20
# Words of a question searched by keyword: its rarest ones (see Store.search_text).
KEYWORD_TERMS = 6
KEYWORD_POSTINGS = 20_000
_EVENT_COLUMNS = (
    "id, lang, date, slug, headline, summary, topic, cover_image, position, has_page, content_hash"
)


@dataclass
class IngestState:
    """An edition's stored events: alias (date, slug) -> id, id -> hash, date -> ids, and
    the fingerprint of each day folder as last ingested."""

    aliases: dict[tuple[str, str], int] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    by_day: dict[str, set[int]] = field(default_factory=dict)


class StoreError(Exception):
    """The database can't be used (damaged, not a database, missing tables, no space, read
    only): one line for the operator, saying what to do."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: tuple[int, ...]
    updated: tuple[int, ...]
    deleted: tuple[int, ...]


__all__ = ["IngestState", "SchemaTooNew", "Store", "WriteResult"]


class Store:
    """Async access to the archive database. Open with ``async with Store.open(path)``."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._link_ids: dict[int, int] | None = None
        self._link_ids_version = -1
        self._bulk = False
        self._links_to_drop = False  # some events were replaced or deleted during bulk writes

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, read_only: bool = False) -> AsyncIterator[Store]:
        """Open (and create or migrate) the database. ``read_only``: for commands that only
        read; works in a read-only folder and never changes the file. A database that can't
        be used raises StoreError."""
        if read_only:
            conn = await _connect_read_only(Path(path))
        else:
            try:
                if str(path) != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                conn = await aiosqlite.connect(str(path))
            except OSError as exc:
                raise StoreError(describe_error(path, exc)) from None
        try:
            store = cls(conn)
            try:
                if read_only:
                    await check_not_newer(conn, ARCHIVE_MIGRATIONS)
                    await store._check_tables()
                else:
                    await store._setup()
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(describe_error(path, exc)) from None
            yield store
        finally:
            await conn.close()

    async def _check_tables(self) -> None:
        rows = await self._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = {str(r[0]) for r in rows}
        if not names:
            raise sqlite3.DatabaseError("no Dateline tables (run `dateline ingest` first)")
        missing = [t for t in ("events", "aliases", "sources", "events_fts") if t not in names]
        if missing:
            raise sqlite3.DatabaseError(f"table {missing[0]} is missing")

    async def database_file(self) -> str | None:
        """The database's file name, or None for an in-memory database."""
        rows = await self._fetch("PRAGMA database_list")
        return next((str(r[2]) for r in rows if r[1] == "main" and r[2]), None)

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    # A batch of thousands of statements runs as one call on aiosqlite's own thread, against
    # the raw sqlite3 connection: one hop instead of one per statement. aiosqlite has no
    # public API for this, hence the private names, kept here and version-pinned.
    async def _in_thread(self, function: Any, *args: Any) -> Any:
        return await self._conn._execute(function, *args)

    @property
    def _raw(self) -> Any:
        return self._conn._conn

    async def _setup(self) -> None:
        # Only takes effect on a new, empty database file (before WAL mode writes a header).
        await self._conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        # Pragmas that answer with a row are fetched: a statement left unfinished keeps a
        # read transaction open, and a checkpoint on this connection then fails with
        # "database table is locked" (bulk_writes).
        await self._fetch("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA busy_timeout = 5000")
        await self._conn.execute(f"PRAGMA cache_size = {READ_CACHE_KIB}")
        await self._conn.execute("PRAGMA temp_store = MEMORY")
        await self.migrate()
        await self._check_tables()

    async def migrate(self) -> int:
        """Apply the archive's pending migrations in order, each in its own transaction.

        Raises ``SchemaTooNew`` for a database written by a newer Dateline."""
        return await apply_migrations(self._conn, ARCHIVE_MIGRATIONS)

    # ----- writes -------------------------------------------------------------------------

    async def ingest_state(self, lang: str) -> IngestState:
        """What ingest needs to match an edition's events to stored ones, in three queries."""
        state = IngestState()
        async with self._conn.execute(
            "SELECT date, slug, event_id FROM aliases WHERE lang = ?", (lang,)
        ) as cur:
            async for date, slug, event_id in cur:
                state.aliases[(date, slug)] = event_id
        async with self._conn.execute(
            "SELECT id, date, content_hash FROM events WHERE lang = ?", (lang,)
        ) as cur:
            async for event_id, date, digest in cur:
                state.hashes[event_id] = digest
                state.by_day.setdefault(date, set()).add(event_id)
        async with self._conn.execute(
            "SELECT date, fingerprint FROM day_folders WHERE lang = ?", (lang,)
        ) as cur:
            async for date, fingerprint in cur:
                state.fingerprints[date] = fingerprint
        return state

    @asynccontextmanager
    async def bulk_writes(self) -> AsyncIterator[None]:
        """For many ``write_events`` in a row: a large page cache, the write-ahead log copied
        into the database every 16 MB instead of every 1,000 pages, and once more at the end."""
        await self._conn.execute(f"PRAGMA cache_size = {WRITE_CACHE_KIB}")
        (page_size,) = (await self._fetch("PRAGMA page_size"))[0]
        await self._fetch(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_BYTES // page_size}")
        self._bulk = True
        try:
            yield
            if self._links_to_drop:
                await self._in_thread(self._drop_unused_links_in_transaction)
        finally:
            self._bulk = False
            await self._fetch("PRAGMA wal_autocheckpoint = 1000")
            await self._fetch("PRAGMA wal_checkpoint(PASSIVE)")
            await self._conn.execute(f"PRAGMA cache_size = {READ_CACHE_KIB}")

    def _drop_unused_links_in_transaction(self) -> None:
        db = self._raw
        db.execute("BEGIN IMMEDIATE")
        try:
            self._drop_unused_links(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def write_events(
        self,
        upserts: Sequence[tuple[int | None, NewEvent | EventRows]],
        deletes: Sequence[int] = (),
        day_folders: Sequence[tuple[str, str, str | None]] = (),
    ) -> WriteResult:
        """Insert (id None) or replace events and everything that hangs off them, delete the
        events in ``deletes`` and record day-folder fingerprints ``(lang, date, fp)`` (None
        forgets one), all in one transaction."""
        rows = [
            (event_id, event if isinstance(event, EventRows) else event_rows(event))
            for event_id, event in upserts
        ]
        return await self._in_thread(
            self._write_events_sync, rows, list(deletes), list(day_folders)
        )

    def _write_events_sync(
        self,
        upserts: list[tuple[int | None, EventRows]],
        deletes: list[int],
        day_folders: list[tuple[str, str, str | None]],
    ) -> WriteResult:
        db = self._raw  # on aiosqlite's thread (see _in_thread)
        inserted: list[int] = []
        updated: list[int] = []
        # Foreign keys go unchecked while a batch is written (they cost a fifth of the time):
        # the batch is built whole right here and removes dependent rows itself. The pragma
        # only takes effect outside a transaction.
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            db.execute("BEGIN IMMEDIATE")
            link_ids = self._link_ids_sync(db)
            replaced = [event_id for event_id, _ in upserts if event_id is not None]
            gone = [(event_id,) for event_id in [*deletes, *replaced]]
            for table in ("aliases", "sources", "related", "tags"):
                db.executemany(f"DELETE FROM {table} WHERE event_id = ?", gone)
            db.executemany("DELETE FROM events_fts WHERE rowid = ?", gone)
            db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in deletes])
            link_rows = self._new_links(upserts, link_ids, self._next_id(db, "related_links"))
            alias_rows: list[tuple[Any, ...]] = []
            source_rows: list[tuple[Any, ...]] = []
            related_rows: list[tuple[Any, ...]] = []
            tag_rows: list[tuple[Any, ...]] = []
            fts_rows: list[tuple[Any, ...]] = []
            new_rows: list[tuple[Any, ...]] = []
            update_rows: list[tuple[Any, ...]] = []
            next_id = self._next_id(db, "events")
            link_id = link_ids.__getitem__
            # zip/map build the rows without a Python step per row (tens of thousands a batch)
            for event_id, row in upserts:
                if event_id is None:
                    event_id, next_id = next_id, next_id + 1
                    inserted.append(event_id)
                    target = new_rows
                else:
                    updated.append(event_id)
                    target = update_rows
                target.append((*row[:9], row.content_hash, row.date[5:], event_id))
                alias_rows.extend(
                    zip(repeat(row.lang), repeat(row.date), row.aliases, repeat(event_id))
                )
                source_rows.extend((event_id, n, *s) for n, s in enumerate(row.sources))
                keys = map(link_id, map(itemgetter(0), row.related))
                related_rows.extend(zip(repeat(event_id), count(), keys))
                tag_rows.extend(zip(repeat(event_id), count(), row.tags))
                fts_rows.append((event_id, *row.fts))
            db.executemany(
                "INSERT INTO events (lang, date, slug, headline, summary, topic, cover_image,"
                " position, has_page, content_hash, month_day, id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                new_rows,
            )
            db.executemany(
                "UPDATE events SET lang=?, date=?, slug=?, headline=?, summary=?, topic=?,"
                " cover_image=?, position=?, has_page=?, content_hash=?, month_day=? WHERE id=?",
                update_rows,
            )
            db.executemany("INSERT OR REPLACE INTO aliases VALUES (?,?,?,?)", alias_rows)
            db.executemany("INSERT INTO sources VALUES (?,?,?,?)", source_rows)
            db.executemany(
                "INSERT INTO related_links (id, hash, target_date, target_slug, headline, tags)"
                " VALUES (?,?,?,?,?,?)",
                link_rows,
            )
            db.executemany("INSERT INTO related VALUES (?,?,?)", related_rows)
            if gone and not self._bulk:
                self._drop_unused_links(db)
            db.executemany("INSERT INTO tags VALUES (?,?,?)", tag_rows)
            db.executemany(
                "INSERT INTO events_fts (rowid, headline, summary, topic, tags) VALUES (?,?,?,?,?)",
                fts_rows,
            )
            db.executemany(
                "INSERT OR REPLACE INTO day_folders VALUES (?,?,?)",
                [f for f in day_folders if f[2] is not None],
            )
            db.executemany(
                "DELETE FROM day_folders WHERE lang = ? AND date = ?",
                [f[:2] for f in day_folders if f[2] is None],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._link_ids = None  # it may hold ids of links that were not written
            raise
        finally:
            db.execute("PRAGMA foreign_keys = ON")
        if gone and self._bulk:
            self._links_to_drop = True
        return WriteResult(tuple(inserted), tuple(updated), tuple(deletes))

    @staticmethod
    def _new_links(
        upserts: list[tuple[int | None, EventRows]], link_ids: dict[int, int], next_id: int
    ) -> list[tuple[Any, ...]]:
        """Give the batch's related links that the store lacks ids (added to ``link_ids``)
        and return their rows, in order of first appearance."""
        rows: list[tuple[Any, ...]] = []
        for _, row in upserts:
            for link in row.related:
                if link[0] not in link_ids:
                    link_ids[link[0]] = next_id
                    rows.append((next_id, *link))
                    next_id += 1
        return rows

    def _link_ids_sync(self, db: Any) -> dict[int, int]:
        """Related links by hash -> id. Kept between writes, and read again when another
        connection has committed since (``PRAGMA data_version``; the caller holds the write
        lock, so nobody can commit while the batch uses it)."""
        (version,) = db.execute("PRAGMA data_version").fetchone()
        if self._link_ids is None or version != self._link_ids_version:
            rows = db.execute("SELECT hash, id FROM related_links WHERE hash IS NOT NULL")
            self._link_ids = dict(rows)
            self._link_ids_version = version
        return self._link_ids

    def _drop_unused_links(self, db: Any) -> None:
        """Remove related links that no event lists any more (one scan of ``related``, so
        bulk writes do it once at the end)."""
        if db.execute(
            "DELETE FROM related_links WHERE id NOT IN (SELECT link_id FROM related)"
        ).rowcount:
            self._link_ids = None  # read again by the next write
        self._links_to_drop = False

    @staticmethod
    def _next_id(db: Any, table: str) -> int:
        # AUTOINCREMENT (events) never reuses an id, so its sequence counts too.
        (highest,) = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        return max(int(highest), int(row[0]) if row else 0) + 1

    # ----- reads --------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _read_events(self, sql: str, params: Sequence[Any] = ()) -> list[Event]:
        """Events and everything that hangs off them, read in one snapshot (one read
        transaction): an ingest committing meanwhile is seen either whole or not at all."""
        rows, children = await self._in_thread(self._read_events_sync, sql, list(params))
        return self._events_from(rows, children)

    def _read_events_sync(self, sql: str, params: list[Any]) -> tuple[list[Any], tuple]:
        db = self._raw
        if db.in_transaction:  # our own write in progress: its view is the snapshot
            rows = db.execute(sql, params).fetchall()
            return rows, self._children_sync([r[0] for r in rows])
        db.execute("BEGIN")
        try:
            rows = db.execute(sql, params).fetchall()
            return rows, self._children_sync([r[0] for r in rows])
        finally:
            db.execute("COMMIT")

    @staticmethod
    def _events_from(rows: list[Any], children: tuple) -> list[Event]:
        aliases, sources, related, tags = children
        events = []
        for row in rows:
            (event_id, lang, date, slug, headline, summary, topic, cover, position,
             has_page, digest) = row  # fmt: skip
            events.append(
                Event(
                    id=event_id,
                    lang=lang,
                    date=dt.date.fromisoformat(date),
                    slug=slug,
                    headline=headline,
                    summary=summary,
                    topic=topic,
                    tags=tuple(tags.get(event_id, ())),
                    sources=tuple(sources.get(event_id, ())),
                    aliases=tuple(aliases.get(event_id, ())),
                    cover_image=cover,
                    related=tuple(related.get(event_id, ())),
                    has_page=bool(has_page),
                    position=position,
                    content_hash=digest,
                )
            )
        return events

    def _children_sync(self, ids: list[int]) -> tuple[dict, dict, dict, dict]:
        db = self._raw
        aliases: dict[int, list[str]] = {}
        sources: dict[int, list[Source]] = {}
        related: dict[int, list[RelatedLink]] = {}
        tags: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for event_id, slug in db.execute(
                f"SELECT event_id, slug FROM aliases WHERE event_id IN ({marks}) ORDER BY slug",
                chunk,
            ):
                aliases.setdefault(event_id, []).append(slug)
            for event_id, title, url in db.execute(
                f"SELECT event_id, title, url FROM sources WHERE event_id IN ({marks})"
                " ORDER BY event_id, position",
                chunk,
            ):
                sources.setdefault(event_id, []).append(Source(title, url))
            for event_id, date, slug, headline, tag_text in db.execute(
                "SELECT r.event_id, l.target_date, l.target_slug, l.headline, l.tags"
                " FROM related AS r JOIN related_links AS l ON l.id = r.link_id"
                f" WHERE r.event_id IN ({marks}) ORDER BY r.event_id, r.position",
                chunk,
            ):
                related.setdefault(event_id, []).append(
                    RelatedLink(
                        dt.date.fromisoformat(date) if date else None,
                        slug,
                        headline,
                        tuple(t for t in tag_text.split(TAG_SEPARATOR) if t),
                    )
                )
            for event_id, tag in db.execute(
                f"SELECT event_id, tag FROM tags WHERE event_id IN ({marks})"
                " ORDER BY event_id, position",
                chunk,
            ):
                tags.setdefault(event_id, []).append(tag)
        return aliases, sources, related, tags

    async def events_on(self, date: dt.date, lang: str | None = None) -> list[Event]:
        """The events of one day, in day-page order."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE date = ?"
        params: list[Any] = [date.isoformat()]
        if lang:
            sql += " AND lang = ?"
            params.append(lang)
        return await self._read_events(sql + " ORDER BY lang, position, id", params)

    async def events_on_month_day(
        self,
        month: int,
        day: int,
        *,
        lang: str | None = None,
        before: dt.date | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """On this day: events of ``month``-``day`` across all years, newest year first."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE month_day = ?"
        params: list[Any] = [f"{month:02d}-{day:02d}"]
        if lang:
            sql += " AND lang = ?"
            params.append(lang)
        if before:
            sql += " AND date < ?"
            params.append(before.isoformat())
        sql += " ORDER BY date DESC, position, id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return await self._read_events(sql, params)

    async def events_by_ids(self, ids: Sequence[int]) -> list[Event]:
        """Events for ``ids``, in the order given; unknown ids are left out."""
        if not ids:
            return []
        found: dict[int, Event] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            for event in await self._read_events(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[event.id] = event
        return [found[i] for i in unique if i in found]

    async def resolve(self, lang: str, date: dt.date, slug: str) -> int | None:
        """The event id a slug (canonical or alias) names, e.g. a ``### Related:`` link."""
        rows = await self._fetch(
            "SELECT event_id FROM aliases WHERE lang = ? AND date = ? AND slug = ?",
            (lang, date.isoformat(), slug),
        )
        return int(rows[0][0]) if rows else None

    async def search_text(
        self,
        query: str,
        *,
        limit: int = 20,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        lang: str | None = None,
        max_terms: int = KEYWORD_TERMS,
    ) -> list[tuple[int, float]]:
        """Full-text search: (event id, score) best first; score is -BM25 (higher is better).

        Only the question's rarest indexed words are searched (OR): at most ``max_terms``, and
        beyond the two rarest only while the events they match stay within KEYWORD_POSTINGS.
        BM25 ranks by the rare words anyway, and common ones would make FTS5 score most of
        a large table."""
        terms = fts_terms(query)
        if not terms:
            return []
        frequency = await self._term_frequencies(terms)
        chosen: list[str] = []
        postings = 0
        for term in sorted((t for t in terms if frequency.get(t)), key=lambda t: frequency[t]):
            if len(chosen) == max_terms:
                break
            if len(chosen) >= 2 and postings + frequency[term] > KEYWORD_POSTINGS:
                break
            chosen.append(term)
            postings += frequency[term]
        match = fts_match(chosen)
        if match is None:
            return []
        params: list[Any] = [match]
        if not (date_from or date_to or lang):
            sql = (
                "SELECT rowid, -rank FROM events_fts WHERE events_fts MATCH ? ORDER BY rank LIMIT ?"
            )
        else:
            sql = (
                "SELECT events_fts.rowid, -events_fts.rank FROM events_fts"
                " JOIN events ON events.id = events_fts.rowid WHERE events_fts MATCH ?"
            )
            if date_from:
                sql += " AND events.date >= ?"
                params.append(date_from.isoformat())
            if date_to:
                sql += " AND events.date <= ?"
                params.append(date_to.isoformat())
            if lang:
                sql += " AND events.lang = ?"
                params.append(lang)
            sql += " ORDER BY events_fts.rank LIMIT ?"
        params.append(limit)
        return [(int(i), float(s)) for i, s in await self._fetch(sql, params)]

    async def _term_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        marks = ",".join("?" * len(terms))
        rows = await self._fetch(
            f"SELECT term, doc FROM events_fts_vocab WHERE term IN ({marks})", list(terms)
        )
        return {str(term): int(doc) for term, doc in rows}

    async def events_by_topic(self, topic: str, *, limit: int = 50) -> list[Event]:
        """Events of a topic (case-insensitive), oldest first."""
        return await self._read_events(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE topic = ? COLLATE NOCASE"
            " ORDER BY date, position LIMIT ?",
            (topic, limit),
        )

    async def counts_per_day(
        self,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        lang: str | None = None,
    ) -> list[tuple[dt.date, int]]:
        """(day, number of events) for every day that has events, in date order; ``lang``
        counts one edition only (a server's ``/dateline edition``)."""
        sql = "SELECT date, COUNT(*) FROM events WHERE date >= ? AND date <= ?"
        params: list[Any] = [
            (date_from or dt.date.min).isoformat(),
            (date_to or dt.date.max).isoformat(),
        ]
        if lang:
            sql += " AND lang = ?"
            params.append(lang)
        rows = await self._fetch(sql + " GROUP BY date ORDER BY date", params)
        return [(dt.date.fromisoformat(d), int(n)) for d, n in rows]

    async def event_hashes(self) -> dict[int, str]:
        """Every event id with its content hash."""
        rows = await self._fetch("SELECT id, content_hash FROM events")
        return {int(i): str(h) for i, h in rows}

    async def count_events(self) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM events")
        return int(rows[0][0])

    # ----- stories: related links resolved, story candidates, headline lookup -----

    async def resolved_related(self, event_ids: Sequence[int]) -> dict[int, list[int | None]]:
        """Per event, its ``### Related:`` links in order, each resolved through the aliases
        of the event's edition to a stored event id (None: the page is not in the store)."""
        found: dict[int, list[int | None]] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            rows = await self._fetch(
                "SELECT r.event_id, a.event_id FROM related AS r"
                " JOIN events AS e ON e.id = r.event_id"
                " JOIN related_links AS l ON l.id = r.link_id"
                " LEFT JOIN aliases AS a ON a.lang = e.lang AND a.date = l.target_date"
                " AND a.slug = l.target_slug"
                f" WHERE r.event_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY r.event_id, r.position",
                chunk,
            )
            for event_id, target in rows:
                found.setdefault(int(event_id), []).append(
                    int(target) if target is not None else None
                )
        return found

    async def linking_events(self, event_ids: Sequence[int]) -> dict[int, list[int]]:
        """Per event, the stored events of its edition whose related links point at it (by
        its slug or any alias), oldest first."""
        found: dict[int, list[int]] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            rows = await self._fetch(
                "SELECT DISTINCT a.event_id, r.event_id, e.date FROM aliases AS a"
                " JOIN related_links AS l ON l.target_date = a.date AND l.target_slug = a.slug"
                " JOIN related AS r ON r.link_id = l.id"
                " JOIN events AS e ON e.id = r.event_id AND e.lang = a.lang"
                f" WHERE a.event_id IN ({','.join('?' * len(chunk))}) AND r.event_id != a.event_id"
                " ORDER BY a.event_id, e.date, r.event_id",
                chunk,
            )
            for target, source, _ in rows:
                found.setdefault(int(target), []).append(int(source))
        return found

    async def story_candidates(
        self,
        lang: str,
        date_from: dt.date,
        date_to: dt.date,
        *,
        topics: Sequence[str] = (),
        tags: Sequence[str] = (),
        limit: int = 2000,
    ) -> list[int]:
        """Ids of the edition's events dated within [date_from, date_to] whose topic is one
        of ``topics`` or that carry one of ``tags`` (both case-insensitive), oldest first."""
        topics, tags = list(dict.fromkeys(topics)), list(dict.fromkeys(tags))
        if not topics and not tags:
            return []
        conditions, params = [], [lang, date_from.isoformat(), date_to.isoformat()]
        if topics:
            conditions.append(f"topic COLLATE NOCASE IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        if tags:
            conditions.append(
                f"id IN (SELECT event_id FROM tags WHERE tag IN ({','.join('?' * len(tags))}))"
            )
            params.extend(tags)
        rows = await self._fetch(
            "SELECT id FROM events WHERE lang = ? AND date >= ? AND date <= ?"
            f" AND ({' OR '.join(conditions)}) ORDER BY date, position, id LIMIT ?",
            [*params, limit],
        )
        return [int(i) for (i,) in rows]

    async def count_topic_between(self, topic: str, date_from: dt.date, date_to: dt.date) -> int:
        """How many events of ``topic`` (case-insensitive) are dated within the window."""
        rows = await self._fetch(
            "SELECT COUNT(*) FROM events WHERE topic = ? COLLATE NOCASE AND date >= ?"
            " AND date <= ?",
            (topic, date_from.isoformat(), date_to.isoformat()),
        )
        return int(rows[0][0])

    async def headline_matches(self, text: str, *, limit: int = 25) -> list[tuple[int, str, str]]:
        """(id, ISO date, headline) of events whose text holds every word typed (the last one
        as a prefix), best match first; with nothing typed, the newest events with a page."""
        terms = fts_terms(text)
        if not terms:
            rows = await self._fetch(
                "SELECT id, date, headline FROM events WHERE has_page = 1"
                " ORDER BY date DESC, position LIMIT ?",
                (limit,),
            )
        else:
            match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
            rows = await self._fetch(
                "SELECT e.id, e.date, e.headline FROM events_fts"
                " JOIN events AS e ON e.id = events_fts.rowid"
                " WHERE events_fts MATCH ? ORDER BY events_fts.rank LIMIT ?",
                (match.strip(), limit),
            )
        return [(int(i), str(d), str(h)) for i, d, h in rows]

    # ----- following a growing archive (embeddings.follow, the bot's feeds) ---------------

    async def data_version(self) -> int:
        """Changes when another connection (another process) commits to the database; this
        connection's own commits leave it alone (SQLite's ``PRAGMA data_version``)."""
        rows = await self._fetch("PRAGMA data_version")
        return int(rows[0][0])

    async def max_event_id(self) -> int:
        """The highest event id ever given (ids are never reused, so every event created
        later has a higher one)."""
        rows = await self._fetch(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM events), 0),"
            " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))"
        )
        return int(rows[0][0])

    async def events_after(
        self, after_id: int, *, lang: str | None = None, limit: int = 500
    ) -> list[Event]:
        """Events created after ``after_id`` (oldest id first), of one edition if given."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > ?"
        params: list[Any] = [after_id]
        if lang:
            sql += " AND lang = ?"
            params.append(lang)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return await self._read_events(sql, params)

    async def event_ids(self, lang: str) -> list[int]:
        """Every event id of one edition, ascending (a per-server edition filter)."""
        rows = await self._fetch("SELECT id FROM events WHERE lang = ? ORDER BY id", (lang,))
        return [int(i) for (i,) in rows]


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


async def _connect_read_only(path: Path) -> aiosqlite.Connection:
    """A read-only connection: plain ``mode=ro`` when the database's folder allows SQLite's
    shared-memory file, else ``immutable=1`` (a read-only folder, where no ingest can be
    writing either)."""
    if not path.is_file():  # noqa: ASYNC240 (one stat, before anything is opened)
        raise StoreError(f"no database at {path}: run `dateline ingest` first")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path))  # noqa: ASYNC240
    conn = await aiosqlite.connect(f"{uri}?mode=ro", uri=True)
    try:
        await conn.execute("SELECT COUNT(*) FROM sqlite_master")
        return conn
    except sqlite3.DatabaseError as exc:
        await conn.close()
        if "file is not a database" in str(exc) or "malformed" in str(exc):
            raise StoreError(describe_error(path, exc)) from None
    try:
        return await aiosqlite.connect(f"{uri}?immutable=1", uri=True)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(describe_error(path, exc)) from None


def describe_error(path: Path | str, exc: BaseException) -> str:
    """One line saying what is wrong with the database and what to do."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "database or disk is full" in text:
        return f"no space left for the database {path}: free some disk space and run again"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"can't write the database folder of {path} ({exc.strerror}): check its permissions"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return (
            f"can't write the database {path} ({text}): make its folder writable, or use a"
            " command that only reads"
        )
    if "not a database" in text or "malformed" in text or "missing" in text:
        return (
            f"the database {path} is damaged ({text}): move it away and run `dateline ingest`"
            " to build it again"
        )
    return f"the database {path} can't be used: {text}"
