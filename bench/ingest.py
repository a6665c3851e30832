"""Benchmark: full ingest of the real archives into a fresh database.

Each run is a new Python process, as `dateline ingest` is: the time counts everything from
the call to ``ingest()`` until the data is safely in the database file (parser processes
started, every page parsed, written, and the write-ahead log checkpointed), but not the
interpreter's own start-up and imports. Prints events/s for that first ingest, for a
re-ingest of the unchanged archive in the same process (unchanged day folders are
skipped), the CPU time of the process and of its parser processes, and the database size.

    .venv/bin/python bench/ingest.py [--runs 5] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def _children_cpu(pid: int) -> float:
    """User + system CPU of the reaped children of process ``pid`` (the fork server's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


async def _one_run(archive: Path, workers: int | None) -> dict[str, float]:
    import multiprocessing.forkserver

    from archive.ingest import ingest
    from archive.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        async with Store.open(db) as store:
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            report = await ingest(store, archive, workers=workers)
            first = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            again = await ingest(store, archive, workers=workers)
            second = time.perf_counter() - start
            assert not again.changed, "re-ingest changed something"
            await store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = _size(db)
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server:
        await asyncio.sleep(0.2)  # let the fork server reap its last workers
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "events": report.events_seen,
        "first": first,
        "second": second,
        "size": size,
        "cpu_main": cpu,
        "cpu_parsers": _children_cpu(server) if server else 0.0,
    }


def _fresh_run(archive: Path, workers: int | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", str(archive)]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_one_run(args.one, args.workers))))
        return
    print(
        f"{'archive':<11} {'events':>6}  {'first ingest (median, range)':<38}"
        f" {'CPU main+parsers':>16}  {'re-ingest':>20}  {'db size':>7}"
    )
    for name in ("archive-zh", "archive-en"):
        runs = [_fresh_run(SHARED / name, args.workers) for _ in range(args.runs)]
        events = runs[0]["events"]
        first = sorted(r["first"] for r in runs)
        median = statistics.median(first)
        second = statistics.median(r["second"] for r in runs)
        main_cpu = statistics.median(r["cpu_main"] for r in runs)
        parsers = statistics.median(r["cpu_parsers"] for r in runs)
        print(
            f"{name:<11} {events:>6}  {median:5.2f} s {events / median:>6,.0f} ev/s"
            f" ({first[0]:.2f}-{first[-1]:.2f} s)"
            f"{'':<8} {main_cpu:4.2f}+{parsers:4.2f} s"
            f"  {second:5.2f} s {events / second:>7,.0f} ev/s"
            f"  {runs[0]['size'] / 2**20:5.1f} MB"
        )
    print(f"({args.runs} runs per archive, each in a new process on an empty database)")


if __name__ == "__main__":
    main()
