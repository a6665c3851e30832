"""``/onthisday [date:]``: the on-this-day digest on demand."""

from __future__ import annotations

import datetime as dt

import discord
from discord import app_commands
from discord.ext import commands

from archive.store import Store
from bot.client import DatelineBot
from bot.dates import DateInputError, long_month_day, parse_day
from bot.errors import reply_privately
from bot.render import Page, digest_page
from bot.replies import read_or_defer, respond
from bot.schedule import local_today


async def build_digest(store: Store, base_url: str, day: dt.date, *, marker: str = "") -> Page:
    """Events on ``day``'s month-day in the years before ``day``, most notable first."""
    events = await store.events_on_month_day(day.month, day.day, before=day)
    heading = f"**On this day, {long_month_day(day.month, day.day)}**"
    if events:
        years = sorted({e.date.year for e in events})
        span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
        heading += f" · {len(events)} event{'s' if len(events) != 1 else ''}, {span}"
    else:
        heading += "\nNothing in the archive happened on this day in earlier years."
    if marker:
        heading += f"\n-# {marker}"
    return digest_page(events, base_url, heading)


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
        page = await read_or_defer(
            interaction, build_digest(self.bot.store, self.bot.archive_settings.base_url, day)
        )
        await respond(interaction, page.content, embeds=page.embeds)


def _day_in_year(month: int, day: int, year: int) -> dt.date:
    # 29 February outside a leap year: the next leap year keeps every earlier 29 February.
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            year += 1


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(OnThisDayCog(bot))
