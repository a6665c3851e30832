"""Benchmark: full ingest of the real archives into a fresh database.

Prints events/s for a first ingest (parse + merge + write), for a re-ingest of the unchanged
archive (which skips unchanged day folders), and the database size. Run:

    .venv/bin/python bench/ingest.py [--runs 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from archive.ingest import ingest
from archive.store import Store

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


async def _one_run(archive: Path, workers: int | None) -> tuple[int, float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        async with Store.open(db) as store:
            start = time.perf_counter()
            report = await ingest(store, archive, workers=workers)
            first = time.perf_counter() - start
            start = time.perf_counter()
            again = await ingest(store, archive, workers=workers)
            second = time.perf_counter() - start
            assert not again.changed, "re-ingest changed something"
            await store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return report.events_seen, first, second, _size(db)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    args = parser.parse_args()
    print(f"{'archive':<12} {'events':>7} {'first ingest':>22} {'re-ingest':>22} {'db size':>9}")
    for name in ("archive-zh", "archive-en"):
        runs = [await _one_run(SHARED / name, args.workers) for _ in range(args.runs)]
        events = runs[0][0]
        first = statistics.median(r[1] for r in runs)
        second = statistics.median(r[2] for r in runs)
        size = runs[0][3]
        print(
            f"{name:<12} {events:>7} {first:>6.2f} s {events / first:>8,.0f} ev/s"
            f" {second:>6.2f} s {events / second:>8,.0f} ev/s {size / 2**20:>6.1f} MB"
        )
    print(f"(median of {args.runs} runs; each run starts from an empty database)")


if __name__ == "__main__":
    asyncio.run(main())
