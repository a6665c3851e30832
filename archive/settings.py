"""The archive layer's settings: where state is stored and which archive is read.

Composed with the other layers' slices into ``dateline.config.Settings`` (loaded from TOML);
code of this layer takes only these slices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
