"""``VectorIndex``: a FAISS index whose ids are the store's event ids, saved atomically.

Two kinds, chosen by size (``choose_kind``):

- ``flat``: exact inner product (``IndexIDMap2`` over ``IndexFlatIP``), 1.5 KB per event at
  384 dimensions. Used up to ``ann_threshold`` events (default 50,000: a flat scan of 50k
  vectors takes about 7 ms on 2 cores, so exactness costs nothing there).
- ``ivf-sq8``: approximate, an inverted file of ``4 * sqrt(n)`` lists with 8-bit scalar
  quantised vectors (384 bytes per event, a quarter of flat), searching ``nprobe`` lists. It
  supports deletion, so incremental indexing works the same way as for flat.

On disk (``index_dir``): ``vectors-<token>.faiss``, ``entries-<token>.npy`` and ``meta.json``.
The entries table holds, per event id, the event's date (for date filters), the store's content
hash and the hash of the embedded text (a compact array: 68 bytes per event, so a million-event
index loads without a million Python objects). ``meta.json`` holds the model name, the encoder
variant that made the vectors (``onnx-int8``, ``torch-fp32``, ...), dimension, index kind and
count, and names the two files with a checksum of each (BLAKE2b): ``load`` verifies them, so a
damaged file is reported (and rebuilt by indexing), never served. Vectors that are not finite
(NaN, inf) are refused by ``add``. Saving writes new data files, then replaces
``meta.json``; each write goes to a temporary file that is fsynced and moved into place with
``os.replace``. ``meta.json`` is the commit point: a crash at any moment leaves the previous
set (or the new one) loadable.

Serving loads with ``mapped=True``: an approximate index's inverted lists (nearly all of its
bytes) are then memory-mapped read-only from the vectors file instead of read into memory, so
only the pages of the lists a search probes are resident (and the kernel can drop them again).
Such an index is ``read_only``: ``add``/``remove``/``update_entries`` refuse, and ``copy()``
gives a writable in-memory copy to update (the mapped file is never written). A flat index is
always read into memory (FAISS can't map it; it is at most ``ann_threshold`` events).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import io
import json
import math
import mmap
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import _lazy

META_FILE = "meta.json"
FORMAT_VERSION = 2
FLAT = "flat"
IVF_SQ8 = "ivf-sq8"
# A date filter that keeps less than this share of an approximate index is searched
# exhaustively (all lists probed, only the allowed ids scored): exact and still fast.
_SELECTIVE_SHARE = 0.05
# A mapped index searches all of its lists in this many slices (see _search_all_lists_in_parts).
_PARTS = 16


_TABLE = np.dtype([("id", "<i8"), ("day", "<i4"), ("content", "S32"), ("text", "S24")])


class IndexUnreadable(Exception):
    """The files in the index folder can't be used (damaged, wrong format): rebuild."""


class IndexLocationError(Exception):
    """The index folder's path can't hold an index (e.g. it is a file): the operator must act."""


# Variant recorded for indexes saved before meta.json named one: they were all torch-built.
LEGACY_VARIANT = "torch-fp32"


