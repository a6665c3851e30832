"""``dateline sync-archive`` and ``dateline follow`` (dateline/commands/follow_cmds.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dateline.cli import main
from tests.follow_fixtures import copy_days


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dateline.toml"
    path.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def test_sync_archive_reads_new_days_once(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_days("archive-en", tmp_path / "archive", [dt.date(2015, 11, 21)])
    assert main(["--config", str(config), "sync-archive", str(root), "--no-index"]) == 0
    first = capsys.readouterr().out
    assert "follow pass [en]" in first and "19 new" in first
    assert main(["--config", str(config), "sync-archive", str(root), "--no-index"]) == 0
    assert "0 new, 0 updated, 0 removed" in capsys.readouterr().out


def test_follow_needs_an_interval_and_an_archive(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_days("archive-en", tmp_path / "archive", [dt.date(2015, 11, 21)])
    assert main(["--config", str(config), "follow", str(root)]) == 2
    assert "no interval" in capsys.readouterr().err
    assert main(["--config", str(config), "follow", str(root), "--interval", "soon"]) == 2
    assert "not an interval" in capsys.readouterr().err
    assert main(["--config", str(config), "sync-archive", str(tmp_path / "nowhere")]) == 2
    assert "no such archive folder" in capsys.readouterr().err
