"""Shared by the benchmarks: settings and a ready database + index for archive-en (or
archive-zh)."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dateline.config import Settings, load_settings, settings_from_dict

if TYPE_CHECKING:
    from embeddings.encoder import Encoder

REPO = Path(__file__).resolve().parent.parent
ARCHIVE_EN = REPO.parent / "shared" / "data" / "archive-en"
ARCHIVE_ZH = REPO.parent / "shared" / "data" / "archive-zh"

# ONNX exports for benchmarks that run in a temporary storage dir: kept between runs.
BENCH_MODELS = Path(tempfile.gettempdir()) / "dateline-bench-models"


def bench_encoder(settings: Settings, backend: str | None = None) -> Encoder:
    """The configured encoder (or the one of ``backend``), ONNX exports cached across runs
    unless the settings name a storage dir of their own."""
    from dataclasses import replace

    from embeddings.encoder import load_encoder

    if backend is not None:
        settings = replace(settings, embeddings=replace(settings.embeddings, backend=backend))
    temporary = settings.storage.dir.name.startswith("dateline-")
    models = BENCH_MODELS if temporary else settings.storage.models_dir
    return load_encoder(settings.embeddings, models)


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
