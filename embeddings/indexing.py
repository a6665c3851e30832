"""Bring the vector index in line with the store: incremental, resumable.

``await update_index(index_dir, settings, store, encoder)`` (``settings``: the
``EmbeddingSettings`` slice) compares the saved index with the store and
embeds only events that are new or whose embedded text changed (``embeddings.text``), drops
events the store no longer has, and saves. The index is also rebuilt from scratch when it was
made by another model, dimension or encoder variant (vectors of the ONNX int8 and the torch
encoders are never mixed in one index), or can't be read (damaged files fail their checksum).
``on_rebuild(reason)`` is told before a rebuild starts, so a terminal can say why it waits.
An event whose vector comes out NaN or infinite is left out (counted in ``failed``) rather than
written. Events are read in chunks of
``checkpoint_batches`` batches, embedded in batches of similar text length, and the index is
saved after each chunk, so an interrupted run resumes where its last checkpoint left off:
finished batches are not embedded again.

For tests: ``index = await build_index(index_dir, settings, store, FakeEncoder())`` indexes
a store (into ``index_dir``) and returns the ``VectorIndex``; ``Searcher`` can then be built
with ``Searcher.load(index_dir, settings, search_settings, store, FakeEncoder())``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from archive.store import Store
from embeddings.encoder import Encoder
from embeddings.index import (
    FLAT,
    IVF_SQ8,
    META_FILE,
    Entry,
    IndexUnreadable,
    VectorIndex,
    choose_kind,
)
from embeddings.settings import EmbeddingSettings
from embeddings.text import MAX_EMBEDDED_CHARS, event_text, is_cut, text_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexReport:
    embedded: int  # events whose text was embedded in this run
    refreshed: int  # changed in the store, but their embedded text is the same
    removed: int
    unchanged: int
    failed: int  # events left out because their vector was not finite
    total: int  # events in the index afterwards
    kind: str
    rebuilt_because: str | None  # why the saved index was thrown away, if it was
    seconds: float

    def summary(self) -> str:
        rate = self.embedded / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"index: {self.total} events ({self.kind}); {self.embedded} embedded"
            f" ({rate:.0f} events/s), {self.refreshed} refreshed, {self.removed} removed,"
            f" {self.unchanged} unchanged"
            + (f", {self.failed} left out (vector not finite)" if self.failed else "")
        ]
        if self.rebuilt_because:
            lines.append(f"rebuilt from scratch: {self.rebuilt_because}")
        return "\n".join(lines)


class IndexProgress(Protocol):
    """Something that shows indexing to a person (a terminal bar): ``callbacks()`` gives the
    keyword arguments ``update_index`` takes (``progress``, ``on_total``, ``on_rebuild``)."""

    def callbacks(self) -> dict[str, Callable[..., None]]: ...


def _usable(index: VectorIndex, encoder: Encoder) -> str | None:
    """Why a saved index can't be reused with ``encoder``, or None if it can."""
    if index.model != encoder.model_name:
        return f"made with model {index.model!r}, configured model is {encoder.model_name!r}"
    if index.dimension != encoder.dimension:
        return f"dimension {index.dimension}, the encoder gives {encoder.dimension}"
    if index.variant != encoder.variant:
        return (
            f"made with the {index.variant} encoder, the configured encoder is"
            f" {encoder.variant}: embedding every event again"
        )
    return None


async def _load_or_start(
    directory: Path, encoder: Encoder, rebuild: bool, mapped: bool = False
) -> tuple[VectorIndex, str | None]:
    reason: str | None = "asked to rebuild" if rebuild else None
    saved: VectorIndex | None = None
    if not rebuild:
        try:
            saved = await asyncio.to_thread(VectorIndex.load, directory, mapped=mapped)
        except IndexUnreadable as exc:
            reason = str(exc)
        if saved is not None:
            reason = _usable(saved, encoder)
            if reason is None:
                return saved, None
    empty = VectorIndex.empty_flat(encoder.model_name, encoder.dimension, variant=encoder.variant)
    return empty, reason


