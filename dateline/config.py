"""The one configuration object: loaded once from TOML, frozen, its slices passed down.

Each layer owns its slice (``archive.settings``, ``embeddings.settings``, ``bot.settings``);
``Settings`` composes them, one TOML section each, and this module loads and validates them.

Every key is documented in ``config.example.toml``. Defaults work with no file at all. The
Discord token never lives in a file: it is read from the ``DISCORD_TOKEN`` environment variable.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from archive.settings import ArchiveSettings, StorageSettings
from bot.settings import BotSettings
from embeddings.settings import EmbeddingSettings, SearchSettings

__all__ = [
    "ArchiveSettings",
    "BotSettings",
    "ConfigError",
    "EmbeddingSettings",
    "SearchSettings",
    "Settings",
    "StorageSettings",
    "load_settings",
    "settings_from_dict",
]


class ConfigError(ValueError):
    """A configuration file that can't be used (unknown key, wrong type, unreadable)."""


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
        try:
            # Each slice checks its values when built (__post_init__): a bad value fails here,
            # when the file is loaded, not when it is first used.
            checked = replace(section, **changes)
        except ValueError as exc:
            raise ConfigError(f"[{section_name}] {exc}") from None
        settings = replace(settings, **{section_name: checked})
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from a TOML file, or defaults when ``path`` is None."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"can't read config {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"can't read config {path}: {exc}") from None
    return settings_from_dict(data, base_dir=path.resolve().parent)
