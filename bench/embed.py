"""Embedding throughput: the default indexing path against plain SentenceTransformer.encode.

    .venv/bin/python bench/embed.py [--limit N] [--config FILE]

Both run in this process on the same texts (``embeddings.text.event_text`` of archive-en
events): first ``SentenceTransformerEncoder.encode`` called batch by batch exactly as
``dateline index`` calls it (chunks of ``checkpoint_batches`` batches, each cut into batches of
similar length), then the model's own ``encode`` over all texts in one call. The
order alternates over ``--rounds`` to even out warm-up and CPU-frequency effects.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import add_config_argument, bench_settings, ensure_ingested  # noqa: E402


async def load_texts(config: Path | None, limit: int) -> tuple[list[str], int]:
    from archive.store import Store
    from embeddings.text import event_text

    with bench_settings(config) as settings:
        async with Store.open(settings.storage.database) as store:
            await ensure_ingested(settings, store)
            ids = sorted(await store.event_hashes())[:limit]
            events = await store.events_by_ids(ids)
    return [event_text(e) for e in events], settings.embeddings.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_argument(parser)
    parser.add_argument("--limit", type=int, default=800, help="events to embed (default 800)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import torch

    from dateline.config import EmbeddingSettings
    from embeddings.encoder import load_encoder
    from embeddings.indexing import length_sorted_batches

    texts, batch_size = asyncio.run(load_texts(args.config, args.limit))
    chunk = batch_size * EmbeddingSettings().checkpoint_batches
    encoder = load_encoder(EmbeddingSettings(batch_size=batch_size))
    model = encoder.model
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(
        f"{len(texts)} event texts, {words:.0f} words on average; batch size {batch_size};"
        f" torch threads {torch.get_num_threads()}"
    )
    encoder.encode(texts[:16])  # warm-up

    def default_path() -> None:
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            for batch in length_sorted_batches(part, batch_size):
                encoder.encode([part[i] for i in batch])

    def plain() -> None:
        model.encode(texts, batch_size=batch_size, convert_to_numpy=True)  # type: ignore[attr-defined]

    totals = {"default path (batch by batch, normalised)": 0.0, "SentenceTransformer.encode": 0.0}
    runs = list(zip(totals, (default_path, plain), strict=True))
    for round_number in range(args.rounds):
        for name, run in runs if round_number % 2 == 0 else runs[::-1]:
            started = time.perf_counter()
            run()
            totals[name] += time.perf_counter() - started
    rates = {name: args.rounds * len(texts) / seconds for name, seconds in totals.items()}
    for name, rate in rates.items():
        print(f"{name:<45} {rate:7.1f} events/s")
    default, plain_rate = rates.values()
    print(f"ratio default / plain: {default / plain_rate:.2f}")


if __name__ == "__main__":
    main()