async def update_index(
    index_dir: Path,
    settings: EmbeddingSettings,
    store: Store,
    encoder: Encoder,
    *,
    rebuild: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_rebuild: Callable[[str], None] | None = None,
    base: VectorIndex | None = None,
    mapped: bool = False,
) -> tuple[VectorIndex, IndexReport]:
    """Sync the saved index with ``store`` and save it; returns the index and what was done.

    ``on_rebuild(reason)`` is called when the saved index is thrown away, ``on_total(n)``
    once with the number of events to look at, ``progress(n)`` after each batch of ``n`` of
    them (for a progress bar). ``base``: the index as the caller holds it, the same as the
    saved one (``Searcher.refresh``): a copy of it is updated instead of reading the files
    again; ``base`` itself is never changed (it is returned as is when nothing changed).
    ``mapped`` (serving): the index returned is memory-mapped from the saved files when it is
    an approximate one (``VectorIndex.load(mapped=True)``); the work on it is done on an
    in-memory copy, saved, then mapped again.
    """
    started = time.perf_counter()
    directory = index_dir
    if base is not None and not rebuild and _usable(base, encoder) is None:
        index, rebuilt_because = base, None
    else:
        index, rebuilt_because = await _load_or_start(directory, encoder, rebuild, mapped)
    if rebuilt_because and on_rebuild:
        on_rebuild(rebuilt_because)
    elif rebuilt_because:
        log.warning("rebuilding the vector index: %s", rebuilt_because)
    hashes = await store.event_hashes()
    gone, pending = await asyncio.to_thread(index.changes, hashes)
    if (gone or pending or not index.checksummed) and (index is base or index.read_only):
        index = await asyncio.to_thread(index.copy)  # never write into base or a mapping
    removed = index.remove(gone)
    if on_total:
        on_total(len(pending))
    batch_size = max(1, settings.batch_size)
    chunk_size = batch_size * max(1, settings.checkpoint_batches)
    embedded = refreshed = failed = 0
    dirty = bool(removed) or rebuilt_because is not None or not index.checksummed
    for start in range(0, len(pending), chunk_size):
        events = await store.events_by_ids(pending[start : start + chunk_size])
        texts: list[str] = []
        new_entries: list[tuple[int, Entry]] = []
        same_text: dict[int, Entry] = {}
        for event in events:
            if is_cut(event):
                log.warning(
                    "%s: text cut to %d characters for embedding (headline + summary are %d)",
                    event.path, MAX_EMBEDDED_CHARS, len(event.headline) + len(event.summary),
                )  # fmt: skip
            text = event_text(event)
            entry = Entry(event.content_hash, text_hash(text), event.date.toordinal())
            known = index.entries.get(event.id)
            if known is not None and known.text_hash == entry.text_hash:
                same_text[event.id] = entry
            else:
                new_entries.append((event.id, entry))
                texts.append(text)
        index.update_entries(same_text)
        refreshed += len(same_text)
        if progress and same_text:
            progress(len(same_text))
        # Progress is counted in proportion to the work (``_cost``): batches run shortest
        # first within a chunk, so counting events would make a bar's ETA promise too much.
        chunk_cost = sum(_cost(t) for t in texts) or 1
        cost_done = reported = 0
        for batch in length_sorted_batches(texts, batch_size):
            batch_texts = list(batch)
            vectors = await asyncio.to_thread(encoder.encode, [texts[i] for i in batch])
            finite = np.isfinite(vectors).all(axis=1)
            if not finite.all():
                bad = [new_entries[batch[row]][0] for row in np.flatnonzero(~finite)]
                log.warning("events %s: their vectors are not finite; left out", bad)
                failed += len(bad)
                # An old vector of the event must not stay to answer for the new text either.
                index.remove(bad)
                batch = [i for i, ok in zip(batch, finite.tolist(), strict=True) if ok]
                vectors = vectors[finite]
            batch_entries = dict(new_entries[i] for i in batch)
            index.add(np.array(list(batch_entries), dtype=np.int64), vectors, batch_entries)
            embedded += len(batch)
            cost_done += sum(_cost(texts[i]) for i in batch_texts)
            advance = round(len(texts) * cost_done / chunk_cost) - reported
            reported += advance
            if progress and advance:
                progress(advance)
        # A checkpoint: a run stopped after this point starts again from the next chunk.
        await asyncio.to_thread(index.save, directory)
        dirty = False
    target = choose_kind(index.count, settings.ann_threshold)
    if index.kind == FLAT and target != FLAT:
        ids, vectors = index.all_vectors()
        index = await asyncio.to_thread(
            VectorIndex.build, index.model, ids, vectors, index.entries, kind=target,
            variant=index.variant,
        )  # fmt: skip
        dirty = True
    if dirty or not (directory / META_FILE).exists():
        await asyncio.to_thread(index.save, directory)
    if mapped and index.kind == IVF_SQ8 and not index.read_only:
        # Serve the saved files mapped; the in-memory copy built above is dropped.
        index = await asyncio.to_thread(_load_mapped, directory, index)
    report = IndexReport(
        embedded=embedded,
        refreshed=refreshed,
        removed=removed,
        unchanged=len(hashes) - len(pending),
        failed=failed,
        total=index.count,
        kind=index.kind,
        rebuilt_because=rebuilt_because,
        seconds=time.perf_counter() - started,
    )
    return index, report


def _load_mapped(directory: Path, written: VectorIndex) -> VectorIndex:
    """The index just saved in ``directory``, memory-mapped; ``written`` itself if the files
    no longer hold it (another process saved meanwhile: it stays to serve until the next
    refresh)."""
    try:
        loaded = VectorIndex.load(directory, mapped=True)
    except IndexUnreadable as exc:
        log.warning("serving the index from memory: %s", exc)
        return written
    if loaded is None or loaded.count != written.count or loaded.variant != written.variant:
        return written
    loaded.nprobe = written.nprobe
    return loaded


def _cost(text: str) -> int:
    """Rough encoding work of a text: its length up to what the model reads (256 pieces,
    about 1,200 characters), plus a fixed share per text."""
    return min(len(text), 1200) + 40


def length_sorted_batches(texts: list[str], batch_size: int) -> list[list[int]]:
    """Indexes of ``texts`` in batches of similar length: a batch is padded to its longest
    text, so mixing short and long texts wastes most of the encoder's time."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


async def build_index(
    index_dir: Path, settings: EmbeddingSettings, store: Store, encoder: Encoder
) -> VectorIndex:
    """Index every event of ``store`` (incrementally if an index is already saved)."""
    index, _ = await update_index(index_dir, settings, store, encoder)
    return index
