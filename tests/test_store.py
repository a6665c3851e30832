import datetime as dt
import sqlite3
from dataclasses import replace
from pathlib import Path

from archive.ingest import ingest
from archive.migrations import ARCHIVE_MIGRATIONS, applied_migration
from archive.models import NewEvent, RelatedLink, Source
from archive.rows import event_rows
from archive.store import PAGE_SIZE, Store
from tests import records
from tests.test_migrations import OLD_SCRIPTS

DAY = dt.date(2016, 3, 14)


def _event(slug: str, date: dt.date = DAY, **fields: object) -> NewEvent:
    values: dict = dict(
        lang="en",
        date=date,
        slug=slug,
        headline=f"Headline of {slug}",
        summary="",
        topic=None,
        tags=(),
        sources=(),
        aliases=(slug,),
    )
    values.update(fields)
    return NewEvent(**values)


async def test_fresh_database_is_fully_migrated(fresh_db: Store) -> None:
    assert (
        await applied_migration(fresh_db.connection, ARCHIVE_MIGRATIONS.owner)
        == ARCHIVE_MIGRATIONS.latest
    )
    assert await fresh_db.migrate() == ARCHIVE_MIGRATIONS.latest  # a second run is a no-op


async def test_new_database_uses_larger_pages(fresh_db: Store) -> None:
    assert await fresh_db._fetch("PRAGMA page_size") == [(PAGE_SIZE,)]


async def test_migrations_run_in_order_from_an_older_version(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCRIPTS[0] + "\nPRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO events (lang, date, month_day, slug, headline, content_hash)"
        " VALUES ('en', '2016-03-14', '03-14', 'kept', 'Kept across migrations', 'x')"
    )
    db.commit()
    db.close()
    async with Store.open(path) as store:
        assert (
            await applied_migration(store.connection, ARCHIVE_MIGRATIONS.owner)
            == ARCHIVE_MIGRATIONS.latest
        )
        assert [e.headline for e in await store.events_on(DAY)] == ["Kept across migrations"]
    async with Store.open(path) as store:
        journal = await store._fetch("PRAGMA journal_mode")
        assert journal[0][0] == "wal"


async def test_write_and_read_back_every_field(fresh_db: Store) -> None:
    event = _event(
        "a",
        summary="Summary.",
        topic="Topic",
        tags=("one", "two"),
        sources=(Source("S1", "http://s1.example"), Source("S2", "http://s2.example")),
        aliases=("a", "a-copy"),
        cover_image="http://img.example/a.jpg",
        has_page=True,
        position=3,
    )
    result = await fresh_db.write_events([(None, event)])
    (stored,) = await fresh_db.events_by_ids(list(result.inserted))
    assert stored.id == result.inserted[0]
    assert stored == records.stored(event, stored.id)
    assert stored.content_hash == event_rows(event).content_hash
    assert records.unstored(stored) == event
    assert await fresh_db.resolve("en", DAY, "a-copy") == stored.id


async def test_ids_of_deleted_events_are_not_reused(fresh_db: Store) -> None:
    first = await fresh_db.write_events([(None, _event("a")), (None, _event("b"))])
    await fresh_db.write_events([], deletes=[first.inserted[1]])
    second = await fresh_db.write_events([(None, _event("c"))])
    assert second.inserted[0] > first.inserted[1]


async def test_update_replaces_children(fresh_db: Store) -> None:
    (event_id,) = (await fresh_db.write_events([(None, _event("a", tags=("x",)))])).inserted
    await fresh_db.write_events([(event_id, _event("a", tags=("y", "z")))])
    (stored,) = await fresh_db.events_by_ids([event_id])
    assert stored.tags == ("y", "z")
    assert await fresh_db._fetch("SELECT tag FROM tags ORDER BY position") == [("y",), ("z",)]


def _related(*slugs: str) -> tuple[RelatedLink, ...]:
    return tuple(RelatedLink(dt.date(2015, 1, 1), s, f"About {s}", ("t",)) for s in slugs)


async def _integrity(store: Store) -> tuple[list, int, int]:
    broken = await store._fetch("PRAGMA foreign_key_check")
    (links,) = (await store._fetch("SELECT COUNT(*) FROM related_links"))[0]
    (unused,) = (
        await store._fetch(
            "SELECT COUNT(*) FROM related_links WHERE id NOT IN (SELECT link_id FROM related)"
        )
    )[0]
    return broken, links, unused


