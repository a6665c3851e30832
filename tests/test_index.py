import datetime as dt
import json
import os

import numpy as np
import pytest

from embeddings import index as index_module
from embeddings.index import (
    FLAT,
    IVF_SQ8,
    META_FILE,
    Entry,
    IndexUnreadable,
    VectorIndex,
    choose_kind,
    ivf_lists,
)


def random_vectors(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def entries_for(ids, day=dt.date(2015, 11, 20)):
    return {int(i): Entry(f"c{i}", f"t{i}", day.toordinal() + int(i)) for i in ids}


def flat_index(n: int = 20, first_id: int = 100) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    vectors = random_vectors(n)
    index = VectorIndex.empty_flat("m", 16)
    index.add(ids, vectors, entries_for(ids))
    return index, ids, vectors


def test_flat_search_returns_event_ids_and_exact_cosines():
    index, ids, vectors = flat_index()
    hits = index.search(vectors[7], 3)
    assert hits[0][0] == ids[7]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = vectors @ vectors[7]
    expected = sorted(((float(s), int(i)) for i, s in zip(ids, scores, strict=True)), reverse=True)
    assert [i for i, _ in hits] == [i for _, i in expected[:3]]


def test_search_only_among_allowed_ids():
    index, ids, vectors = flat_index()
    allowed = ids[[2, 5]]
    hits = index.search(vectors[7], 5, allowed=allowed)
    assert sorted(i for i, _ in hits) == sorted(allowed.tolist())
    assert index.search(vectors[7], 5, allowed=np.array([], dtype=np.int64)) == []


def test_ids_between_dates():
    index, ids, _ = flat_index(10, first_id=0)
    day0 = dt.date(2015, 11, 20)
    found = index.ids_between(day0 + dt.timedelta(days=2), day0 + dt.timedelta(days=4))
    assert sorted(found.tolist()) == [2, 3, 4]
    assert sorted(index.ids_between(None, day0).tolist()) == [0]
    index.remove([3])
    assert sorted(index.ids_between(day0 + dt.timedelta(days=2), None).tolist()) == [
        2, 4, 5, 6, 7, 8, 9,
    ]  # fmt: skip


def test_adding_an_existing_id_replaces_it_and_remove_forgets_it():
    index, ids, vectors = flat_index()
    index.add(ids[:1], vectors[1:2], entries_for(ids[:1]))
    assert index.count == 20
    assert index.search(vectors[1], 2)[1][0] in (ids[0], ids[1])
    assert index.remove([int(ids[0]), 999]) == 1
    assert index.count == 19 and int(ids[0]) not in index.entries
    assert all(i != ids[0] for i, _ in index.search(vectors[1], 20))


def test_a_copy_changes_without_touching_the_original(tmp_path):
    index, ids, vectors = flat_index()
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)  # entries still in their table form
    assert loaded is not None
    for original in (index, loaded):
        copy = original.copy()
        copy.add(np.array([999]), random_vectors(1, seed=9), entries_for([999]))
        copy.remove([int(ids[0])])
        assert original.count == 20 and 999 not in original.entries
        assert int(ids[0]) in original.entries and original.search(vectors[0], 1)[0][0] == ids[0]
        assert copy.count == 20 and 999 in copy.entries and int(ids[0]) not in copy.entries
        assert sorted(original.ids_between(None, None).tolist()) == ids.tolist()


def test_choose_kind_follows_the_threshold():
    assert choose_kind(50_000, 50_000) == FLAT
    assert choose_kind(50_001, 50_000) == IVF_SQ8
    assert ivf_lists(1_000_000) == 4000
    assert ivf_lists(100) == 2


def test_approximate_index_finds_near_duplicates_and_supports_filters_and_removal():
    n = 4000
    ids = np.arange(n, dtype=np.int64) * 3
    vectors = random_vectors(n, 32, seed=1)
    index = VectorIndex.build("m", ids, vectors, entries_for(ids), kind=IVF_SQ8)
    assert index.kind == IVF_SQ8 and index.count == n
    queries = vectors[:50] + 0.05 * random_vectors(50, 32, seed=2)
    found = sum(index.search(q, 1)[0][0] == ids[i] for i, q in enumerate(queries))
    assert found >= 45
    allowed = ids[[10, 20, 30]]
    assert sorted(i for i, _ in index.search(vectors[0], 10, allowed=allowed)) == sorted(allowed)
    index.remove([int(ids[0])])
    assert index.search(vectors[0], 1)[0][0] != ids[0]


def test_save_and_load_round_trip(tmp_path):
    index, ids, vectors = flat_index()
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    assert loaded is not None
    assert (loaded.model, loaded.dimension, loaded.kind, loaded.count) == ("m", 16, FLAT, 20)
    assert sorted(loaded.ids_between(None, None).tolist()) == sorted(ids.tolist())
    assert loaded.entries == index.entries
    assert loaded.search(vectors[3], 1)[0][0] == ids[3]
    assert len(list(tmp_path.glob("vectors-*.faiss"))) == 1
    assert VectorIndex.load(tmp_path / "nothing-here") is None


