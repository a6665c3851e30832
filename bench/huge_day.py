"""Benchmark: one day folder with many event pages (issue 13, item 9).

Writes ``--pages`` event pages with distinct headlines into one day folder of a temporary
archive (with a day page listing ``--listed`` of them; the rest are found only on disk),
ingests it into a fresh database and prints the time. Per-day work must grow linearly.

    .venv/bin/python bench/huge_day.py [--pages 20000] [--listed 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from pathlib import Path

WORDS = (
    "government minister police army court election president storm flood earthquake fire"
    " protest strike bank market company report city village border river airport train bus"
    " ship school hospital university parliament senate mayor governor rebels troops talks"
    " treaty deal trade oil gas power water food prices rise fall killed injured arrested"
    " announces rejects approves signs opens closes wins loses leads visits meets warns"
).split()
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "archive-en"


def vocabulary() -> list[str]:
    """The words of the real archive's pages when present (news vocabulary), else a few."""
    words: set[str] = set()
    for page in sorted((SHARED / "news").rglob("*.md"))[:400]:
        words.update(w for w in re.findall(r"[A-Za-z]{3,}", page.read_text("utf-8", "replace")))
    return sorted(words) or WORDS


def headline(rng: random.Random, n: int, words: list[str]) -> str:
    text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))
    return text.capitalize() + f" ({n})."


def write_day(root: Path, pages: int, listed: float, seed: int = 1) -> Path:
    rng = random.Random(seed)
    words = vocabulary()
    day = root / "news" / "2016" / "03" / "14"
    day.mkdir(parents=True)
    entries = []
    for n in range(pages):
        title = headline(rng, n, words)
        slug = "-".join(title.lower().replace("(", "").replace(")", "").rstrip(".").split())
        (day / f"{slug}.md").write_text(
            f"### [2016-03-14](/news/2016/03/14/index.md)\n\n# {title} \n\n"
            f"{title} Officials gave more details.\n\n### Sources:\n\n"
            f"1. [Wire](https://wire.example/{n})\n"
        )
        if rng.random() < listed:
            entries.append(f"### [{title} ](/news/2016/03/14/{slug}.md)\n{title}\n")
    (day / "index.md").write_text(
        "## [2016-03-14](/news/2016/03/14/index.md)\n\n" + "\n".join(entries)
    )
    return root


async def run(pages: int, listed: float) -> float:
    from archive.ingest import ingest
    from archive.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        root = write_day(Path(tmp) / "archive", pages, listed)
        async with Store.open(Path(tmp) / "db.sqlite3") as store:
            start = time.perf_counter()
            report = await ingest(store, root)
            elapsed = time.perf_counter() - start
        print(
            f"{pages} pages in one day ({listed:.0%} listed): {elapsed:.1f} s;"
            f" {report.new} events, {report.merged_duplicates} merged"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--listed", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(run(args.pages, args.listed))


if __name__ == "__main__":
    main()
