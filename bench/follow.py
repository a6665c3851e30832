"""Benchmark: follow mode (embeddings/follow.py, bot/cogs/feeds.py).

1. A pass that finds nothing new over the whole archive-zh (3,414 day folders): the cost of a
   short ``follow_interval``. The archive is ingested into a temporary database first (not
   timed), then ``--runs`` passes are timed (no git: archive-zh is a plain folder here).
   Target: at most 0.3 s.
2. From a new day folder on disk to its feed post: archive-en's days before 2015-10-20 are
   ingested and indexed with the real model (not timed); then the folder of 2015-10-20
   (20 events) appears and one pass of the bot's feeds cog runs in SimCord's simulated
   Discord, with one feed for every new event. Broken down into ingest, embed (the index
   update and its save), swap (the assignment) and post (claim, render, send, record).

    .venv/bin/python bench/follow.py [--runs 5]

Figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NEW_DAY = dt.date(2015, 10, 20)


async def nothing_new(runs: int, tmp: Path) -> list[float]:
    from archive.ingest import ingest
    from archive.settings import ArchiveSettings
    from archive.store import Store
    from embeddings.follow import follow_pass

    archive = SHARED / "archive-zh"
    async with Store.open(tmp / "zh.sqlite3") as store:
        await ingest(store, archive)
        settings = ArchiveSettings(path=archive)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            report = await follow_pass(settings, store, refresh_index=None)
            times.append(time.perf_counter() - started)
            assert not report.ingest.changed, report.ingest.summary()
        return times


def _copy_archive(tmp: Path) -> Path:
    """archive-en without the new day (copied in later)."""
    source = SHARED / "archive-en"
    root = tmp / "archive-en"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".git"))
    day = root / "news" / f"{NEW_DAY.year}" / f"{NEW_DAY.month:02d}" / f"{NEW_DAY.day}"
    shutil.rmtree(day)
    return root


async def new_day_to_post(tmp: Path) -> dict[str, float]:
    import simcord

    from archive.ingest import ingest
    from archive.store import Store
    from bot.client import create_bot
    from bot.state import BotState
    from dateline.config import settings_from_dict
    from embeddings.encoder import load_encoder
    from embeddings.follow import follow_pass
    from embeddings.search import Searcher

    root = _copy_archive(tmp)
    settings = settings_from_dict(
        {"storage": {"dir": str(tmp / "data")}, "archive": {"path": str(root)}}
    )
    encoder = load_encoder(settings.embeddings, settings.storage.models_dir)
    async with Store.open(settings.storage.database) as store:
        await ingest(store, root)
        state = await BotState.attach(store.connection)
        searcher = await Searcher.load(
            settings.storage.index_dir, settings.embeddings, settings.search, store, encoder
        )
        timings: dict[str, float] = {}
        original = searcher.refresh

        async def timed_refresh():  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            report = await original()
            timings["embed+swap"] = time.perf_counter() - started
            timings["embed"] = report.seconds
            return report

        searcher.refresh = timed_refresh  # type: ignore[method-assign]
        bot = create_bot(settings.bot, settings.archive, store=store, state=state,
                         searcher=searcher)  # fmt: skip
        async with simcord.run(bot, check_errors=False) as env:
            guild = env.create_guild("bench")
            channel = guild.create_text_channel("feed")
            await state.add_feed(
                guild.id, channel.id, query=None, edition=None,
                after_event_id=await store.max_event_id(), now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            # (load_extension made its own module object: no isinstance against an import)
            cog: Any = bot.get_cog("FeedsCog")
            assert cog is not None
            source = SHARED / "archive-en" / "news" / "2015" / "10" / "20"
            shutil.copytree(source, root / "news" / "2015" / "10" / "20")
            started = time.perf_counter()
            pass_report = await follow_pass(settings.archive, store, refresh_index=searcher.refresh)
            passed = time.perf_counter()
            await cog.post_feeds()
            posted = time.perf_counter()
            messages = [m for m in channel.history() if "in the archive" in m.content]
            assert len(messages) == 1, messages
            timings["new events"] = float(len(pass_report.created))
            timings["ingest"] = pass_report.timings["ingest"]
            timings["pull"] = pass_report.timings["pull"]
            timings["swap"] = timings["embed+swap"] - timings["embed"]
            timings["post"] = posted - passed
            timings["total"] = posted - started
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dateline-follow-") as tmp_name:
        tmp = Path(tmp_name)
        times = asyncio.run(nothing_new(args.runs, tmp))
        print(
            f"nothing-new pass over archive-zh ({args.runs} runs): median"
            f" {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"
            f" (target <= 0.3 s)"
        )
        timings = asyncio.run(new_day_to_post(tmp))
        print(
            f"new day {NEW_DAY} ({timings['new events']:.0f} events) to its feed post:"
            f" {timings['total']:.2f} s = pull {timings['pull']:.3f} + ingest"
            f" {timings['ingest']:.3f} + embed {timings['embed']:.3f} + swap"
            f" {timings['swap']:.4f} + post {timings['post']:.3f} s"
        )


if __name__ == "__main__":
    main()
