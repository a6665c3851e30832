"""The full-archive run as a user sees it: ``scripts/start.sh``'s steps on a large archive.

    .venv/bin/python bench/fullrun.py [--events 150000] [--work DIR] [--keep]

1. Writes a synthetic English archive of ``--events`` events in the real markdown format into a
   temporary folder (never the repository): day pages and event pages recombined from the real
   pages of ../shared/data/archive-en. Each synthetic event takes a real headline, the summary
   of another real event and the topic of a third (shuffled across days), and about as many
   events get a page of their own as in the real archive, with a real page's source block.
   Days run from 1 January 2000, with as many events per day as the real archive has on
   average.
2. Times each step as its own ``dateline`` process, as ``scripts/start.sh`` runs them:
   ``ingest``; ``index`` (the first build: its progress bar is passed through, and its ETA is
   checked against the real time: what the bar predicted at 10%, 25% and 50% of the way);
   one new day added, then ``ingest`` and ``index`` again; and the bot's start-up to ready
   (store, model and index loaded, then the real bot connected to SimCord's simulated Discord
   and ready), with that process's peak RSS.
3. Prints each time and the sizes of the database, the index and the cached ONNX export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARCHIVE_EN = REPO.parent / "shared" / "data" / "archive-en"
DAY_HEADER = "\nFormats: [HTML]({p}/index.html)  [JSON]({p}/index.json)  [XML]({p}/index.xml)  \n\n"
_BLOCK = re.compile(
    r"^(?:##### (?P<topic>.*)\n)?### \[(?P<headline>.*)\]\((?P<link>[^)]*)\)\n(?P<summary>.*)$",
    re.M,
)
_ETA = re.compile(r"(\d+)/(\d+) \[([\d:]+)<([\d:?]+)")


@dataclass(frozen=True)
class Pool:
    blocks: list[tuple[str, str, str]]  # (topic, headline, summary) of real day-page entries
    sources: list[str]  # the "### Source:" blocks of real event pages
    per_day: float  # real events per day
    page_share: float  # share of events with a page of their own


def read_pool(archive: Path) -> Pool:
    blocks, days, linked = [], 0, 0
    for day_page in sorted(archive.glob("news/*/*/*/index.md")):
        days += 1
        for match in _BLOCK.finditer(day_page.read_text(encoding="utf-8")):
            topic = match["topic"] or ""
            blocks.append((topic, match["headline"].strip(), match["summary"].strip()))
    sources = []
    for page in sorted(archive.glob("news/*/*/*/*.md")):
        if page.name == "index.md":
            continue
        linked += 1
        text = page.read_text(encoding="utf-8")
        start = text.find("### Source:")
        if start >= 0:
            end = text.find("### Related:", start)
            sources.append(text[start : end if end >= 0 else None].strip())
    return Pool(blocks, sources, len(blocks) / max(1, days), linked / max(1, len(blocks)))


def _slug(text: str, n: int) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120]
    return f"{words}-{n}"


def write_day(
    root: Path,
    day: dt.date,
    events: list[tuple[str, str, str]],
    pool: Pool,
    rng: random.Random,
    counter: int,
) -> int:
    """Write one day folder; ``counter`` numbers slugs (returned advanced)."""
    rel = f"{day.year}/{day.month:02d}/{day.day}"
    folder = root / "news" / rel
    folder.mkdir(parents=True, exist_ok=True)
    lines = [DAY_HEADER.format(p=rel), f"## [{day.isoformat()}](/news/{rel}/index.md)\n\n"]
    for topic, headline, summary in events:
        counter += 1
        slug = _slug(headline, counter)
        link = f"/news/{rel}/{slug}.md"
        heading = f"##### {topic}\n" if topic else ""
        lines.append(f"{heading}### [{headline} ]({link})\n{summary}\n\n")
        if rng.random() < pool.page_share:
            source = rng.choice(pool.sources) if pool.sources else ""
            (folder / f"{slug}.md").write_text(
                f"### [{day.isoformat()}](/news/{rel}/index.md)\n\n# {headline} \n\n"
                f"{summary}\n\n\n{source}\n",
                encoding="utf-8",
            )
    (folder / "index.md").write_text("".join(lines), encoding="utf-8")
    return counter


def synthetic_events(pool: Pool, rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    picks = []
    for _ in range(count):
        topic = rng.choice(pool.blocks)[0]
        headline = rng.choice(pool.blocks)[1]
        summary = rng.choice(pool.blocks)[2]
        picks.append((topic, headline, summary))
    return picks


def write_archive(root: Path, total: int, pool: Pool, seed: int = 7) -> tuple[int, dt.date]:
    """Write ``total`` events; returns (days written, the day after the last)."""
    rng = random.Random(seed)
    day, written, counter, days = dt.date(2000, 1, 1), 0, 0, 0
    while written < total:
        count = min(total - written, max(1, round(rng.gauss(pool.per_day, pool.per_day / 3))))
        counter = write_day(root, day, synthetic_events(pool, rng, count), pool, rng, counter)
        written += count
        days += 1
        day += dt.timedelta(days=1)
    (root / "SOURCE.md").write_text("Synthetic archive for bench/fullrun.py\n", encoding="utf-8")
    return days, day


def dateline(config: Path, *args: str, watch_eta: bool = False) -> tuple[float, str, list]:
    """Run one ``dateline`` command; returns (seconds, stdout, ETA samples)."""
    command = [sys.executable, "-m", "dateline.cli", "--config", str(config), *args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO
    )
    assert process.stderr is not None and process.stdout is not None
    samples: list[tuple[int, int, float, float]] = []
    buffer = b""
    while chunk := process.stderr.read1(4096):  # type: ignore[attr-defined]
        sys.stderr.buffer.write(chunk)
        sys.stderr.flush()
        if watch_eta:
            buffer = (buffer + chunk)[-400:]
            for part in re.split(rb"[\r\n]", buffer):
                match = _ETA.search(part.decode("utf-8", "replace"))
                if match and "?" not in match[4]:
                    done, total = int(match[1]), int(match[2])
                    sample = (done, total, _seconds(match[3]), _seconds(match[4]))
                    if not samples or samples[-1][0] != done:
                        samples.append(sample)
    out = process.stdout.read().decode("utf-8", "replace")
    if process.wait() != 0:
        raise SystemExit(f"dateline {' '.join(args)} failed (exit {process.returncode})")
    return time.perf_counter() - started, out, samples


def _seconds(text: str) -> float:
    value = 0.0
    for part in text.split(":"):
        value = value * 60 + float(part)
    return value


STARTUP = """
import asyncio, json, time, sys
from pathlib import Path
started = time.perf_counter()
from bot.runner import open_resources
from bot.client import create_bot
from dateline.config import load_settings
import simcord

