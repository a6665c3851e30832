"""The bot's own state in the Dateline database: each server's daily-post settings and the
daily posts claimed or sent. Every SQL statement on these tables lives here.

The tables sit in the same SQLite file as the archive and share the store's connection
(``BotState.attach(store.connection)``), but they belong to the bot: ``BOT_MIGRATIONS`` is
the bot's own numbered list, recorded under the owner ``"bot"`` (see ``archive.migrations``).

To add a bot table (news feeds, a per-server edition...): append one SQL script to
``BOT_MIGRATIONS.scripts`` (never edit a shipped one), add its row dataclass and methods
below, and a test in tests/test_bot_state.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from archive.migrations import Migrations, apply_migrations

BOT_MIGRATIONS = Migrations(
    "bot",
    (
        # 1 (2 before per-owner records): each server's daily-post settings, and the daily
        # posts claimed or sent (one row per server, channel and local date, so a post goes
        # out at most once).
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
        # 2: news feeds (new events posted to a channel, optionally filtered by a query), the
        # deliveries claimed or sent (one row per feed and event, so an event goes out at most
        # once to a feed), and each server's edition of the archive.
        """
    CREATE TABLE bot_feeds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        filter TEXT,
        edition TEXT,
        after_event_id INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_post_at TEXT,
        last_error TEXT,
        last_error_at TEXT
    );
    CREATE INDEX bot_feeds_guild ON bot_feeds (guild_id, id);
    CREATE TABLE bot_feed_deliveries (
        feed_id INTEGER NOT NULL REFERENCES bot_feeds (id) ON DELETE CASCADE,
        event_id INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('claimed', 'sent')),
        message_id INTEGER,
        claimed_at TEXT NOT NULL,
        PRIMARY KEY (feed_id, event_id)
    ) WITHOUT ROWID;
    CREATE TABLE bot_guild_editions (
        guild_id INTEGER PRIMARY KEY,
        edition TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
        # 3: why the bot itself switched a server's posts off (its channel deleted, access
        # lost for days), for /dateline status. NULL when on, or switched off by an admin.
        """
    ALTER TABLE bot_guild_settings ADD COLUMN disabled_reason TEXT;
    """,
    ),
    # Before per-owner records, PRAGMA user_version 2 and up included the bot's tables.
    legacy={1: 0, 2: 1, 3: 1, 4: 1},
)


