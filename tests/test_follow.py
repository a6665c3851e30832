"""Follow mode (embeddings/follow.py): a pass pulls, ingests what changed and updates the index
only when something changed; a failing or slow pull is logged and the pass goes on."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest

from archive.settings import ArchiveSettings
from archive.store import Store
from embeddings.follow import follow_pass, parse_interval, pull_archive
from tests.follow_fixtures import copy_days, day_dir, edit_day, git, make_work_tree

OLD = [dt.date(2015, 11, 19), dt.date(2015, 11, 20)]
NEW = dt.date(2015, 11, 21)


def test_parse_interval() -> None:
    assert parse_interval("") is None and parse_interval("0") is None
    assert parse_interval("90s") == 90 and parse_interval("15m") == 900
    assert parse_interval("1h") == 3600 and parse_interval("45") == 45
    for bad in ("soon", "15 minutes", "0.1s"):
        with pytest.raises(ValueError):
            parse_interval(bad)


class Refresh:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1


async def test_new_day_is_created_edited_day_is_not(tmp_path: Path) -> None:
    root = copy_days("archive-en", tmp_path / "archive", OLD)
    settings = ArchiveSettings(path=root)
    refresh = Refresh()
    async with Store.open(tmp_path / "db.sqlite3") as store:
        first = await follow_pass(settings, store, refresh_index=refresh)
        assert first.ingest.new > 0 and len(first.created) == first.ingest.new
        assert refresh.calls == 1 and not first.pull.ran
        before = await store.max_event_id()

        quiet = await follow_pass(settings, store, refresh_index=refresh)
        assert quiet.created == () and not quiet.ingest.changed
        assert refresh.calls == 1  # nothing changed: the index is not touched

        copy_days("archive-en", root, [NEW])
        edit_day(root, OLD[0])
        grown = await follow_pass(settings, store, refresh_index=refresh)
        new_day = await store.events_on(NEW)
        assert sorted(grown.created) == sorted(e.id for e in new_day) and new_day
        assert grown.ingest.updated == 1  # the edit keeps its id: not created
        assert min(grown.created) > before
        assert {e.id for e in await store.events_after(before)} == set(grown.created)
        assert refresh.calls == 2
        assert "follow pass [en]" in grown.summary()


async def test_unreachable_remote_is_logged_and_the_pass_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = copy_days("archive-en", tmp_path / "archive", OLD)
    make_work_tree(root, tmp_path / "no-such-remote")
    copy_days("archive-en", root, [NEW])  # on disk, not committed: still read
    async with Store.open(tmp_path / "db.sqlite3") as store:
        with caplog.at_level(logging.WARNING, logger="embeddings.follow"):
            report = await follow_pass(ArchiveSettings(path=root), store)
        assert report.pull.ran and not report.pull.ok
        assert "exit status" in report.pull.detail
        assert "git pull" in caplog.text and "failed" in caplog.text
        assert await store.events_on(NEW)
        assert "pull FAILED" in report.summary()


async def test_pull_brings_new_days(tmp_path: Path) -> None:
    upstream = copy_days("archive-en", tmp_path / "upstream", OLD)
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "old days")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    async with Store.open(tmp_path / "db.sqlite3") as store:
        settings = ArchiveSettings(path=clone)
        await follow_pass(settings, store)
        copy_days("archive-en", upstream, [NEW])
        git(upstream, "add", "-A")
        git(upstream, "commit", "-q", "-m", "a new day")
        report = await follow_pass(settings, store)
        assert report.pull.ok and report.pull.ran
        assert day_dir(clone, NEW).is_dir()
        assert report.created and await store.events_on(NEW)


async def test_slow_pull_is_stopped(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "news").mkdir(parents=True)
    (root / "x").write_text("x")
    make_work_tree(root, tmp_path / "elsewhere")
    result = await pull_archive(root, "sleep 30", 0.3)
    assert result.ran and not result.ok and "timed out" in result.detail
    missing = await pull_archive(root, "no-such-program-here", 5)
    assert not missing.ok and "can't run" in missing.detail
    shutil.rmtree(root / ".git")
    assert not (await pull_archive(root, "sleep 30", 0.3)).ran  # a plain folder: not pulled
