"""``/ask`` latency at the real sample's size and at synthetic 100k and 1M events.

    .venv/bin/python bench/query.py [--config FILE] [--sizes 100000,1000000] [--queries 300]
                                    [--keep DIR]   # keep the built sets in DIR, reuse them

Real sample: ``Searcher.ask`` end to end (date understanding, question encoding, FAISS, FTS5
BM25, fusion, loading the events) over archive-en, questions from bench/questions.json.

Synthetic sizes: each size is built by one subprocess and served by another, so the serving
process's peak RSS is what a bot serving that index would use. The build process makes N
vectors by perturbing real event vectors (a random real vector plus Gaussian noise, re-
normalised; cosine about 0.9 to its source) and N store rows by perturbing real events (a real
event's headline and summary with a fifth of their words swapped for words of other events), in
a real ``Store`` (FTS5 included). The index kind is chosen by size exactly as ``dateline index``
does. The serving process loads the model and the saved index, builds a ``Searcher`` over the
synthetic store (the index memory-mapped, as the bot serves it) and times ``ask`` end to end,
then measures recall@10 of the index against exact search (ground truth computed by the build
process by streaming every vector).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import (  # noqa: E402
    add_config_argument,
    bench_encoder,
    bench_settings,
    ensure_ingested,
)

QUESTIONS = Path(__file__).resolve().parent / "questions.json"
CHUNK = 50_000
NOISE = 0.025


def questions() -> list[str]:
    return [q["q"] for q in json.loads(QUESTIONS.read_text(encoding="utf-8"))["questions"]]


def peak_rss_mb() -> float:
    """Peak resident memory of this process. VmHWM, not getrusage: Linux carries ru_maxrss
    over an exec, so a subprocess would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def index_mb(directory: Path) -> float:
    """The saved index's files (vectors, entries, metadata), in MiB."""
    files = [*directory.glob("vectors-*.faiss"), *directory.glob("entries-*.npy")]
    files += [p for p in [directory / "meta.json"] if p.exists()]
    return sum(p.stat().st_size for p in files) / 2**20


def rss_parts_mb() -> dict[str, float]:
    """Resident memory now, split: anonymous (heap) and file-backed (mapped index pages,
    shared libraries; the kernel can drop these under pressure)."""
    parts = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("RssAnon", "RssFile"):
            parts[key.lower() + "_mb"] = int(line.split()[1]) / 1024
    return parts


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    values = np.array(latencies_ms)
    return {f"p{p}": float(np.percentile(values, p)) for p in (50, 95, 99)}


async def time_asks(searcher: object, texts: list[str], n: int) -> dict[str, float]:
    from embeddings.search import Searcher

    assert isinstance(searcher, Searcher)
    for text in texts[:5]:  # warm-up
        await searcher.ask(text)
    latencies = []
    for i in range(n):
        started = time.perf_counter()
        await searcher.ask(texts[i % len(texts)])
        latencies.append((time.perf_counter() - started) * 1000)
    return percentiles(latencies)


# ----- real sample ----------------------------------------------------------------------


async def real_sample(config: Path | None, n: int) -> dict[str, object]:
    from archive.store import Store
    from embeddings.search import Searcher

    with bench_settings(config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store)
            encoder = await asyncio.to_thread(bench_encoder, settings)
            searcher = await Searcher.load(
                settings.storage.index_dir, settings.embeddings, settings.search, store, encoder
            )
            result: dict[str, object] = await time_asks(searcher, questions(), n)  # type: ignore[assignment]
            result.update(
                events=searcher.index.count,
                kind=searcher.index.kind,
                index_mb=index_mb(settings.storage.index_dir),
                rss_mb=peak_rss_mb(),
            )
            return result


# ----- synthetic: build -----------------------------------------------------------------


def synthetic_vectors(real: np.ndarray, chunk: int, size: int) -> np.ndarray:
    from embeddings.encoder import normalise

    rng = np.random.default_rng(1000 + chunk)
    base = rng.integers(0, len(real), size=size)
    noise = rng.standard_normal((size, real.shape[1]), dtype=np.float32) * NOISE
    return normalise(real[base] + noise)


def chunk_sizes(total: int) -> list[int]:
    return [min(CHUNK, total - start) for start in range(0, total, CHUNK)]


