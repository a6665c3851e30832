"""A story's timeline as a PNG: events per week (or per month for long stories), drawn with
matplotlib's Agg backend, readable on Discord's dark theme. Pure and blocking: callers run
``draw_timeline`` in a worker thread. No discord import (the CLI uses it too)."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embeddings.stories import Story

WIDTH_PX = 1000
HEIGHT_PX = 360
DPI = 100
# Discord's dark message background, so the chart sits in the message; light text on it.
BACKGROUND = "#313338"
TEXT = "#dbdee1"
GRID = "#4e5058"
BAR = "#5865f2"  # blurple
MARK = "#fee75c"  # the chosen event
# Discord shows a 1000 px image at about half its size: text sizes chosen for that.
TITLE_PT = 17
LABEL_PT = 14
TITLE_CHARS = 68  # about what fits in WIDTH_PX at TITLE_PT
# Spans longer than this are counted per month instead of per week.
WEEKLY_UP_TO_DAYS = 26 * 7

# pyplot keeps global state; the object API with a Figure of its own needs no lock, but the
# font cache is built on first use, which two threads must not do at once.
_FIRST_DRAW = threading.Lock()


def _bucket_start(day: dt.date, monthly: bool) -> dt.date:
    if monthly:
        return day.replace(day=1)
    return day - dt.timedelta(days=day.weekday())


def _next_bucket(start: dt.date, monthly: bool) -> dt.date:
    if monthly:
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=7)


def buckets(
    dates: Sequence[dt.date], date_from: dt.date, date_to: dt.date
) -> tuple[list[dt.date], list[int], bool]:
    """(bucket starts, event counts, monthly?) covering the whole span, empty buckets too."""
    monthly = (date_to - date_from).days > WEEKLY_UP_TO_DAYS
    counts = Counter(_bucket_start(d, monthly) for d in dates)
    starts: list[dt.date] = []
    current = _bucket_start(date_from, monthly)
    while current <= date_to:
        starts.append(current)
        current = _next_bucket(current, monthly)
    return starts, [counts.get(s, 0) for s in starts], monthly


def draw_timeline(
    dates: Sequence[dt.date],
    *,
    chosen: dt.date | None = None,
    title: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> bytes:
    """PNG bytes (``WIDTH_PX`` x ``HEIGHT_PX``) of the events per week or month."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not dates:
        raise ValueError("a timeline needs at least one event")
    date_from = min([*dates, *([date_from] if date_from else [])])
    date_to = max([*dates, *([date_to] if date_to else [])])
    starts, counts, monthly = buckets(dates, date_from, date_to)
    width = 24 if monthly else 5.5  # bar width in days

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_facecolor(BACKGROUND)
    centres = [s + dt.timedelta(days=width / 2) for s in starts]
    colours = [BAR] * len(starts)
    if chosen is not None:
        mark = _bucket_start(chosen, monthly)
        if mark in starts:
            colours[starts.index(mark)] = MARK
    axes.bar(centres, counts, width=width, color=colours, edgecolor=BACKGROUND, linewidth=0.5)  # type: ignore[arg-type]
    if chosen is not None:
        axes.axvline(chosen, color=MARK, linewidth=1.5, linestyle="--", zorder=3)  # type: ignore[arg-type]
        # Named above the plot, where no bar can hide it, aligned so it stays inside.
        low, high = axes.get_xlim()
        share = (mdates.date2num(chosen) - low) / ((high - low) or 1)
        align = "left" if share < 0.2 else "right" if share > 0.8 else "center"
        axes.annotate(
            f"this event · {chosen.day} {chosen:%b %Y}",
            xy=(mdates.date2num(chosen), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 5),
            textcoords="offset points",
            color=MARK,
            fontsize=LABEL_PT,
            fontweight="bold",
            ha=align,
            va="bottom",
        )
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    # No offset text ("2008-Dec" under the axis): the marked event's label carries the year.
    axes.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    axes.set_ylabel("events per " + ("month" if monthly else "week"), color=TEXT, fontsize=LABEL_PT)
    if title:
        figure.text(
            0.012, 0.975, fit_title(title), color=TEXT, fontsize=TITLE_PT, ha="left", va="top"
        )
    axes.tick_params(colors=TEXT, labelsize=LABEL_PT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(GRID)
    axes.grid(axis="y", color=GRID, linewidth=0.8, alpha=0.8)
    axes.set_axisbelow(True)
    # Fixed margins: tight_layout would draw the figure twice.
    figure.subplots_adjust(left=0.075, right=0.975, top=0.78, bottom=0.12)
    buffer = io.BytesIO()
    with _FIRST_DRAW:
        figure.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    return buffer.getvalue()


def fit_title(title: str, limit: int = TITLE_CHARS) -> str:
    """The title cut at a word boundary (with "…") so it fits the chart's width."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-–—…")
    return cut + "…"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) read from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def story_chart(story: Story) -> bytes:
    """The story's timeline PNG, its chosen event marked (blocking: run it in a thread)."""
    return draw_timeline(
        [e.date for e in story.events],
        chosen=story.anchor.date,
        title=story.anchor.headline,
        date_from=story.date_from,
        date_to=story.date_to,
    )