class BotState:
    """Async access to the bot's tables. ``await BotState.attach(store.connection)`` brings
    them up to date (raising ``archive.migrations.SchemaTooNew`` for a newer database); the
    connection stays the store's, opened and closed by ``Store.open``."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def attach(cls, conn: aiosqlite.Connection) -> BotState:
        state = cls(conn)
        await state.migrate()
        return state

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[BotState]:
        """The bot's tables in a database file of their own (the preview's server state, kept
        apart from the database ``dateline run`` uses); the connection closes on exit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path))
        try:
            yield await cls.attach(conn)
        finally:
            await conn.close()

    async def migrate(self) -> int:
        return await apply_migrations(self._conn, BOT_MIGRATIONS)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def guild_settings(self, guild_id: int) -> GuildSettingsRow | None:
        """A server's daily-post settings, or None if it never configured anything."""
        rows = await self._fetch(
            f"SELECT {_GUILD_COLUMNS} FROM bot_guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return _guild_row(rows[0]) if rows else None

    async def enabled_guild_settings(self) -> list[GuildSettingsRow]:
        """Every server with daily posts switched on and a channel chosen."""
        rows = await self._fetch(
            f"SELECT {_GUILD_COLUMNS} FROM bot_guild_settings"
            " WHERE enabled = 1 AND channel_id IS NOT NULL ORDER BY guild_id"
        )
        return [_guild_row(row) for row in rows]

    async def set_guild_channel(self, guild_id: int, channel_id: int, now: dt.datetime) -> None:
        """Post daily in ``channel_id``; switching posts on (again) starts from ``now``."""
        stamp = _utc_text(now)
        await self._conn.execute(
            "INSERT INTO bot_guild_settings (guild_id, channel_id, enabled, enabled_since,"
            " updated_at) VALUES (?, ?, 1, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id,"
            " enabled_since = CASE WHEN enabled = 1 THEN enabled_since"
            " ELSE excluded.enabled_since END, enabled = 1, disabled_reason = NULL,"
            " updated_at = excluded.updated_at",
            (guild_id, channel_id, stamp, stamp),
        )
        await self._conn.commit()

    async def set_guild_post_time(self, guild_id: int, post_time: str, now: dt.datetime) -> None:
        """The local time (HH:MM) of the daily post."""
        await self._conn.execute(
            "INSERT INTO bot_guild_settings (guild_id, post_time, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET post_time = excluded.post_time,"
            " updated_at = excluded.updated_at",
            (guild_id, post_time, _utc_text(now)),
        )
        await self._conn.commit()

    async def set_guild_timezone(self, guild_id: int, timezone: str, now: dt.datetime) -> None:
        """The IANA timezone the post time is read in."""
        await self._conn.execute(
            "INSERT INTO bot_guild_settings (guild_id, timezone, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone,"
            " updated_at = excluded.updated_at",
            (guild_id, timezone, _utc_text(now)),
        )
        await self._conn.commit()

    async def disable_guild(
        self, guild_id: int, now: dt.datetime, *, reason: str | None = None
    ) -> bool:
        """Stop daily posts (the channel, time and timezone are kept); False if none were on.

        ``reason``: why the bot switched them off by itself (shown by ``/dateline status``)."""
        cur = await self._conn.execute(
            "UPDATE bot_guild_settings SET enabled = 0, disabled_reason = ?, updated_at = ?"
            " WHERE guild_id = ? AND enabled = 1",
            (reason, _utc_text(now), guild_id),
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def claim_daily_post(
        self,
        guild_id: int,
        channel_id: int,
        local_date: dt.date,
        now: dt.datetime,
        *,
        max_attempts: int,
        lease: dt.timedelta,
    ) -> DailyPostRow | None:
        """Atomically take the right to post (server, channel, local date), or None.

        Claimable: a day never tried; a failed try whose retry time has come; a claim older than
        ``lease`` (its process died mid-post) - each while fewer than ``max_attempts`` were made.
        A sent post is never claimable again.
        """
        stamp = _utc_text(now)
        async with self._conn.execute(
            "INSERT INTO bot_daily_posts (guild_id, channel_id, local_date, status, attempts,"
            " first_claimed_at, claimed_at) VALUES (?, ?, ?, 'claimed', 1, ?, ?)"
            " ON CONFLICT (guild_id, channel_id, local_date) DO UPDATE SET status = 'claimed',"
            " attempts = attempts + 1, claimed_at = excluded.claimed_at, retry_at = NULL"
            " WHERE attempts < ? AND ((status = 'failed' AND (retry_at IS NULL OR retry_at <= ?))"
            " OR (status = 'claimed' AND claimed_at <= ?))"
            f" RETURNING {_POST_COLUMNS}",
            (
                guild_id,
                channel_id,
                local_date.isoformat(),
                stamp,
                stamp,
                max_attempts,
                stamp,
                _utc_text(now - lease),
            ),
        ) as cur:
            row = await cur.fetchone()
        await self._conn.commit()
        return _post_row(row) if row else None

    async def mark_daily_post_sent(
        self, guild_id: int, channel_id: int, local_date: dt.date, message_id: int
    ) -> None:
        await self._conn.execute(
            "UPDATE bot_daily_posts SET status = 'sent', message_id = ?, retry_at = NULL,"
            " last_error = NULL WHERE guild_id = ? AND channel_id = ? AND local_date = ?",
            (message_id, guild_id, channel_id, local_date.isoformat()),
        )
        await self._conn.commit()

    async def mark_daily_post_failed(
        self,
        guild_id: int,
        channel_id: int,
        local_date: dt.date,
        error: str,
        retry_at: dt.datetime | None,
    ) -> None:
        """Record a failed try; ``retry_at`` None means it is given up for that day."""
        await self._conn.execute(
            "UPDATE bot_daily_posts SET status = 'failed', last_error = ?, retry_at = ?"
            " WHERE guild_id = ? AND channel_id = ? AND local_date = ?",
            (
                error[:500],
                _utc_text(retry_at) if retry_at else "9999-12-31 00:00:00.000000",
                guild_id,
                channel_id,
                local_date.isoformat(),
            ),
        )
        await self._conn.commit()

    async def daily_post(
        self, guild_id: int, channel_id: int, local_date: dt.date
    ) -> DailyPostRow | None:
        rows = await self._fetch(
            f"SELECT {_POST_COLUMNS} FROM bot_daily_posts"
            " WHERE guild_id = ? AND channel_id = ? AND local_date = ?",
            (guild_id, channel_id, local_date.isoformat()),
        )
        return _post_row(rows[0]) if rows else None

    async def daily_posts(self, guild_id: int) -> list[DailyPostRow]:
        """A server's daily posts, newest day first."""
        rows = await self._fetch(
            f"SELECT {_POST_COLUMNS} FROM bot_daily_posts WHERE guild_id = ?"
            " ORDER BY local_date DESC, channel_id",
            (guild_id,),
        )
        return [_post_row(row) for row in rows]

    async def next_daily_retry(self, after: dt.datetime) -> dt.datetime | None:
        """The earliest retry of a failed post planned after ``after`` (given-up ones aside)."""
        rows = await self._fetch(
            "SELECT MIN(retry_at) FROM bot_daily_posts WHERE status = 'failed'"
            " AND retry_at > ? AND retry_at < '9999'",
            (_utc_text(after),),
        )
        return _utc_parse(rows[0][0]) if rows and rows[0][0] else None

    # ----- news feeds and editions (migration 2) --------------------------------------------

    async def add_feed(
        self,
        guild_id: int,
        channel_id: int,
        *,
        query: str | None,
        edition: str | None,
        after_event_id: int,
        now: dt.datetime,
    ) -> FeedRow:
        """A new feed; only events with ids above ``after_event_id`` are ever posted to it."""
        async with self._conn.execute(
            "INSERT INTO bot_feeds (guild_id, channel_id, filter, edition, after_event_id,"
            f" created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {_FEED_COLUMNS}",
            (guild_id, channel_id, query, edition, after_event_id, _utc_text(now)),
        ) as cur:
            row = await cur.fetchone()
        await self._conn.commit()
        return _feed_row(row)

    async def feeds(self, guild_id: int | None = None) -> list[FeedRow]:
        """A server's feeds (every server's when ``guild_id`` is None), oldest first."""
        sql = f"SELECT {_FEED_COLUMNS} FROM bot_feeds"
        params: tuple[Any, ...] = ()
        if guild_id is not None:
            sql += " WHERE guild_id = ?"
            params = (guild_id,)
        return [_feed_row(row) for row in await self._fetch(sql + " ORDER BY id", params)]

    async def remove_feed(self, guild_id: int, feed_id: int) -> bool:
        cur = await self._conn.execute(
            "DELETE FROM bot_feeds WHERE guild_id = ? AND id = ?", (guild_id, feed_id)
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def open_feed_claims(
        self, feed_id: int, event_ids: Sequence[int]
    ) -> dict[int, dt.datetime]:
        """Of ``event_ids``, those claimed for the feed and not (yet) marked sent, with the
        time they were claimed: in flight in some process, or left by one that died."""
        rows = await self._fetch(
            "SELECT event_id, claimed_at FROM bot_feed_deliveries WHERE feed_id = ?"
            " AND status = 'claimed'",
            (feed_id,),
        )
        wanted = set(event_ids)
        return {int(i): _utc_parse(at) for i, at in rows if int(i) in wanted}

    async def claim_feed_events(
        self,
        feed_id: int,
        event_ids: Sequence[int],
        now: dt.datetime,
        *,
        lease: dt.timedelta | None = None,
    ) -> list[int]:
        """Claim ``event_ids`` for a feed before posting them; returns those claimed now.

        An event sent before is never returned again; one claimed before only when its claim
        is older than ``lease`` (the process that claimed it died before recording the post:
        see ``open_feed_claims``). Each claim is one atomic statement, so two processes
        never both take the same event."""
        claimed = []
        stamp = _utc_text(now)
        expired = _utc_text(now - lease) if lease is not None else ""
        for event_id in event_ids:
            async with self._conn.execute(
                "INSERT INTO bot_feed_deliveries (feed_id, event_id, status, claimed_at)"
                " VALUES (?, ?, 'claimed', ?) ON CONFLICT (feed_id, event_id) DO UPDATE"
                " SET claimed_at = excluded.claimed_at"
                " WHERE status = 'claimed' AND claimed_at <= ? RETURNING event_id",
                (feed_id, event_id, stamp, expired),
            ) as cur:
                if await cur.fetchone() is not None:
                    claimed.append(event_id)
        await self._conn.commit()
        return claimed

    async def release_feed_claims(self, feed_id: int, event_ids: Sequence[int]) -> None:
        """The post failed before anything went out: the events may be claimed again."""
        await self._conn.executemany(
            "DELETE FROM bot_feed_deliveries WHERE feed_id = ? AND event_id = ?"
            " AND status = 'claimed'",
            [(feed_id, event_id) for event_id in event_ids],
        )
        await self._conn.commit()

    async def mark_feed_sent(
        self, feed_id: int, event_ids: Sequence[int], message_id: int, now: dt.datetime
    ) -> None:
        await self._conn.executemany(
            "UPDATE bot_feed_deliveries SET status = 'sent', message_id = ?"
            " WHERE feed_id = ? AND event_id = ?",
            [(message_id, feed_id, event_id) for event_id in event_ids],
        )
        await self._conn.execute(
            "UPDATE bot_feeds SET last_post_at = ?, last_error = NULL, last_error_at = NULL"
            " WHERE id = ?",
            (_utc_text(now), feed_id),
        )
        await self._conn.commit()

    async def advance_feed(self, feed_id: int, after_event_id: int) -> None:
        """Everything up to ``after_event_id`` was looked at: never consider it again."""
        await self._conn.execute(
            "UPDATE bot_feeds SET after_event_id = MAX(after_event_id, ?) WHERE id = ?",
            (after_event_id, feed_id),
        )
        await self._conn.commit()

    async def set_feed_error(self, feed_id: int, error: str, now: dt.datetime) -> None:
        await self._conn.execute(
            "UPDATE bot_feeds SET last_error = ?, last_error_at = ? WHERE id = ?",
            (error[:500], _utc_text(now), feed_id),
        )
        await self._conn.commit()

    async def guild_edition(self, guild_id: int) -> str | None:
        """The edition (``en``, ``zh``...) a server chose, or None for the default."""
        rows = await self._fetch(
            "SELECT edition FROM bot_guild_editions WHERE guild_id = ?", (guild_id,)
        )
        return str(rows[0][0]) if rows else None

    async def set_guild_edition(self, guild_id: int, edition: str, now: dt.datetime) -> None:
        await self._conn.execute(
            "INSERT INTO bot_guild_editions (guild_id, edition, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET edition = excluded.edition,"
            " updated_at = excluded.updated_at",
            (guild_id, edition, _utc_text(now)),
        )
        await self._conn.commit()


_GUILD_COLUMNS = (
    "guild_id, channel_id, post_time, timezone, enabled, enabled_since, disabled_reason"
)
_POST_COLUMNS = (
    "guild_id, channel_id, local_date, status, attempts, message_id, first_claimed_at,"
    " claimed_at, retry_at, last_error"
)


def _utc_text(moment: dt.datetime) -> str:
    # Fixed width, UTC: these strings compare in time order inside SQL.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _utc_parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class GuildSettingsRow:
    guild_id: int
    channel_id: int | None
    post_time: str | None  # None: the configured default
    timezone: str | None  # None: the configured default
    enabled: bool
    enabled_since: dt.datetime | None
    disabled_reason: str | None = None  # set when the bot switched posts off by itself


@dataclass(frozen=True, slots=True)
class DailyPostRow:
    guild_id: int
    channel_id: int
    local_date: dt.date
    status: str  # 'claimed', 'sent' or 'failed'
    attempts: int
    message_id: int | None
    first_claimed_at: dt.datetime
    claimed_at: dt.datetime
    retry_at: dt.datetime | None  # 9999-12-31: given up
    last_error: str | None


def _guild_row(row: Any) -> GuildSettingsRow:
    guild_id, channel_id, post_time, timezone, enabled, enabled_since, disabled_reason = row
    return GuildSettingsRow(
        guild_id=int(guild_id),
        channel_id=int(channel_id) if channel_id is not None else None,
        post_time=post_time,
        timezone=timezone,
        enabled=bool(enabled),
        enabled_since=_utc_parse(enabled_since) if enabled_since else None,
        disabled_reason=disabled_reason,
    )


def _post_row(row: Any) -> DailyPostRow:
    (guild_id, channel_id, local_date, status, attempts, message_id, first_claimed_at,
     claimed_at, retry_at, last_error) = row  # fmt: skip
    return DailyPostRow(
        guild_id=int(guild_id),
        channel_id=int(channel_id),
        local_date=dt.date.fromisoformat(local_date),
        status=str(status),
        attempts=int(attempts),
        message_id=int(message_id) if message_id is not None else None,
        first_claimed_at=_utc_parse(first_claimed_at),
        claimed_at=_utc_parse(claimed_at),
        retry_at=_utc_parse(retry_at) if retry_at else None,
        last_error=last_error,
    )


_FEED_COLUMNS = (
    "id, guild_id, channel_id, filter, edition, after_event_id, created_at, last_post_at,"
    " last_error, last_error_at"
)


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    guild_id: int
    channel_id: int
    query: str | None  # None: every new event
    edition: str | None  # None: the server's edition
    after_event_id: int  # events with higher ids are new to this feed
    created_at: dt.datetime
    last_post_at: dt.datetime | None
    last_error: str | None  # why the last post failed (channel gone, no permission...)
    last_error_at: dt.datetime | None


def _feed_row(row: Any) -> FeedRow:
    (feed_id, guild_id, channel_id, query, edition, after_event_id, created_at, last_post_at,
     last_error, last_error_at) = row  # fmt: skip
    return FeedRow(
        id=int(feed_id),
        guild_id=int(guild_id),
        channel_id=int(channel_id),
        query=query,
        edition=edition,
        after_event_id=int(after_event_id),
        created_at=_utc_parse(created_at),
        last_post_at=_utc_parse(last_post_at) if last_post_at else None,
        last_error=last_error,
        last_error_at=_utc_parse(last_error_at) if last_error_at else None,
    )
