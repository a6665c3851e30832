"""One-line errors with exit status 2 for bad settings, bad options and a database written by a
newer Dateline (each checked when loaded, not when first used)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from archive.store import Store
from dateline.cli import main


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("dateline: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[search]\nk = 0\n", "[search] k must be at least 1"),
        ("[search]\nrrf_k = -1\n", "[search] rrf_k must be at least 0"),
        ("[search]\nmin_similarity = nan\n", "[search] min_similarity must be a cosine"),
        ("[search]\ncandidates = 0\n", "[search] candidates must be at least 1"),
        ('[bot]\ndefault_timezone = "Mars/Olympus"\n', "[bot] default_timezone 'Mars/Olympus'"),
        ('[bot]\ndefault_post_time = "25:99"\n', "[bot] default_post_time '25:99'"),
        ("[bot]\npost_retries = 0\n", "[bot] post_retries must be at least 1"),
        ('[embeddings]\nmodel = "no such model"\n', "[embeddings] model 'no such model' is"),
        ('[embeddings]\nmodel = "all-MiniLM-L7-v2"\n', "[embeddings] model 'all-MiniLM-L7-v2'"),
        ('[embeddings]\ndevice = "tpu"\n', "[embeddings] device must be one of cpu, cuda, mps"),
        ("[embeddings]\nbatch_size = 0\n", "[embeddings] batch_size must be at least 1"),
        ("[embeddings]\nbatch_size = -5\n", "[embeddings] batch_size must be at least 1"),
        ('[archive]\ndefault_lang = "english!"\n', "[archive] default_lang: not an edition code"),
    ],
)
def test_bad_settings_fail_when_loaded(tmp_path: Path, capsys, toml: str, message: str):
    config = tmp_path / "dateline.toml"
    config.write_text(toml, encoding="utf-8")
    assert main(["--config", str(config), "event", "2015-11-20"]) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "data").exists()


def test_good_model_names_are_accepted(tmp_path: Path, capsys):
    folder = tmp_path / "my-model"
    folder.mkdir()
    asyncio.run(_empty_database(tmp_path / "data" / "dateline.sqlite3"))
    for model in ("all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2", str(folder)):
        config = tmp_path / "dateline.toml"
        config.write_text(
            f'[storage]\ndir = "{tmp_path / "data"}"\n[embeddings]\nmodel = "{model}"\n'
            '[embeddings]\ndevice = "cuda:1"\n'.replace("\n[embeddings]\ndevice", "\ndevice"),
            encoding="utf-8",
        )
        assert main(["--config", str(config), "event", "2015-11-20"]) == 0, capsys.readouterr()


async def _empty_database(path: Path) -> None:
    async with Store.open(path):
        pass


def test_a_config_that_is_not_utf8(tmp_path: Path, capsys):
    config = tmp_path / "dateline.toml"
    config.write_bytes(b'[archive]\nbase_url = "http://caf\xe9.example"\n')
    assert main(["--config", str(config), "event", "2015-11-20"]) == 2
    assert "not UTF-8 text" in _one_line_error(capsys)


@pytest.mark.parametrize("command", [["event", "2015-11-20"], ["onthisday", "11-20"]])
def test_lang_must_be_an_edition_code(tmp_path: Path, capsys, command: list[str]):
    config = tmp_path / "dateline.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert main(["--config", str(config), *command, "--lang", "../../etc"]) == 2
    assert "--lang: not an edition code" in _one_line_error(capsys)


def test_onthisday_limit_too_large(tmp_path: Path, capsys):
    config = tmp_path / "dateline.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert main(["--config", str(config), "onthisday", "11-20", "--limit", str(10**20)]) == 2
    assert "--limit must be between 0 (no limit) and 1,000,000" in _one_line_error(capsys)


def _database_from_the_future(path: Path, owner: str) -> None:
    async def build() -> None:
        async with Store.open(path):
            pass

    asyncio.run(build())
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO migrations (owner, number, applied_at) VALUES (?, 99, 'later')", (owner,)
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # settle the file before comparing it
    conn.close()


@pytest.mark.parametrize(
    ("owner", "command"),
    [
        ("archive", ["event", "2015-11-20"]),
        ("archive", ["run"]),
        ("archive", ["preview", "--port", "0"]),
        ("bot", ["run"]),  # `event` reads no bot table, so it has no reason to refuse
        ("bot", ["preview", "--port", "0"]),
    ],
)
def test_a_database_from_a_newer_version_is_refused(
    tmp_path: Path, capsys, monkeypatch, owner: str, command: list[str]
):
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    database = tmp_path / "data" / "dateline.sqlite3"
    database.parent.mkdir()
    _database_from_the_future(database, owner)
    if owner == "bot" and command[0] == "preview":
        # The preview keeps its server state apart: only its own state file can be too new.
        _database_from_the_future(tmp_path / "data" / "preview-state.sqlite3", owner)
    config = tmp_path / "dateline.toml"
    config.write_text('[storage]\ndir = "data"\n[archive]\npath = "none"\n', encoding="utf-8")
    before = database.read_bytes()
    assert main(["--config", str(config), *command]) == 2
    err = _one_line_error(capsys)
    assert f"the database has {owner} migration 99" in err
    assert "upgrade Dateline" in err
    assert database.read_bytes() == before


def test_start_up_is_quiet_unless_verbose(caplog):
    import logging

    from dateline.cli import configure_logging

    try:
        configure_logging(verbose=False)
        with caplog.at_level(logging.INFO):
            logging.getLogger("faiss.loader").info("Loading faiss with AVX512 support.")
            logging.getLogger("discord.client").warning(
                "PyNaCl is not installed, voice will NOT be supported"
            )
            logging.getLogger("discord.client").warning("a real warning")
            logging.getLogger("bot.client").info("logged in")
        assert [r.getMessage() for r in caplog.records] == ["a real warning", "logged in"]
        caplog.clear()
        configure_logging(verbose=True)
        with caplog.at_level(logging.INFO):
            logging.getLogger("faiss.loader").info("Loading faiss with AVX512 support.")
            logging.getLogger("discord.client").warning(
                "PyNaCl is not installed, voice will NOT be supported"
            )
        assert len(caplog.records) == 2
    finally:
        configure_logging(verbose=True)  # leave the loggers as other tests expect them
        for name in ("faiss", "discord", "sentence_transformers", "httpx", "urllib3"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        for name in ("archive", "embeddings", "bot", "dateline"):
            logging.getLogger(name).setLevel(logging.NOTSET)
