"""Reliability of ingest and the store under damaged archives, faults and concurrency
(issue 13). Each test reproduces one finding of the fault probe."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive import dedupe
from archive import ingest as ingest_module
from archive.dedupe import headline_key, same_event
from archive.ingest import IngestBusy, IngestRefused, ingest, ingest_lock
from archive.prepare import DayFolder, prepare_day
from archive.store import Store
from bench.huge_day import write_day
from dateline.cli import main
from tests.reliability_helpers import READY_DIR

# ----- item 9: a huge day is merged in linear time -------------------------------------


def test_candidate_index_never_leaves_out_a_match() -> None:
    from archive.dedupe import CandidateIndex

    rng = random.Random(7)
    words = "storm flood kills people in the city of lagos paris government says talks".split()
    keys = []
    for _ in range(300):
        base = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
        keys.append(headline_key(base))
        # copies: cut short, a topic prefixed, one letter changed
        keys.append(headline_key(base[: rng.randint(1, len(base))]))
        keys.append(headline_key("topic. " + base))
        i = rng.randrange(len(base))
        keys.append(headline_key(base[:i] + "a" + base[i + 1 :]))
    index = CandidateIndex()
    for group, key in enumerate(keys):
        index.add(key, group)
    for key in keys[:400]:
        truth = {g for g, other in enumerate(keys) if same_event(key, other)}
        assert truth <= set(index.candidates(key)), key


def test_a_huge_day_compares_each_page_with_few_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = 3000
    write_day(tmp_path, pages, listed=0.5)
    calls = 0
    real = dedupe.same_event

    def counting(a: str, b: str) -> bool:
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(dedupe, "same_event", counting)
    day = prepare_day(DayFolder(dt.date(2016, 3, 14), tmp_path / "news/2016/03/14"), "en")
    assert len(day.events) == pages
    # every page against every group was ~pages**2 / 4 (over 2 million) comparisons
    assert calls < 20 * pages


# ----- fixtures and helpers -------------------------------------------------------------

DAY = dt.date(2016, 3, 14)
NEXT = DAY + dt.timedelta(days=1)
REPO = Path(__file__).resolve().parent.parent
EXTRA_PAGE = """### [2016-03-15](/news/2016/03/15/index.md)

# A second folder for the same date holds this event about a harbour in Lagos.

