"""``embeddings.stories``, ``embeddings.digest`` and ``embeddings.timeline_chart`` on the real
archive-en pages (links across October-December 2015)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from archive.ingest import ingest
from archive.models import Event
from archive.store import Store
from embeddings.digest import is_round_anniversary, plan_digest
from embeddings.stories import Stories, StoryOptions
from embeddings.timeline_chart import HEIGHT_PX, WIDTH_PX, buckets, draw_timeline, png_size
from tests.conftest import shared_archive
from tests.records import stored
from tests.search_fixtures import make_event

CASPIAN = "russian-warships-launch-cruise-missiles-from-the-caspian-sea"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(tmp_path / "db.sqlite3") as db:
        await ingest(db, shared_archive("archive-en"))
        yield db


async def caspian(store: Store) -> Event:
    [event] = [
        e for e in await store.events_on(dt.date(2015, 11, 20)) if e.slug.startswith(CASPIAN)
    ]
    return event


class FixedSimilarity:
    """Cosines given per id, and a record of what was asked."""

    def __init__(self, scores: dict[int, float]) -> None:
        self.scores = scores
        self.asked: list[int] = []

    async def prepare(self, anchors: Sequence[Event]) -> None:
        pass

    async def similarities(self, anchor: Event, ids: Sequence[int]) -> dict[int, float]:
        self.asked += list(ids)
        return {i: self.scores.get(i, 0.0) for i in ids}

    async def nearest(
        self, anchor: Event, date_from: dt.date, date_to: dt.date, k: int
    ) -> dict[int, float]:
        return dict(self.scores)


async def test_related_resolves_links_both_ways_newest_first(store):
    event = await caspian(store)
    related = await Stories(store).related(event)
    dates = [r.date or dt.date.min for r in related]
    assert dates == sorted(dates, reverse=True)
    stored = [r for r in related if r.event is not None]
    missing = [r for r in related if r.event is None]
    assert stored and missing
    assert all(r.path == r.event.path for r in stored)
    assert all(r.path.startswith("news/2017/") or r.date.year >= 2016 for r in missing)
    # Every resolved link really names that event (by slug or alias, same date).
    for target in (r.event for r in stored if r.direction == "links to"):
        assert any(k.date == target.date and k.slug in target.aliases for k in event.related)
    # And every "linked from" event lists a link to this one.
    for item in (r for r in stored if r.direction == "linked from"):
        assert any(k.date == event.date and k.slug in event.aliases for k in item.event.related)


async def test_story_without_an_index_is_the_linked_events_in_date_order(store):
    event = await caspian(store)
    story = await Stories(store).story(event)
    assert story.anchor == event
    assert event.id in story.ids and story.ids == story.linked
    assert [e.date for e in story.events] == sorted(e.date for e in story.events)
    assert story.date_from <= min(e.date for e in story.events)
    assert story.date_to >= event.date + dt.timedelta(days=7)
    related = {r.event.id for r in await Stories(store).related(event) if r.event}
    assert related <= story.ids  # one hop is in; the second hop may add more


async def test_same_topic_events_join_when_close_in_meaning(store):
    event = await caspian(store)
    plain = await Stories(store).story(event)
    candidates = await store.story_candidates(
        event.lang, plain.date_from, plain.date_to,
        topics=[e.topic for e in plain.events if e.topic], tags=event.tags,
    )  # fmt: skip
    outside = [i for i in candidates if i not in plain.ids]
    assert len(outside) >= 2
    close, far = outside[0], outside[1]
    # An event of another topic joins only when very close (a retelling).
    off_topic = next(
        e.id for e in await store.events_on(event.date) if e.id not in candidates + [event.id]
    )
    similarity = FixedSimilarity({close: 0.9, far: 0.3, off_topic: 0.97})
    story = await Stories(store, similarity, StoryOptions(min_similarity=0.6)).story(event)
    assert close in story.ids and far not in story.ids and off_topic in story.ids
    assert set(similarity.asked) == set(outside)  # only topic/tag events within the span
    similarity = FixedSimilarity({close: 0.9, off_topic: 0.7})
    story = await Stories(store, similarity, StoryOptions(min_similarity=0.6)).story(event)
    assert off_topic not in story.ids


async def test_story_size_is_capped(store):
    event = await caspian(store)
    story = await Stories(store, options=StoryOptions(max_events=5)).story(event)
    assert len(story.events) == 5


@dataclass(frozen=True)
class FakeHit:
    event: Event


async def test_group_folds_a_story_into_one_card(store):
    event = await caspian(store)
    stories = Stories(store)
    story = await stories.story(event)
    other_story_member = next(e for e in story.events if e.id != event.id)
    unrelated = next(
        e for e in await store.events_on(dt.date(2004, 11, 17)) if e.id not in story.ids
    )
    hits = [FakeHit(event), FakeHit(other_story_member), FakeHit(unrelated)]
    groups = await stories.group(hits, limit=5)
    assert [g.hit.event.id for g in groups] == [event.id, unrelated.id]
    assert [m.event.id for m in groups[0].members] == [other_story_member.id]
    assert groups[0].more == len(story.events) - 1
    assert len(await stories.group(hits, limit=1)) == 1


async def test_notability_counts_sources_links_and_story(store):
    events = await store.events_on_month_day(11, 20)
    scores = await Stories(store).notability(events)
    assert set(scores) == {e.id for e in events}
    event = await caspian(store)
    bare = min(events, key=lambda e: (len(e.sources), len(e.related), e.topic is not None))
    assert scores[event.id] > scores[bare.id]


def test_digest_plan_spreads_years_and_keeps_every_event():
    day = dt.date(2025, 11, 20)
    events = [
        make_event(f"{year}-11-20", f"Event {year} {n}", None, (), n)
        for year in (2005, 2010, 2012, 2013, 2015, 2024) for n in range(4)
    ]  # fmt: skip
    numbered = [stored(e, n + 1) for n, e in enumerate(events)]
    scores = {e.id: (10 if e.position == 3 else 0) for e in numbered}
    plan = plan_digest(numbered, scores, day)
    years = [e.date.year for e in plan.highlights]
    # 1, 10, 15 and 20 years ago first (two each), then one of each other year, newest first.
    assert years == [2024, 2024, 2015, 2015, 2010, 2010, 2005, 2005, 2013, 2012]
    assert plan.highlights[0].position == 3  # most notable first within a year
    assert sorted(e.id for e in plan.events) == sorted(e.id for e in numbered)
    assert is_round_anniversary(1) and is_round_anniversary(25) and not is_round_anniversary(7)


def test_chart_is_a_png_of_the_announced_size():
    dates = [dt.date(2015, 10, 1) + dt.timedelta(days=3 * n) for n in range(40)]
    png = draw_timeline(dates, chosen=dates[5], title="A story")
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)
    starts, counts, monthly = buckets(dates, dates[0], dates[-1])
    assert not monthly and sum(counts) == 40 and all(s.weekday() == 0 for s in starts)
    starts, counts, monthly = buckets(dates, dt.date(2014, 1, 1), dates[-1])
    assert monthly and sum(counts) == 40 and all(s.day == 1 for s in starts)
    with pytest.raises(ValueError):
        draw_timeline([])


async def test_index_similarity_reads_flat_vectors_back_instead_of_encoding(
    search_settings, sample_store, fake_encoder
):
    from embeddings.search import Searcher
    from embeddings.stories import IndexSimilarity
    from embeddings.text import event_text

    searcher = await Searcher.load(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        search_settings.search,
        sample_store,
        fake_encoder,
    )
    assert searcher.index.kind == "flat"
    events = await sample_store.events_by_ids(list(range(1, 15)))
    anchor, others = events[2], events  # the Jeddah floods
    vectors = fake_encoder.encode([event_text(e) for e in events])
    expected = {e.id: float(v @ vectors[2]) for e, v in zip(events, vectors, strict=True)}
    similarity = IndexSimilarity(searcher)
    fake_encoder.calls.clear()
    await similarity.prepare(events)
    close = await similarity.similarities(anchor, [e.id for e in others] + [999])
    assert close.keys() == expected.keys()  # the unindexed id is left out
    assert all(abs(close[i] - expected[i]) < 1e-5 for i in expected)
    near = await similarity.nearest(anchor, dt.date(2009, 1, 1), dt.date(2010, 12, 31), k=2)
    in_window = {e.id: expected[e.id] for e in events if e.date.year in (2009, 2010)}
    assert list(near) == sorted(in_window, key=lambda i: -in_window[i])[:2]
    assert fake_encoder.calls == []  # every vector came from the index
    # The same answers from the filtered index search (the way for the approximate index).
    monkeypatch_kind = searcher.index.kind
    searcher.index.kind = "ivf-sq8-stand-in"
    try:
        slow = IndexSimilarity(searcher)
        stranger = dataclasses.replace(anchor, id=999)  # not in the index: encoded once
        await slow.prepare([stranger, anchor])
        assert fake_encoder.calls == [2]
        by_search = await slow.similarities(stranger, [e.id for e in others])
        assert all(abs(by_search[i] - expected[i]) < 1e-5 for i in expected)
        assert await slow.nearest(
            stranger, dt.date(2009, 1, 1), dt.date(2010, 12, 31), k=2
        ) == pytest.approx(near)
        assert fake_encoder.calls == [2]
    finally:
        searcher.index.kind = monkeypatch_kind


def test_chart_title_is_cut_at_a_word_to_fit():
    from embeddings.timeline_chart import TITLE_CHARS, fit_title

    short = "Floods in Chennai"
    assert fit_title(short) == short
    long = "The Russian Navy announces that it will deploy more warships in the Gulf of Aden to curb piracy."
    cut = fit_title(long)
    assert len(cut) <= TITLE_CHARS and cut.endswith("…")
    assert long.startswith(cut[:-1]) and long[len(cut) - 1] == " "  # a whole word was kept


async def test_stories_formed_together_equal_stories_formed_alone(store):
    anchor = await caspian(store)
    day = await store.events_on(dt.date(2015, 11, 20))
    others = [e for e in day if e.id != anchor.id][:4]
    scores = {e.id: 0.9 for e in day[:3]}
    alone = {e.id: await Stories(store, FixedSimilarity(scores)).story_ids(e) for e in others}
    alone[anchor.id] = await Stories(store, FixedSimilarity(scores)).story_ids(anchor)
    together = await Stories(store, FixedSimilarity(scores)).story_ids_many([anchor, *others])
    assert together == alone
    assert len(together[anchor.id][1]) > 1  # the links were followed in the batch too
