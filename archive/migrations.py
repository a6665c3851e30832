"""Numbered schema migrations, recorded per owner in one ``migrations`` table.

Each layer owns its tables and their migrations: the archive's are here (``ARCHIVE_MIGRATIONS``),
the bot's in ``bot.state``. A ``Migrations(owner, scripts)`` is an append-only tuple of SQL
scripts numbered from 1; ``apply_migrations`` runs the ones not yet recorded for that owner,
each in its own transaction together with its record. Append new ones; never edit one that
has shipped.

Databases made before per-owner records counted every migration in ``PRAGMA user_version``
(1 archive, 2 bot, 3 and 4 archive); ``legacy`` maps such a version to how many of an owner's
migrations it had applied, so those databases upgrade in place without re-running any.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiosqlite


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Dateline than this one: refuse to touch it."""

    def __init__(self, owner: str, found: int, known: int) -> None:
        super().__init__(
            f"the database has {owner} migration {found} but this Dateline knows only up to"
            f" {known}: it was written by a newer version; upgrade Dateline to use it"
        )
        self.owner = owner
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Migrations:
    """One owner's migrations: ``scripts[0]`` is number 1."""

    owner: str
    scripts: tuple[str, ...]
    # Old PRAGMA user_version -> number of this owner's migrations it had applied.
    legacy: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.owner):
            raise ValueError(f"migration owner must be a lower-case identifier: {self.owner!r}")

    @property
    def latest(self) -> int:
        return len(self.scripts)


_RECORDS = """
CREATE TABLE IF NOT EXISTS migrations (
    owner TEXT NOT NULL,
    number INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (owner, number)
) WITHOUT ROWID;
"""
_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


