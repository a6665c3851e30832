"""Small frozen records shared by the parser, the store and the layers above."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


class _FastPickle:
    """Pickle as a constructor call: the dataclass default (``fields()`` on every object)
    cost the ingest more to unpickle parsed pages than the parsing processes saved."""

    __slots__ = ()
    __match_args__: tuple[str, ...]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), tuple(getattr(self, name) for name in self.__match_args__))


@dataclass(frozen=True, slots=True)
class Source(_FastPickle):
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class RelatedLink(_FastPickle):
    """A link from one event to another, as the ``### Related:`` section lists it."""

    date: dt.date | None
    slug: str
    headline: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewEvent(_FastPickle):
    """One event as the parser and the merge make it, not stored yet: no id and no content
    hash (``archive.rows.event_rows`` works the hash out). ``Store.write_events`` takes it."""

    lang: str
    date: dt.date
    slug: str
    headline: str
    summary: str
    topic: str | None
    tags: tuple[str, ...]
    sources: tuple[Source, ...]
    aliases: tuple[str, ...]
    cover_image: str | None = None
    related: tuple[RelatedLink, ...] = ()
    has_page: bool = True
    position: int = 0


@dataclass(frozen=True, slots=True)
class Event(_FastPickle):
    """One event as stored, read back from the store: what ``dateline event --json`` prints
    and search returns. ``content_hash`` is the hash of its stored rows (``archive.rows``)."""

    id: int
    lang: str
    date: dt.date
    slug: str
    headline: str
    summary: str
    topic: str | None
    tags: tuple[str, ...]
    sources: tuple[Source, ...]
    aliases: tuple[str, ...]
    cover_image: str | None
    related: tuple[RelatedLink, ...]
    has_page: bool
    position: int
    content_hash: str = field(compare=False)

    @property
    def path(self) -> str:
        """The event page's path inside the archive (``news/2015/11/20/<slug>.md``)."""
        return f"news/{self.date.year}/{self.date.month:02d}/{self.date.day}/{self.slug}.md"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            "date": self.date.isoformat(),
            "headline": self.headline,
            "summary": self.summary,
            "topic": self.topic,
            "tags": list(self.tags),
            "sources": [{"title": s.title, "url": s.url} for s in self.sources],
            "aliases": list(self.aliases),
            "cover_image": self.cover_image,
            "path": self.path,
            "related": [
                {
                    "date": r.date.isoformat() if r.date else None,
                    "slug": r.slug,
                    "headline": r.headline,
                    "tags": list(r.tags),
                }
                for r in self.related
            ],
        }
