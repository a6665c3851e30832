"""Shared by the benchmarks: settings and a ready database + index for archive-en (or
archive-zh)."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dateline.config import Settings, load_settings, settings_from_dict

REPO = Path(__file__).resolve().parent.parent
ARCHIVE_EN = REPO.parent / "shared" / "data" / "archive-en"
ARCHIVE_ZH = REPO.parent / "shared" / "data" / "archive-zh"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="settings whose database already holds archive-en (default: a fresh temporary"
        " database, ingested and indexed first)",
    )


@contextlib.contextmanager
def bench_settings(config: Path | None) -> Iterator[Settings]:
    if config is not None:
        yield load_settings(config)
        return
    with tempfile.TemporaryDirectory(prefix="dateline-bench-") as tmp:
        yield settings_from_dict({"storage": {"dir": tmp}})


async def ensure_ingested(settings: Settings, store: object, archive: Path = ARCHIVE_EN) -> None:
    from archive.ingest import ingest
    from archive.store import Store

    assert isinstance(store, Store)
    if await store.count_events() == 0:
        await ingest(store, archive)
