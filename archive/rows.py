"""An event as the store writes it: plain rows with no id yet, from a ``NewEvent``.

Ingest builds these in its parsing processes, so the process that owns the database only
attaches ids before handing them to SQLite, and plain tuples are cheap to send between
processes. The content hash is taken over exactly these rows: what is written.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from archive.fts import fts_label, fts_text
from archive.models import NewEvent, RelatedLink

# (link hash, date or None, slug, headline, tags joined by TAG_SEPARATOR)
RelatedRow = tuple[int, str | None, str, str, str]
TAG_SEPARATOR = "\x1f"


class EventRows(NamedTuple):
    lang: str
    date: str
    slug: str
    headline: str
    summary: str
    topic: str | None
    cover_image: str | None
    position: int
    has_page: int
    aliases: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    related: tuple[RelatedRow, ...]
    tags: tuple[str, ...]
    fts: tuple[str, str, str, str]
    content_hash: str


# The parser hands out one RelatedLink object per distinct Related line, and those recur on
# many pages: rows are cached by object identity (the cache holds the object, so its id
# can't be reused), which skips hashing the dataclass on every occurrence.
_ROWS_BY_LINK: dict[int, tuple[RelatedLink, RelatedRow]] = {}
_ROWS_KEPT = 1 << 16


def _related_row(link: RelatedLink) -> RelatedRow:
    cached = _ROWS_BY_LINK.get(id(link))
    if cached is not None and cached[0] is link:
        return cached[1]
    date = link.date.isoformat() if link.date else None
    tags = TAG_SEPARATOR.join(link.tags)
    row = (
        _link_hash(date or "", link.slug, link.headline, tags),
        date,
        link.slug,
        link.headline,
        tags,
    )
    if len(_ROWS_BY_LINK) >= _ROWS_KEPT:
        _ROWS_BY_LINK.clear()
    _ROWS_BY_LINK[id(link)] = (link, row)
    return row


def _link_hash(*fields: str) -> int:
    """A related link's identity: a 64-bit hash of its fields, which any process can work
    out, so that the store keeps a link that many pages list once (``related_links.hash``)."""
    digest = hashlib.blake2b("\x1c".join(fields).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def event_rows(event: NewEvent) -> EventRows:
    """The rows of ``event`` and their content hash."""
    date = event.date.isoformat()
    sources = tuple((s.title, s.url) for s in event.sources)
    related = tuple(map(_related_row, event.related))
    text = "\x1e".join(
        (
            event.lang,
            date,
            event.slug,
            event.headline,
            event.summary,
            event.topic or "",
            event.cover_image or "",
            str(event.position),
            "1" if event.has_page else "0",
            "\x1d".join(event.tags),
            "\x1d".join(event.aliases),
            "\x1d".join(f"{title}\x1c{url}" for title, url in sources),
            " ".join(str(link[0]) for link in related),
        )
    )
    return EventRows(
        event.lang,
        date,
        event.slug,
        event.headline,
        event.summary,
        event.topic,
        event.cover_image,
        event.position,
        int(event.has_page),
        event.aliases,
        sources,
        related,
        event.tags,
        (
            fts_text(event.headline),
            fts_text(event.summary),
            fts_label(event.topic or ""),
            fts_label(" ; ".join(event.tags)),
        ),
        hashlib.blake2b(text.encode(), digest_size=16).hexdigest(),
    )