async def build(config: Path | None, size: int, work: Path) -> None:
    from archive.fts import fts_terms
    from archive.models import NewEvent
    from archive.store import Store
    from dateline.config import settings_from_dict
    from embeddings.index import _TABLE, VectorIndex, choose_kind, ivf_lists

    with bench_settings(config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store)
            encoder = bench_encoder(settings)
            searcher_settings = settings
            real_index = VectorIndex.load(settings.storage.index_dir)
            if real_index is None or real_index.variant != encoder.variant:
                from embeddings.indexing import update_index

                real_index, _ = await update_index(
                    settings.storage.index_dir, settings.embeddings, store, encoder
                )
            if real_index.kind != "flat":
                raise SystemExit("the sample's index is not flat: raise ann_threshold")
            real_ids, real = real_index.all_vectors()
            real_events = await store.events_by_ids(real_ids.tolist())
    del searcher_settings
    started = time.perf_counter()
    # Store rows: real events with a fifth of their words swapped.
    vocabulary = sorted({w for e in real_events for w in e.headline.split()})
    synthetic_settings = settings_from_dict({"storage": {"dir": str(work)}})
    async with Store.open(synthetic_settings.storage.database) as synthetic:
        ids: list[int] = []
        for chunk, count in enumerate(chunk_sizes(size)):
            rng = np.random.default_rng(1000 + chunk)
            base = rng.integers(0, len(real_events), size=count)  # same draw as the vectors
            events = []
            for n, b in enumerate(base.tolist()):
                source = real_events[b]

                def perturb(text: str, rng: np.random.Generator = rng) -> str:
                    words = text.split()
                    for i in rng.integers(0, max(1, len(words)), size=len(words) // 5):
                        words[i] = vocabulary[int(rng.integers(0, len(vocabulary)))]
                    return " ".join(words)

                events.append(
                    NewEvent(
                        lang="en", date=source.date, slug=f"s{chunk}-{n}",
                        headline=perturb(source.headline), summary=perturb(source.summary),
                        topic=source.topic, tags=source.tags, sources=(),
                        aliases=(f"s{chunk}-{n}",),
                    )
                )  # fmt: skip
            ids += (await synthetic.write_events([(None, e) for e in events])).inserted
    rows_seconds = time.perf_counter() - started

    started = time.perf_counter()
    kind = choose_kind(size, 50_000)
    day_of = {int(i): e.date.toordinal() for i, e in zip(real_ids, real_events, strict=True)}
    if kind == "flat":
        index = VectorIndex.empty_flat(encoder.model_name, real.shape[1])
    else:
        nlist = ivf_lists(size)
        sample = np.concatenate(
            [synthetic_vectors(real, c, n) for c, n in enumerate(chunk_sizes(size))][
                : max(1, 40 * nlist // CHUNK)
            ]
        )[: 40 * nlist]
        index = VectorIndex.trained_ivf(encoder.model_name, sample, nlist)
    table = np.zeros(size, dtype=_TABLE)
    offset = 0
    for chunk, count in enumerate(chunk_sizes(size)):
        vectors = synthetic_vectors(real, chunk, count)
        chunk_ids = np.array(ids[offset : offset + count], dtype=np.int64)
        index.faiss_index.add_with_ids(vectors, chunk_ids)
        rng = np.random.default_rng(1000 + chunk)
        base = rng.integers(0, len(real), size=count)
        table["id"][offset : offset + count] = chunk_ids
        table["day"][offset : offset + count] = [day_of[int(real_ids[b])] for b in base]
        offset += count
    index = VectorIndex(
        index.faiss_index, model=index.model, dimension=index.dimension, kind=index.kind,
        table=table,
    )  # fmt: skip
    index.save(synthetic_settings.storage.index_dir)
    index_seconds = time.perf_counter() - started

    # Exact top-10 for every question (as searched: dates stripped), streaming all vectors.
    from embeddings.dates import understand_dates

    texts = [understand_dates(q).text or q for q in questions()]
    texts = [t for t in texts if fts_terms(t)]
    query_vectors = np.stack([encoder.encode_query(t) for t in texts])
    best_scores = np.full((len(texts), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(texts), 10), dtype=np.int64)
    offset = 0
    for chunk, count in enumerate(chunk_sizes(size)):
        scores = query_vectors @ synthetic_vectors(real, chunk, count).T
        chunk_ids = np.array(ids[offset : offset + count], dtype=np.int64)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, np.broadcast_to(chunk_ids, scores.shape)], axis=1)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
        offset += count
    np.save(work / "truth.npy", best_ids)
    (work / "truth.json").write_text(json.dumps(texts))
    print(json.dumps({"rows_seconds": rows_seconds, "index_seconds": index_seconds}))


# ----- synthetic: serve -----------------------------------------------------------------


