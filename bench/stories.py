"""Time of folding /ask's candidates into stories (``Stories.group``) and of a big /story.

    .venv/bin/python bench/stories.py [--config FILE] [--copies 0] [--big 500]

``group``: for each question of bench/questions.json, the 15 candidates /ask asks for
(5 cards x 3) are grouped as the bot does; timed cold (a fresh ``Stories``, no anchor vector
cached, as for a question never asked before) and warm (the same ``Stories`` again).

``--copies N`` adds N shifted copies of archive-en (each 400 days later than the last, related
links shifted with it, so each copy has the same stories) to a temporary store, and a flat index
holding the source events' vectors plus small noise: the same figures at (N + 1) x 1,759
events, without encoding them again.

``--big K``: a story of K events end to end as ``/story`` builds it: the story (links, span,
candidates, closeness) with ``max_events`` = K and thresholds lowered so it fills, its events
loaded, and the chart drawn.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import add_config_argument, bench_settings, ensure_ingested  # noqa: E402
from bench.query import questions  # noqa: E402

CANDIDATES = 15  # CARDS x CANDIDATES_PER_CARD in bot/cogs/ask.py
CARDS = 5
SHIFT = dt.timedelta(days=400)


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (
        f"{label}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms,"
        f" worst {max(values):.1f} ms ({len(values)} questions)"
    )


async def time_group(
    searcher: Any, store: Any, texts: list[str]
) -> tuple[list[float], list[float]]:
    from embeddings.stories import IndexSimilarity, Stories

    answers = [await searcher.ask(text, k=CANDIDATES) for text in texts]
    cold, warm = [], []
    for answer in answers:
        stories = Stories(store, IndexSimilarity.of(searcher))
        started = time.perf_counter()
        await stories.group(answer.hits, limit=CARDS)
        cold.append(ms(time.perf_counter() - started))
        started = time.perf_counter()
        await stories.group(answer.hits, limit=CARDS)
        warm.append(ms(time.perf_counter() - started))
    return cold, warm


async def copy_archive(store: Any, searcher: Any, copies: int) -> Any:
    """Write ``copies`` shifted copies of every stored event; a flat index of all of them."""
    from embeddings.index import FLAT, Entry, VectorIndex

    originals = await store.events_by_ids(
        [int(i) for i in np.sort(searcher.index.ids_between(None, None))]
    )
    source_ids = np.array([e.id for e in originals], dtype=np.int64)
    source_vectors = searcher.index.faiss_index.reconstruct_batch(source_ids)
    ids, vectors, entries = [source_ids], [source_vectors], {}
    for e in originals:
        entries[e.id] = Entry("", "", e.date.toordinal())
    rng = np.random.default_rng(7)
    for n in range(1, copies + 1):
        shift = SHIFT * n
        shifted = [
            dataclasses.replace(
                e,
                id=0,
                date=e.date + shift,
                related=tuple(
                    dataclasses.replace(r, date=r.date + shift if r.date else None)
                    for r in e.related
                ),
            )
            for e in originals
        ]
        result = await store.write_events([(None, e) for e in shifted])
        new_ids = np.array(list(result.inserted), dtype=np.int64)
        noisy = source_vectors + rng.standard_normal(source_vectors.shape).astype("f4") * 0.02
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        ids.append(new_ids)
        vectors.append(noisy)
        for i, e in zip(new_ids, shifted, strict=True):
            entries[int(i)] = Entry("", "", e.date.toordinal())
    all_ids = np.concatenate(ids)
    return VectorIndex.build(
        searcher.index.model, all_ids, np.concatenate(vectors), entries, kind=FLAT
    )


async def big_story(searcher: Any, store: Any, size: int) -> None:
    from embeddings.stories import IndexSimilarity, Stories, StoryOptions
    from embeddings.timeline_chart import story_chart

    options = StoryOptions(
        max_events=size,
        min_similarity=0.2,
        min_similarity_any_topic=0.2,
        nearest=size,
        solo_span_days=3 * 365,
    )
    answer = await searcher.ask("Syrian civil war airstrikes", k=1)
    anchor = answer.hits[0].event
    stories = Stories(store, IndexSimilarity.of(searcher), options)
    started = time.perf_counter()
    story = await stories.story(anchor)
    built = time.perf_counter()
    png = await asyncio.to_thread(story_chart, story)
    done = time.perf_counter()
    again = []  # later draws: matplotlib imported, fonts cached, as in a bot that has drawn one
    for _ in range(5):
        started_again = time.perf_counter()
        await asyncio.to_thread(story_chart, story)
        again.append(ms(time.perf_counter() - started_again))
    print(
        f"/story of {len(story.events)} events ({story.date_from} .. {story.date_to}):"
        f" story {ms(built - started):.0f} ms + chart {ms(done - built):.0f} ms (first draw"
        f" of the process) = {ms(done - started):.0f} ms ({len(png) // 1024} KiB PNG);"
        f" later draws: median {statistics.median(again):.0f} ms"
    )


async def run(config: Path | None, copies: int, big: int) -> None:
    from archive.store import Store
    from embeddings.encoder import load_encoder
    from embeddings.search import Searcher

    texts = questions()
    with bench_settings(config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store)
            encoder = await asyncio.to_thread(
                load_encoder, settings.embeddings, settings.storage.models_dir
            )
            searcher = await Searcher.load(
                settings.storage.index_dir, settings.embeddings, settings.search, store, encoder
            )
            await searcher.ask(texts[0])  # warm-up
            cold, warm = await time_group(searcher, store, texts)
            print(f"archive-en, {searcher.index.count} events, {CANDIDATES} candidates:")
            print("  " + summary("group, cold", cold))
            print("  " + summary("group, warm", warm))
            if big:
                await big_story(searcher, store, big)
    if copies:
        await synthetic(config, copies, texts)


async def synthetic(config: Path | None, copies: int, texts: list[str]) -> None:
    from archive.ingest import ingest
    from archive.store import Store
    from bench._setup import ARCHIVE_EN
    from embeddings.search import Searcher

    with bench_settings(config) as settings, tempfile.TemporaryDirectory() as tmp:
        async with Store.open(settings.storage.database) as real_store:
            real = await Searcher.load(
                settings.storage.index_dir, settings.embeddings, settings.search, real_store
            )
            async with Store.open(Path(tmp) / "copies.sqlite3") as store:
                await ingest(store, ARCHIVE_EN)
                started = time.perf_counter()
                index = await copy_archive(store, real, copies)
                print(
                    f"synthetic: {index.count} events written and indexed in"
                    f" {time.perf_counter() - started:.0f} s"
                )
                searcher = Searcher(
                    settings.search,
                    store,
                    real.encoder,
                    index,
                    index_dir=Path(tmp) / "index",
                    embedding=settings.embeddings,
                )
                cold, warm = await time_group(searcher, store, texts)
                print(f"synthetic, {index.count} events, {CANDIDATES} candidates:")
                print("  " + summary("group, cold", cold))
                print("  " + summary("group, warm", warm))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_argument(parser)
    parser.add_argument("--copies", type=int, default=0, help="shifted copies of archive-en")
    parser.add_argument("--big", type=int, default=500, help="events of the big /story (0: skip)")
    args = parser.parse_args()
    asyncio.run(run(args.config, args.copies, args.big))


if __name__ == "__main__":
    main()
