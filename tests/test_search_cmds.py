import asyncio
import json

import pytest

import embeddings.encoder
import embeddings.search
from archive.store import Store
from dateline.cli import main
from embeddings.encoder import FakeEncoder
from tests.search_fixtures import SAMPLE_EVENTS, add_events, make_event


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A config file with storage in tmp_path; the CLI encodes with FakeEncoder."""
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n[embeddings]\nbatch_size = 4\n')
    monkeypatch.setattr(embeddings.encoder, "load_encoder", lambda *_: FakeEncoder())
    monkeypatch.setattr(embeddings.search, "load_encoder", lambda *_: FakeEncoder())
    return path


def fill(config, events=None):
    async def write():
        async with Store.open(config.parent / "data" / "dateline.sqlite3") as store:
            await add_events(
                store, events or [make_event(*row, n) for n, row in enumerate(SAMPLE_EVENTS)]
            )

    asyncio.run(write())


def run(config, *args):
    return main(["--config", str(config), *args])


def test_index_then_ask(config, capsys):
    fill(config)
    assert run(config, "index") == 0
    assert f"index: {len(SAMPLE_EVENTS)} events (flat); {len(SAMPLE_EVENTS)} embedded" in (
        capsys.readouterr().out
    )
    assert run(config, "index") == 0
    assert "0 embedded" in capsys.readouterr().out

    assert run(config, "ask", "cruise missiles from the Caspian Sea", "--k", "2") == 0
    out = capsys.readouterr().out
    assert "Russian warships fire cruise missiles" in out.splitlines()[0]


def test_ask_json_prints_event_fields_and_score(config, capsys):
    fill(config)
    run(config, "index")
    capsys.readouterr()
    assert run(config, "ask", "floods", "--json", "--from", "2015-01-01", "--k", "3") == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["headline"] for h in hits] == ["Floods cut power to a Chennai hospital"]
    assert {"id", "date", "headline", "summary", "tags", "sources", "aliases", "path"} < set(
        hits[0]
    )
    assert isinstance(hits[0]["score"], float)


def test_ask_says_when_nothing_is_close(config, capsys):
    fill(config)
    run(config, "index")
    capsys.readouterr()
    assert run(config, "ask", "sourdough recipe with rye flour") == 0
    assert "nothing in the archive is close" in capsys.readouterr().out
    assert run(config, "ask", "sourdough recipe with rye flour", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_empty_database_and_missing_index_say_what_to_run(config, capsys):
    assert run(config, "ask", "floods") == 2
    assert "run `dateline ingest`" in capsys.readouterr().err
    assert run(config, "index") == 2
    assert "run `dateline ingest`" in capsys.readouterr().err
    fill(config)
    assert run(config, "ask", "floods") == 2
    assert "run `dateline index`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "floods", "--from", "2015-13-01"], "not a date: '2015-13-01'"),
        (["ask", "floods", "--to", "yesterday"], "not a date"),
        (["ask", "floods", "--from", "2016-01-01", "--to", "2015-01-01"], "--from is after --to"),
        (["ask", "floods", "--k", "0"], "--k must be"),
        (["ask", "   "], "question is empty"),
    ],
)
def test_bad_input_is_a_usage_error(config, capsys, args, message):
    fill(config)
    assert run(config, *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_ask_on_a_damaged_index_says_it_rebuilds_with_a_progress_bar(config, capsys):
    fill(config)
    run(config, "index")
    capsys.readouterr()
    (config.parent / "data" / "index" / "meta.json").write_text("[1, 2]")  # JSON, not an object
    assert run(config, "ask", "cruise missiles from the Caspian Sea", "--k", "1") == 0
    captured = capsys.readouterr()
    assert "rebuilding the search index" in captured.err and "not a JSON object" in captured.err
    assert f"{len(SAMPLE_EVENTS)}/{len(SAMPLE_EVENTS)}" in captured.err  # the bar reached the end
    assert "Russian warships fire cruise missiles" in captured.out


def test_ask_on_a_sound_index_prints_no_bar(config, capsys):
    fill(config)
    run(config, "index")
    capsys.readouterr()
    assert run(config, "ask", "floods", "--k", "1") == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", [["index"], ["ask", "floods"]])
def test_an_index_path_that_is_a_file_is_a_one_line_error(config, capsys, command):
    fill(config)
    (config.parent / "data" / "index").write_text("not a folder")
    assert run(config, *command) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a file, not a folder" in err
