import numpy as np
import pytest

from archive.models import Source
from embeddings.encoder import FakeEncoder
from embeddings.index import FLAT, IVF_SQ8, META_FILE, VectorIndex
from embeddings.indexing import build_index, update_index
from tests.search_fixtures import SAMPLE_EVENTS, add_events, change_event, make_event, make_settings

N = len(SAMPLE_EVENTS)


class BrokenEncoder(FakeEncoder):
    """Fails on its ``fail_on``-th call, like a run killed part way."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def encode(self, texts):
        if len(self.calls) + 1 == self.fail_on:
            raise KeyboardInterrupt
        return super().encode(texts)


async def test_first_run_embeds_everything_and_saves(search_settings, sample_store, fake_encoder):
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    assert (report.embedded, report.removed, report.unchanged, report.total) == (N, 0, 0, N)
    assert report.kind == FLAT and report.rebuilt_because is None
    assert set(index.entries) == set(await sample_store.event_hashes())
    saved = VectorIndex.load(search_settings.storage.index_dir)
    assert saved is not None and saved.entries == index.entries


async def test_second_run_embeds_nothing(search_settings, sample_store, fake_encoder):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    again = FakeEncoder()
    _, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, again
    )
    assert (report.embedded, report.unchanged) == (0, N)
    assert again.texts_encoded == 0


async def test_only_changed_and_new_events_are_embedded_deleted_ones_removed(
    search_settings, sample_store, fake_encoder
):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    ids = sorted(await sample_store.event_hashes())
    await change_event(sample_store, ids[0], headline="Bombs explode in four banks")
    await change_event(sample_store, ids[1], sources=(Source("Other", "https://o.example"),))
    (new_id,) = await add_events(sample_store, [make_event("2016-01-01", "New", None, (), 99)])
    await sample_store.write_events([], deletes=[ids[2]])

    encoder = FakeEncoder()
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, encoder
    )
    assert encoder.texts_encoded == 2  # the new headline and the new event
    assert (report.embedded, report.refreshed, report.removed) == (2, 1, 1)
    assert report.total == N and index.count == N
    assert ids[2] not in index.entries and new_id in index.entries
    hashes = await sample_store.event_hashes()
    assert {i: e.content_hash for i, e in index.entries.items()} == hashes
    best = index.search(encoder.encode(["Bombs explode in four banks"])[0], 1)
    assert best[0][0] == ids[0]


async def test_interrupted_run_resumes_without_redoing_finished_batches(
    search_settings, sample_store
):
    # Batches of 4 with a checkpoint after each: the third call fails after 8 are saved.
    with pytest.raises(KeyboardInterrupt):
        await update_index(
            search_settings.storage.index_dir,
            search_settings.embeddings,
            sample_store,
            BrokenEncoder(fail_on=3),
        )
    saved = VectorIndex.load(search_settings.storage.index_dir)
    assert saved is not None and saved.count == 8

    encoder = FakeEncoder()
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, encoder
    )
    assert encoder.texts_encoded == N - 8
    assert report.embedded == N - 8 and index.count == N


@pytest.mark.parametrize(
    "other",
    [FakeEncoder(model_name="another-model"), FakeEncoder(dimension=32)],
    ids=["model", "dimension"],
)
async def test_index_of_another_model_or_dimension_is_rebuilt(
    search_settings, sample_store, fake_encoder, other
):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, other
    )
    assert report.rebuilt_because and report.embedded == N
    assert (index.model, index.dimension) == (other.model_name, other.dimension)


async def test_damaged_index_is_rebuilt(search_settings, sample_store, fake_encoder):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    (search_settings.storage.index_dir / META_FILE).write_text("{broken")
    _, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, FakeEncoder()
    )
    assert report.rebuilt_because and report.embedded == N


async def test_index_turns_approximate_past_the_threshold(tmp_path, fresh_db, fake_encoder):
    settings = make_settings(tmp_path, embeddings={"ann_threshold": 100, "batch_size": 64})
    events = [make_event("2015-01-01", f"Event number {n} about {n % 7}", None, (), n)
              for n in range(120)]  # fmt: skip
    await add_events(fresh_db, events)
    index, report = await update_index(
        settings.storage.index_dir, settings.embeddings, fresh_db, fake_encoder
    )
    assert report.kind == IVF_SQ8 and index.count == 120
    reloaded = VectorIndex.load(settings.storage.index_dir)
    assert reloaded is not None and reloaded.kind == IVF_SQ8
    # Still incremental once approximate.
    await fresh_db.write_events([], deletes=[min(index.entries)])
    _, report = await update_index(
        settings.storage.index_dir, settings.embeddings, fresh_db, FakeEncoder()
    )
    assert (report.embedded, report.removed, report.total) == (0, 1, 119)


async def test_date_change_updates_the_filter_without_embedding(
    search_settings, sample_store, fake_encoder
):
    index = await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    first = min(index.entries)
    (event,) = await sample_store.events_by_ids([first])
    moved = event.date.replace(year=2001)
    await change_event(sample_store, first, date=moved)
    encoder = FakeEncoder()
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, encoder
    )
    assert encoder.texts_encoded == 0 and report.refreshed == 1
    assert index.ids_between(moved, moved).tolist() == [first]


async def test_flipped_bytes_in_the_saved_vectors_make_a_rebuild_that_says_why(
    search_settings, sample_store, fake_encoder
):
    await build_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, fake_encoder
    )
    (vectors_file,) = search_settings.storage.index_dir.glob("vectors-*.faiss")
    data = bytearray(vectors_file.read_bytes())
    for i in range(len(data) - 300, len(data) - 292):
        data[i] ^= 0xFF
    vectors_file.write_bytes(bytes(data))
    told: list[str] = []
    index, report = await update_index(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        sample_store,
        FakeEncoder(),
        on_rebuild=told.append,
    )
    assert report.rebuilt_because and "checksum" in report.rebuilt_because
    assert told == [report.rebuilt_because]
    assert (report.embedded, report.unchanged) == (N, 0) and index.count == N
    assert VectorIndex.load(search_settings.storage.index_dir).count == N  # type: ignore[union-attr]


class NanEncoder(FakeEncoder):
    """Gives a NaN vector for texts containing ``poison``."""

    def encode(self, texts):
        vectors = super().encode(texts)
        for row, text in enumerate(texts):
            if "Antarctic" in text:
                vectors[row, 0] = float("nan")
        return vectors


async def test_nan_vectors_are_left_out_and_counted(search_settings, sample_store):
    index, report = await update_index(
        search_settings.storage.index_dir, search_settings.embeddings, sample_store, NanEncoder()
    )
    assert (report.embedded, report.failed, index.count) == (N - 1, 1, N - 1)
    assert "1 left out" in report.summary()
    saved = VectorIndex.load(search_settings.storage.index_dir)
    assert saved is not None
    ids, vectors = saved.all_vectors()
    assert np.isfinite(vectors).all() and len(ids) == N - 1


class VariantEncoder(FakeEncoder):
    def __init__(self, variant: str) -> None:
        super().__init__()
        self._variant = variant

    @property
    def variant(self) -> str:
        return self._variant


async def test_switching_the_encoder_variant_re_embeds_everything_with_a_message(
    search_settings, sample_store
):
    await build_index(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        sample_store,
        VariantEncoder("onnx-int8"),
    )
    told: list[str] = []
    torch_like = VariantEncoder("torch-fp32")
    index, report = await update_index(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        sample_store,
        torch_like,
        on_rebuild=told.append,
    )
    assert report.embedded == N and torch_like.texts_encoded == N
    assert "onnx-int8" in told[0] and "torch-fp32" in told[0]
    assert index.variant == "torch-fp32"
    assert VectorIndex.load(search_settings.storage.index_dir).variant == "torch-fp32"  # type: ignore[union-attr]
    # Same variant again: nothing to do.
    _, report = await update_index(
        search_settings.storage.index_dir,
        search_settings.embeddings,
        sample_store,
        VariantEncoder("torch-fp32"),
    )
    assert report.embedded == 0 and report.rebuilt_because is None


class RecordingEncoder(FakeEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.longest = 0

    def encode(self, texts):
        self.longest = max([self.longest, *(len(t) for t in texts)])
        return super().encode(texts)


async def test_a_huge_headline_is_cut_before_embedding_with_a_warning(
    search_settings, fresh_db, caplog
):
    from embeddings.text import MAX_EMBEDDED_CHARS

    huge = make_event("2015-11-20", "Huge " + "word " * 1_000_000, None, (), 1)  # 5 MB
    await add_events(fresh_db, [huge, make_event("2015-11-21", "Small headline", None, (), 2)])
    encoder = RecordingEncoder()
    with caplog.at_level("WARNING", logger="embeddings.indexing"):
        index, report = await update_index(
            search_settings.storage.index_dir, search_settings.embeddings, fresh_db, encoder
        )
    assert report.embedded == 2 and index.count == 2
    assert 0 < encoder.longest <= MAX_EMBEDDED_CHARS
    assert any("text cut" in r.getMessage() and "news/2015/11/20/" + huge.slug in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_an_index_held_in_memory_is_updated_as_a_copy_without_reading_the_files(
    search_settings, sample_store, fake_encoder, monkeypatch
):
    directory = search_settings.storage.index_dir
    held = await build_index(directory, search_settings.embeddings, sample_store, fake_encoder)
    before = dict(held.entries)
    ids = sorted(before)
    await change_event(sample_store, ids[0], headline="Bombs explode in four banks")
    (new_id,) = await add_events(sample_store, [make_event("2016-01-01", "New", None, (), 99)])
    await sample_store.write_events([], deletes=[ids[2]])

    def no_disk(directory):
        raise AssertionError("the saved index was read")

    monkeypatch.setattr(VectorIndex, "load", no_disk)
    encoder = FakeEncoder()
    index, report = await update_index(
        directory, search_settings.embeddings, sample_store, encoder, base=held
    )
    assert encoder.texts_encoded == 2 and (report.embedded, report.removed) == (2, 1)
    assert new_id in index.entries and ids[2] not in index.entries
    best = index.search(encoder.encode(["Bombs explode in four banks"])[0], 1)
    assert best[0][0] == ids[0]
    # The held index, which readers may be searching, is untouched.
    assert held.entries == before and held.count == N and new_id not in held.entries
    # And what was saved is the updated index.
    monkeypatch.undo()
    saved = VectorIndex.load(directory)
    assert saved is not None and saved.entries == index.entries


async def test_serving_maps_an_approximate_index_and_a_refresh_updates_a_copy(
    tmp_path, fresh_db, fake_encoder
):
    settings = make_settings(tmp_path, embeddings={"ann_threshold": 100, "batch_size": 64})
    directory = settings.storage.index_dir
    events = [make_event("2015-01-01", f"Event number {n} about {n % 7}", None, (), n)
              for n in range(120)]  # fmt: skip
    await add_events(fresh_db, events)
    built, _ = await update_index(directory, settings.embeddings, fresh_db, fake_encoder)
    assert not built.read_only  # `dateline index` keeps it in memory
    served, report = await update_index(
        directory, settings.embeddings, fresh_db, FakeEncoder(), mapped=True
    )
    assert served.read_only and report.embedded == 0 and served.count == 120
    query = fake_encoder.encode(["Event number 5 about 5"])[0]
    assert served.search(query, 5) == built.search(query, 5)
    # A refresh from the mapped index held in memory: updated as a writable copy, saved,
    # and served mapped again; the held one is untouched.
    ids = sorted(served.ids_between(None, None).tolist())
    await fresh_db.write_events([], deletes=[ids[0]])
    (new_id,) = await add_events(fresh_db, [make_event("2016-01-01", "Brand new", None, (), 999)])
    encoder = FakeEncoder()
    refreshed, report = await update_index(
        directory, settings.embeddings, fresh_db, encoder, base=served, mapped=True
    )
    assert (report.embedded, report.removed, report.total) == (1, 1, 120)
    assert refreshed.read_only and refreshed is not served
    assert refreshed.search(encoder.encode(["Brand new"])[0], 1)[0][0] == new_id
    assert served.count == 120 and ids[0] in served.ids_between(None, None).tolist()
    assert new_id not in served.ids_between(None, None).tolist()
    saved = VectorIndex.load(directory)
    assert saved is not None and saved.entries == refreshed.entries
    # Nothing changed: the held mapped index is kept as it is.
    again, report = await update_index(
        directory, settings.embeddings, fresh_db, FakeEncoder(), base=refreshed, mapped=True
    )
    assert again is refreshed and report.embedded == 0