async def main():
    settings = load_settings(Path(sys.argv[1]))
    async with open_resources(settings) as (store, state, searcher):
        loaded = time.perf_counter() - started
        bot = create_bot(
            settings.bot, settings.archive, store=store, state=state, searcher=searcher,
            sync_on_start=True,
        )
        async with simcord.run(bot, check_errors=False) as env:
            await bot.wait_until_ready()
            ready = time.perf_counter() - started
    rss = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) / 1024
    heavy = sorted({"torch", "sentence_transformers"} & set(sys.modules))
    print(json.dumps({"loaded": loaded, "ready": ready, "rss_mb": rss, "heavy": heavy,
                      "searcher": searcher is not None}))

asyncio.run(main())
"""


def bot_startup(config: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", STARTUP, str(config)], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit("bot start-up failed")
    data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    data["wall"] = wall
    return data


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def eta_check(samples: list[tuple[int, int, float, float]]) -> list[str]:
    """What the bar predicted at 10%, 25% and 50% against what the rest took (bar's clock)."""
    if not samples or samples[-1][0] != samples[-1][1]:
        return []
    finished = samples[-1][2]
    lines = []
    for share in (0.1, 0.25, 0.5):
        point = next((s for s in samples if s[0] >= share * s[1]), None)
        if point is not None:
            done, total, elapsed, remaining = point
            lines.append(
                f"at {done:,}/{total:,} ({elapsed:.0f} s in) the bar said {remaining:.0f} s"
                f" left; the rest took {finished - elapsed:.0f} s"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--work", type=Path, help="folder for the archive and data (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--models", type=Path, help="an ONNX export cache to reuse (copied)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="dateline-fullrun-"))
    work.mkdir(parents=True, exist_ok=True)
    archive, data = work / "archive-en", work / "data"
    config = work / "config.toml"
    config.write_text(
        f'[storage]\ndir = "{data}"\n[archive]\npath = "{archive}"\n', encoding="utf-8"
    )
    if args.models and args.models.is_dir():
        shutil.copytree(args.models, data / "models", dirs_exist_ok=True)
    try:
        started = time.perf_counter()
        pool = read_pool(ARCHIVE_EN)
        days, next_day = write_archive(archive, args.events, pool)
        written = time.perf_counter() - started
        pages = sum(1 for _ in archive.glob("news/*/*/*/*.md")) - days
        print(
            f"synthetic archive: {args.events:,} events over {days:,} days, {pages:,} event"
            f" pages, {size_mb(archive):.0f} MB, written in {written:.0f} s (pool: "
            f"{len(pool.blocks):,} real entries, {pool.per_day:.1f} events/day)",
            flush=True,
        )
        results: dict[str, float] = {}
        results["ingest"], out, _ = dateline(config, "ingest")
        print(out.strip().splitlines()[-1] if out.strip() else "", flush=True)
        seconds, out, samples = dateline(config, "index", watch_eta=True)
        results["index (first build)"] = seconds
        index_out = out.strip()
        print(index_out, flush=True)
        rng = random.Random(99)
        count = max(1, round(pool.per_day))
        write_day(archive, next_day, synthetic_events(pool, rng, count), pool, rng, 10**7)
        results["ingest after one new day"], _, _ = dateline(config, "ingest")
        results["re-index after one new day"], out, _ = dateline(config, "index")
        print(out.strip(), flush=True)
        startup = bot_startup(config)
        print("\n| step | seconds |\n|---|---:|")
        for name, value in results.items():
            print(f"| {name} | {value:.1f} |")
        print(
            f"| bot start-up to ready (wall, process start to SimCord ready) |"
            f" {startup['wall']:.1f} |"
        )
        print(
            f"\nbot start-up: store + model + index loaded at {startup['loaded']:.1f} s, bot"
            f" ready at {startup['ready']:.1f} s (after imports); peak RSS"
            f" {startup['rss_mb']:.0f} MB; torch imported: {startup['heavy'] or 'no'}"
        )
        print(
            f"sizes: database {size_mb(data / 'dateline.sqlite3'):.0f} MB, index"
            f" {size_mb(data / 'index'):.0f} MB, ONNX export cache"
            f" {size_mb(data / 'models'):.0f} MB"
        )
        events = int(re.search(r"index: (\d+) events", index_out)[1]) if index_out else 0  # type: ignore[index]
        rate = events / results["index (first build)"] if events else 0
        print(f"first index build: {rate:.0f} events/s over the whole process")
        for line in eta_check(samples):
            print("ETA check: " + line)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
