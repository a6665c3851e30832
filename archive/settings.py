"""The archive layer's settings: where state is stored and which archive is read.

Composed with the other layers' slices into ``dateline.config.Settings`` (loaded from TOML);
code of this layer takes only these slices. Each slice checks its values when built
(``__post_init__`` raises ``ValueError`` naming the key), so a bad file fails when loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# An edition is named by its language code, as in the archive's links (/en/news/, /zh/news/,
# /pt-BR/news/).
EDITION_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,8})?")


def edition_code(text: str) -> str:
    """``text`` if it is an edition code (``en``, ``zh``, ``pt-BR``); else ``ValueError``."""
    if not EDITION_CODE.fullmatch(text):
        raise ValueError(f"not an edition code (like en, zh or pt-BR): {text!r}")
    return text


@dataclass(frozen=True)
class StorageSettings:
    dir: Path = Path("data")

    @property
    def database(self) -> Path:
        return self.dir / "dateline.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.dir / "index"

    @property
    def models_dir(self) -> Path:
        """Where encoders exported to ONNX are cached (one folder per model and weights)."""
        return self.dir / "models"


@dataclass(frozen=True)
class ArchiveSettings:
    path: Path = Path("../shared/data/archive-en")
    # Events link to their page at base_url + "/" + the page's path inside the archive.
    base_url: str = "https://github.com/nixworks/public/blob/master"
    # Language of pages whose links carry no /xx/news/ prefix.
    default_lang: str = "en"
    # Follow mode: look for new days this often ("90s", "15m", "1h"; "" = off). See
    # embeddings/follow.py: git pull, incremental ingest, incremental index update.
    follow_interval: str = ""
    # Without follow mode, a running bot looks this often for a store or index changed by
    # another process (cron `dateline ingest` + `dateline index`, or `dateline follow`),
    # reloads search and posts the news feeds ("" = never).
    watch_interval: str = ""
    # Run in the archive folder before each pass when it is a git work tree.
    pull_command: str = "git pull --ff-only"
    # Seconds the pull may take before it is stopped (the pass goes on with what is on disk).
    pull_timeout: float = 60.0
    # Ingest refuses to remove the events of more than this share of the stored days at once
    # (an unmounted or emptied archive must not wipe the store); --allow-mass-removal overrides.
    max_removed_share: float = 0.25

    def __post_init__(self) -> None:
        try:
            edition_code(self.default_lang)
        except ValueError as exc:
            raise ValueError(f"default_lang: {exc}") from None
