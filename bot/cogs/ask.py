"""``/ask question: [from:] [to:]``: hybrid search over the archive."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import DatelineBot
from bot.dates import DateInputError, long_date, parse_date
from bot.errors import reply_privately
from bot.render import escape, event_embed, pack, truncate
from bot.replies import send_followup
from bot.story_views import RelatedButton, StoryButton

NOTHING_CLOSE = "Nothing in the archive is close enough to that question."
CARDS = 5  # one card per story
CANDIDATES_PER_CARD = 3


class AskCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask", description="Ask the archive a question")
    @app_commands.rename(date_from="from", date_to="to")
    @app_commands.describe(
        question="What you want to know, in your own words",
        date_from="Only events on or after this day (like 2015-11-01)",
        date_to="Only events on or before this day (like 2015-11-30)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 2, 300],
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> None:
        # Validating takes no I/O, so it runs before deferring: bad input gets a private reply.
        try:
            start = parse_date(date_from) if date_from else None
            end = parse_date(date_to) if date_to else None
        except DateInputError as exc:
            # Mistakes are answered, not raised: an error is a fault of ours.
            await reply_privately(interaction, f"{_which_dates(date_from, date_to)}: {exc}")
            return
        if start and end and start > end:
            await reply_privately(interaction, "`from` must be on or before `to`.")
            return
        if self.bot.searcher is None:
            await reply_privately(
                interaction, "Search is not available right now: no index is loaded."
            )
            return
        await interaction.response.defer(thinking=True)
        # Extra candidates, so that folding each story into one card still leaves CARDS cards.
        answer = await self.bot.searcher.ask(
            question,
            k=CARDS * CANDIDATES_PER_CARD,
            date_from=start,
            date_to=end,
            lang=await self.bot.edition_for(interaction.guild_id),
        )
        heading = f"**Q:** {truncate(escape(question), 300)}"
        if start or end:
            span = f"{long_date(start) if start else '…'} – {long_date(end) if end else '…'}"
            heading += f"\n-# {span}"
        if answer.nothing_close or not answer.hits:
            await send_followup(interaction, f"{heading}\n{NOTHING_CLOSE}")
            return
        base_url = self.bot.archive_settings.base_url
        groups = await self.bot.stories.group(answer.hits, limit=CARDS)
        embeds, view = [], discord.ui.View(timeout=None)
        for group in groups:
            event = group.hit.event
            note = ""
            if group.more:
                note = f"**+{group.more} more in this story**"
            embeds.append(event_embed(event, base_url, summary_limit=500, max_sources=4, note=note))
        first = pack(embeds)[0]
        for group in groups[: len(first)]:
            event = group.hit.event
            if group.more:
                view.add_item(
                    StoryButton(event.id, f"Story ({group.story_size}): {event.headline}")
                )
            view.add_item(RelatedButton(event.id, event.headline))
        if len(first) < len(groups):
            heading += f"\n-# {len(groups) - len(first)} more answers did not fit in this message."
        await send_followup(interaction, heading, embeds=first, view=view)


def _which_dates(date_from: str | None, date_to: str | None) -> str:
    """Name only the date options that were given (\"`from`\", \"`to`\" or both)."""
    given = [name for name, value in (("from", date_from), ("to", date_to)) if value]
    return " and ".join(f"`{name}`" for name in given)


async def setup(bot: DatelineBot) -> None:
    await bot.add_cog(AskCog(bot))