def file_checksum(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def check_location(directory: Path) -> None:
    """Raise ``IndexLocationError`` when ``directory`` exists but is not a folder."""
    if directory.exists() and not directory.is_dir():
        raise IndexLocationError(
            f"the index path {directory} is a file, not a folder: move it away (or set"
            " [storage] dir to another folder) and run `dateline index`"
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """What the index knows about one event: enough to tell whether it is still current."""

    content_hash: str
    text_hash: str
    day: int  # the event's date as a proleptic ordinal, for date filters


def choose_kind(count: int, ann_threshold: int) -> str:
    """Exact search up to ``ann_threshold`` events, approximate above."""
    return FLAT if count <= ann_threshold else IVF_SQ8


def ivf_lists(count: int) -> int:
    """Number of inverted lists for ``count`` vectors: about 4 * sqrt(n), with at least 39
    vectors per list to train on (faiss' minimum for a meaningful k-means)."""
    return max(1, min(int(4 * math.sqrt(count)), count // 39))


def default_nprobe(nlist: int) -> int:
    """Lists searched per query: 1/32 of them, at least 8."""
    return min(nlist, max(8, nlist // 32))


class FlatLayout:
    """Where each id's vector lives in a flat FAISS index (``IndexIDMap2`` over
    ``IndexFlat``): vectors are read in place, a binary search per id, no copy of the index."""

    def __init__(self, faiss_index: object) -> None:
        faiss = _lazy.faiss()
        self._owner = faiss_index  # held, so its identity can't be reused while cached
        self._count = int(faiss_index.ntotal)  # type: ignore[attr-defined]
        id_map = faiss.vector_to_array(faiss_index.id_map).astype(np.int64)  # type: ignore[attr-defined]
        self._order = np.argsort(id_map, kind="stable")
        self._ids = id_map[self._order]
        flat = faiss.downcast_index(faiss_index.index)  # type: ignore[attr-defined]
        size = self._count * int(flat.d)
        data = faiss.rev_swig_ptr(flat.get_xb(), size) if size else np.zeros(0, np.float32)
        self._vectors = np.asarray(data).reshape(self._count, int(flat.d))

    def describes(self, faiss_index: object) -> bool:
        """Still true of ``faiss_index`` (the same object, nothing added or removed)."""
        return faiss_index is self._owner and int(faiss_index.ntotal) == self._count  # type: ignore[attr-defined]

    def find(self, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those of ``ids`` the index holds (sorted, each once)."""
        wanted = np.unique(np.asarray(ids, dtype=np.int64))
        if len(self._ids) == 0 or len(wanted) == 0:
            return wanted[:0], np.zeros((0, self._vectors.shape[1]), dtype=np.float32)
        at = np.minimum(np.searchsorted(self._ids, wanted), len(self._ids) - 1)
        held = self._ids[at] == wanted
        return wanted[held], self._vectors[self._order[at[held]]]


class VectorIndex:
    """Vectors of events, searchable by inner product; mutable, not thread-safe for writes."""

    def __init__(
        self,
        index: Any,
        *,
        model: str,
        dimension: int,
        kind: str,
        entries: Mapping[int, Entry] | None = None,
        table: np.ndarray | None = None,
        variant: str = LEGACY_VARIANT,
        checksummed: bool = True,
        read_only: bool = False,
    ) -> None:
        self._index = index
        # True for an index whose inverted lists are memory-mapped from its file (``load``
        # with ``mapped=True``): searchable, never changed; ``copy()`` to update.
        self.read_only = read_only
        self._mapping = _mapped_range(index) if read_only else None
        self.model = model
        self.variant = variant
        # False for an index loaded from files saved without checksums: save it again.
        self.checksummed = checksummed
        self.dimension = dimension
        self.kind = kind
        # Entries live in a sorted structured array (``_TABLE``) until something needs them as
        # a dict (indexing); then the dict is the truth and the table a cache rebuilt on demand.
        self._entries: dict[int, Entry] | None = dict(entries) if entries is not None else None
        self._table: np.ndarray | None = table if entries is None else None
        if self._entries is None and self._table is None:
            self._entries = {}
        self.nprobe = default_nprobe(index.nlist) if kind == IVF_SQ8 else 0
        self._layout: FlatLayout | None = None  # where a flat index keeps each id's vector

    @property
    def entries(self) -> dict[int, Entry]:
        """Per event id: its hashes and date. Change it only through this class's methods."""
        if self._entries is None:
            assert self._table is not None
            self._entries = {
                int(i): Entry(c.decode(), t.decode(), int(d)) for i, d, c, t in self._table.tolist()
            }
        return self._entries

    def _current_table(self) -> np.ndarray:
        if self._table is None:
            entries = self.entries
            table = np.zeros(len(entries), dtype=_TABLE)
            ids = sorted(entries)
            table["id"] = ids
            table["day"] = [entries[i].day for i in ids]
            table["content"] = [entries[i].content_hash.encode() for i in ids]
            table["text"] = [entries[i].text_hash.encode() for i in ids]
            self._table = table
        return self._table

    # ----- construction ---------------------------------------------------------------

    @classmethod
    def empty_flat(
        cls, model: str, dimension: int, *, variant: str = LEGACY_VARIANT
    ) -> VectorIndex:
        faiss = _lazy.faiss()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        return cls(index, model=model, dimension=dimension, kind=FLAT, entries={}, variant=variant)

    @classmethod
    def trained_ivf(
        cls,
        model: str,
        sample: np.ndarray,
        nlist: int,
        *,
        seed: int = 1234,
        variant: str = LEGACY_VARIANT,
    ) -> VectorIndex:
        """An empty approximate index whose lists and quantiser are trained on ``sample``."""
        faiss = _lazy.faiss()
        dimension = sample.shape[1]
        index = faiss.index_factory(dimension, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(
            index, model=model, dimension=dimension, kind=IVF_SQ8, entries={}, variant=variant
        )

    @classmethod
    def build(
        cls,
        model: str,
        ids: np.ndarray,
        vectors: np.ndarray,
        entries: Mapping[int, Entry],
        *,
        kind: str,
        variant: str = LEGACY_VARIANT,
    ) -> VectorIndex:
        """An index of ``kind`` holding exactly ``vectors`` under ``ids``."""
        if kind == FLAT:
            result = cls.empty_flat(model, vectors.shape[1], variant=variant)
        else:
            nlist = ivf_lists(len(ids))
            rng = np.random.default_rng(0)
            take = min(len(ids), 40 * nlist)
            sample = vectors[np.sort(rng.choice(len(ids), size=take, replace=False))]
            result = cls.trained_ivf(model, sample, nlist, variant=variant)
        result.add(ids, vectors, entries)
        return result

    def copy(self) -> VectorIndex:
        """An independent, writable copy (the FAISS index cloned in memory, also from a
        memory-mapped one): update it while readers keep searching this one."""
        faiss = _lazy.faiss()
        copied = VectorIndex(
            _writable_ivf(self._index) if self.read_only else faiss.clone_index(self._index),
            model=self.model,
            dimension=self.dimension,
            kind=self.kind,
            entries=self._entries,  # copied by the constructor
            table=self._table,  # never changed in place: replaced when entries change
        )
        copied.nprobe = self.nprobe
        copied.variant, copied.checksummed = self.variant, self.checksummed
        return copied

    def _check_writable(self) -> None:
        if self.read_only:
            raise ValueError("this index is memory-mapped read-only: update a copy() of it")

    # ----- contents -------------------------------------------------------------------

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def faiss_index(self) -> Any:
        return self._index

    def add(self, ids: np.ndarray, vectors: np.ndarray, entries: Mapping[int, Entry]) -> None:
        """Add (or replace) the vectors of ``ids``; ``entries`` describes them."""
        self._check_writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(
                f"vectors of shape {vectors.shape}, want ({len(ids)}, {self.dimension})"
            )
        if not np.isfinite(vectors).all():
            raise ValueError("vectors with NaN or infinite values are never indexed")
        self.remove(int(i) for i in ids if int(i) in self.entries)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.entries.update(entries)
        self._table = None

    def update_entries(self, entries: Mapping[int, Entry]) -> None:
        """Record new hashes or dates for events whose embedded text did not change."""
        if entries:
            self._check_writable()
            self.entries.update(entries)
            self._table = None

    def ids_between(self, date_from: dt.date | None, date_to: dt.date | None) -> np.ndarray:
        """Ids of the indexed events dated within [date_from, date_to] (either end open)."""
        table = self._current_table()
        ids, days = table["id"], table["day"]
        keep = np.ones(len(ids), dtype=bool)
        if date_from is not None:
            keep &= days >= date_from.toordinal()
        if date_to is not None:
            keep &= days <= date_to.toordinal()
        return ids[keep]

    def days_of(self, ids: np.ndarray) -> np.ndarray:
        """Date ordinals of indexed ``ids`` (each must be in the index)."""
        table = self._current_table()
        return table["day"][np.searchsorted(table["id"], ids)]

    def changes(self, hashes: Mapping[int, str]) -> tuple[list[int], list[int]]:
        """(ids indexed but not in ``hashes``, ids of ``hashes`` not indexed or indexed with
        another content hash), both sorted: computed on the entries table, so a loaded
        million-event index never builds a million ``Entry`` objects to find nothing to do."""
        if self._entries is not None:
            entries = self._entries
            gone = sorted(i for i in entries if i not in hashes)
            pending = sorted(
                i for i, digest in hashes.items()
                if i not in entries or entries[i].content_hash != digest
            )  # fmt: skip
            return gone, pending
        table = self._current_table()
        wanted_ids = np.fromiter(hashes.keys(), dtype=np.int64, count=len(hashes))
        wanted = np.array(list(hashes.values()), dtype="S32") if hashes else np.zeros(0, "S32")
        order = np.argsort(wanted_ids)
        wanted_ids, wanted = wanted_ids[order], wanted[order]
        known = np.isin(table["id"], wanted_ids, assume_unique=True)
        missing = table["id"][~known]
        at = np.searchsorted(table["id"], wanted_ids).clip(max=max(len(table) - 1, 0))
        same = np.zeros(len(wanted_ids), dtype=bool)
        if len(table):
            same = (table["id"][at] == wanted_ids) & (table["content"][at] == wanted)
        # A hash longer than the table keeps is compared whole: never taken as unchanged.
        long = np.fromiter((len(h) > 32 for h in hashes.values()), dtype=bool, count=len(hashes))
        same &= ~long[order]
        return missing.tolist(), wanted_ids[~same].tolist()

    def remove(self, ids: Iterable[int]) -> int:
        wanted = np.array(sorted(set(ids)), dtype=np.int64)
        if len(wanted) == 0:
            return 0
        self._check_writable()
        faiss = _lazy.faiss()
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(wanted)))
        for event_id in wanted:
            self.entries.pop(int(event_id), None)
        self._table = None
        return removed

    def stored_vectors(
        self, ids: Sequence[int] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, vectors) of those of ``ids`` a flat index holds, read in place (no copy of
        the index); None for an approximate index, which keeps no exact vectors."""
        if self.kind != FLAT:
            return None
        layout = self._layout
        if layout is None or not layout.describes(self._index):
            layout = self._layout = FlatLayout(self._index)
        return layout.find(ids)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of a flat index, e.g. to rebuild it as another kind."""
        if self.kind != FLAT:
            raise ValueError("vectors are only kept exactly by the flat index")
        faiss = _lazy.faiss()
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vectors = self._index.index.reconstruct_n(0, self.count)
        return ids, np.asarray(vectors, dtype=np.float32)

    # ----- search ---------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` (event id, inner product) for one query vector, optionally only among
        ``allowed`` ids."""
        if self.count == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        faiss = _lazy.faiss()
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        if self.kind == IVF_SQ8:
            nprobe = self.nprobe
            if allowed is not None and len(allowed) < _SELECTIVE_SHARE * self.count:
                if self._mapping is not None:
                    return self._search_all_lists_in_parts(query, min(k, self.count), selector)
                nprobe = self._index.nlist
            params: Any = faiss.SearchParametersIVF(nprobe=nprobe)
            if selector is not None:
                params.sel = selector
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self._index.search(query, min(k, self.count), params=params)
        if self._mapping is not None:
            _drop_pages(*self._mapping)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _search_all_lists_in_parts(
        self, query: np.ndarray, k: int, selector: Any
    ) -> list[tuple[int, float]]:
        """Probe every list of a mapped index, ``_PARTS`` slices of lists at a time with the
        touched pages dropped after each: one exhaustive search would otherwise make the whole
        index resident at once."""
        faiss = _lazy.faiss()
        assert self._mapping is not None
        nlist = self._index.nlist
        coarse_scores, coarse_lists = self._index.quantizer.search(query, nlist)
        step = -(-nlist // _PARTS)
        scores, ids = [], []
        for start in range(0, nlist, step):
            lists = np.ascontiguousarray(coarse_lists[:, start : start + step], dtype=np.int64)
            centroid = np.ascontiguousarray(coarse_scores[:, start : start + step])
            params = faiss.SearchParametersIVF(nprobe=lists.shape[1])
            params.sel = selector
            part_scores = np.empty((1, k), dtype=np.float32)
            part_ids = np.empty((1, k), dtype=np.int64)
            self._index.search_preassigned_c(
                1, faiss.swig_ptr(query), k, faiss.swig_ptr(lists), faiss.swig_ptr(centroid),
                faiss.swig_ptr(part_scores), faiss.swig_ptr(part_ids), False, params,
            )  # fmt: skip
            _drop_pages(*self._mapping)
            scores.append(part_scores[0])
            ids.append(part_ids[0])
        all_scores, all_ids = np.concatenate(scores), np.concatenate(ids)
        best = np.argsort(-all_scores, kind="stable")[:k]
        return [(int(all_ids[i]), float(all_scores[i])) for i in best if all_ids[i] >= 0]

    # ----- files ----------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write atomically: a new vectors file, then ``meta.json`` naming it (the commit)."""
        faiss = _lazy.faiss()
        # A mapped index is written from an in-memory copy of its lists (never as a mapping).
        source = _writable_ivf(self._index) if self.read_only else self._index
        check_location(directory)
        directory.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(6)
        vectors_name, entries_name = f"vectors-{token}.faiss", f"entries-{token}.npy"
        temporary = directory / f".{vectors_name}.tmp"
        faiss.write_index(source, str(temporary))
        del source
        _fsync_file(temporary)
        vectors_sum = file_checksum(temporary)
        os.replace(temporary, directory / vectors_name)
        buffer = io.BytesIO()
        np.save(buffer, self._current_table(), allow_pickle=False)
        entries_bytes = buffer.getvalue()
        write_atomically(directory / entries_name, entries_bytes)
        meta = {
            "format": FORMAT_VERSION,
            "model": self.model,
            "variant": self.variant,
            "dimension": self.dimension,
            "kind": self.kind,
            "count": self.count,
            "vectors_file": vectors_name,
            "entries_file": entries_name,
            "checksums": {
                vectors_name: vectors_sum,
                entries_name: hashlib.blake2b(entries_bytes, digest_size=16).hexdigest(),
            },
        }
        write_atomically(directory / META_FILE, json.dumps(meta).encode("utf-8"))
        _fsync_dir(directory)
        for stale in [*directory.glob("vectors-*.faiss"), *directory.glob("entries-*.npy")]:
            if stale.name not in (vectors_name, entries_name):
                stale.unlink(missing_ok=True)
        for leftover in directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        self.checksummed = True

    @classmethod
    def load(cls, directory: Path, *, mapped: bool = False) -> VectorIndex | None:
        """The saved index, or None when there is none; IndexUnreadable when it is damaged
        (including a file whose checksum differs from the one ``meta.json`` recorded);
        IndexLocationError when ``directory`` is a file. ``mapped``: an approximate index's
        lists are memory-mapped read-only (for serving; see the module's doc)."""
        check_location(directory)
        meta_path = directory / META_FILE
        if not meta_path.exists():
            return None
        faiss = _lazy.faiss()
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise IndexUnreadable(f"{meta_path} is not a JSON object")
            if meta.get("format") != FORMAT_VERSION:
                raise IndexUnreadable(f"index format {meta.get('format')!r} is not supported")
            checksums = meta.get("checksums")
            if checksums is not None and not isinstance(checksums, dict):
                raise IndexUnreadable(f"{meta_path} has no valid checksums")
            for key in ("vectors_file", "entries_file"):
                name = str(meta[key])
                if checksums is not None and file_checksum(directory / name) != checksums.get(name):
                    raise IndexUnreadable(
                        f"{directory / name} is damaged (its checksum does not match)"
                    )
            flags = 0
            if mapped and meta.get("kind") == IVF_SQ8:
                flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
            index = faiss.read_index(str(directory / meta["vectors_file"]), flags)
            table = np.load(directory / meta["entries_file"], allow_pickle=False)
            dimension = int(meta["dimension"])
            model, kind = str(meta["model"]), str(meta["kind"])
            variant = str(meta.get("variant", LEGACY_VARIANT))
        except IndexUnreadable:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexUnreadable(f"can't read the index in {directory}: {exc}") from exc
        if (
            index.d != dimension
            or table.dtype != _TABLE
            or index.ntotal != len(table)
            or kind not in (FLAT, IVF_SQ8)
        ):
            raise IndexUnreadable(f"the index in {directory} does not match its metadata")
        return cls(
            index, model=model, dimension=dimension, kind=kind, table=table, variant=variant,
            checksummed=checksums is not None, read_only=flags != 0,
        )  # fmt: skip


def _mapped_range(index: Any) -> tuple[int, int] | None:
    """(address, length) of a mapped index's lists, page-aligned; None if not known."""
    try:
        lists = _lazy.faiss().downcast_InvertedLists(index.invlists)
        address, length = int(lists.ptr), int(lists.totsize)
    except (AttributeError, TypeError, ValueError):
        return None
    start = address - address % mmap.PAGESIZE
    return start, length + (address - start)


_libc: Any = None


def _drop_pages(address: int, length: int) -> None:
    """Tell the kernel this process no longer needs the mapped pages a search touched
    (``MADV_DONTNEED``): they leave the process's resident set, stay in the page cache, and
    the next search that needs one maps it again from there (a minor fault, no disk read).
    Without it a served index becomes resident list by list until all of it is. Best effort:
    nothing happens where ``madvise`` isn't available."""
    global _libc
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None:
        return
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.madvise(address, length, advice)


def _writable_ivf(mapped: Any) -> Any:
    """An in-memory copy of an IVF-SQ8 index whose lists are memory-mapped: FAISS can't clone
    mapped lists, so they are copied list by list into ordinary ones."""
    faiss = _lazy.faiss()
    source = mapped.invlists
    lists = faiss.ArrayInvertedLists(mapped.nlist, mapped.code_size)
    for number in range(mapped.nlist):
        size = source.list_size(number)
        if size:
            lists.add_entries(number, size, source.get_ids(number), source.get_codes(number))
    copied = faiss.IndexIVFScalarQuantizer(
        faiss.clone_index(mapped.quantizer), mapped.d, mapped.nlist, mapped.sq.qtype,
        mapped.metric_type,
    )  # fmt: skip
    copied.sq = mapped.sq
    copied.by_residual = mapped.by_residual
    copied.is_trained = True
    copied.replace_invlists(lists, True)
    lists.this.disown()  # owned by ``copied`` now
    copied.ntotal = mapped.ntotal
    copied.nprobe = mapped.nprobe
    return copied


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