@pytest.mark.parametrize("crash_at", ["vectors", "meta"])
def test_a_crash_mid_save_leaves_the_old_index_loadable(tmp_path, monkeypatch, crash_at):
    old, ids, vectors = flat_index(10)
    old.save(tmp_path)
    newer, new_ids, new_vectors = flat_index(30, first_id=500)

    real_replace = os.replace

    def crashing_replace(src, dst):
        target = os.fspath(dst)
        if (crash_at == "meta") == target.endswith(META_FILE):
            raise OSError("simulated power cut")
        real_replace(src, dst)

    monkeypatch.setattr(index_module.os, "replace", crashing_replace)
    with pytest.raises(OSError, match="power cut"):
        newer.save(tmp_path)
    monkeypatch.undo()

    loaded = VectorIndex.load(tmp_path)
    assert loaded is not None and loaded.count == 10
    assert loaded.search(vectors[4], 1)[0][0] == ids[4]
    newer.save(tmp_path)  # the next save cleans up what the crash left behind
    assert VectorIndex.load(tmp_path).count == 30  # type: ignore[union-attr]
    assert len(list(tmp_path.glob("vectors-*.faiss"))) == 1
    assert len(list(tmp_path.glob("entries-*.npy"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_damaged_files_are_reported_not_served(tmp_path):
    index, _, _ = flat_index()
    index.save(tmp_path)
    (vectors_file,) = tmp_path.glob("vectors-*.faiss")
    vectors_file.write_bytes(b"not a faiss index")
    with pytest.raises(IndexUnreadable):
        VectorIndex.load(tmp_path)

    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    table = np.load(tmp_path / meta["entries_file"])
    np.save(tmp_path / meta["entries_file"], table[1:])
    with pytest.raises(IndexUnreadable, match="does not match"):
        VectorIndex.load(tmp_path)

    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    (tmp_path / meta["entries_file"]).unlink()
    with pytest.raises(IndexUnreadable):
        VectorIndex.load(tmp_path)


def _flip_bytes(path, offset_from_end: int = 200, count: int = 8) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - offset_from_end, len(data) - offset_from_end + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_the_vectors_file_fail_the_checksum(tmp_path):
    # 8 flipped bytes inside a vector: faiss still reads the file (the vector is garbage or
    # NaN), so only a checksum can tell.
    index, _, _ = flat_index()
    index.save(tmp_path)
    (vectors_file,) = tmp_path.glob("vectors-*.faiss")
    _flip_bytes(vectors_file)
    with pytest.raises(IndexUnreadable, match="checksum"):
        VectorIndex.load(tmp_path)


def test_flipped_bytes_in_the_entries_file_fail_the_checksum(tmp_path):
    index, _, _ = flat_index()
    index.save(tmp_path)
    (entries_file,) = tmp_path.glob("entries-*.npy")
    _flip_bytes(entries_file, offset_from_end=40, count=4)
    with pytest.raises(IndexUnreadable, match="checksum"):
        VectorIndex.load(tmp_path)


def test_an_index_saved_without_checksums_still_loads_and_says_so(tmp_path):
    index, ids, vectors = flat_index()
    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    del meta["checksums"], meta["variant"]
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    loaded = VectorIndex.load(tmp_path)
    assert loaded is not None and not loaded.checksummed
    assert loaded.variant == "torch-fp32"  # what built every index before variants existed
    assert loaded.search(vectors[3], 1)[0][0] == ids[3]


def test_the_encoder_variant_is_saved_and_loaded(tmp_path):
    index = VectorIndex.empty_flat("m", 16, variant="onnx-int8")
    index.add(np.array([1]), random_vectors(1), entries_for([1]))
    index.save(tmp_path)
    assert VectorIndex.load(tmp_path).variant == "onnx-int8"  # type: ignore[union-attr]


def test_nan_vectors_are_never_added():
    index, _, _ = flat_index(3)
    bad = random_vectors(2)
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.array([900, 901]), bad, entries_for([900, 901]))
    assert index.count == 3 and 900 not in index.entries


@pytest.mark.parametrize("content", ["[1, 2, 3]", '"text"', "42", "null"])
def test_meta_that_is_json_but_not_an_object_is_unreadable(tmp_path, content):
    index, _, _ = flat_index()
    index.save(tmp_path)
    (tmp_path / META_FILE).write_text(content)
    with pytest.raises(IndexUnreadable, match="not a JSON object"):
        VectorIndex.load(tmp_path)


def test_an_index_path_that_is_a_file_is_a_location_error(tmp_path):
    from embeddings.index import IndexLocationError

    path = tmp_path / "index"
    path.write_text("oops")
    with pytest.raises(IndexLocationError, match="is a file"):
        VectorIndex.load(path)
    index, _, _ = flat_index()
    with pytest.raises(IndexLocationError, match="is a file"):
        index.save(path)
    assert path.read_text() == "oops"


def _saved_ivf(tmp_path, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(n, dtype=np.int64) * 3 + 7
    vectors = random_vectors(n, 32, seed=1)
    VectorIndex.build("m", ids, vectors, entries_for(ids), kind=IVF_SQ8).save(tmp_path)
    return ids, vectors


def test_a_mapped_index_answers_exactly_like_one_loaded_normally(tmp_path):
    ids, vectors = _saved_ivf(tmp_path)
    normal = VectorIndex.load(tmp_path)
    mapped = VectorIndex.load(tmp_path, mapped=True)
    assert normal is not None and mapped is not None
    assert not normal.read_only and mapped.read_only and mapped._mapping is not None
    assert (mapped.count, mapped.nprobe, mapped.kind) == (normal.count, normal.nprobe, IVF_SQ8)
    queries = random_vectors(40, 32, seed=5)
    allowed = ids[::7]
    for query in queries:
        assert mapped.search(query, 10) == normal.search(query, 10)
        assert mapped.search(query, 5, allowed=allowed) == normal.search(query, 5, allowed=allowed)
        # Selective (under 5% of the index): all lists probed, the mapped one in slices.
        rare = mapped.search(query, 10, allowed=ids[:150])
        expected = normal.search(query, 10, allowed=ids[:150])
        assert [i for i, _ in rare] == [i for i, _ in expected] and len(rare) == 10
        assert np.allclose([s for _, s in rare], [s for _, s in expected], atol=1e-5)
    since = dt.date(2015, 11, 20) + dt.timedelta(days=6000)
    assert mapped.ids_between(since, None).tolist() == normal.ids_between(since, None).tolist()
    # Its writable copy is the same index, byte for byte.
    faiss = index_module._lazy.faiss()
    copied = faiss.serialize_index(mapped.copy().faiss_index)
    assert np.array_equal(copied, faiss.serialize_index(normal.faiss_index))


def test_a_mapped_index_refuses_writes_and_its_copy_takes_them(tmp_path):
    ids, vectors = _saved_ivf(tmp_path)
    mapped = VectorIndex.load(tmp_path, mapped=True)
    assert mapped is not None
    with pytest.raises(ValueError, match="read-only"):
        mapped.remove([int(ids[0])])
    with pytest.raises(ValueError, match="read-only"):
        mapped.add(np.array([1], dtype=np.int64), vectors[:1], entries_for([1]))
    with pytest.raises(ValueError, match="read-only"):
        mapped.update_entries(entries_for([int(ids[0])]))
    copy = mapped.copy()
    assert not copy.read_only
    copy.remove([int(ids[0])])
    copy.add(np.array([1], dtype=np.int64), vectors[:1], entries_for([1]))
    assert copy.search(vectors[0], 1)[0][0] == 1 and copy.count == mapped.count
    assert mapped.search(vectors[0], 1)[0][0] == ids[0] and 1 not in mapped.entries
    other = tmp_path / "other"
    copy.save(other)
    reloaded = VectorIndex.load(other, mapped=True)
    assert reloaded is not None and reloaded.search(vectors[0], 1)[0][0] == 1
    # Saving the mapped index itself writes its lists whole (never a reference to a mapping).
    mapped.save(tmp_path / "again")
    again = VectorIndex.load(tmp_path / "again")
    assert again is not None and again.search(vectors[5], 3) == mapped.search(vectors[5], 3)


def test_a_flat_index_asked_to_map_is_read_into_memory_and_writable(tmp_path):
    index, ids, vectors = flat_index()
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, mapped=True)
    assert loaded is not None and not loaded.read_only
    loaded.remove([int(ids[0])])
    assert loaded.count == 19


def test_changes_from_the_table_equal_those_from_the_entries():
    index, ids, _ = flat_index(30)
    hashes = {int(i): f"c{i}" for i in ids[5:]}  # 5 gone
    hashes[int(ids[6])] = "changed"
    hashes[int(ids[7])] = "c" * 40  # longer than the table keeps: never taken as unchanged
    hashes[999] = "new"
    from_table = VectorIndex(
        index.faiss_index, model="m", dimension=16, kind=FLAT, table=index._current_table()
    )
    expected = (ids[:5].tolist(), [int(ids[6]), int(ids[7]), 999])
    assert index.changes(hashes) == expected
    assert from_table.changes(hashes) == expected
    assert from_table._entries is None  # no Entry objects were made
    assert from_table.changes({}) == (ids.tolist(), [])