Port officials say the harbour reopens next week.
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dateline.toml"
    path.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    """The command's error: one line (the progress bar aside), no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    bars = ("ingest:", "index:")  # the progress bar
    lines = [s for s in err.splitlines() if s.strip() and not s.startswith(bars)]
    assert len(lines) == 1, err
    assert lines[0].startswith("dateline: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _view(events: list) -> list[tuple]:
    return [(e.id, e.slug, e.headline, e.topic, e.position, e.aliases) for e in events]


# ----- item 1: two folders for one date ---------------------------------------------------


async def test_two_folders_for_one_date_are_one_day(fresh_db: Store, fixture_archive: Path) -> None:
    other = fixture_archive / "news/2016/3/15"  # the same date as news/2016/03/15
    other.mkdir(parents=True)
    (other / "a-second-folder-for-the-same-date.md").write_text(EXTRA_PAGE)
    first = await ingest(fresh_db, fixture_archive)
    assert first.new == 6 and first.removed == 0
    both = {e.headline for e in await fresh_db.events_on(NEXT)}
    assert len(both) == 2
    assert any("two folders for this date" in reason for _, reason in first.warnings)

    # editing one of the two folders must not delete the other's events
    (other / "a-second-folder-for-the-same-date.md").write_text(EXTRA_PAGE + "\nMore.\n")
    again = await ingest(fresh_db, fixture_archive)
    assert again.removed == 0
    assert {e.headline for e in await fresh_db.events_on(NEXT)} == both
    third = await ingest(fresh_db, fixture_archive)
    assert (third.new, third.updated, third.removed) == (0, 0, 0)
    assert {e.headline for e in await fresh_db.events_on(NEXT)} == both


# ----- item 2: a deleted day folder ------------------------------------------------------


async def test_a_deleted_day_folder_is_removed(fresh_db: Store, fixture_archive: Path) -> None:
    await ingest(fresh_db, fixture_archive)
    assert await fresh_db.events_on(NEXT)
    shutil.rmtree(fixture_archive / "news/2016/03/15")
    report = await ingest(fresh_db, fixture_archive, max_removed_share=0.5)
    assert (report.removed, report.days_removed) == (1, 1)
    assert await fresh_db.events_on(NEXT) == []
    assert len(await fresh_db.events_on(DAY)) == 4
    assert not (await ingest(fresh_db, fixture_archive)).changed


async def test_mass_removal_is_refused_unless_allowed(
    fresh_db: Store, fixture_archive: Path
) -> None:
    await ingest(fresh_db, fixture_archive)
    before = await fresh_db.event_hashes()
    shutil.rmtree(fixture_archive / "news/2016/03/15")
    with pytest.raises(IngestRefused, match="--allow-mass-removal"):
        await ingest(fresh_db, fixture_archive)  # 1 of 2 days > 0.25
    assert await fresh_db.event_hashes() == before
    report = await ingest(fresh_db, fixture_archive, allow_mass_removal=True)
    assert report.days_removed == 1


async def test_an_empty_archive_never_wipes_the_store(
    fresh_db: Store, fixture_archive: Path, tmp_path: Path
) -> None:
    await ingest(fresh_db, fixture_archive)
    before = await fresh_db.event_hashes()
    empty = tmp_path / "unmounted"
    (empty / "news").mkdir(parents=True)
    with pytest.raises(IngestRefused, match="no day folders"):
        await ingest(fresh_db, empty, lang="en", allow_mass_removal=True)
    assert await fresh_db.event_hashes() == before


def test_cli_refuses_mass_removal_in_one_line(
    config: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0
    shutil.rmtree(fixture_archive / "news/2016/03/15")
    capsys.readouterr()
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 2
    err = _one_line_error(capsys, "--allow-mass-removal")
    assert "nothing was changed" in err
    args = ["--config", str(config), "ingest", str(fixture_archive), "--allow-mass-removal"]
    assert main(args) == 0
    assert "1 day folders gone" in capsys.readouterr().out


# ----- item 3: a broken day page ----------------------------------------------------------


async def test_a_broken_day_page_keeps_what_it_described(
    fresh_db: Store, fixture_archive: Path
) -> None:
    await ingest(fresh_db, fixture_archive)
    before = _view(await fresh_db.events_on(DAY))
    (fixture_archive / "news/2016/03/14/index.md").write_text("\x00junk\x01 lorem ipsum\n" * 50)
    report = await ingest(fresh_db, fixture_archive)
    assert any(Path(p).name == "index.md" for p, _ in report.skipped)
    assert _view(await fresh_db.events_on(DAY)) == before
    assert report.updated == 0 and report.removed == 0


# ----- item 4: one snapshot per read ------------------------------------------------------


async def test_an_event_and_its_sources_are_read_in_one_snapshot(
    fresh_db: Store, fixture_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest(fresh_db, fixture_archive)
    expected = {e.id: (e.sources, e.aliases) for e in await fresh_db.events_on(DAY)}
    database = await fresh_db.database_file()
    assert database
    children = Store._children_sync

    def writer_commits_in_between(self: Store, ids: list[int]) -> tuple:
        # Another connection (an ingest) rewrites the day's sources and aliases between the
        # read of the events and the read of what hangs off them.
        other = sqlite3.connect(database)
        other.execute("DELETE FROM sources")
        other.execute("DELETE FROM aliases")
        other.commit()
        other.close()
        return children(self, ids)

    monkeypatch.setattr(Store, "_children_sync", writer_commits_in_between)
    events = await fresh_db.events_on(DAY)
    assert {e.id: (e.sources, e.aliases) for e in events} == expected


# ----- item 10: parser processes die with the ingest -------------------------------------

_KILLED_INGEST = """
import asyncio, sys
from pathlib import Path
import archive.ingest as ingest_module
from archive.store import Store
from tests.reliability_helpers import slow_prepare_days

async def run():
    ingest_module.prepare_days = slow_prepare_days
    async with Store.open(sys.argv[2]) as store:
        await ingest_module.ingest(store, Path(sys.argv[1]), workers=2, chunk_days=1)

if __name__ == "__main__":
    asyncio.run(run())
