"""Hybrid search for ``/ask``: dense (FAISS) and keyword (FTS5 BM25) candidates, fused.

Production::

    async with Store.open(settings.storage.database) as store:
        searcher = await Searcher.load(   # loads the model, syncs the index
            settings.storage.index_dir, settings.embeddings, settings.search, store
        )
        answer = await searcher.ask("Russian cruise missiles fired from the Caspian Sea")

Tests: ``await Searcher.load(index_dir, embedding, search, store, FakeEncoder())`` (the index
is built or updated for the store in ``index_dir``). Only the settings slices of this layer
(``embeddings.settings``) are taken, never the composed ``Settings``.

How a question is answered:

1. Dates are understood (``embeddings.dates``) and removed from the text; with the explicit
   ``date_from``/``date_to`` (which win) they filter both retrievers.
2. The text is encoded and searched in the vector index (in a worker thread), and searched in
   the store's FTS5 table; each gives ``SearchSettings.candidates`` candidates.
3. Relevance floor: if the best dense cosine is below ``min_similarity`` and no keyword
   candidate contains most of the question's words, the answer is "nothing close". Dense
   candidates below the floor are dropped unless the keyword side found them too.
4. The two rankings are fused by reciprocal rank fusion; the best ``k`` events are returned.

When the model can't read the question's script (``embeddings.script``: the mean cosine it
gives two unrelated texts of that script, measured once on the archive's own events, already
clears ``min_similarity``), its cosines say nothing for that question: hybrid search ranks by
the keyword side alone, and the floor is the keyword one, with the share made for CJK bigrams
(``_STRONG_BIGRAM_SHARE``).

A question that is only a date ("What happened on 20 November 2015?") lists the events of that
window in date order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from archive.fts import CJK_RUN, folded_words, fts_terms
from archive.models import Event
from archive.store import Store
from embeddings.dates import understand_dates
from embeddings.encoder import Encoder, load_encoder
from embeddings.fusion import reciprocal_rank_fusion
from embeddings.index import META_FILE, VectorIndex
from embeddings.indexing import IndexProgress, IndexReport, update_index
from embeddings.script import ScriptBackgrounds, question_script
from embeddings.settings import EmbeddingSettings, SearchSettings
from embeddings.text import event_text

Mode = Literal["hybrid", "dense", "keyword"]
# A keyword candidate is a strong match when its text holds this share of the question's words.
STRONG_KEYWORD_SHARE = 0.75
# The same for a mostly-CJK question when its dense side carries no information: bigrams that
# straddle two words or differ between simplified and traditional characters ("克莱斯勒" /
# "克萊斯勒") don't occur in a right answer's text, so half of them is the bar.
_STRONG_BIGRAM_SHARE = 0.5


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


def keyword_coverage(question_words: list[str], event: Event) -> float:
    """Share of ``question_words`` (``archive.fts.fts_terms``, the keyword search's own terms)
    that occur in the event's embedded text, read the same way."""
    if not question_words:
        return 0.0
    text = event_text(event)
    present = set(folded_words(text))

    def found(word: str) -> bool:
        # A Chinese bigram may span two words of the question (北京地震 -> 京地): it counts
        # when both its characters occur in the event's text.
        return word in present or (
            len(word) == 2 and CJK_RUN.fullmatch(word) is not None and all(c in text for c in word)
        )

    return sum(found(w) for w in question_words) / len(question_words)


def keyword_matches(
    words: list[str], events: Sequence[Event], share: float = STRONG_KEYWORD_SHARE
) -> set[int]:
    """Ids of the ``events`` whose text holds at least ``share`` of ``words`` (the keyword
    half of the relevance floor)."""
    return {e.id for e in events if words and keyword_coverage(words, e) >= share}


class Searcher:
    """Answers questions over one store and its vector index. Safe to share across tasks."""

    def __init__(
        self,
        settings: SearchSettings,
        store: Store,
        encoder: Encoder,
        index: VectorIndex,
        *,
        index_dir: Path,
        embedding: EmbeddingSettings,
    ) -> None:
        self._settings = settings
        self._index_dir = index_dir
        self._embedding = embedding
        self._store = store
        self._encoder = encoder
        self._index = index
        self._refreshing = asyncio.Lock()
        self._editions: dict[str, np.ndarray] = {}  # ids per edition, as of the last sync
        # The index files' and the store's versions as of the last sync (changed_elsewhere).
        self._seen: tuple[tuple[int, int, int] | None, int] = (None, -1)
        # Per script, the model's mean cosine between unrelated texts (measured lazily).
        self._backgrounds = ScriptBackgrounds(encoder, store)

    @classmethod
    async def load(
        cls,
        index_dir: Path,
        embedding: EmbeddingSettings,
        settings: SearchSettings,
        store: Store,
        encoder: Encoder | None = None,
        *,
        progress: IndexProgress | None = None,
        models: Path | None = None,
    ) -> Searcher:
        """Load the model (unless ``encoder`` is given) and the index, bringing the index in
        line with the store first (embedding what is new or changed); blocking work runs in a
        thread. ``progress`` is told about that indexing (a rebuild, a progress bar)."""
        if encoder is None:
            # ONNX exports are cached in the storage folder's models/, beside index/.
            models = models or index_dir.parent / "models"
            encoder = await asyncio.to_thread(load_encoder, embedding, models)
        callbacks = progress.callbacks() if progress else {}
        index, _ = await update_index(
            index_dir,
            embedding,
            store,
            encoder,
            progress=callbacks.get("progress"),
            on_total=callbacks.get("on_total"),
            on_rebuild=callbacks.get("on_rebuild"),
            mapped=True,  # serving: an approximate index's lists stay on disk, mapped
        )
        searcher = cls(settings, store, encoder, index, index_dir=index_dir, embedding=embedding)
        searcher._seen = await searcher._sources_version()
        return searcher

    @property
    def index(self) -> VectorIndex:
        return self._index

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    async def refresh(self) -> IndexReport:
        """Re-sync the index with the store (after an ingest while the bot runs).

        The new index is built aside (a copy of the one in memory, or the saved one when
        another process rewrote it; updated, saved) and swapped in with one assignment: a
        question asked meanwhile is answered from the old index, whole."""
        async with self._refreshing:
            token, _ = await self._sources_version()
            ours = token is not None and token == self._seen[0]
            index, report = await update_index(
                self._index_dir, self._embedding, self._store, self._encoder,
                base=self._index if ours else None, mapped=True,
            )  # fmt: skip
            self._index = index  # the swap
            self._editions = {}
            self._backgrounds.forget_unknown()
            self._seen = await self._sources_version()
            return report

    async def _sources_version(self) -> tuple[tuple[int, int, int] | None, int]:
        try:
            meta = (self._index_dir / META_FILE).stat()
            token: tuple[int, int, int] | None = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
        except OSError:
            token = None
        return token, await self._store.data_version()

    async def _edition_ids(self, lang: str) -> np.ndarray:
        ids = self._editions.get(lang)
        if ids is None:
            ids = np.array(await self._store.event_ids(lang), dtype=np.int64)
            self._editions[lang] = ids
        return ids

    async def changed_elsewhere(self) -> bool:
        """True when another process rewrote the index files (``meta.json``, the commit point
        of a save) or committed to the database since this searcher last synced."""
        return await self._sources_version() != self._seen

    async def reload_if_changed(self) -> IndexReport | None:
        """``refresh`` if another process changed the index or the store; else None."""
        if not await self.changed_elsewhere():
            return None
        return await self.refresh()

    async def matching(self, query: str, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` match ``query`` by the relevance floor of ``ask``: a dense cosine
        of at least ``min_similarity``, or a keyword match holding most of the query's words
        (a news feed's filter)."""
        if not ids:
            return set()
        index = self._index
        allowed = np.array(sorted(set(ids)), dtype=np.int64)
        words = fts_terms(query)
        found: set[int] = set()
        share = STRONG_KEYWORD_SHARE
        if await self._dense_informative(query, index):
            vector = await asyncio.to_thread(self._encoder.encode_query, query)
            dense = await asyncio.to_thread(index.search, vector, len(allowed), allowed=allowed)
            found = {i for i, sim in dense if sim >= self._settings.min_similarity}
        else:
            share = _STRONG_BIGRAM_SHARE
        if words:
            events = await self._store.events_by_ids([int(i) for i in allowed if i not in found])
            found |= keyword_matches(words, events, share)
        return found

    async def _dense_informative(self, text: str, index: VectorIndex) -> bool:
        """False when the model's cosines carry no information for ``text``: its script is one
        where unrelated texts already reach ``min_similarity`` on average."""
        script = question_script(text)
        if script is None:
            return True
        background = await self._backgrounds.background(script, index)
        return background is None or background < self._settings.min_similarity

    def _dense(
        self, index: VectorIndex, text: str, limit: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        vector = self._encoder.encode_query(text)
        return index.search(vector, limit, allowed=allowed)

    async def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        mode: Mode = "hybrid",
        lang: str | None = None,
    ) -> SearchAnswer:
        """The events that answer ``question``, best first (see the module docstring).

        ``mode`` "dense" or "keyword" uses one retriever only (for the evaluation); ``lang``
        keeps one edition only (a server's ``/dateline edition``)."""
        search = self._settings
        index = self._index  # one index for the whole answer, even if a refresh swaps it
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
            allowed = index.ids_between(date_from, date_to)
            if len(allowed) == 0:
                return empty(True)
        if lang:
            edition = await self._edition_ids(lang)
            allowed = edition if allowed is None else np.intersect1d(allowed, edition)
            if len(allowed) == 0:
                return empty(True)
        words = fts_terms(text)
        if not words:
            if allowed is None:
                return empty(True)
            return SearchAnswer(
                await self._window_hits(index, allowed, k), False, date_from, date_to
            )

        async def no_candidates() -> list[tuple[int, float]]:
            return []

        # Hybrid search for a question in a script the model can't read is keyword search
        # with a floor of its own (see the module docstring).
        blind = mode == "hybrid" and not await self._dense_informative(text, index)
        # Both retrievers at once: encoding and FAISS in a worker thread, FTS5 on the
        # store's connection thread.
        dense, keyword = await asyncio.gather(
            asyncio.to_thread(self._dense, index, text, search.candidates, allowed)
            if mode != "keyword" and not blind
            else no_candidates(),
            self._store.search_text(
                text, limit=search.candidates, date_from=date_from, date_to=date_to, lang=lang
            )
            if mode != "dense"
            else no_candidates(),
        )
        if not await self._close_enough(dense, keyword, words, mode, blind=blind):
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
        *,
        blind: bool = False,
    ) -> bool:
        if dense and dense[0][1] >= self._settings.min_similarity:
            return True
        if mode == "dense" or not keyword:
            return False
        if mode == "keyword":  # the keyword-only baseline has no similarity to judge by
            return True
        # Dense search found nothing close: accept a keyword match that holds most of the
        # question's words (names the model does not know, e.g. "Karowe AK6").
        # With a blind dense side, the bar is the one made for CJK bigrams.
        share = _STRONG_BIGRAM_SHARE if blind else STRONG_KEYWORD_SHARE
        top = await self._store.events_by_ids([i for i, _ in keyword[:3]])
        return any(keyword_coverage(words, e) >= share for e in top)

    async def _window_hits(
        self, index: VectorIndex, allowed: np.ndarray, k: int
    ) -> tuple[Hit, ...]:
        days = index.days_of(allowed)
        ordered = [int(allowed[n]) for n in np.lexsort((allowed, days))[:k]]
        events = await self._store.events_by_ids(ordered)
        rrf_k = self._settings.rrf_k
        return tuple(
            Hit(e, 1.0 / (rrf_k + rank), None, None) for rank, e in enumerate(events, start=1)
        )
