"""Benchmark: CPU time of parsing a whole archive in one process, as ingest's parser
processes do it (``archive.prepare.prepare_days``: list, read, parse, merge and build the
rows of every day folder), without the database.

CPU time (``time.process_time``) rather than wall-clock time, so figures stay comparable
while other processes load the machine (they still vary a few percent: shared caches).
Each run is a new process, so caches start cold as in a real ingest; the minimum of the
runs is printed. Works with older checkouts too (only long-standing functions are used):

    PYTHONPATH=$PWD .venv/bin/python bench/parse_cpu.py ../shared/data/archive-zh --runs 5
    PYTHONPATH=/tmp/old .venv/bin/python bench/parse_cpu.py ../shared/data/archive-zh

``--dump FILE`` writes every stored row of every event (JSON lines, in date order) instead
of timing, to compare the output of two versions with ``diff``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path


def _folders(archive: Path) -> tuple[list, str]:
    from archive.ingest import detect_lang, find_day_folders, news_root

    folders = find_day_folders(news_root(archive))
    return folders, detect_lang(folders, "en")


def one_run(archive: Path, days: int | None) -> float:
    from archive.prepare import prepare_days

    folders, lang = _folders(archive)
    folders = folders[:days] if days else folders
    gc.disable()  # as in the parser processes (archive.prepare.parser_process_started)
    start = time.process_time()
    for i in range(0, len(folders), 64):
        prepare_days(folders[i : i + 64], lang)
    return time.process_time() - start


def dump(archive: Path, out: Path) -> None:
    from archive.prepare import prepare_days

    folders, lang = _folders(archive)
    with out.open("w", encoding="utf-8") as f:
        for day in prepare_days(folders, lang):
            for event in day.events:
                f.write(json.dumps(event._asdict(), ensure_ascii=False, default=str) + "\n")
            counts = {
                "day": str(day.date),
                "skipped": day.skipped,
                "warnings": day.warnings,
                "merged": day.merged,
                "repaired": getattr(day, "repaired", None),  # newer fields: None on old code
                "inline": str(getattr(day, "inline", None)),
            }
            f.write(json.dumps(counts, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, help="only the first N day folders")
    parser.add_argument("--dump", type=Path, help="write the rows as JSON lines; no timing")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args()
    if args.dump:
        dump(args.archive, args.dump)
        return
    if args.one:
        print(one_run(args.archive, args.days))
        return
    child = [sys.executable, __file__, str(args.archive), "--one"]
    child += ["--days", str(args.days)] if args.days else []
    times = [float(subprocess.check_output(child, text=True)) for _ in range(args.runs)]
    print(
        f"{args.archive.name}: parse CPU min {min(times):.3f} s over {args.runs} runs"
        f" (all: {', '.join(f'{t:.3f}' for t in times)})"
    )


if __name__ == "__main__":
    main()
