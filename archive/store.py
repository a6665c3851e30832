"""The SQLite store: every SQL statement of the project lives in this module.

One aiosqlite connection per process, WAL mode, numbered migrations (``archive.migrations``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from archive.fts import fts_query, fts_text
from archive.migrations import MIGRATIONS
from archive.models import Event, RelatedLink, Source

_EVENT_COLUMNS = (
    "id, lang, date, slug, headline, summary, topic, cover_image, position, has_page, content_hash"
)


def content_hash(event: Event) -> str:
    """Hash of everything stored for an event except its id: equal hash, nothing to write."""
    payload = event.to_dict()
    payload.pop("id")
    payload["has_page"] = event.has_page
    payload["position"] = event.position
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(data.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: tuple[int, ...]
    updated: tuple[int, ...]
    deleted: tuple[int, ...]


class Store:
    """Async access to the archive database. Open with ``async with Store.open(path)``."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Store]:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path))
        try:
            store = cls(conn)
            await store._setup()
            yield store
        finally:
            await conn.close()

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    async def _setup(self) -> None:
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA busy_timeout = 5000")
        await self.migrate()

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply pending migrations in order, each in its own transaction."""
        version = await self.schema_version()
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            await self._conn.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
            version = number
        return version

    # ----- writes -------------------------------------------------------------------------

    async def ingest_state(self) -> tuple[dict[tuple[str, str, str], int], dict[int, str]]:
        """Every alias -> event id, and every event id -> content hash."""
        aliases: dict[tuple[str, str, str], int] = {}
        async with self._conn.execute("SELECT lang, date, slug, event_id FROM aliases") as cur:
            async for lang, date, slug, event_id in cur:
                aliases[(lang, date, slug)] = event_id
        hashes: dict[int, str] = {}
        async with self._conn.execute("SELECT id, content_hash FROM events") as cur:
            async for event_id, digest in cur:
                hashes[event_id] = digest
        return aliases, hashes

    async def event_ids_on(self, lang: str, dates: Iterable[str]) -> dict[str, set[int]]:
        """Ids of the events stored for each of ``dates`` (ISO) in edition ``lang``."""
        result: dict[str, set[int]] = {}
        sql = "SELECT date, id FROM events WHERE lang = ? AND date = ?"
        for date in dates:
            async with self._conn.execute(sql, (lang, date)) as cur:
                result[date] = {row[1] async for row in cur}
        return result

    async def write_events(
        self, upserts: Sequence[tuple[int | None, Event]], deletes: Sequence[int] = ()
    ) -> WriteResult:
        """Insert (id None) or replace events and everything that hangs off them, in one
        transaction; delete the events in ``deletes``."""
        return await self._conn._execute(self._write_events_sync, list(upserts), list(deletes))

    def _write_events_sync(
        self, upserts: list[tuple[int | None, Event]], deletes: list[int]
    ) -> WriteResult:
        # Runs on aiosqlite's worker thread with the raw sqlite3 connection: one round trip
        # for the whole batch instead of thousands.
        db = self._conn._conn
        inserted: list[int] = []
        updated: list[int] = []
        try:
            db.execute("BEGIN")
            if deletes:
                db.executemany("DELETE FROM events_fts WHERE rowid = ?", [(i,) for i in deletes])
                db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in deletes])
            replaced = [event_id for event_id, _ in upserts if event_id is not None]
            for table in ("aliases", "sources", "related", "tags"):
                db.executemany(f"DELETE FROM {table} WHERE event_id = ?", [(i,) for i in replaced])
            db.executemany("DELETE FROM events_fts WHERE rowid = ?", [(i,) for i in replaced])
            alias_rows, source_rows, related_rows, tag_rows, fts_rows = [], [], [], [], []
            for event_id, event in upserts:
                row = (
                    event.lang,
                    event.date.isoformat(),
                    event.date.strftime("%m-%d"),
                    event.slug,
                    event.headline,
                    event.summary,
                    event.topic,
                    event.cover_image,
                    event.position,
                    int(event.has_page),
                    event.content_hash or content_hash(event),
                )
                if event_id is None:
                    cur = db.execute(
                        "INSERT INTO events (lang, date, month_day, slug, headline, summary,"
                        " topic, cover_image, position, has_page, content_hash)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        row,
                    )
                    event_id = int(cur.lastrowid or 0)
                    inserted.append(event_id)
                else:
                    db.execute(
                        "UPDATE events SET lang=?, date=?, month_day=?, slug=?, headline=?,"
                        " summary=?, topic=?, cover_image=?, position=?, has_page=?,"
                        " content_hash=? WHERE id=?",
                        (*row, event_id),
                    )
                    updated.append(event_id)
                date = event.date.isoformat()
                alias_rows.extend((event.lang, date, a, event_id) for a in event.aliases)
                source_rows.extend(
                    (event_id, n, s.title, s.url) for n, s in enumerate(event.sources)
                )
                related_rows.extend(
                    (
                        event_id,
                        n,
                        r.date.isoformat() if r.date else None,
                        r.slug,
                        r.headline,
                        "\x1f".join(r.tags),
                    )
                    for n, r in enumerate(event.related)
                )
                tag_rows.extend((event_id, n, t) for n, t in enumerate(event.tags))
                fts_rows.append(
                    (
                        event_id,
                        fts_text(event.headline),
                        fts_text(event.summary),
                        fts_text(event.topic or ""),
                        fts_text(" ; ".join(event.tags)),
                    )
                )
            db.executemany("INSERT OR REPLACE INTO aliases VALUES (?,?,?,?)", alias_rows)
            db.executemany("INSERT INTO sources VALUES (?,?,?,?)", source_rows)
            db.executemany("INSERT INTO related VALUES (?,?,?,?,?,?)", related_rows)
            db.executemany("INSERT INTO tags VALUES (?,?,?)", tag_rows)
            db.executemany(
                "INSERT INTO events_fts (rowid, headline, summary, topic, tags) VALUES (?,?,?,?,?)",
                fts_rows,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return WriteResult(tuple(inserted), tuple(updated), tuple(deletes))

    # ----- reads --------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _events_from_rows(self, rows: list[Any]) -> list[Event]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        children = await self._conn._execute(self._children_sync, ids)
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
        db = self._conn._conn
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
                f"SELECT event_id, target_date, target_slug, headline, tags FROM related"
                f" WHERE event_id IN ({marks}) ORDER BY event_id, position",
                chunk,
            ):
                related.setdefault(event_id, []).append(
                    RelatedLink(
                        dt.date.fromisoformat(date) if date else None,
                        slug,
                        headline,
                        tuple(t for t in tag_text.split("\x1f") if t),
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
        return await self._events_from_rows(
            await self._fetch(sql + " ORDER BY lang, position, id", params)
        )

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
        return await self._events_from_rows(await self._fetch(sql, params))

    async def events_by_ids(self, ids: Sequence[int]) -> list[Event]:
        """Events for ``ids``, in the order given; unknown ids are left out."""
        if not ids:
            return []
        found: dict[int, Event] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await self._fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for event in await self._events_from_rows(rows):
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
    ) -> list[tuple[int, float]]:
        """Full-text search: (event id, score) best first; score is -BM25 (higher is better)."""
        match = fts_query(query)
        if match is None:
            return []
        sql = (
            "SELECT events_fts.rowid, -bm25(events_fts, 4.0, 1.0, 2.0, 2.0) AS score"
            " FROM events_fts JOIN events ON events.id = events_fts.rowid"
            " WHERE events_fts MATCH ?"
        )
        params: list[Any] = [match]
        if date_from:
            sql += " AND events.date >= ?"
            params.append(date_from.isoformat())
        if date_to:
            sql += " AND events.date <= ?"
            params.append(date_to.isoformat())
        if lang:
            sql += " AND events.lang = ?"
            params.append(lang)
        sql += " ORDER BY score DESC LIMIT ?"
        params.append(limit)
        return [(int(i), float(s)) for i, s in await self._fetch(sql, params)]

    async def events_by_topic(self, topic: str, *, limit: int = 50) -> list[Event]:
        """Events of a topic (case-insensitive), oldest first."""
        rows = await self._fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE topic = ? COLLATE NOCASE"
            " ORDER BY date, position LIMIT ?",
            (topic, limit),
        )
        return await self._events_from_rows(rows)

    async def events_by_tag(self, tag: str, *, limit: int = 50) -> list[Event]:
        """Events carrying a context tag (case-insensitive), oldest first."""
        rows = await self._fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN"
            " (SELECT event_id FROM tags WHERE tag = ?) ORDER BY date, position LIMIT ?",
            (tag, limit),
        )
        return await self._events_from_rows(rows)

    async def counts_per_day(
        self, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> list[tuple[dt.date, int]]:
        """(day, number of events) for every day that has events, in date order."""
        sql = "SELECT date, COUNT(*) FROM events WHERE date >= ? AND date <= ? GROUP BY date"
        rows = await self._fetch(
            sql + " ORDER BY date",
            (
                (date_from or dt.date.min).isoformat(),
                (date_to or dt.date.max).isoformat(),
            ),
        )
        return [(dt.date.fromisoformat(d), int(n)) for d, n in rows]

    async def event_hashes(self) -> dict[int, str]:
        """Every event id with its content hash."""
        rows = await self._fetch("SELECT id, content_hash FROM events")
        return {int(i): str(h) for i, h in rows}

    async def count_events(self) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM events")
        return int(rows[0][0])
