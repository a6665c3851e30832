"""Embedding throughput: the default indexing path against plain SentenceTransformer.encode.

    .venv/bin/python bench/embed.py [--limit N] [--rounds R] [--config FILE]

Both run in this process on the same texts (``embeddings.text.event_text`` of archive-en
events): first the configured encoder (by default ONNX int8, ``[embeddings] backend``) called
batch by batch exactly as ``dateline index`` calls it (chunks of ``checkpoint_batches``
batches, each cut into batches of similar length), then sentence-transformers' own ``encode``
over all texts in one call (fp32 torch, all cores). The order alternates over ``--rounds`` to
even out warm-up and CPU-frequency effects. Also printed: the mean and minimum cosine of the
default path's vectors to the fp32 sentence-transformers vectors of the same texts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
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


async def load_texts(config: Path | None, limit: int) -> tuple[list[str], object]:
    from archive.store import Store
    from embeddings.text import event_text

    with bench_settings(config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store)
            ids = sorted(await store.event_hashes())[:limit]
            events = await store.events_by_ids(ids)
        encoder = bench_encoder(settings)
    return [event_text(e) for e in events], (settings, encoder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_argument(parser)
    parser.add_argument("--limit", type=int, default=800, help="events to embed (default 800)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from embeddings import _lazy
    from embeddings.encoder import Encoder, model_location
    from embeddings.indexing import length_sorted_batches

    texts, (settings, encoder) = asyncio.run(load_texts(args.config, args.limit))  # type: ignore[misc]
    assert isinstance(encoder, Encoder)
    batch_size = settings.embeddings.batch_size
    chunk = batch_size * settings.embeddings.checkpoint_batches
    model = _lazy.sentence_transformer_class()(
        model_location(settings.embeddings.model), device="cpu"
    )
    import torch

    words = sum(len(t.split()) for t in texts) / len(texts)
    print(
        f"{len(texts)} event texts, {words:.0f} words on average; batch size {batch_size};"
        f" {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()};"
        f" default path: {encoder.variant}"
    )
    encoder.encode(texts[:16])  # warm-up
    model.encode(texts[:16])

    def default_path() -> np.ndarray:
        out = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            for batch in length_sorted_batches(part, batch_size):
                out[[start + i for i in batch]] = encoder.encode([part[i] for i in batch])
        return out

    def plain() -> np.ndarray:
        return np.asarray(
            model.encode(
                texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True
            )
        )

    name_default = f"default path ({encoder.variant}, batch by batch)"
    totals = {name_default: 0.0, "SentenceTransformer.encode (torch fp32)": 0.0}
    vectors: dict[str, np.ndarray] = {}
    runs = list(zip(totals, (default_path, plain), strict=True))
    for round_number in range(args.rounds):
        for name, run in runs if round_number % 2 == 0 else runs[::-1]:
            started = time.perf_counter()
            vectors[name] = run()
            totals[name] += time.perf_counter() - started
    rates = {name: args.rounds * len(texts) / seconds for name, seconds in totals.items()}
    for name, rate in rates.items():
        print(f"{name:<48} {rate:7.1f} events/s")
    default, plain_rate = rates.values()
    print(f"ratio default / plain: {default / plain_rate:.2f}")
    first, second = vectors.values()
    cosines = np.sum(first * second, axis=1)
    print(
        f"cosine of the default path's vectors to fp32 sentence-transformers: mean"
        f" {cosines.mean():.4f}, min {cosines.min():.4f}"
    )


if __name__ == "__main__":
    main()
