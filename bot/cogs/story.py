"""``/story [event:] [question:]``: a story's timeline, its events page by page with a chart."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from archive.models import Event
from bot.client import DatelineBot
from bot.errors import reply_privately
from bot.render import truncate
from bot.story_views import DYNAMIC_ITEMS, send_story

MAX_CHOICES = 25
CHOICE_NAME_LIMIT = 100
NOT_FOUND = "No event in the archive matches that. Pick one of the suggestions, or ask a question."


class StoryCog(commands.Cog):
    def __init__(self, bot: DatelineBot) -> None:
        self.bot = bot

    @app_commands.command(name="story", description="The timeline of the story an event is part of")
    @app_commands.describe(
        event="An event: start typing its headline and pick a suggestion",
        question="Or a question: the story of the best-matching event",
    )
    async def story(
        self,
        interaction: discord.Interaction,
        event: app_commands.Range[str, 1, 300] | None = None,
        question: app_commands.Range[str, 2, 300] | None = None,
    ) -> None:
        if not (event and event.strip()) and not (question and question.strip()):
            await reply_privately(
                interaction, "Give an `event` (pick a suggestion) or a `question`."
            )
            return
        if question and not event and self.bot.searcher is None:
            await reply_privately(
                interaction, "Search is not available right now: no index is loaded."
            )
            return
        await interaction.response.defer(thinking=True)
        anchor = await self._anchor(event, question)
        if anchor is None:
            await interaction.followup.send(
                NOT_FOUND, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await send_story(interaction, self.bot.stories, anchor, self.bot.archive_settings.base_url)

    async def _anchor(self, event: str | None, question: str | None) -> Event | None:
        store = self.bot.store
        if event and event.strip():
            text = event.strip()
            if text.isdigit():  # a suggestion's value: the event id
                found = await store.events_by_ids([int(text)])
                if found:
                    return found[0]
            matches = await store.headline_matches(text, limit=1)
            return (await store.events_by_ids([matches[0][0]]))[0] if matches else None
        assert question is not None and self.bot.searcher is not None
        answer = await self.bot.searcher.ask(question, k=1)
        return answer.hits[0].event if answer.hits else None

    @story.autocomplete("event")
    async def event_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        matches = await self.bot.store.headline_matches(current, limit=MAX_CHOICES)
        return [
            app_commands.Choice(
                name=truncate(f"{date} · {' '.join(headline.split())}", CHOICE_NAME_LIMIT),
                value=str(event_id),
            )
            for event_id, date, headline in matches
        ]


async def setup(bot: DatelineBot) -> None:
    # The buttons carry their event (or day) in their custom id: registered once, they answer
    # on any message, including messages sent before a restart.
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(StoryCog(bot))