async def test_related_links_are_stored_once_and_dropped_when_unused(fresh_db: Store) -> None:
    a = _event("a", related=_related("x", "y"))
    b = _event("b", related=_related("y", "z"))
    ids = (await fresh_db.write_events([(None, a), (None, b)])).inserted
    assert await _integrity(fresh_db) == ([], 3, 0)  # y is listed twice, stored once
    (stored_b,) = await fresh_db.events_by_ids([ids[1]])
    assert stored_b.related == b.related
    # b changes its links (z goes) and a is deleted (x goes; y stays, b still lists it)
    await fresh_db.write_events([(ids[1], replace(b, related=_related("y", "w")))], [ids[0]])
    assert await _integrity(fresh_db) == ([], 2, 0)
    (stored_b,) = await fresh_db.events_by_ids([ids[1]])
    assert [r.slug for r in stored_b.related] == ["y", "w"]


async def test_link_ids_written_by_another_connection_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    async with Store.open(path) as first, Store.open(path) as second:
        (a,) = (await first.write_events([(None, _event("a", related=_related("x")))])).inserted
        await second.write_events([], deletes=[a])  # drops link x
        await first.write_events([(None, _event("b", related=_related("x")))])
        assert (await _integrity(first)) == ([], 1, 0)


async def test_migration_keeps_related_links_of_version_3(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("\n".join(OLD_SCRIPTS[:3]) + "\nPRAGMA user_version = 3;")
    db.execute(
        "INSERT INTO events (id, lang, date, month_day, slug, headline, content_hash)"
        " VALUES (1, 'en', '2016-03-14', '03-14', 'kept', 'Kept', 'x')"
    )
    db.executemany(
        "INSERT INTO related VALUES (1, ?, '2015-01-01', ?, ?, 't')",
        [(0, "x", "About x"), (1, "y", "About y"), (2, "x", "About x")],
    )
    db.commit()
    db.close()
    async with Store.open(path) as store:
        (event,) = await store.events_by_ids([1])
        assert [r.slug for r in event.related] == ["x", "y", "x"]
        assert await _integrity(store) == ([], 2, 0)


async def test_queries(fresh_db: Store) -> None:
    events = [
        _event("flood", summary="Rain floods Lagos.", topic="Weather", tags=("Lagos",)),
        _event("chess", headline="A chess prodigy wins", topic="Chess", position=1),
        _event("old", date=dt.date(2004, 3, 14), headline="Older flood in Lagos", tags=("lagos",)),
        _event("other", date=dt.date(2010, 7, 1), topic="Weather"),
    ]
    ids = list((await fresh_db.write_events([(None, e) for e in events])).inserted)
    assert [e.slug for e in await fresh_db.events_on(DAY)] == ["flood", "chess"]
    assert [e.slug for e in await fresh_db.events_on_month_day(3, 14)] == ["flood", "chess", "old"]
    assert [e.slug for e in await fresh_db.events_on_month_day(3, 14, before=DAY)] == ["old"]
    assert [e.slug for e in await fresh_db.events_by_ids([ids[2], 999, ids[0]])] == ["old", "flood"]
    assert [e.slug for e in await fresh_db.events_by_topic("weather")] == ["other", "flood"]
    assert await fresh_db.counts_per_day(dt.date(2004, 1, 1), dt.date(2012, 1, 1)) == [
        (dt.date(2004, 3, 14), 1),
        (dt.date(2010, 7, 1), 1),
    ]
    en = await fresh_db.counts_per_day(dt.date(2004, 1, 1), dt.date(2012, 1, 1), lang="en")
    assert en == await fresh_db.counts_per_day(dt.date(2004, 1, 1), dt.date(2012, 1, 1))
    assert await fresh_db.counts_per_day(lang="zh") == []
    hits = await fresh_db.search_text("floods in Lagos")
    assert {i for i, _ in hits} == {ids[0], ids[2]}
    assert hits == sorted(hits, key=lambda h: -h[1])
    dated = await fresh_db.search_text("Lagos flood", date_from=dt.date(2005, 1, 1))
    assert [i for i, _ in dated] == [ids[0]]
    assert await fresh_db.search_text("the of and") == []  # only stopwords


async def test_chinese_full_text_search(fresh_db: Store, fixture_archive_zh: Path) -> None:
    await ingest(fresh_db, fixture_archive_zh)
    hits = await fresh_db.search_text("樱花")  # a two-character word
    (sakura,) = await fresh_db.events_by_ids([hits[0][0]])
    assert "樱花" in sakura.headline
    assert len(await fresh_db.search_text("马拉松比赛")) == 1
