"""Buttons that open stories: Related (every event card), Story (grouped /ask answers) and
More (the daily post). They are ``discord.ui.DynamicItem`` buttons: the custom id carries the
event id or the day, so they keep working after the bot restarts, and each answers privately
(ephemeral) to whoever pressed it."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

import discord

from archive.models import Event
from bot.dates import long_date
from bot.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    NO_MENTIONS,
    Page,
    archive_url,
    escape,
    link,
    pack,
    truncate,
)
from bot.views import PageView
from embeddings.stories import RelatedEvent, Stories, Story
from embeddings.timeline_chart import story_chart

LABEL_LIMIT = 80
CHART_FILE = "story.png"
STORY_LINES = 12  # events per page of a story's timeline
STORY_HEADLINE = 110  # characters of a headline in the timeline
RELATED_PER_EMBED = 20
RELATED_HEADLINE = 120  # characters of a headline in the list of related events


def _bot(interaction: discord.Interaction) -> Any:
    return interaction.client


def _short(text: str, limit: int) -> str:
    return truncate(" ".join(text.split()), limit)


async def _deferred_event(interaction: discord.Interaction, bot: Any, event_id: int) -> list[Event]:
    """Defer privately and read the event a button is about; say so when it is gone."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    events: list[Event] = await bot.store.events_by_ids([event_id])
    if not events:
        await interaction.followup.send(
            "That event is no longer in the archive.", ephemeral=True, allowed_mentions=NO_MENTIONS
        )
    return events


class RelatedButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dl:rel:(?P<id>\d+)"):
    """Answers privately with the event's related events, newest first."""

    def __init__(self, event_id: int, headline: str = "") -> None:
        label = "Related" + (f": {_short(headline, LABEL_LIMIT - 9)}" if headline else "")
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=f"dl:rel:{event_id}"
            )
        )
        self.event_id = event_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RelatedButton:
        return cls(int(match["id"]), "")

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        events = await _deferred_event(interaction, bot, self.event_id)
        if not events:
            return
        related = await bot.stories.related(events[0])
        pages = related_pages(events[0], related, bot.archive_settings.base_url)
        await send_followup_pages(interaction, pages, ephemeral=True)


class StoryButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dl:story:(?P<id>\d+)"):
    """Opens the story of an event privately: its timeline chart and events."""

    def __init__(self, event_id: int, label: str = "Story") -> None:
        super().__init__(
            discord.ui.Button(
                label=_short(label, LABEL_LIMIT),
                style=discord.ButtonStyle.primary,
                custom_id=f"dl:story:{event_id}",
            )
        )
        self.event_id = event_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StoryButton:
        return cls(int(match["id"]), getattr(item, "label", None) or "Story")

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        events = await _deferred_event(interaction, bot, self.event_id)
        if not events:
            return
        await send_story(interaction, bot.stories, events[0], bot.archive_settings.base_url,
                         ephemeral=True)  # fmt: skip


class DigestMoreButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dl:otd:(?P<day>\d{4}-\d{2}-\d{2}):(?P<skip>\d+)",
):
    """The rest of an on-this-day digest (after the ``skip`` events the post shows),
    privately, page by page."""

    def __init__(self, day: dt.date, count: int = 0, *, skip: int = 0) -> None:
        label = f"More ({count} events)" if count else "More"
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.primary,
                custom_id=f"dl:otd:{day.isoformat()}:{skip}",
            )
        )  # fmt: skip
        self.day = day
        self.skip = skip

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DigestMoreButton:
        return cls(dt.date.fromisoformat(match["day"]), skip=int(match["skip"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.cogs.onthisday import build_digest_pages

        bot = _bot(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        pages = await build_digest_pages(
            bot.store,
            bot.stories,
            bot.archive_settings.base_url,
            self.day,
            skip=self.skip,
            lang=await bot.edition_for(interaction.guild_id),
        )
        await send_followup_pages(interaction, pages, ephemeral=True)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    RelatedButton,
    StoryButton,
    DigestMoreButton,
)


def add_related_buttons(view: discord.ui.View, page: Page) -> None:
    for event_id, headline in zip(page.event_ids, page.event_headlines, strict=False):
        view.add_item(RelatedButton(event_id, headline))


class CardPageView(PageView):
    """The paginator, with a Related button for each event card of the page shown."""

    def _update_buttons(self) -> None:
        super()._update_buttons()
        for item in list(self.children):
            if isinstance(item, RelatedButton):
                self.remove_item(item)
        add_related_buttons(self, self.page)


def card_view(page: Page) -> discord.ui.View | None:
    """Related buttons for a single page (no timeout: they work as long as the message)."""
    if not page.event_ids:
        return None
    view = discord.ui.View(timeout=None)
    add_related_buttons(view, page)
    return view


async def send_followup_pages(
    interaction: discord.Interaction,
    pages: Sequence[Page],
    *,
    ephemeral: bool = False,
    file: discord.File | None = None,
    start: int = 0,
) -> None:
    """Answer a deferred interaction with ``pages`` (from ``start``): buttons to turn them,
    and a Related button per card."""
    extra: dict[str, Any] = {"file": file} if file is not None else {}
    if len(pages) == 1:
        page = pages[0]
        view = card_view(page)
        if view is not None:
            extra["view"] = view
        await interaction.followup.send(
            page.content, embeds=list(page.embeds), ephemeral=ephemeral,
            allowed_mentions=NO_MENTIONS, **extra,
        )  # fmt: skip
        return
    paginator = CardPageView(pages, owner_id=interaction.user.id)
    paginator.index = max(0, min(start, len(pages) - 1))
    paginator._update_buttons()
    page = paginator.page
    paginator.message = await interaction.followup.send(
        page.content, embeds=list(page.embeds), view=paginator, ephemeral=ephemeral,
        allowed_mentions=NO_MENTIONS, wait=True, **extra,
    )  # fmt: skip


# ----- related events -----------------------------------------------------------------------


def related_line(item: RelatedEvent, base_url: str) -> str:
    when = item.date.isoformat() if item.date else "undated"
    url = f"{base_url.rstrip('/')}/{item.path}"
    arrow = "→" if item.direction == "links to" else "←"
    line = f"`{when}` {arrow} {link(_short(item.headline, RELATED_HEADLINE), url)}"
    if item.event is None:
        line += " · *not in this archive*"
    return line


def related_pages(event: Event, related: Sequence[RelatedEvent], base_url: str) -> list[Page]:
    """The related events as lists (newest first), ``RELATED_PER_EMBED`` a list, every one
    reachable through the pages."""
    heading = f"**Related to:** {truncate(escape(event.headline), 300)}"
    if not related:
        return [Page(f"{heading}\nThe archive lists no related events for this one.", ())]
    # Whole lines only: at most RELATED_PER_EMBED a list and the embed's length (archive
    # addresses are long; a link cut by a blind truncation shows as raw markdown).
    lists: list[list[str]] = []
    size = 0
    for item in related:
        line = related_line(item, base_url)
        if not lists or len(lists[-1]) == RELATED_PER_EMBED or size + 1 + len(line) > 4000:
            lists.append([])
            size = 0
        lists[-1].append(line)
        size += len(line) + 1
    embeds = [
        discord.Embed(
            description=truncate("\n".join(lines), DESCRIPTION_LIMIT),
            colour=discord.Colour.blurple(),
        )
        for lines in lists
    ]
    stored = sum(r.event is not None for r in related)
    count = (
        f"{len(related)} related · {stored} in the archive · newest first"
        " · → it links to · ← links to it"
    )
    pages = []
    groups = pack(embeds)  # within 6000 characters a message
    for number, group in enumerate(groups, start=1):
        suffix = f" · page {number}/{len(groups)}" if len(groups) > 1 else ""
        pages.append(Page(truncate(f"{heading}\n-# {count}{suffix}", CONTENT_LIMIT), tuple(group)))
    return pages


# ----- stories ------------------------------------------------------------------------------


def story_heading(story: Story) -> str:
    count = len(story.events)
    return (
        f"**Story:** {truncate(escape(story.anchor.headline), 300)}\n-# {count} event"
        f"{'s' if count != 1 else ''} · {long_date(story.date_from)} – {long_date(story.date_to)}"
        " · ▶ this event · 🔗 linked to it · the rest: same topic, close in meaning"
    )


def story_line(event: Event, story: Story, base_url: str) -> str:
    """One line of the timeline: the date, a mark, the headline linked to its archive page."""
    headline = link(_short(event.headline, STORY_HEADLINE), archive_url(event, base_url))
    if event.id == story.anchor.id:
        return f"**{long_date(event.date)}** · ▶ **{headline}**"
    mark = "🔗 " if event.id in story.linked else ""
    return f"**{long_date(event.date)}** · {mark}{headline}"


def story_pages(story: Story, base_url: str) -> tuple[list[Page], int]:
    """The story as a timeline in date order, ``STORY_LINES`` events a page (one embed each:
    a list reads as a timeline, where full cards would fill the screen with a few events),
    and the page holding the anchor. The anchor's page carries its Related button."""
    chunks: list[list[str]] = []  # lines of each page: at most STORY_LINES, 4096 characters
    shown: list[list[Event]] = []
    size = 0
    for event in story.events:
        line = story_line(event, story, base_url)
        if not chunks or len(chunks[-1]) == STORY_LINES or size + 1 + len(line) > DESCRIPTION_LIMIT:
            chunks.append([])
            shown.append([])
            size = 0
        chunks[-1].append(line)
        shown[-1].append(event)
        size += len(line) + 1
    heading = story_heading(story)
    pages = []
    for number, (lines, chunk) in enumerate(zip(chunks, shown, strict=True), start=1):
        description = truncate("\n".join(lines), DESCRIPTION_LIMIT)  # one line is < 500
        first, last = chunk[0].date, chunk[-1].date
        embed = discord.Embed(description=description, colour=discord.Colour.blurple())
        embed.set_footer(text=f"{long_date(first)} – {long_date(last)}")
        suffix = f" · page {number}/{len(chunks)}" if len(chunks) > 1 else ""
        anchor = [e for e in chunk if e.id == story.anchor.id]
        pages.append(
            Page(
                truncate(heading + suffix, CONTENT_LIMIT),
                (embed,),
                tuple(e.id for e in anchor),
                tuple(e.headline for e in anchor),
            )
        )
    start = next((n for n, p in enumerate(pages) if story.anchor.id in p.event_ids), 0)
    assert all(len(p.embeds) <= EMBEDS_PER_MESSAGE for p in pages)
    return pages, start


async def send_story(
    interaction: discord.Interaction,
    stories: Stories,
    anchor: Event,
    base_url: str,
    *,
    ephemeral: bool = False,
) -> None:
    """Answer a deferred interaction with the anchor's story: pages and the chart."""
    import asyncio

    story = await stories.story(anchor)
    png = await asyncio.to_thread(story_chart, story)
    pages, start = story_pages(story, base_url)
    await send_followup_pages(
        interaction, pages, ephemeral=ephemeral,
        file=discord.File(io.BytesIO(png), filename=CHART_FILE), start=start,
    )  # fmt: skip


async def send_card_pages(interaction: discord.Interaction, pages: Sequence[Page]) -> None:
    """Answer ``interaction`` at once with the first page: Prev/Next if there are more, and a
    Related button per card. Once the interaction was deferred (a slow read), through the
    follow-up instead."""
    if interaction.response.is_done():
        await send_followup_pages(interaction, pages)
        return
    first = pages[0]
    if len(pages) == 1:
        view = card_view(first)
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        await interaction.response.send_message(
            first.content, embeds=list(first.embeds), allowed_mentions=NO_MENTIONS, **extra
        )
        return
    paginator = CardPageView(pages, owner_id=interaction.user.id)
    await interaction.response.send_message(
        first.content, embeds=list(first.embeds), view=paginator, allowed_mentions=NO_MENTIONS
    )
    paginator.message = await interaction.original_response()
