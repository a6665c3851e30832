"""``/event date:``: the events of one day, paginated."""

from __future__ import annotations

import datetime as dt

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import DatelineBot
from bot.dates import DateInputError, long_date, parse_date, suggestion_window
from bot.errors import reply_privately
from bot.render import event_pages
from bot.replies import read_or_defer, respond
from bot.schedule import local_today
from bot.story_views import send_card_pages

MAX_CHOICES = 25


class EventsCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot

    @app_commands.command(name="event", description="The events of one day in the archive")
    @app_commands.describe(date="A day, like 2015-11-20, 20 November 2015 or Nov 20 2015")
    async def event(self, interaction: discord.Interaction, date: str) -> None:
        try:
            day = parse_date(date)
        except DateInputError as exc:
            # A mistake of the user's: answered, not raised (an error is a fault of ours).
            await reply_privately(interaction, str(exc))
            return
        # A day can hold very many events: defer if the read is slow (bot.replies).
        edition = await self.bot.edition_for(interaction.guild_id)
        events = await read_or_defer(interaction, self.bot.store.events_on(day, lang=edition))
        if not events:
            await respond(interaction, await self._nothing_on(day, edition))
            return
        count = f"{len(events)} event" + ("s" if len(events) != 1 else "")
        heading = f"**{long_date(day)}** · {count}"
        await send_card_pages(
            interaction, event_pages(events, self.bot.archive_settings.base_url, heading)
        )

    async def _nothing_on(self, day: dt.date, edition: str | None) -> str:
        radius = dt.timedelta(days=31)
        near = await self.bot.store.counts_per_day(day - radius, day + radius, edition)
        text = f"No events on {long_date(day)} in the archive."
        if near:
            closest = sorted(near, key=lambda item: abs((item[0] - day).days))[:3]
            days = ", ".join(d.isoformat() for d, _ in sorted(closest))
            text += f" Nearby days with events: {days}."
        return text

    @event.autocomplete("date")
    async def event_date_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        schedule = await self.bot.schedule_for(interaction.guild_id)
        today = local_today(self.bot.clock(), schedule)
        edition = await self.bot.edition_for(interaction.guild_id)
        return await date_choices(self.bot, current, edition, today=today)


async def date_choices(
    bot: DatelineBot, current: str, edition: str | None = None, *, today: dt.date | None = None
) -> list[app_commands.Choice[str]]:
    """Days with events of ``edition`` near what was typed: nearest first; for a month-day
    ("November 26"), that day in every year with events, newest first; for nothing typed,
    ``today`` and then the newest days."""
    window = suggestion_window(current)
    counts = await bot.store.counts_per_day(window.date_from, window.date_to, edition)
    anchor = window.anchor
    if window.month_day is not None:
        month_day = window.month_day
        chosen = [item for item in reversed(counts) if (item[0].month, item[0].day) == month_day]
    elif anchor is None:
        chosen = list(reversed(counts))
    else:
        chosen = sorted(counts, key=lambda item: (abs((item[0] - anchor).days), item[0]))
    choices = [
        app_commands.Choice(
            name=f"{long_date(day)} · {n} event{'s' if n != 1 else ''}", value=day.isoformat()
        )
        for day, n in chosen[:MAX_CHOICES]
    ]
    if today is not None and not current.strip():
        listed = {choice.value for choice in choices}
        if today.isoformat() not in listed:
            choices = [
                app_commands.Choice(name=f"{long_date(today)} · today", value=today.isoformat()),
                *choices[: MAX_CHOICES - 1],
            ]
    return choices


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(EventsCog(bot))
