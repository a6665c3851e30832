"""Hybrid search for ``/ask``: dense (FAISS) and keyword (FTS5 BM25) candidates, fused.

Production::

    async with Store.open(settings.storage.database) as store:
        searcher = await Searcher.load(settings, store)   # loads the model, syncs the index
        answer = await searcher.ask("Russian cruise missiles fired from the Caspian Sea")

Tests: ``await Searcher.load(settings, store, FakeEncoder())`` (the index is built or updated
for the store under ``settings.storage.index_dir``).

How a question is answered:

1. Dates are understood (``embeddings.dates``) and removed from the text; with the explicit
   ``date_from``/``date_to`` (which win) they filter both retrievers.
2. The text is encoded and searched in the vector index (in a worker thread), and searched in
   the store's FTS5 table; each gives ``settings.search.candidates`` candidates.
3. Relevance floor: if the best dense cosine is below ``min_similarity`` and no keyword
   candidate contains most of the question's words, the answer is "nothing close". Dense
   candidates below the floor are dropped unless the keyword side found them too.
4. The two rankings are fused by reciprocal rank fusion; the best ``k`` events are returned.

A question that is only a date ("What happened on 20 November 2015?") lists the events of that
window in date order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from archive.fts import STOPWORDS, fts_text
from archive.models import Event
from archive.store import Store
from dateline.config import Settings
from embeddings.dates import understand_dates
from embeddings.encoder import Encoder, load_encoder
from embeddings.fusion import reciprocal_rank_fusion
from embeddings.index import VectorIndex
from embeddings.indexing import IndexProgress, update_index
from embeddings.text import event_text

Mode = Literal["hybrid", "dense", "keyword"]
_WORD = re.compile(r"\w+")
# Words of a question that say nothing about its subject, on top of the FTS stopwords.
_QUESTION_WORDS = frozenset("happen happened news event events story stories latest".split())
# A keyword candidate is a strong match when its text holds this share of the question's words.
_STRONG_KEYWORD_SHARE = 0.75


@dataclass(frozen=True, slots=True)
class Hit:
    event: Event
    score: float  # fused score, higher is better
    dense: float | None  # cosine similarity, when the event was a dense candidate
    keyword: float | None  # BM25 score, when it was a keyword candidate


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    hits: tuple[Hit, ...]  # best first, one per event, empty when nothing is close enough
    nothing_close: bool  # True when the relevance floor rejected everything
    date_from: dt.date | None  # the date window actually applied
    date_to: dt.date | None


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can match an event (lower-cased, no stopwords)."""
    words = _WORD.findall(fts_text(text).lower())
    return [
        w for w in dict.fromkeys(words)
        if w not in STOPWORDS and w not in _QUESTION_WORDS and not (len(w) == 1 and w.isascii())
    ]  # fmt: skip


def keyword_coverage(question_words: list[str], event: Event) -> float:
    """Share of ``question_words`` that occur in the event's embedded text."""
    if not question_words:
        return 0.0
    present = set(_WORD.findall(fts_text(event_text(event)).lower()))
    return sum(w in present for w in question_words) / len(question_words)