async def serve(size: int, work: Path, n: int) -> None:
    from archive.store import Store
    from dateline.config import settings_from_dict
    from embeddings.index import VectorIndex
    from embeddings.search import Searcher

    settings = settings_from_dict({"storage": {"dir": str(work)}})
    encoder = bench_encoder(settings)
    # As the bot serves: an approximate index's lists memory-mapped (Searcher.load).
    index = VectorIndex.load(settings.storage.index_dir, mapped=True)
    assert index is not None and index.count == size
    rss_loaded = peak_rss_mb()
    async with Store.open(settings.storage.database) as store:
        searcher = Searcher(
            settings.search,
            store,
            encoder,
            index,
            index_dir=settings.storage.index_dir,
            embedding=settings.embeddings,
        )
        timings = await time_asks(searcher, questions(), n)
        keyword = []
        for text in questions()[:50]:
            started = time.perf_counter()
            await store.search_text(text, limit=settings.search.candidates)
            keyword.append((time.perf_counter() - started) * 1000)
    database_mb = settings.storage.database.stat().st_size / 2**20  # noqa: ASYNC240
    texts = json.loads((work / "truth.json").read_text())
    truth = np.load(work / "truth.npy")
    query_vectors = np.stack([encoder.encode_query(t) for t in texts])
    recalls = {}
    for factor in (1, 2, 4):
        nprobe = index.nprobe
        index.nprobe = nprobe * factor
        found, dense_ms = 0, []
        for q, expected in zip(query_vectors, truth, strict=True):
            started = time.perf_counter()
            hits = index.search(q, 10)
            dense_ms.append((time.perf_counter() - started) * 1000)
            found += len({i for i, _ in hits} & set(expected.tolist()))
        recalls[index.nprobe] = (found / truth.size, float(np.median(dense_ms)))
        index.nprobe = nprobe
    print(
        json.dumps(
            {
                **timings,
                "keyword_p50": float(np.percentile(keyword, 50)),
                "keyword_p95": float(np.percentile(keyword, 95)),
                "kind": index.kind,
                "nlist": getattr(index.faiss_index, "nlist", 0),
                "nprobe": index.nprobe,
                "recall": {str(k): v for k, v in recalls.items()},
                "index_mb": index_mb(settings.storage.index_dir),
                "db_mb": database_mb,
                "rss_loaded_mb": rss_loaded,
                "torch": "torch" in sys.modules,
                "variant": encoder.variant,
                "rss_mb": peak_rss_mb(),
                **rss_parts_mb(),
            }
        )
    )


def run_step(*args: str) -> dict[str, object]:
    command = [sys.executable, __file__, *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"{' '.join(args)} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_argument(parser)
    parser.add_argument("--sizes", default="100000,1000000", help="synthetic sizes ('' for none)")
    parser.add_argument("--queries", type=int, default=300, help="asks timed per size")
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the synthetic sets (one subfolder per size), kept and reused: a set"
        " already built there is only served again",
    )
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        asyncio.run(build(args.config, args.build, args.work))
        return
    if args.serve:
        asyncio.run(serve(args.serve, args.work, args.queries))
        return

    real = asyncio.run(real_sample(args.config, args.queries))
    print(f"{os.cpu_count()} CPUs; {args.queries} asks per size, questions from {QUESTIONS.name}")
    print("\n| events | index | ask p50 | p95 | p99 | BM25 p50/p95 | peak RSS | index on disk |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {real['events']:,} (real) | {real['kind']} | {real['p50']:.1f} ms"
        f" | {real['p95']:.1f} ms | {real['p99']:.1f} ms | - | {real['rss_mb']:.0f} MB"
        f" | {real['index_mb']:.1f} MB |"
    )
    notes = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        with contextlib.ExitStack() as stack:
            if args.keep:
                work = args.keep / f"dateline-{size}"  # the name shares the ONNX cache
                work.mkdir(parents=True, exist_ok=True)
            else:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dateline-")))
            built_file = work / "built.json"
            if built_file.exists():
                built = json.loads(built_file.read_text())
            else:
                config_args = ["--config", str(args.config)] if args.config else []
                built = run_step(*config_args, "--build", str(size), "--work", str(work))
                built_file.write_text(json.dumps(built))
            served = run_step(
                "--serve", str(size), "--work", str(work), "--queries", str(args.queries)
            )
        print(
            f"| {size:,} | {served['kind']} nlist {served['nlist']} nprobe {served['nprobe']}"
            f" | {served['p50']:.1f} ms | {served['p95']:.1f} ms | {served['p99']:.1f} ms"
            f" | {served['keyword_p50']:.1f}/{served['keyword_p95']:.1f} ms"
            f" | {served['rss_mb']:.0f} MB | {served['index_mb']:.0f} MB |"
        )
        recall = ", ".join(
            f"nprobe {k}: {r:.3f} ({ms:.2f} ms)"
            for k, (r, ms) in served["recall"].items()  # type: ignore[attr-defined]
        )
        notes.append(
            f"{size:,}: recall@10 vs exact {recall}; built in {built['rows_seconds']:.0f} s"
            f" (rows) + {built['index_seconds']:.0f} s (index); database"
            f" {served['db_mb']:.0f} MB; RSS after loading model + index"
            f" {served['rss_loaded_mb']:.0f} MB; at the end anonymous"
            f" {served.get('rssanon_mb', 0):.0f} MB + file-backed {served.get('rssfile_mb', 0):.0f}"
            f" MB; encoder {served['variant']}, torch imported:"
            f" {served['torch']}"
        )
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