async def applied_migration(conn: aiosqlite.Connection, owner: str) -> int:
    """The highest migration number recorded for ``owner`` (0: none)."""
    await conn.executescript(_RECORDS)
    async with conn.execute("SELECT MAX(number) FROM migrations WHERE owner = ?", (owner,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def check_not_newer(conn: aiosqlite.Connection, migrations: Migrations) -> None:
    """Without writing anything (a read-only connection): raise SchemaTooNew when the
    database records more of ``migrations.owner``'s migrations than this code knows."""
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
    ) as cur:
        has_records = await cur.fetchone() is not None
    known = len(migrations.scripts)
    if has_records:
        async with conn.execute(
            "SELECT MAX(number) FROM migrations WHERE owner = ?", (migrations.owner,)
        ) as cur:
            row = await cur.fetchone()
        found = int(row[0]) if row and row[0] is not None else 0
        if found > known:
            raise SchemaTooNew(migrations.owner, found, known)
        return
    version = await _user_version(conn)
    if version > max(migrations.legacy, default=0):
        raise SchemaTooNew(
            "schema (PRAGMA user_version)", version, max(migrations.legacy, default=0)
        )


async def _user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(conn: aiosqlite.Connection, migrations: Migrations) -> int:
    """Bring ``migrations.owner``'s tables up to date; returns its migration number.

    Raises ``SchemaTooNew`` when the database records a migration this code doesn't know."""
    owner = migrations.owner
    applied = await applied_migration(conn, owner)
    if applied == 0:
        applied = await _adopt_legacy(conn, migrations)
    if applied > migrations.latest:
        raise SchemaTooNew(owner, applied, migrations.latest)
    for number in range(applied + 1, migrations.latest + 1):
        await _in_transaction(
            conn,
            f"{migrations.scripts[number - 1]}\n"
            "INSERT INTO migrations (owner, number, applied_at)"
            f" VALUES ('{owner}', {number}, {_NOW});",
        )
        applied = number
    return applied


async def _in_transaction(conn: aiosqlite.Connection, script: str) -> None:
    """Run ``script`` whole or not at all (a failed statement rolls back the ones before)."""
    try:
        await conn.executescript(f"BEGIN;\n{script}\nCOMMIT;")
    except BaseException:
        await conn.rollback()
        raise


async def _adopt_legacy(conn: aiosqlite.Connection, migrations: Migrations) -> int:
    """Record the migrations an old single-counter database had applied for this owner."""
    version = await _user_version(conn)
    if version == 0:
        return 0
    if version > max(migrations.legacy, default=0):
        raise SchemaTooNew(
            "schema (PRAGMA user_version)", version, max(migrations.legacy, default=0)
        )
    done = migrations.legacy.get(version, 0)
    if done:
        rows = ",".join(f"('{migrations.owner}', {n}, {_NOW})" for n in range(1, done + 1))
        await _in_transaction(
            conn, f"INSERT INTO migrations (owner, number, applied_at) VALUES {rows};"
        )
    return done


ARCHIVE_MIGRATIONS = Migrations(
    "archive",
    (
        # 1: events and what hangs off them, with full-text search.
        """
    CREATE TABLE events (
        -- AUTOINCREMENT: ids of deleted events are never reused, so a vector index keyed
        -- by id can't mistake a new event for an old one.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lang TEXT NOT NULL,
        date TEXT NOT NULL,
        month_day TEXT NOT NULL,
        slug TEXT NOT NULL,
        headline TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        topic TEXT,
        cover_image TEXT,
        position INTEGER NOT NULL DEFAULT 0,
        has_page INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL,
        UNIQUE (lang, date, slug)
    );
    CREATE INDEX events_by_date ON events (date, position);
    CREATE INDEX events_by_month_day ON events (month_day, date);
    CREATE INDEX events_by_topic ON events (topic, date);
    CREATE TABLE aliases (
        lang TEXT NOT NULL,
        date TEXT NOT NULL,
        slug TEXT NOT NULL,
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        PRIMARY KEY (lang, date, slug)
    ) WITHOUT ROWID;
    CREATE INDEX aliases_by_event ON aliases (event_id);
    CREATE TABLE sources (
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        PRIMARY KEY (event_id, position)
    ) WITHOUT ROWID;
    CREATE TABLE related (
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        target_date TEXT,
        target_slug TEXT NOT NULL,
        headline TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (event_id, position)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        tag TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (event_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX tags_by_tag ON tags (tag);
    CREATE TABLE day_folders (
        lang TEXT NOT NULL,
        date TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (lang, date)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE events_fts USING fts5 (
        headline, summary, topic, tags,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    """,
        # 2 (3 before per-owner records): faster keyword search: document frequencies of
        # indexed words (to query the rarest words of a question), and BM25 column weights
        # as FTS5's rank so ORDER BY rank is used.
        """
    CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab (events_fts, 'row');
    INSERT INTO events_fts (events_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0, 2.0, 2.0)');
    """,
        # 3 (4 before per-owner records): related links stored once each: a topic's pages
        # repeat the same links, and a copy per page was half the database. ``hash``
        # identifies a link by its fields (worked out where the page is parsed,
        # archive.rows); links carried over from before have none.
        """
    CREATE TABLE related_links (
        id INTEGER PRIMARY KEY,
        hash INTEGER,
        target_date TEXT,
        target_slug TEXT NOT NULL,
        headline TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO related_links (target_date, target_slug, headline, tags)
        SELECT DISTINCT target_date, target_slug, headline, tags FROM related;
    ALTER TABLE related RENAME TO related_before_4;
    CREATE TABLE related (
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        link_id INTEGER NOT NULL REFERENCES related_links (id),
        PRIMARY KEY (event_id, position)
    ) WITHOUT ROWID;
    INSERT INTO related (event_id, position, link_id)
        SELECT r.event_id, r.position, l.id FROM related_before_4 AS r JOIN related_links AS l
        ON l.target_date IS r.target_date AND l.target_slug = r.target_slug
        AND l.headline = r.headline AND l.tags = r.tags;
    DROP TABLE related_before_4;
    """,
        # 4: stories: find the events that link to an event (its "linked from" side) without
        # scanning every related link.
        """
    CREATE INDEX related_links_by_target ON related_links (target_date, target_slug);
    CREATE INDEX related_by_link ON related (link_id);
    """,
    ),
    # Before per-owner records, one PRAGMA user_version counted 1 archive, 2 bot, 3 and 4
    # archive: how many of the archive's migrations each old version had applied.
    legacy={1: 1, 2: 1, 3: 2, 4: 3},
)
