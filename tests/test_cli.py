import json
from pathlib import Path

import pytest

from dateline.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dateline.toml"
    path.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_ingest_event_and_onthisday(
    config: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "ingest", str(fixture_archive)) == 0
    out = capsys.readouterr().out
    assert "5 new, 0 updated, 0 unchanged" in out
    assert "1 pages skipped" in out and "no '# headline' line" in out

    assert run(config, "ingest", str(fixture_archive)) == 0
    assert "nothing changed" in capsys.readouterr().out

    assert run(config, "event", "2016-03-14") == 0
    out = capsys.readouterr().out
    assert "2016-03-14  Heavy rain floods large parts of Lagos" in out
    assert "- Lagos Herald: http://lagosherald.example/2016/03/14/floods" in out
    assert (
        "archive: https://github.com/nixworks/public/blob/master/news/2016/03/14/heavy-rain" in out
    )

    assert run(config, "event", "2016-03-14", "--json") == 0
    events = json.loads(capsys.readouterr().out)
    assert len(events) == 4
    first = events[0]
    assert {"id", "date", "headline", "summary", "topic", "tags", "sources", "aliases"} <= set(
        first
    )
    assert first["date"] == "2016-03-14"
    assert first["sources"][0] == {
        "title": "Lagos Herald",
        "url": "http://lagosherald.example/2016/03/14/floods",
    }

    assert run(config, "onthisday", "03-14", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert run(config, "onthisday", "12-25") == 0
    assert "no events on 12-25" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["event", "2015-13-40"], "not a date: '2015-13-40'. Give a date like 2015-11-20"),
        (["event", "yesterday"], "not a date"),
        (["onthisday", "02-30"], "not a day: '02-30'"),
        (["ingest", "/no/such/folder"], "no such archive folder"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    config: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_bad_config_is_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage]\nfolder = 'x'\n", encoding="utf-8")
    assert main(["--config", str(bad), "event", "2015-11-20"]) == 2
    assert "unknown key 'folder'" in capsys.readouterr().err


def test_options_after_the_command(
    config: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(fixture_archive), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["event", "2016-03-14", "--json", "--config", str(config)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_the_cli_reads_dates_as_the_bot_does(
    config: Path, fixture_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "ingest", str(fixture_archive)) == 0
    capsys.readouterr()
    for typed in ("2016-03-14", "14 March 2016", "Mar 14 2016", "March 14th, 2016"):
        assert run(config, "event", typed, "--json") == 0
        assert len(json.loads(capsys.readouterr().out)) == 4, typed
    assert run(config, "onthisday", "Mar 14", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
