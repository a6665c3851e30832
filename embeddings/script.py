"""Whether the embedding model can read a question's script, measured on the archive.

An English-only model (all-MiniLM-L6-v2) maps every Chinese text into one narrow cone: two
unrelated Chinese events have a cosine near 0.55 (English ones 0.11), any Chinese question is
at 0.55-0.83 from every event, and the relevance floor ``min_similarity`` means nothing. The
measure is the model's **background cosine** for a script: the mean cosine between unrelated
texts of that script (distinct events of the archive, sampled), measured once per searcher and
script (again after a refresh while the archive had too few events of it). A multilingual
model gives Chinese a low background, like English, and keeps its dense side.

Only non-Latin scripts are measured: Latin-script questions (English) are taken as read, so
their answers are exactly those of plain hybrid search and cost no extra encoding.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import numpy as np

from archive.fts import CJK_RUN
from archive.store import Store
from embeddings.encoder import Encoder
from embeddings.text import event_text

CJK = "cjk"
# Texts encoded to measure a script's background: enough for a stable mean of 190 pairs.
SAMPLE_TEXTS = 20
# Events read to find them (a mixed archive may hold few of one script).
SAMPLE_EVENTS = 400
_SEED = 20151120  # the sample is the same on every run: the same answers for one archive


class _IdSource(Protocol):
    def ids_between(self, date_from: None, date_to: None) -> np.ndarray: ...


def question_script(text: str) -> str | None:
    """``CJK`` when most of ``text``'s letters are Chinese, Japanese or Korean characters,
    else None (Latin or other scripts, taken as read by the model)."""
    letters = sum(c.isalpha() for c in text)
    cjk = sum(len(run) for run in CJK_RUN.findall(text))
    return CJK if letters and cjk * 2 > letters else None


def background_cosine(vectors: np.ndarray) -> float:
    """Mean cosine between distinct rows of ``vectors`` (unit length)."""
    n = len(vectors)
    if n < 2:
        raise ValueError("need two vectors at least")
    total = vectors.sum(axis=0)
    pairs = float(total @ total) - float(np.einsum("ij,ij->", vectors, vectors))
    return pairs / (n * (n - 1))


class ScriptBackgrounds:
    """Per script, the model's background cosine over the archive's events (None when the
    archive holds too few events of that script to tell)."""

    def __init__(self, encoder: Encoder, store: Store) -> None:
        self._encoder = encoder
        self._store = store
        self._known: dict[str, float | None] = {}
        self._lock = asyncio.Lock()

    async def background(self, script: str, index: _IdSource) -> float | None:
        async with self._lock:
            if script not in self._known:
                self._known[script] = await self._measure(script, index)
            return self._known[script]

    def forget_unknown(self) -> None:
        """Measure again the scripts the archive had too few events of (after an ingest)."""
        self._known = {s: b for s, b in self._known.items() if b is not None}

    async def _measure(self, script: str, index: _IdSource) -> float | None:
        ids = index.ids_between(None, None)
        if len(ids) > SAMPLE_EVENTS:
            ids = np.random.default_rng(_SEED).choice(ids, SAMPLE_EVENTS, replace=False)
        events = await self._store.events_by_ids(sorted(int(i) for i in ids))
        texts = [t for t in map(event_text, events) if question_script(t) == script]
        if len(texts) < 4:
            return None
        vectors = await asyncio.to_thread(self._encoder.encode, texts[:SAMPLE_TEXTS])
        return background_cosine(np.asarray(vectors, dtype=np.float32))
