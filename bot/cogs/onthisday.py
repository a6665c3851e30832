"""``/onthisday [date:]``: the on-this-day digest on demand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import discord
from discord import app_commands
from discord.ext import commands

from archive.store import Store
from bot.client import DatelineBot
from bot.dates import DateInputError, long_month_day, parse_day
from bot.errors import reply_privately
from bot.render import CONTENT_LIMIT, Page, event_pages, truncate
from bot.replies import read_or_defer
from bot.schedule import local_today
from bot.story_views import DigestMoreButton, card_view, send_card_pages
from embeddings.digest import plan_digest
from embeddings.stories import Stories

DIGEST_SUMMARY = 350


async def build_digest_pages(
    store: Store,
    stories: Stories,
    base_url: str,
    day: dt.date,
    *,
    marker: str = "",
    skip: int = 0,
    lang: str | None = None,
) -> list[Page]:
    """Events on ``day``'s month-day in the years before ``day``: round anniversaries, then
    the most notable event of each year (``embeddings.digest``), then every other event, as
    pages of cards. ``skip`` leaves out that many events from the start (those of the daily
    post's own message, when More pages through the rest). Only edition ``lang``, when given."""
    events = await store.events_on_month_day(day.month, day.day, before=day, lang=lang)
    heading = f"**On this day, {long_month_day(day.month, day.day)}**"
    if not events:
        heading += "\nNothing in the archive happened on this day in earlier years."
        if marker:
            heading += f"\n-# {marker}"
        return [Page(truncate(heading, CONTENT_LIMIT), ())]
    years = sorted({e.date.year for e in events})
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    heading += f" · {len(events)} event{'s' if len(events) != 1 else ''}, {span}"
    plan = plan_digest(events, await stories.notability(events), day)
    if marker:
        heading += f"\n-# {marker}"
    if skip:
        heading += f"\n-# the {len(events) - skip} events after the first {skip}"
    return event_pages(
        plan.events[skip:] or plan.events, base_url, heading, summary_limit=DIGEST_SUMMARY,
        max_sources=3,
    )  # fmt: skip


async def build_digest(
    store: Store,
    stories: Stories,
    base_url: str,
    day: dt.date,
    *,
    marker: str = "",
    lang: str | None = None,
) -> tuple[Page, discord.ui.View]:
    """The daily post: the digest's first page in one message, with a Related button per
    card and a More button that opens every other event of the day (privately)."""
    pages = await build_digest_pages(store, stories, base_url, day, marker=marker, lang=lang)
    first = pages[0]
    view = card_view(first) or discord.ui.View(timeout=None)
    rest = sum(len(p.event_ids) for p in pages[1:])
    if rest:
        first = dataclasses.replace(
            first,
            content=truncate(
                first.content.replace(f" · page 1/{len(pages)}", "")
                + f"\n-# {rest} more under **More**.",
                CONTENT_LIMIT,
            ),
        )
        view.add_item(DigestMoreButton(day, rest, skip=len(first.event_ids)))
    return first, view


class OnThisDayCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot

    @app_commands.command(name="onthisday", description="What happened on this day in past years")
    @app_commands.describe(date="A day like Nov 20, 11-20 or 2015-11-20 (default: today)")
    async def onthisday(self, interaction: discord.Interaction, date: str | None = None) -> None:
        schedule = await self.bot.schedule_for(interaction.guild_id)
        today = local_today(self.bot.clock(), schedule)
        if date is None or not date.strip():
            day = today
        else:
            try:
                month, day_of_month, year = parse_day(date)
            except DateInputError as exc:
                await reply_privately(interaction, str(exc))
                return
            # A month-day alone means every year up to today; a full date, the years before it.
            day = _day_in_year(month, day_of_month, year or today.year)
            if year is None and day < today:
                day = _day_in_year(month, day_of_month, today.year + 1)
        edition = await self.bot.edition_for(interaction.guild_id)
        # A day can hold very many events: defer if the read is slow (bot.replies).
        pages = await read_or_defer(
            interaction,
            build_digest_pages(
                self.bot.store,
                self.bot.stories,
                self.bot.archive_settings.base_url,
                day,
                lang=edition,
            ),
        )
        await send_card_pages(interaction, pages)


def _day_in_year(month: int, day: int, year: int) -> dt.date:
    # 29 February outside a leap year: the next leap year keeps every earlier 29 February.
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            year += 1


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(OnThisDayCog(bot))
