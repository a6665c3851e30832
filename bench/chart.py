"""Time to draw a story's timeline chart (embeddings.timeline_chart) for a 500-event story.

    .venv/bin/python bench/chart.py [--events 500] [--runs 20]

Prints the first draw (matplotlib import and font cache included) and the median and worst of
the following draws, in milliseconds, for a story over one year (weekly bars would be 52) and
over five years (monthly bars), each with a chosen event marked. The bot draws in a worker
thread, so the event loop is not blocked either way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embeddings.timeline_chart import draw_timeline, png_size  # noqa: E402


def story_dates(count: int, days: int, seed: int) -> list[dt.date]:
    rng = random.Random(seed)
    start = dt.date(2015, 1, 1)
    return sorted(
        start + dt.timedelta(days=int(rng.triangular(0, days, days / 3))) for _ in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    for label, days in (
        ("150 days (weekly)", 150),
        ("1 year (monthly)", 365),
        ("5 years (monthly)", 5 * 365),
    ):
        dates = story_dates(args.events, days, seed=days)
        chosen = dates[len(dates) // 2]
        started = time.perf_counter()
        png = draw_timeline(dates, chosen=chosen, title="A story of 500 events")
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            draw_timeline(dates, chosen=chosen, title="A story of 500 events")
            times.append((time.perf_counter() - started) * 1000)
        width, height = png_size(png)
        print(
            f"{args.events} events over {label}: first {first:.0f} ms, median"
            f" {statistics.median(times):.0f} ms, worst {max(times):.0f} ms"
            f" ({width}x{height} PNG, {len(png) // 1024} KiB)"
        )


if __name__ == "__main__":
    main()
