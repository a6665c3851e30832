"""Per-owner migration records: fresh databases, databases of the single-counter era
(``PRAGMA user_version``) upgraded in place, and databases newer than this code refused."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from archive.migrations import (
    ARCHIVE_MIGRATIONS,
    Migrations,
    SchemaTooNew,
    applied_migration,
    apply_migrations,
)
from archive.store import Store
from bot.state import BOT_MIGRATIONS, BotState

# The scripts in the order the code before per-owner records numbered them (1 to 4), as they
# shipped: archive 1, bot 1, archive 2, archive 3.
OLD_SCRIPTS = (
    ARCHIVE_MIGRATIONS.scripts[0],
    BOT_MIGRATIONS.scripts[0],
    ARCHIVE_MIGRATIONS.scripts[1],
    ARCHIVE_MIGRATIONS.scripts[2],
)


def _old_database(path: Path, version: int) -> None:
    """A database as the code before per-owner records left it at ``version``, with rows."""
    db = sqlite3.connect(path)
    for number, script in enumerate(OLD_SCRIPTS[:version], start=1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    db.execute(
        "INSERT INTO events (lang, date, month_day, slug, headline, content_hash)"
        " VALUES ('en', '2016-03-14', '03-14', 'kept', 'Kept across migrations', 'x')"
    )
    if version >= 2:
        db.execute(
            "INSERT INTO bot_guild_settings (guild_id, channel_id, post_time, timezone, enabled,"
            " enabled_since, updated_at) VALUES (7, 70, '08:00', 'Asia/Tokyo', 1,"
            " '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        )
        db.execute(
            "INSERT INTO bot_daily_posts (guild_id, channel_id, local_date, status, attempts,"
            " message_id, first_claimed_at, claimed_at) VALUES (7, 70, '2026-01-02', 'sent', 1,"
            " 99, '2026-01-01 23:00:00.000000', '2026-01-01 23:00:00.000000')"
        )
    db.commit()
    db.close()


def _records(path: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT owner, number FROM migrations ORDER BY owner, number").fetchall()
    finally:
        db.close()


async def test_fresh_database_records_each_owner(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    async with Store.open(path) as store:
        await BotState.attach(store.connection)
        assert (
            await applied_migration(store.connection, ARCHIVE_MIGRATIONS.owner)
            == ARCHIVE_MIGRATIONS.latest
        )
        assert (
            await applied_migration(store.connection, BOT_MIGRATIONS.owner) == BOT_MIGRATIONS.latest
        )
    assert _records(path) == [
        *(("archive", n) for n in range(1, ARCHIVE_MIGRATIONS.latest + 1)),
        *(("bot", n) for n in range(1, BOT_MIGRATIONS.latest + 1)),
    ]


async def test_database_of_the_user_version_era_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v4.sqlite3"
    _old_database(path, 4)
    async with Store.open(path) as store:
        state = await BotState.attach(store.connection)
        [event] = await store.events_by_ids([1])
        assert event.headline == "Kept across migrations"
        row = await state.guild_settings(7)
        assert row is not None and row.timezone == "Asia/Tokyo" and row.enabled
        [post] = await state.daily_posts(7)
        assert post.status == "sent" and post.message_id == 99
    # Nothing re-applied (a re-run of any script would have failed: CREATE TABLE of a table
    # that exists), the records say what the old counter said, and only the migrations added
    # since (archive 4: indexes for stories; bot 2 on) ran.
    assert _records(path) == [
        ("archive", 1),
        ("archive", 2),
        ("archive", 3),
        ("archive", 4),
        *(("bot", n) for n in range(1, BOT_MIGRATIONS.latest + 1)),
    ]
    async with Store.open(path) as store:  # and a second opening changes nothing
        await BotState.attach(store.connection)
    assert len(_records(path)) == 4 + BOT_MIGRATIONS.latest


async def test_old_database_before_the_bot_tables_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    _old_database(path, 1)
    async with Store.open(path) as store:
        state = await BotState.attach(store.connection)
        assert await state.guild_settings(7) is None
        await state.set_guild_post_time(7, "10:00", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert [e.slug for e in await store.events_by_ids([1])] == ["kept"]
    assert ("bot", 1) in _records(path) and ("archive", 3) in _records(path)


@pytest.mark.parametrize("owner", ["archive", "bot"])
async def test_a_newer_database_is_refused(tmp_path: Path, owner: str) -> None:
    path = tmp_path / "newer.sqlite3"
    async with Store.open(path) as store:
        await BotState.attach(store.connection)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES (?, 99, '2030-01-01')", (owner,))
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNew, match=f"{owner} migration 99"):
        async with Store.open(path) as store:
            await BotState.attach(store.connection)


async def test_a_newer_user_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v9.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 9")
    db.close()
    with pytest.raises(SchemaTooNew):
        async with Store.open(path):
            pass


async def test_a_failing_migration_leaves_no_record(tmp_path: Path) -> None:
    broken = Migrations(
        "demo", ("CREATE TABLE demo_a (x);", "CREATE TABLE demo_b (x); CREATE TABLE demo_a (x);")
    )
    async with aiosqlite.connect(tmp_path / "demo.sqlite3") as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, broken)
        assert await applied_migration(conn, "demo") == 1
        async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'demo_b'") as cur:
            assert await cur.fetchall() == []  # the failed script's first statement undone
        fixed = Migrations("demo", (broken.scripts[0], "CREATE TABLE demo_b (x);"))
        assert await apply_migrations(conn, fixed) == 2