class Searcher:
    """Answers questions over one store and its vector index. Safe to share across tasks."""

    def __init__(
        self, settings: Settings, store: Store, encoder: Encoder, index: VectorIndex
    ) -> None:
        self._settings = settings
        self._store = store
        self._encoder = encoder
        self._index = index

    @classmethod
    async def load(
        cls,
        settings: Settings,
        store: Store,
        encoder: Encoder | None = None,
        *,
        progress: IndexProgress | None = None,
    ) -> Searcher:
        """Load the model (unless ``encoder`` is given) and the index, bringing the index in
        line with the store first (embedding what is new or changed); blocking work runs in a
        thread. ``progress`` is told about that indexing (a rebuild, a progress bar)."""
        if encoder is None:
            encoder = await asyncio.to_thread(load_encoder, settings)
        callbacks = progress.callbacks() if progress else {}
        index, _ = await update_index(
            settings,
            store,
            encoder,
            progress=callbacks.get("progress"),
            on_total=callbacks.get("on_total"),
            on_rebuild=callbacks.get("on_rebuild"),
        )
        return cls(settings, store, encoder, index)

    @property
    def index(self) -> VectorIndex:
        return self._index

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    async def refresh(self) -> None:
        """Re-sync the index with the store (after an ingest while the bot runs)."""
        self._index, _ = await update_index(self._settings, self._store, self._encoder)

    def _dense(self, text: str, limit: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        vector = self._encoder.encode_query(text)
        return self._index.search(vector, limit, allowed=allowed)

    async def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        mode: Mode = "hybrid",
    ) -> SearchAnswer:
        """The events that answer ``question``, best first (see the module docstring).

        ``mode`` "dense" or "keyword" uses one retriever only (for the evaluation)."""
        search = self._settings.search
        k = search.k if k is None else k
        if k <= 0:
            raise ValueError("k must be positive")
        window = understand_dates(question)
        date_from = date_from or window.date_from
        date_to = date_to or window.date_to
        text = window.text if window.phrase else question

        def empty(nothing_close: bool) -> SearchAnswer:
            return SearchAnswer((), nothing_close, date_from, date_to)

        if date_from and date_to and date_from > date_to:
            return empty(True)
        allowed = None
        if date_from or date_to:
            allowed = self._index.ids_between(date_from, date_to)
            if len(allowed) == 0:
                return empty(True)
        words = content_words(text)
        if not words:
            if allowed is None:
                return empty(True)
            return SearchAnswer(await self._window_hits(allowed, k), False, date_from, date_to)

        async def no_candidates() -> list[tuple[int, float]]:
            return []

        # Both retrievers at once: encoding and FAISS in a worker thread, FTS5 on the
        # store's connection thread.
        dense, keyword = await asyncio.gather(
            asyncio.to_thread(self._dense, text, search.candidates, allowed)
            if mode != "keyword"
            else no_candidates(),
            self._store.search_text(
                text, limit=search.candidates, date_from=date_from, date_to=date_to
            )
            if mode != "dense"
            else no_candidates(),
        )
        if not await self._close_enough(dense, keyword, words, mode):
            return empty(True)
        # Dense candidates below the floor are only "the least far" events: not shown unless
        # the keyword side found them too.
        floor = search.min_similarity
        dense_ranking = [i for i, sim in dense if sim >= floor or mode == "dense"]
        fused = reciprocal_rank_fusion([dense_ranking, [i for i, _ in keyword]], k=search.rrf_k)[
            : k * 2
        ]  # a few spare, in case the store lost some events since indexing
        events = await self._store.events_by_ids([i for i, _ in fused])
        by_id = {e.id: e for e in events}
        dense_scores, keyword_scores = dict(dense), dict(keyword)
        hits = tuple(
            Hit(by_id[i], score, dense_scores.get(i), keyword_scores.get(i))
            for i, score in fused
            if i in by_id
        )[:k]
        return SearchAnswer(hits, not hits, date_from, date_to)

    async def _close_enough(
        self,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        words: list[str],
        mode: Mode,
    ) -> bool:
        if dense and dense[0][1] >= self._settings.search.min_similarity:
            return True
        if mode == "dense" or not keyword:
            return False
        if mode == "keyword":  # the keyword-only baseline has no similarity to judge by
            return True
        # Dense search found nothing close: accept a keyword match that holds most of the
        # question's words (names the model does not know, e.g. "Karowe AK6").
        top = await self._store.events_by_ids([i for i, _ in keyword[:3]])
        return any(keyword_coverage(words, e) >= _STRONG_KEYWORD_SHARE for e in top)

    async def _window_hits(self, allowed: np.ndarray, k: int) -> tuple[Hit, ...]:
        days = self._index.days_of(allowed)
        ordered = [int(allowed[n]) for n in np.lexsort((allowed, days))[:k]]
        events = await self._store.events_by_ids(ordered)
        rrf_k = self._settings.search.rrf_k
        return tuple(
            Hit(e, 1.0 / (rrf_k + rank), None, None) for rank, e in enumerate(events, start=1)
        )
