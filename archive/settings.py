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


@dataclass(frozen=True)
class ArchiveSettings:
    path: Path = Path("../shared/data/archive-en")
    # Events link to their page at base_url + "/" + the page's path inside the archive.
    base_url: str = "https://github.com/nixworks/public/blob/master"
    # Language of pages whose links carry no /xx/news/ prefix.
    default_lang: str = "en"

    def __post_init__(self) -> None:
        try:
            edition_code(self.default_lang)
        except ValueError as exc:
            raise ValueError(f"default_lang: {exc}") from None
