"""Archive events as Discord embeds, escaped and within Discord's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import discord

from archive.models import Event
from bot.dates import long_date

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EMBED_CHARS_PER_MESSAGE = 6000
CONTENT_LIMIT = 2000

NO_MENTIONS = discord.AllowedMentions.none()


def escape(text: str) -> str:
    """Archive text made inert: markdown shown literally, mentions unable to resolve."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    if cut.endswith("\\"):  # don't leave an escape that would swallow the ellipsis
        cut = cut[:-1]
    # One ellipsis, not "country. ..…": drop the dots and ellipses the cut ends with.
    cut = cut.rstrip(" .…") or cut
    return cut + "…"


def safe_url(url: str) -> str | None:
    """An http(s) URL usable inside ``[text](url)``, or None."""
    url = url.strip()
    if not re.match(r"https?://[^\s/]+", url):
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def link(text: str, url: str) -> str:
    target = safe_url(url)
    label = escape(text).replace("[", "\\[").replace("]", "\\]") or "link"
    return f"[{label}]({target})" if target else label


def archive_url(event: Event, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/{event.path}"


def split_title(text: str, limit: int = TITLE_LIMIT) -> tuple[str, str]:
    """(title, rest): ``text`` if it fits, else its words up to ``limit`` with an ellipsis and
    the rest (to continue in the description), never cut mid-word unless a word is longer."""
    if len(text) <= limit:
        return text, ""
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    cut = cut.rstrip()
    if cut.endswith("\\"):  # don't leave an escape that would swallow the ellipsis
        cut = cut[:-1]
    return cut + "…", text[len(cut) :].lstrip()


def event_embed(
    event: Event,
    base_url: str,
    *,
    summary_limit: int = 1200,
    max_sources: int = 8,
    note: str = "",
) -> discord.Embed:
    """One event: headline (linking to its archive page), date, summary, sources. A headline
    too long for a title continues in the description; sources left out are counted, with
    the archive page to find them; ``note`` (already markdown) ends the description."""
    url = archive_url(event, base_url)
    title, rest = split_title(escape(event.headline))
    heading = f"**{long_date(event.date)}**"
    if event.topic:
        heading += f" · {escape(event.topic)}"
    parts = [f"…{rest}"] if rest else []
    parts.append(heading)
    if event.summary and event.summary != event.headline:
        parts.append(truncate(escape(event.summary), summary_limit))
    parts.append(link("Archive page", url))
    if note:
        parts.append(note)
    embed = discord.Embed(
        title=title,
        url=safe_url(url),
        description=truncate("\n".join(parts), DESCRIPTION_LIMIT),
        colour=discord.Colour.blurple(),
    )
    lines: list[str] = []
    used = 0
    for source in event.sources[:max_sources]:
        line = "• " + link(truncate(source.title, 120), source.url)
        if used + len(line) + 1 > FIELD_VALUE_LIMIT:
            break
        lines.append(line)
        used += len(line) + 1
    while lines:
        hidden = len(event.sources) - len(lines)
        more = (
            f"+{hidden} more source{'s' if hidden != 1 else ''} on the {link('archive page', url)}"
            if hidden
            else ""
        )
        if sum(len(line) + 1 for line in lines) + len(more) <= FIELD_VALUE_LIMIT:
            break
        lines.pop()  # make room for the line that says what is left out
    hidden = len(event.sources) - len(lines)
    if hidden:
        lines.append(
            f"+{hidden} more source{'s' if hidden != 1 else ''} on the {link('archive page', url)}"
        )
    if lines:
        name = "Source" if len(event.sources) == 1 else "Sources"
        embed.add_field(name=name, value="\n".join(lines), inline=False)
    return embed


@dataclass(frozen=True, slots=True)
class Page:
    """One message: a short heading and up to ten embeds."""

    content: str
    embeds: tuple[discord.Embed, ...]
    event_ids: tuple[int, ...] = ()  # the event shown by each embed, for their buttons
    event_headlines: tuple[str, ...] = ()


def pack(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Greedy split into messages of at most 10 embeds and 6000 embed characters."""
    pages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if current and (
            len(current) == EMBEDS_PER_MESSAGE or size + length > EMBED_CHARS_PER_MESSAGE
        ):
            pages.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        pages.append(current)
    return pages


def event_pages(
    events: Sequence[Event],
    base_url: str,
    heading: str,
    *,
    summary_limit: int = 1200,
    max_sources: int = 8,
) -> list[Page]:
    """All ``events``, paginated; each page's content is ``heading`` with the page number."""
    embeds = [
        event_embed(e, base_url, summary_limit=summary_limit, max_sources=max_sources)
        for e in events
    ]
    groups = pack(embeds)
    total = len(groups)
    pages = []
    start = 0
    for number, group in enumerate(groups, start=1):
        suffix = f" · page {number}/{total}" if total > 1 else ""
        shown = events[start : start + len(group)]
        start += len(group)
        pages.append(
            Page(
                truncate(heading + suffix, CONTENT_LIMIT),
                tuple(group),
                tuple(e.id for e in shown),
                tuple(e.headline for e in shown),
            )
        )
    return pages
