"""Fixtures for the search-layer tests (embeddings, index, search)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from archive.models import NewEvent, Source
from archive.store import Store
from dateline.config import EmbeddingSettings, Settings, settings_from_dict
from embeddings.encoder import FakeEncoder, SentenceTransformerEncoder, load_encoder
from tests.records import unstored

# (date, headline, topic, tags): small enough to reason about, varied enough to search.
SAMPLE_EVENTS = [
    ("2004-11-17", "Bombs explode in three banks in Buenos Aires", "Argentina", ("bombing",)),
    ("2009-11-17", "Icebreaker with tourists stranded in Antarctic ice", None, ("Antarctica",)),
    ("2009-11-26", "Floods in Jeddah kill dozens after record rainfall", "Floods", ("Saudi",)),
    ("2010-11-17", "CERN physicists trap antihydrogen atoms", "Physics", ("CERN",)),
    ("2010-11-26", "Country singer charged with marijuana possession", None, ()),
    ("2012-11-26", "Bank of Canada governor named head of the Bank of England", None, ()),
    ("2015-10-01", "Hurricane Joaquin strengthens over the Bahamas", "Hurricanes", ()),
    ("2015-11-13", "Gunmen and bombers attack Paris concert hall and cafes", "Paris attacks", ()),
    ("2015-11-20", "Russian warships fire cruise missiles from the Caspian Sea", "Syria", ()),
    ("2015-11-20", "Gunmen take hostages at a hotel in Bamako Mali", "Siege", ("Mali",)),
    ("2015-11-27", "Bushfire destroys homes near Pinery in South Australia", "Fires", ()),
    ("2015-12-05", "Floods cut power to a Chennai hospital", "Floods", ("India",)),
    ("2016-11-20", "Haiti votes in a presidential election", "Elections", ("Haiti",)),
    ("2017-11-17", "Ancient remains returned to Lake Mungo", None, ("Australia",)),
]


def make_event(
    date: str, headline: str, topic: str | None, tags: Sequence[str], n: int
) -> NewEvent:
    slug = "-".join(headline.lower().split())[:60]
    return NewEvent(
        lang="en",
        date=dt.date.fromisoformat(date),
        slug=slug,
        headline=headline,
        summary=f"Report {n}: {headline.lower()}.",
        topic=topic,
        tags=tuple(tags),
        sources=(Source("Example", f"https://example.org/{n}"),),
        aliases=(slug,),
        position=n,
    )


async def add_events(store: Store, events: Sequence[NewEvent]) -> list[int]:
    result = await store.write_events([(None, e) for e in events])
    return list(result.inserted)


async def change_event(store: Store, event_id: int, **changes: object) -> None:
    """Rewrite one stored event with ``changes`` (its content hash is recomputed)."""
    (event,) = await store.events_by_ids([event_id])
    await store.write_events([(event_id, unstored(event, **changes))])


def make_settings(directory: Path, **sections: dict[str, object]) -> Settings:
    data: dict[str, dict[str, object]] = {"storage": {"dir": str(directory)}}
    data.setdefault("embeddings", {}).update({"batch_size": 4, "checkpoint_batches": 1})
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return settings_from_dict(data)


@pytest.fixture
def search_settings(tmp_path: Path) -> Settings:
    """Settings with everything under tmp_path; batches of 4, a checkpoint after each."""
    return make_settings(tmp_path)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
async def sample_store(fresh_db: Store) -> Store:
    """A store holding SAMPLE_EVENTS (ids in that order)."""
    await add_events(fresh_db, [make_event(*row, n) for n, row in enumerate(SAMPLE_EVENTS)])
    return fresh_db


@pytest.fixture(scope="session")
def real_encoder() -> SentenceTransformerEncoder:
    """The default model through sentence-transformers (torch fp32), loaded once per session."""
    return load_encoder(EmbeddingSettings(backend="torch"))


@pytest.fixture
async def archive_en_days(tmp_path: Path) -> AsyncIterator[Store]:
    """A store with the real archive-en events of 2015-11-18 .. 2015-11-22 only (fast to embed
    with the real model)."""
    from archive.ingest import ingest
    from tests.conftest import shared_archive

    async with Store.open(tmp_path / "full.sqlite3") as full:
        await ingest(full, shared_archive("archive-en"))
        events = []
        for day in range(18, 23):
            events += await full.events_on(dt.date(2015, 11, day))
    async with Store.open(tmp_path / "days.sqlite3") as store:
        await add_events(store, [unstored(e) for e in events])
        yield store


def unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / np.linalg.norm(array)
