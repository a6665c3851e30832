"""``dateline related`` and ``dateline story`` (dateline/commands/story_cmds.py) on the real
archive-en pages, run through the CLI's ``main`` as an operator would; the index is built with
the deterministic ``FakeEncoder`` so no model is loaded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import embeddings.encoder
import embeddings.search
from dateline.cli import main
from embeddings.encoder import FakeEncoder
from embeddings.timeline_chart import HEIGHT_PX, WIDTH_PX, png_size
from tests.conftest import shared_archive

CASPIAN = "russian-warships-launch-cruise-missiles-from-the-caspian-sea"


def write_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dateline.toml"
    path.write_text(
        f'[storage]\ndir = "{folder / "data"}"\n'
        f'[archive]\npath = "{shared_archive("archive-en")}"\n',
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


@pytest.fixture(scope="module")
def fake_encoder_patch() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embeddings.encoder, "load_encoder", lambda *_: FakeEncoder())
        patch.setattr(embeddings.search, "load_encoder", lambda *_: FakeEncoder())
        yield


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, fake_encoder_patch: None) -> Path:
    """archive-en ingested and indexed (shared by the tests that only read it)."""
    config = write_config(tmp_path_factory.mktemp("story-cmds"))
    assert run(config, "ingest") == 0
    assert run(config, "index") == 0
    return config


@pytest.fixture
def ingested_only(tmp_path: Path) -> Path:
    config = write_config(tmp_path / "no-index")
    assert run(config, "ingest") == 0
    return config


def events_on(config: Path, day: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert run(config, "event", day, "--json") == 0
    events: list[dict] = json.loads(capsys.readouterr().out)
    return events


def caspian_id(config: Path, capsys: pytest.CaptureFixture[str]) -> int:
    [event] = [
        e
        for e in events_on(config, "2015-11-20", capsys)
        if e["path"].split("/")[-1].startswith(CASPIAN)
    ]
    return int(event["id"])


def test_related_json_lists_stored_and_missing_links_newest_first(indexed, capsys):
    event_id = caspian_id(indexed, capsys)
    assert run(indexed, "related", str(event_id), "--json") == 0
    related = json.loads(capsys.readouterr().out)
    assert related, "the Caspian strike has related events in archive-en"
    assert {"date", "headline", "path", "direction", "id"} == set(related[0])
    dates = [r["date"] or "0000" for r in related]
    assert dates == sorted(dates, reverse=True)
    assert {r["direction"] for r in related} <= {"links to", "linked from"}
    assert event_id not in [r["id"] for r in related]
    stored = [r for r in related if r["id"] is not None]
    missing = [r for r in related if r["id"] is None]
    assert stored and missing
    # A stored related event is really there, under the path the JSON gives.
    for item in stored[:3]:
        day = events_on(indexed, item["date"], capsys)
        assert any(e["id"] == item["id"] and e["path"] == item["path"] for e in day)


def test_related_text_marks_direction_and_pages_not_in_the_archive(indexed, capsys):
    event_id = caspian_id(indexed, capsys)
    assert run(indexed, "related", str(event_id), "--json") == 0
    related = json.loads(capsys.readouterr().out)
    assert run(indexed, "related", str(event_id)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2015-11-20  Russian warships")
    assert len(lines) == 1 + len(related)
    for line, item in zip(lines[1:], related, strict=True):
        assert item["headline"] in line and item["path"] in line
        assert ("->" in line) == (item["direction"] == "links to")
        if item["id"] is None:
            assert "(not in the archive)" in line
        else:
            assert f"#{item['id']}" in line


def test_related_of_an_event_without_links(fixture_archive, tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert run(config, "ingest", str(fixture_archive)) == 0
    events = events_on(config, "2016-03-14", capsys)
    [probe] = [e for e in events if "Aurora" in e["headline"]]
    assert probe["related"] == []
    assert run(config, "related", str(probe["id"])) == 0
    assert "no related events" in capsys.readouterr().out
    assert run(config, "related", str(probe["id"]), "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_story_json_is_in_date_order_around_the_event(indexed, capsys):
    event_id = caspian_id(indexed, capsys)
    assert run(indexed, "story", str(event_id), "--json") == 0
    story = json.loads(capsys.readouterr().out)
    assert story["anchor"] == event_id
    events = story["events"]
    assert event_id in [e["id"] for e in events]
    dates = [e["date"] for e in events]
    assert dates == sorted(dates)
    assert story["date_from"] <= dates[0] and dates[-1] <= story["date_to"]
    assert next(e for e in events if e["id"] == event_id)["linked"] is True
    # The linked events are exactly the ones `related` resolves (one hop) plus further hops:
    # every resolved related event is in the story and marked linked.
    assert run(indexed, "related", str(event_id), "--json") == 0
    related_ids = {r["id"] for r in json.loads(capsys.readouterr().out) if r["id"] is not None}
    linked_ids = {e["id"] for e in events if e["linked"]}
    assert related_ids and related_ids <= linked_ids


def test_story_text_and_png(indexed, tmp_path, capsys):
    event_id = caspian_id(indexed, capsys)
    png = tmp_path / "chart.png"
    assert run(indexed, "story", str(event_id), "--png", str(png)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Story of #{event_id}: ")
    assert out[-1] == f"chart written to {png}"
    anchor_lines = [line for line in out if line.startswith(" * ")]
    assert len(anchor_lines) == 1 and f"#{event_id}" in anchor_lines[0]
    assert png_size(png.read_bytes()) == (WIDTH_PX, HEIGHT_PX)


def test_story_by_question_takes_the_best_hit(indexed, capsys):
    question = "Russian warships launch cruise missiles from the Caspian Sea"
    assert run(indexed, "ask", question, "--json", "--k", "1") == 0
    [best] = json.loads(capsys.readouterr().out)
    assert run(indexed, "story", "--question", question, "--json") == 0
    story = json.loads(capsys.readouterr().out)
    assert story["anchor"] == best["id"]
    assert dt.date.fromisoformat(story["date_from"]) <= dt.date.fromisoformat(best["date"])


def test_story_without_an_index_is_its_linked_events(ingested_only, capsys):
    event_id = caspian_id(ingested_only, capsys)
    assert run(ingested_only, "story", str(event_id), "--json") == 0
    captured = capsys.readouterr()
    assert "no search index" in captured.err and len(captured.err.strip().splitlines()) == 1
    events = json.loads(captured.out)["events"]
    assert len(events) > 1 and all(e["linked"] for e in events)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["related", "999999"], "no event with id 999999"),
        (["story", "999999"], "no event with id 999999"),
        (["story"], "give an event id or --question"),
        (["story", "1", "--question", "floods"], "give an event id or --question"),
        (["story", "--question", "floods"], "run `dateline index`"),
    ],
)
def test_bad_input_is_one_line_and_status_2(ingested_only, capsys, args, message):
    capsys.readouterr()
    assert run(ingested_only, *args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert captured.out == ""


def test_an_empty_database_says_to_ingest(tmp_path, capsys):
    config = write_config(tmp_path / "empty")
    assert run(config, "related", "1") == 2
    assert "run `dateline ingest`" in capsys.readouterr().err
