"""Shared fixtures. Feature-specific fixtures live in the plugin modules listed below."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from archive.store import Store
from tests.fixtures.archive_pages import EN_PAGES, ZH_PAGES, write_archive

pytest_plugins = ["tests.search_fixtures", "tests.bot_fixtures"]

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
async def fresh_db(tmp_path: Path) -> AsyncIterator[Store]:
    """An empty, migrated store in a temporary folder."""
    async with Store.open(tmp_path / "test.sqlite3") as store:
        yield store


@pytest.fixture
def fixture_archive(tmp_path: Path) -> Path:
    """A fresh copy of the small English test archive (tests/fixtures/archive_pages.py)."""
    return write_archive(tmp_path / "archive-en", EN_PAGES)


@pytest.fixture
def fixture_archive_zh(tmp_path: Path) -> Path:
    """A fresh copy of the small Chinese test archive."""
    return write_archive(tmp_path / "archive-zh", ZH_PAGES)


def shared_archive(name: str) -> Path:
    """A real archive from ../shared/data; the tests that need it fail loudly if it is gone."""
    path = SHARED_DATA / name
    if not path.is_dir():
        raise FileNotFoundError(f"shared archive missing: {path} (see README, 'Tests')")
    return path
