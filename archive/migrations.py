"""Numbered schema migrations. Append new ones; never edit one that has shipped."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
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
    # 2: the Discord bot: each server's daily-post settings, and the daily posts claimed or sent
    # (one row per server, channel and local date, so a post goes out at most once).
    """
    CREATE TABLE bot_guild_settings (
        guild_id INTEGER PRIMARY KEY,
        channel_id INTEGER,
        post_time TEXT,
        timezone TEXT,
        enabled INTEGER NOT NULL DEFAULT 0,
        enabled_since TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE bot_daily_posts (
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        local_date TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed')),
        attempts INTEGER NOT NULL,
        message_id INTEGER,
        first_claimed_at TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        retry_at TEXT,
        last_error TEXT,
        PRIMARY KEY (guild_id, channel_id, local_date)
    ) WITHOUT ROWID;
    CREATE INDEX bot_daily_posts_retry ON bot_daily_posts (status, retry_at);
    """,
    # 3: faster keyword search: document frequencies of indexed words (to query the rarest
    # words of a question), and BM25 column weights as FTS5's rank so ORDER BY rank is used.
    """
    CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab (events_fts, 'row');
    INSERT INTO events_fts (events_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0, 2.0, 2.0)');
    """,
    # 4: related links stored once each: a topic's pages repeat the same links, and a copy
    # per page was half the database. ``hash`` identifies a link by its fields (worked out
    # where the page is parsed, archive.rows); links carried over from before have none.
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
    # 5: stories: find the events that link to an event (its "linked from" side) without
    # scanning every related link.
    """
    CREATE INDEX related_links_by_target ON related_links (target_date, target_slug);
    CREATE INDEX related_by_link ON related (link_id);
    """,
)