"""


def _descendants(pid: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, set()).add(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_parser_processes_exit_when_the_ingest_is_killed(
    tmp_path: Path, fixture_archive: Path
) -> None:
    for day in ("2016/03/16", "2016/03/17", "2016/03/18"):
        (fixture_archive / "news" / day).mkdir(parents=True)
    script = tmp_path / "killed_ingest.py"
    script.write_text(_KILLED_INGEST)
    ready = tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), READY_DIR: str(ready)}
    main_process = subprocess.Popen(
        [sys.executable, str(script), str(fixture_archive), str(tmp_path / "db.sqlite3")],
        env=env,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        # Polls the OS (real processes have no clock to advance): until a parser is at work.
        workers: set[int] = set()
        while time.monotonic() < deadline:
            workers = _descendants(main_process.pid)  # the fork server and its parsers
            if len(workers) >= 3 and any(int(f.name) in workers for f in ready.iterdir()):
                break
            time.sleep(0.1)
        workers = _descendants(main_process.pid)
        assert len(workers) >= 3, "the parser processes did not start"
        os.kill(main_process.pid, signal.SIGKILL)
        main_process.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)]
    finally:
        for pid in _descendants(main_process.pid) | {main_process.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        main_process.wait(10)


# ----- item 13: an unreadable folder in the archive ---------------------------------------


async def test_an_unreadable_year_is_reported_and_the_rest_ingested(
    fresh_db: Store, fixture_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod 000 does not stop reading: os.scandir is made to fail
    # for the year folder as it does for another user.
    await ingest(fresh_db, fixture_archive)
    before = await fresh_db.event_hashes()
    later = fixture_archive / "news/2017/01/05"
    later.mkdir(parents=True)
    (later / "a-second-folder-for-the-same-date.md").write_text(
        EXTRA_PAGE.replace("2016-03-15", "2017-01-05").replace("/2016/03/15/", "/2017/01/05/")
    )
    year = fixture_archive / "news" / "2016"
    scandir = os.scandir

    def unreadable(path: object = ".") -> object:
        if Path(str(path)) == year:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module.os, "scandir", unreadable)
    report = await ingest(fresh_db, fixture_archive, allow_mass_removal=True)
    assert (str(year), "folder unreadable: Permission denied") in report.skipped
    assert report.new == 1 and report.removed == 0  # its days are not taken for deleted
    assert {i: h for i, h in (await fresh_db.event_hashes()).items() if i in before} == before
    assert len(await fresh_db.events_on(dt.date(2017, 1, 5))) == 1


# ----- item 16: two ingests at once -------------------------------------------------------

_HOLD_LOCK = """
import sys
from archive.ingest import ingest_lock
with ingest_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()  # held until the test closes stdin or kills the process
"""


def test_a_second_ingest_exits_while_one_runs(
    config: Path, tmp_path: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "data" / "dateline.sqlite3"
    database.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(database)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 2
        _one_line_error(capsys, "another ingest is running")
    finally:
        holder.kill()
        holder.wait(10)
    # the lock goes with the process that held it, however it ended
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0


async def test_two_stores_on_one_database_do_not_ingest_together(
    tmp_path: Path, fixture_archive: Path
) -> None:
    async with (
        Store.open(tmp_path / "db.sqlite3") as first,
        Store.open(tmp_path / "db.sqlite3") as second,
    ):
        database = await first.database_file()
        with ingest_lock(database), pytest.raises(IngestBusy):
            await ingest(second, fixture_archive)
        assert (await ingest(second, fixture_archive)).new == 5


# ----- items 11 and 12: a database that can't be used -------------------------------------


@pytest.mark.parametrize("damage", ["not sqlite", "truncated", "no fts table"])
def test_a_damaged_database_is_a_one_line_error(
    config: Path,
    tmp_path: Path,
    fixture_archive: Path,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0
    database = tmp_path / "data" / "dateline.sqlite3"
    if damage == "not sqlite":
        database.write_bytes(b"this is no database\n" * 500)
    elif damage == "truncated":
        with database.open("r+b") as file:
            file.truncate(database.stat().st_size // 3)
    else:
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("DROP TABLE events_fts")
            db.commit()
    capsys.readouterr()
    for command in (["event", "2016-03-14"], ["ingest", str(fixture_archive)]):
        assert main(["--config", str(config), *command]) == 2
        _one_line_error(capsys, "dateline ingest")


def test_a_full_disk_during_ingest_is_a_one_line_error(
    config: Path,
    fixture_archive: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A full disk, simulated: SQLite's own error for it, raised by the write.
    async def disk_full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "write_events", disk_full)
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 2
    _one_line_error(capsys, "no space left", "free some disk space")


def test_reads_work_from_a_database_they_may_not_change(
    config: Path, tmp_path: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0
    database = tmp_path / "data" / "dateline.sqlite3"
    before = database.read_bytes()
    capsys.readouterr()
    assert main(["--config", str(config), "event", "2016-03-14"]) == 0
    assert "Heavy rain floods" in capsys.readouterr().out
    assert main(["--config", str(config), "onthisday", "03-14"]) == 0
    # opened read-only: no migration or write, the file stays as it was
    assert database.read_bytes() == before
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(_write_through_a_read_only_store(database))


async def _write_through_a_read_only_store(database: Path) -> None:
    async with Store.open(database, read_only=True) as store:
        await store.write_events([], [1])


def test_a_read_only_index_folder_fails_before_embedding(
    config: Path,
    fixture_archive: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tests run as root, who may write a chmod 555 folder: the kernel's refusal is simulated
    # where the command probes the folder.
    import embeddings.encoder
    from dateline.commands import common

    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0

    def read_only(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EROFS, "Read-only file system")

    def no_embedding(*args: object) -> object:
        raise AssertionError("the model was loaded before the folder was checked")

    monkeypatch.setattr(common.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(embeddings.encoder, "load_encoder", no_embedding)
    capsys.readouterr()
    assert main(["--config", str(config), "index"]) == 2
    _one_line_error(capsys, "can't write the search index", "Read-only file system")


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("Error in faiss::FileIOWriter: write failed: No space left on device"),
    ],
)
def test_a_full_disk_during_index_is_a_one_line_error(
    config: Path,
    fixture_archive: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    import embeddings.encoder
    import embeddings.indexing

    assert main(["--config", str(config), "ingest", str(fixture_archive)]) == 0

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(embeddings.encoder, "load_encoder", lambda *_: None)
    monkeypatch.setattr(embeddings.indexing, "update_index", disk_full)
    capsys.readouterr()
    assert main(["--config", str(config), "index"]) == 2
    _one_line_error(capsys, "no space left", "free some disk space")
