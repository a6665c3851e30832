import datetime as dt
import os
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from archive import ingest as ingest_module
from archive import prepare
from archive.ingest import ArchiveNotFound, ingest
from archive.parser import parse_day_page, parse_link_target
from archive.store import Store
from tests.conftest import shared_archive
from tests.fixtures import archive_pages as pages

DAY = dt.date(2016, 3, 14)
CHESS = "a-12-year-old-from-chennai-becomes-the-youngest-player-to-beat-a-world-champion-in-a-rapid-game"
FLOOD = "heavy-rain-floods-large-parts-of-lagos-nigeria-displacing-at-least-4-000-people"


async def test_fixture_archive_events_and_report(fresh_db: Store, fixture_archive: Path) -> None:
    report = await ingest(fresh_db, fixture_archive)
    assert report.lang == "en"
    assert report.day_pages == 1  # README.md copies are not read
    assert report.pages_read == 8
    # 4 listed events + 1 page-only event (2016-03-15); 2 copies merged into listed events
    assert (report.new, report.updated, report.unchanged, report.removed) == (5, 0, 0, 0)
    assert report.merged_duplicates == 2
    assert [Path(p).name for p, _ in report.skipped] == [
        "a-train-strike-in-the-netherlands-halts-most-services-between-amsterdam-and-utrecht.md"
    ]
    assert "headline" in report.skipped[0][1]

    events = await fresh_db.events_on(DAY)
    assert [e.topic for e in events] == ["Flooding in Lagos", "Chess", "Space", None]
    flood, chess, probe, strike = events
    assert flood.slug == FLOOD and flood.has_page
    assert flood.tags == ("flooding", "West Africa", "Lagos")  # from the related links
    assert chess.aliases == (CHESS, "chess-" + CHESS)
    assert chess.cover_image == "https://img.example/chess.jpg"
    # the same URL over http and https is one source
    assert [s.url for s in chess.sources] == ["https://chennaitimes.example/chess-prodigy"]
    assert len(probe.aliases) == 2
    assert {s.title for s in probe.sources} == {"Space Desk", "Orbit News"}
    # the broken page's event survives from the day page
    assert strike.summary == "Union leaders say the strike will last 24 hours."
    assert not strike.has_page

    orphan = await fresh_db.events_on(DAY + dt.timedelta(days=1))
    assert [e.headline for e in orphan] == ["Nigeria's president visits flood-hit areas of Lagos."]
    # a Related link to any copy resolves to the merged event
    assert await fresh_db.resolve("en", DAY, "chess-" + CHESS) == chess.id


