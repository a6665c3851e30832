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


def event_embed(
    event: Event, base_url: str, *, summary_limit: int = 1200, max_sources: int = 8
) -> discord.Embed:
    """One event: headline (linking to its archive page), date, summary, sources."""
    url = archive_url(event, base_url)
    heading = f"**{long_date(event.date)}**"
    if event.topic:
        heading += f" · {escape(event.topic)}"
    parts = [heading]
    if event.summary and event.summary != event.headline:
        parts.append(truncate(escape(event.summary), summary_limit))
    parts.append(link("Archive page", url))
    embed = discord.Embed(
        title=truncate(escape(event.headline), TITLE_LIMIT),
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
    if lines:
        name = "Source" if len(lines) == 1 else "Sources"
        embed.add_field(name=name, value="\n".join(lines), inline=False)
    return embed


@dataclass(frozen=True, slots=True)
class Page:
    """One message: a short heading and up to ten embeds."""

    content: str
    embeds: tuple[discord.Embed, ...]


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


def event_pages(events: Sequence[Event], base_url: str, heading: str) -> list[Page]:
    """All ``events``, paginated; each page's content is ``heading`` with the page number."""
    groups = pack(event_embed(event, base_url) for event in events)
    total = len(groups)
    pages = []
    for number, group in enumerate(groups, start=1):
        suffix = f" · page {number}/{total}" if total > 1 else ""
        pages.append(Page(truncate(heading + suffix, CONTENT_LIMIT), tuple(group)))
    return pages


def notability(event: Event) -> tuple[int, int, int, int]:
    """Sort key, most notable first: an own page, then more sources, related links, tags."""
    return (-int(event.has_page), -len(event.sources), -len(event.related), -len(event.tags))


def digest_page(events: Sequence[Event], base_url: str, heading: str) -> Page:
    """The most notable ``events`` that fit in one message, with a count of the rest."""
    ranked = sorted(events, key=notability)  # stable: newest year first among equals
    embeds = [event_embed(e, base_url, summary_limit=350, max_sources=3) for e in ranked]
    first = pack(embeds)[0] if embeds else []
    content = heading
    if len(first) < len(ranked):
        content += f"\n-# {len(ranked) - len(first)} more not shown."
    return Page(truncate(content, CONTENT_LIMIT), tuple(first))
