"""Stories: an event with its related events, and the timeline of the story it belongs to.

How a story is formed around an event (the *anchor*):

1. **Links.** The anchor's ``### Related:`` links are resolved to stored events through the
   aliases of its edition (a link to a page the archive lacks stays a plain archive link),
   together with the events whose links point at the anchor ("linked from"). The same is done
   once more from each event reached (two hops), up to ``StoryOptions.max_events``.
2. **Span.** The story's time span runs from the oldest to the newest linked event, and at
   least ``StoryOptions.solo_span_days`` either side of the anchor.
3. **Topic and meaning.** Events of the same edition within the span that share the topic of
   the anchor or of a linked event, or one of the anchor's context tags, join the story when
   their embedding is close to the anchor's (cosine >= ``StoryOptions.min_similarity``);
   any event within the span whose embedding is very close (a retelling of the same news,
   cosine >= ``StoryOptions.min_similarity_any_topic``) joins whatever its topic. Without a
   vector index this step is skipped: the story is the linked events only.

The events are then listed in date order. ``Stories.group`` folds search hits into one card
per story, and ``Stories.notability`` scores events for the on-this-day digest. Nothing here
imports discord: the CLI and the bot share it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

import numpy as np

from archive.models import Event, RelatedLink
from archive.store import Store
from embeddings.text import event_text

if TYPE_CHECKING:
    from embeddings.search import Searcher

Direction = Literal["links to", "linked from"]
# Up to this many events in a window, the flat index's nearest events are found by reading
# their vectors back and one matrix product; beyond it, by a filtered index search.
NEAREST_BY_DOT_PRODUCT = 4_000


@dataclass(frozen=True, slots=True)
class StoryOptions:
    link_depth: int = 2  # hops of related links followed from the anchor
    max_events: int = 500  # a story never grows beyond this many events
    min_similarity: float = 0.6  # cosine to the anchor for a same-topic event to join
    # Cosine at which an event within the span joins whatever its topic (a near-retelling).
    min_similarity_any_topic: float = 0.8
    nearest: int = 50  # events searched for that, nearest first
    solo_span_days: int = 21  # the span reaches at least this far either side of the anchor
    notability_window_days: int = 30  # same-topic events this close count for notability


@dataclass(frozen=True, slots=True)
class RelatedEvent:
    """One related event: stored (``event``) or only a link to an archive page."""

    date: dt.date | None
    headline: str
    path: str  # the page's path inside the archive
    event: Event | None  # None: the linked page is not in the store
    direction: Direction

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "headline": self.headline,
            "path": self.path,
            "direction": self.direction,
            "id": self.event.id if self.event else None,
        }


@dataclass(frozen=True, slots=True)
class Story:
    anchor: Event
    events: tuple[Event, ...]  # date order; the anchor is one of them
    linked: frozenset[int]  # ids reached through related links (the anchor included)
    date_from: dt.date
    date_to: dt.date

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(e.id for e in self.events)

    def to_dict(self) -> dict[str, object]:
        return {
            "anchor": self.anchor.id,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "events": [{**e.to_dict(), "linked": e.id in self.linked} for e in self.events],
        }


class HasEvent(Protocol):
    @property
    def event(self) -> Event: ...


H = TypeVar("H", bound=HasEvent)


@dataclass(frozen=True, slots=True)
class StoryGroup(Generic[H]):
    """One answer card: the best hit of a story and the other hits it stands for."""

    hit: H
    members: tuple[H, ...]  # other retrieved events of the same story, best first
    story_size: int  # events in the whole story (the hit's own included)

    @property
    def more(self) -> int:
        return max(0, self.story_size - 1)

    @property
    def ids(self) -> frozenset[int]:
        return frozenset([self.hit.event.id, *(m.event.id for m in self.members)])


class Similarity(Protocol):
    async def prepare(self, anchors: Sequence[Event]) -> None:
        """Get ready to compare these anchors (e.g. find or encode their vectors at once)."""
        ...

    async def similarities(self, anchor: Event, ids: Sequence[int]) -> dict[int, float]:
        """Cosine of each indexed event of ``ids`` to ``anchor`` (unindexed ones left out)."""
        ...

    async def nearest(
        self, anchor: Event, date_from: dt.date, date_to: dt.date, k: int
    ) -> dict[int, float]:
        """The ``k`` events dated within the window closest to ``anchor``, with cosines."""
        ...


class IndexSimilarity:
    """Meaning closeness from the search index, in a worker thread.

    With the flat index (exact vectors, kept by id) nothing is encoded: an indexed anchor's
    vector is read back from the index, and closeness is a dot product with the vectors of the
    few events asked about (or of the window's events), not a scan of the whole index. With the
    approximate index the anchors not seen lately are encoded in one batch (``prepare``) and the
    index is searched among the ids asked about."""

    def __init__(self, searcher: Searcher) -> None:
        self._searcher = searcher  # read on each call: ``refresh`` swaps the index
        self._vectors: dict[tuple[int, str], np.ndarray] = {}  # anchor texts encoded lately

    @classmethod
    def of(cls, searcher: object) -> IndexSimilarity | None:
        """For the hybrid ``Searcher`` (None for anything else, e.g. no index loaded)."""
        from embeddings.search import Searcher

        return cls(searcher) if isinstance(searcher, Searcher) else None

    def _stored(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, vectors) of those of ``ids`` the flat index holds; None for other kinds."""
        return self._searcher.index.stored_vectors(ids)

    def _encode(self, anchors: Sequence[Event]) -> None:
        missing = [a for a in anchors if (a.id, a.content_hash) not in self._vectors]
        if not missing:
            return
        vectors = self._searcher.encoder.encode([event_text(a) for a in missing])
        for anchor, vector in zip(missing, vectors, strict=True):
            if len(self._vectors) >= 256:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[(anchor.id, anchor.content_hash)] = vector

    def _vector(self, anchor: Event) -> np.ndarray:
        key = (anchor.id, anchor.content_hash)
        if key not in self._vectors:
            stored = self._stored([anchor.id])
            if stored is not None and len(stored[0]) == 1:
                return stored[1][0]
            self._encode([anchor])
        return self._vectors[key]

    async def prepare(self, anchors: Sequence[Event]) -> None:
        def run() -> None:
            stored = self._stored([a.id for a in anchors])
            held = set() if stored is None else {int(i) for i in stored[0]}
            self._encode([a for a in anchors if a.id not in held])

        await asyncio.to_thread(run)

    def _closeness(self, anchor: Event, ids: Sequence[int]) -> dict[int, float] | None:
        stored = self._stored(ids)
        if stored is None:
            return None
        found, vectors = stored
        # einsum, not ``@``: a matrix-vector product through multi-threaded BLAS costs ten
        # times more on a busy machine (threads spinning) than this single-threaded loop.
        scores = np.einsum("ij,j->i", vectors, self._vector(anchor))
        return {int(i): float(s) for i, s in zip(found, scores, strict=True)}

    async def similarities(self, anchor: Event, ids: Sequence[int]) -> dict[int, float]:
        if not ids:
            return {}

        def run() -> dict[int, float]:
            exact = self._closeness(anchor, ids)
            if exact is not None:
                return exact
            allowed = np.asarray(sorted(set(ids)), dtype=np.int64)
            vector = self._vector(anchor)
            return dict(self._searcher.index.search(vector, len(allowed), allowed=allowed))

        return await asyncio.to_thread(run)

    async def nearest(
        self, anchor: Event, date_from: dt.date, date_to: dt.date, k: int
    ) -> dict[int, float]:
        def run() -> dict[int, float]:
            index = self._searcher.index
            allowed = index.ids_between(date_from, date_to)
            if len(allowed) <= NEAREST_BY_DOT_PRODUCT:
                exact = self._closeness(anchor, allowed.tolist())
                if exact is not None:
                    best = sorted(exact.items(), key=lambda item: -item[1])[:k]
                    return dict(best)
            return dict(index.search(self._vector(anchor), k, allowed=allowed))

        return await asyncio.to_thread(run)


def link_path(link: RelatedLink) -> str:
    """The archive path a related link points at (``news/2015/11/20/<slug>.md``)."""
    if link.date is None:
        return f"news/{link.slug}.md"
    return f"news/{link.date.year}/{link.date.month:02d}/{link.date.day}/{link.slug}.md"


class Stories:
    """Related events, stories and story groups over one store (and optionally an index)."""

    def __init__(
        self,
        store: Store,
        similarity: Similarity | None = None,
        options: StoryOptions | None = None,
    ) -> None:
        self._store = store
        self._similarity = similarity
        self.options = options or StoryOptions()

    # ----- related events ---------------------------------------------------------------

    async def related(self, event: Event) -> tuple[RelatedEvent, ...]:
        """The event's related links (resolved where the archive has the page) and the events
        that link to it, each once, newest first (undated links last)."""
        targets = (await self._store.resolved_related([event.id])).get(event.id, [])
        sources = (await self._store.linking_events([event.id])).get(event.id, [])
        wanted = [t for t in targets if t is not None and t != event.id] + sources
        by_id = {e.id: e for e in await self._store.events_by_ids(wanted)}
        items: list[RelatedEvent] = []
        seen: set[int] = {event.id}
        seen_paths: set[str] = set()
        for link, target in zip(event.related, targets, strict=False):
            found = by_id.get(target) if target is not None else None
            if found is not None:
                if found.id in seen:
                    continue
                seen.add(found.id)
                items.append(
                    RelatedEvent(found.date, found.headline, found.path, found, "links to")
                )
            elif target is None:
                path = link_path(link)
                if path in seen_paths:
                    continue
                seen_paths.add(path)
                items.append(RelatedEvent(link.date, link.headline, path, None, "links to"))
        for source_id in sources:
            found = by_id.get(source_id)
            if found is not None and found.id not in seen:
                seen.add(found.id)
                items.append(
                    RelatedEvent(found.date, found.headline, found.path, found, "linked from")
                )
        items.sort(key=lambda r: r.date or dt.date.min, reverse=True)
        return tuple(items)

    async def _neighbours(self, ids: Sequence[int]) -> dict[int, set[int]]:
        """Resolved links both ways, one hop, for each of ``ids``."""
        forward = await self._store.resolved_related(ids)
        backward = await self._store.linking_events(ids)
        return {
            i: {t for t in forward.get(i, []) if t is not None} | set(backward.get(i, []))
            for i in ids
        }

    # ----- stories ----------------------------------------------------------------------

    async def story_ids(
        self, anchor: Event
    ) -> tuple[frozenset[int], frozenset[int], dt.date, dt.date]:
        """(all ids, linked ids, span start, span end) of the anchor's story, without
        loading the events (see the module docstring for the rules)."""
        return (await self.story_ids_many([anchor]))[anchor.id]

    async def story_ids_many(
        self, anchors: Sequence[Event]
    ) -> dict[int, tuple[frozenset[int], frozenset[int], dt.date, dt.date]]:
        """``story_ids`` of several anchors (by anchor id), their links followed together:
        one round trip per hop and direction for all of them, not one per anchor."""
        options = self.options
        unique = list({a.id: a for a in anchors}.values())
        linked: dict[int, dict[int, None]] = {a.id: {a.id: None} for a in unique}
        frontiers: dict[int, list[int]] = {a.id: [a.id] for a in unique}
        for _ in range(options.link_depth):
            asked = [i for frontier in frontiers.values() for i in frontier]
            if not asked:
                break
            neighbours = await self._neighbours(asked)
            for anchor_id, frontier in frontiers.items():
                mine, grown = linked[anchor_id], []
                if len(mine) < options.max_events:
                    for event_id in frontier_order({i: neighbours[i] for i in frontier}):
                        if event_id not in mine and len(mine) < options.max_events:
                            mine[event_id] = None
                            grown.append(event_id)
                frontiers[anchor_id] = grown
        every = list(dict.fromkeys(i for mine in linked.values() for i in mine))
        by_id = {e.id: e for e in await self._store.events_by_ids(every)}
        if self._similarity is not None:
            await self._similarity.prepare(unique)
        # Concurrently: the store's queries and the vector work of the anchors overlap
        # instead of waiting one round trip after another.
        stories = await asyncio.gather(
            *(
                self._grow(a, linked[a.id], [by_id[i] for i in linked[a.id] if i in by_id])
                for a in unique
            )
        )
        return {a.id: ids for a, ids in zip(unique, stories, strict=True)}

    async def _grow(
        self, anchor: Event, linked: dict[int, None], linked_events: Sequence[Event]
    ) -> tuple[frozenset[int], frozenset[int], dt.date, dt.date]:
        """Span, then the events of the same topic and close in meaning (rules 2 and 3)."""
        options = self.options
        dates = [e.date for e in linked_events] or [anchor.date]
        margin = dt.timedelta(days=options.solo_span_days)
        date_from = min([*dates, anchor.date - margin])
        date_to = max([*dates, anchor.date + margin])
        members = dict(linked)
        if self._similarity is not None and len(members) < options.max_events:
            topics = [e.topic for e in linked_events if e.topic]
            if anchor.topic:
                topics.insert(0, anchor.topic)
            candidates = [
                i
                for i in await self._store.story_candidates(
                    anchor.lang, date_from, date_to, topics=topics, tags=anchor.tags
                )
                if i not in members
            ]
            close = await self._similarity.similarities(anchor, candidates)
            kept = {i: s for i, s in close.items() if s >= options.min_similarity}
            near = await self._similarity.nearest(anchor, date_from, date_to, options.nearest)
            for event_id, similarity in near.items():
                if similarity >= options.min_similarity_any_topic and event_id not in members:
                    kept[event_id] = max(similarity, kept.get(event_id, 0.0))
            ranked = sorted(kept, key=lambda i: -kept[i])
            for event_id in ranked[: options.max_events - len(members)]:
                members[event_id] = None
        return frozenset(members), frozenset(linked), date_from, date_to

    async def story(self, anchor: Event) -> Story:
        """The anchor's story, its events in date order."""
        ids, linked, date_from, date_to = await self.story_ids(anchor)
        events = await self._store.events_by_ids(list(ids))
        events.sort(key=lambda e: (e.date, e.position, e.id))
        dates = [e.date for e in events]
        return Story(
            anchor=anchor,
            events=tuple(events),
            linked=linked,
            date_from=min([*dates, date_from]),
            date_to=max([*dates, date_to]),
        )

    # ----- grouped search answers --------------------------------------------------------

    async def group(self, hits: Sequence[H], *, limit: int) -> tuple[StoryGroup[H], ...]:
        """One group per story, in the order of each story's best hit, at most ``limit``.

        A hit joins an earlier group when it belongs to that group's story, or when its own
        story holds that group's event; so no two groups show events of one story."""
        # Stories are formed in batches (links looked up together, one vector pass): the hit
        # that needs its story, with the next hits no group holds yet, as many as groups may
        # still open; hits a group already holds never need theirs.
        stories: dict[int, tuple[frozenset[int], frozenset[int], dt.date, dt.date]] = {}
        groups: list[tuple[H, list[H], frozenset[int]]] = []
        for n, hit in enumerate(hits):
            event_id = hit.event.id
            owner = next((g for g in groups if event_id in g[2]), None)
            if owner is None:
                if len(groups) == limit:
                    continue
                if event_id not in stories:
                    batch = [
                        h.event
                        for h in hits[n:]
                        if h.event.id not in stories and not any(h.event.id in g[2] for g in groups)
                    ]
                    stories.update(await self.story_ids_many(batch[: limit - len(groups)]))
                ids = stories[event_id][0]
                owner = next((g for g in groups if g[0].event.id in ids), None)
                if owner is None:
                    groups.append((hit, [], ids))
                    continue
            owner[1].append(hit)
        return tuple(
            StoryGroup(hit=best, members=tuple(members), story_size=len(ids))
            for best, members, ids in groups
        )

    # ----- notability (on this day) ------------------------------------------------------

    async def notability(self, events: Sequence[Event]) -> dict[int, int]:
        """A score per event, higher is more notable: its sources, its related links (listed
        and linked-from) and the size of its story (linked events plus events of its topic
        within ``notability_window_days``)."""
        ids = [e.id for e in events]
        forward = await self._store.resolved_related(ids)
        backward = await self._store.linking_events(ids)
        window = dt.timedelta(days=self.options.notability_window_days)
        topic_sizes: dict[tuple[str, dt.date], int] = {}
        scores: dict[int, int] = {}
        for event in events:
            resolved = {t for t in forward.get(event.id, []) if t is not None}
            linked = resolved | set(backward.get(event.id, []))
            topic_size = 0
            if event.topic:
                key = (event.topic.casefold(), event.date)
                if key not in topic_sizes:
                    topic_sizes[key] = await self._store.count_topic_between(
                        event.topic, event.date - window, event.date + window
                    )
                topic_size = topic_sizes[key] - 1
            scores[event.id] = len(event.sources) + len(event.related) + len(linked) + topic_size
        return scores


def frontier_order(neighbours: dict[int, set[int]]) -> list[int]:
    """Neighbour ids in a stable order (by the order of their parents, then id)."""
    order: dict[int, None] = {}
    for parent in neighbours:
        for event_id in sorted(neighbours[parent]):
            order[event_id] = None
    return list(order)