async def test_reingest_changes_nothing_and_says_so(fresh_db: Store, fixture_archive: Path) -> None:
    await ingest(fresh_db, fixture_archive)
    before = await fresh_db.event_hashes()
    again = await ingest(fresh_db, fixture_archive)
    assert (again.new, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == 5
    assert not again.changed
    assert "nothing changed" in again.summary()
    assert await fresh_db.event_hashes() == before


async def test_changed_new_and_deleted_pages(fresh_db: Store, fixture_archive: Path) -> None:
    await ingest(fresh_db, fixture_archive)
    ids = {e.slug: e.id for e in await fresh_db.events_on(DAY)}
    folder = fixture_archive / "news/2016/03/14"

    flood = folder / f"{FLOOD}.md"
    flood.write_text(pages.EN_FLOOD.replace("two days of rain", "three days of rain"), "utf-8")
    new_slug = "a-new-bridge-opens-in-lagos"
    (folder / f"{new_slug}.md").write_text(
        "### [2016-03-14](/news/2016/03/14/index.md)\n\n# A new bridge opens in Lagos.\n\nIt is long.\n",
        encoding="utf-8",
    )
    probe_copy = (
        "space-the-aurora-probeas-sends-its-first-images-of-the-far-side-of-the-moon-back-to-e"
    )
    (folder / f"{probe_copy}.md").unlink()
    (
        fixture_archive / "news/2016/03/15/nigeria-s-president-visits-flood-hit-areas-of-lagos.md"
    ).unlink()

    report = await ingest(fresh_db, fixture_archive)
    assert (report.new, report.updated, report.removed) == (1, 2, 1)
    events = {e.slug: e for e in await fresh_db.events_on(DAY)}
    assert events[FLOOD].id == ids[FLOOD]  # ids are stable
    assert "three days of rain" in events[FLOOD].summary
    assert events[new_slug].headline == "A new bridge opens in Lagos."
    probe = next(e for e in events.values() if e.topic == "Space")
    assert probe.id == ids[probe.slug] and len(probe.aliases) == 1
    assert await fresh_db.events_on(DAY + dt.timedelta(days=1)) == []
    # what hangs off replaced and removed events went with them
    assert await fresh_db._fetch("PRAGMA foreign_key_check") == []
    unused = "SELECT COUNT(*) FROM related_links WHERE id NOT IN (SELECT link_id FROM related)"
    assert (await fresh_db._fetch(unused))[0][0] == 0


async def test_page_that_stops_parsing_keeps_its_stored_event(
    fresh_db: Store, fixture_archive: Path
) -> None:
    await ingest(fresh_db, fixture_archive)
    before = {e.slug: e for e in await fresh_db.events_on(DAY)}
    flood = fixture_archive / "news/2016/03/14" / f"{FLOOD}.md"
    flood.write_text("### [2016-03-14](/news/2016/03/14/index.md)\n\nno headline here\n")
    report = await ingest(fresh_db, fixture_archive)
    assert any(Path(p).name == flood.name for p, _ in report.skipped)
    after = {e.slug: e for e in await fresh_db.events_on(DAY)}
    assert after[FLOOD] == before[FLOOD]  # sources and summary kept, not downgraded


async def test_invalid_utf8_is_read_with_a_warning(fresh_db: Store, fixture_archive: Path) -> None:
    flood = fixture_archive / "news/2016/03/14" / f"{FLOOD}.md"
    flood.write_bytes(pages.EN_FLOOD.encode() + b"\xff\xfe broken tail\n")
    report = await ingest(fresh_db, fixture_archive)
    assert [Path(p).name for p, _ in report.warnings] == [flood.name]
    assert report.new == 5


async def test_unreadable_day_folder_is_reported_and_its_events_kept(
    fresh_db: Store, fixture_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest(fresh_db, fixture_archive)
    before = await fresh_db.events_on(DAY)
    (fixture_archive / "news/2016/03/14" / f"{FLOOD}.md").write_text(pages.EN_FLOOD + "\nmore\n")
    list_pages = prepare._list_pages

    def unreadable(folder: prepare.DayFolder, *args: object) -> object:
        if folder.date == DAY:
            raise PermissionError(13, "Permission denied")
        return list_pages(folder, *args)

    monkeypatch.setattr(prepare, "_list_pages", unreadable)
    report = await ingest(fresh_db, fixture_archive)  # the day is read again: it changed
    assert [reason for _, reason in report.skipped] == ["folder unreadable: Permission denied"]
    assert not report.changed
    assert await fresh_db.events_on(DAY) == before


class _PoolThatLosesAProcess(ThreadPoolExecutor):
    """Stands in for the parser processes: the second task fails as when a process is killed."""

    def __init__(self, max_workers: int, **_: object) -> None:
        super().__init__(max_workers)
        self.tasks = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.tasks += 1
        if self.tasks == 2:
            lost: Future[Any] = Future()
            lost.set_exception(BrokenProcessPool("a parser process was terminated abruptly"))
            return lost
        return super().submit(fn, *args, **kwargs)


async def test_a_lost_parser_process_does_not_stop_the_ingest(
    tmp_path: Path, fixture_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = ["2016/03/16", "2016/03/17"]
    orphan = (
        fixture_archive / "news/2016/03/15/nigeria-s-president-visits-flood-hit-areas-of-lagos.md"
    )
    for day in days:
        (fixture_archive / "news" / day).mkdir(parents=True)
        (fixture_archive / "news" / day / orphan.name).write_text(orphan.read_text())
    async with Store.open(tmp_path / "expected.sqlite3") as expected:
        await ingest(expected, fixture_archive, workers=1)
        want = [
            e.to_dict() for d in range(14, 18) for e in await expected.events_on(DAY.replace(day=d))
        ]
    monkeypatch.setattr(ingest_module, "ProcessPoolExecutor", _PoolThatLosesAProcess)
    async with Store.open(tmp_path / "got.sqlite3") as store:
        report = await ingest(store, fixture_archive, workers=2, chunk_days=1)
        got = [
            e.to_dict() for d in range(14, 18) for e in await store.events_on(DAY.replace(day=d))
        ]
    assert got == want and len(got) == 7
    assert [path for path, _ in report.warnings] == ["parser processes"]
    assert "terminated abruptly" in report.warnings[0][1]


async def test_chinese_edition_is_detected_and_kept_apart(
    fresh_db: Store, fixture_archive: Path, fixture_archive_zh: Path
) -> None:
    en = await ingest(fresh_db, fixture_archive)
    zh = await ingest(fresh_db, fixture_archive_zh)
    assert (en.lang, zh.lang) == ("en", "zh")
    assert zh.new == 2 and zh.removed == 0
    assert len(await fresh_db.events_on(DAY, lang="en")) == 4  # not removed by the zh ingest
    sakura = (await fresh_db.events_on(DAY, lang="zh"))[0]
    assert sakura.summary == "气象厅表示，今年气温偏高。"


async def test_missing_folder_is_a_clear_error(fresh_db: Store, tmp_path: Path) -> None:
    with pytest.raises(ArchiveNotFound, match="no such archive folder"):
        await ingest(fresh_db, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveNotFound, match="no news/ folder"):
        await ingest(fresh_db, tmp_path / "empty")


def _pages_on_disk(root: Path) -> tuple[int, list[tuple[dt.date, Path]]]:
    count, day_pages = 0, []
    for dirpath, _, files in os.walk(root / "news"):
        for name in files:
            if name.endswith(".md") and name != "README.md":
                count += 1
        if "index.md" in files:
            y, m, d = Path(dirpath).parts[-3:]
            day_pages.append((dt.date(int(y), int(m), int(d)), Path(dirpath) / "index.md"))
    return count, day_pages


@pytest.mark.parametrize("edition", ["archive-en", "archive-zh"])
async def test_whole_real_archive(fresh_db: Store, edition: str) -> None:
    root = shared_archive(edition)
    report = await ingest(fresh_db, root)
    pages_on_disk, day_pages = _pages_on_disk(root)
    assert report.skipped == []
    assert report.pages_read == pages_on_disk
    assert report.day_pages == len(day_pages)
    assert report.new == report.events_seen == await fresh_db.count_events()
    # every event of every day page is found, through its link
    for date, path in day_pages:
        for entry in parse_day_page(path.read_text("utf-8"), date).entries:
            assert entry.link is not None
            assert await fresh_db.resolve(report.lang, date, entry.link.slug), (
                date,
                entry.headline,
            )
    # and every event page is some event's alias
    for dirpath, _, files in os.walk(root / "news"):
        for name in files:
            if name.endswith(".md") and name not in ("index.md", "README.md"):
                link = parse_link_target(str(Path(dirpath, name).relative_to(root)))
                assert link is not None
                assert await fresh_db.resolve(report.lang, link.date, link.slug), name
    again = await ingest(fresh_db, root)
    assert not again.changed and again.unchanged == report.new
