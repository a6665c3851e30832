import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from dateline.config import ConfigError, Settings, load_settings


def test_defaults_without_a_file() -> None:
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.storage.database == Path("data/dateline.sqlite3")


def test_example_config_is_complete_and_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = load_settings(example)
    # every key documented with its default value
    assert settings.embeddings == Settings().embeddings
    assert settings.search == Settings().search
    assert settings.bot == Settings().bot
    assert settings.storage.dir == example.parent / "data"
    # and every field of every slice is in the example, and nothing else (both directions)
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    assert example_keys(data) == settings_keys()


def example_keys(data: dict) -> set[str]:
    return {f"{section}.{key}" for section, table in data.items() for key in table}


def settings_keys() -> set[str]:
    return {
        f"{section.name}.{item.name}"
        for section in fields(Settings)
        for item in fields(getattr(Settings(), section.name))
    }


def test_a_key_missing_from_the_example_is_noticed() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    del data["search"]["rrf_k"]
    assert example_keys(data) != settings_keys()


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "d.toml"
    path.parent.mkdir()
    path.write_text('[storage]\ndir = "state"\n[search]\nmin_similarity = 1\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.storage.dir == path.parent / "state"
    assert settings.search.min_similarity == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nope]\nx = 1\n", "unknown section"),
        ("[search]\nk = 'five'\n", "must be int"),
        ("[search]\nk = \n", "can't read config"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert Settings().discord_token is None
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    assert Settings().discord_token == "abc"
