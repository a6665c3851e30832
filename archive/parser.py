"""Parse day pages (``index.md``) and event pages of the markdown archive.

Headings are recognised by their structure, with a small table of known words as a first
guess: a numbered list of external links is a list of sources, internal links followed by
``_Label: tags_`` are related events, internal links followed by a version note are the
event's earlier slugs (``### Changes:``). This reads the English and the Chinese editions
alike, and any other edition laid out the same way.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote

from archive.models import RelatedLink, Source
from archive.text import (
    clean_text,
    count_mojibake_lines,
    inline_sources,
    split_tags,
    squash_space,
    url_host,
    web_url,
)

SECTION_WORDS: dict[str, frozenset[str]] = {
    "sources": frozenset({"source", "sources", "信息来源", "資料來源", "来源", "來源"}),
    "related": frozenset({"related", "有关", "有關", "相关", "相關"}),
    "changes": frozenset({"changes", "更改", "修订", "修訂", "版本"}),
}
COVER_TITLES = frozenset({"cover image", "img", "image", "封面"})
# The note that marks the current version in a ``### Changes:`` section.
CURRENT_VERSION_WORDS = ("current version", "当前版本", "當前版本", "目前版本", "最新版本")
# Longest headline and summary stored (the longest real ones: ~940 and ~3,600 characters);
# longer text is cut at a word and the page named in a warning.
MAX_HEADLINE = 2_000
MAX_SUMMARY = 10_000

# Possessive quantifiers (*+, ++): a link's label and target can't be split differently,
# and without them the regex engine steps through labels one character at a time.
_HEADING = re.compile(r"^(#{1,6})\s*+(.*)")  # on a stripped line
_LINK = re.compile(
    r"\[((?:[^\[\]]++|\[[^\[\]]*+\])*+)\]\(([^()\s]*+(?:\([^()\s]*+\)[^()\s]*+)*+)\)"
)
_LINK_END = re.compile(r"\]\(([^()\s]*+(?:\([^()\s]*+\)[^()\s]*+)*+)\)(?=\s|$)")
_DATE_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NEWS_PATH = re.compile(
    r"(?:^|/)(?:(?P<lang>[a-z]{2,3}(?:-[A-Za-z]+)?)/)?news/(?P<y>\d{4})/(?P<m>\d{1,2})/"
    r"(?P<d>\d{1,2})/(?P<slug>[^/]+?)\.(?:md|html|json|xml)$"
)
_FORMATS_LINE = re.compile(r"^\s*\S+:\s*(\[[^\]]+\]\([^)]*\.(?:html|json|xml)\)\s*)+$")
# Multiline patterns start with a literal "\n" (and run on "\n" + text), which lets the regex
# engine jump from line to line; "^" with re.M would try every character.
_FORMATS_LINE_N = re.compile(
    r"\n[^\S\n]*\S+:[^\S\n]*(?:\[[^\]\n]+\]\([^)\n]*\.(?:html|json|xml)\)[^\S\n]*)+(?=\n|\Z)"
)
# A tag note's label and its colon (``_tag_note``): characters other than "_", ":", "："
# and decimal digits, then a colon; the search is bounded, so linear on any input.
_LABEL_COLON = re.compile(r"[^_:：\d]*+[:：]")
_HEADING_LINE_N = re.compile(r"\n[^\S\n]*(#{1,6})([^\n]*)")
_ITEM_LINE_N = re.compile(r"\n[^\S\n]*\d+[.)][^\S\n]+([^\n]*)")


class ParseError(ValueError):
    """A page that can't be read as an archive page; the message says why."""


class PageLink(NamedTuple):
    lang: str | None
    date: dt.date
    slug: str


class DayEntry(NamedTuple):
    position: int
    topic: str | None
    headline: str
    link: PageLink | None
    summary: str
    tags: tuple[str, ...]
    # Sources written inline in the headline or summary line; urls as written (may be
    # mangled, ``http:--host-path``: the merge repairs or drops them).
    sources: tuple[Source, ...] = ()


class DayPage(NamedTuple):
    date: dt.date
    entries: tuple[DayEntry, ...]
    repaired: int = 0  # lines whose mojibake was repaired
    warnings: tuple[str, ...] = ()


class EventPage(NamedTuple):
    date: dt.date
    slug: str
    headline: str
    summary: str
    topic: str | None
    sources: tuple[Source, ...]
    cover_image: str | None
    related: tuple[RelatedLink, ...]
    earlier_slugs: tuple[str, ...]
    is_current: bool
    inline_sources: tuple[Source, ...] = ()  # as ``DayEntry.sources``
    current_headline: str | None = None  # the ``(Current version)`` of ``### Changes:``
    repaired: int = 0
    warnings: tuple[str, ...] = ()


def parse_link_target(target: str, base_dir: str = "") -> PageLink | None:
    """Resolve a link to an archive page: absolute, ``/zh/news/...`` or relative paths."""
    if target.startswith("/"):
        return _absolute_link(target)  # the common case, and the same links recur
    return _resolve_link(target, base_dir)


@lru_cache(maxsize=1 << 16)
def _absolute_link(target: str) -> PageLink | None:
    return _resolve_link(target, "")


def _resolve_link(target: str, base_dir: str) -> PageLink | None:
    if "%" in target:
        target = unquote(target)
    target = target.split("#", 1)[0].split("?", 1)[0].strip()
    if not target or "://" in target:
        return None
    parts = target.split("/")
    # Fast path for the usual absolute form: /news/Y/M/D/slug.md or /xx/news/Y/M/D/slug.md
    if len(parts) in (6, 7) and parts[-5] == "news" and parts[-1].endswith(".md"):
        y, m, d = parts[-4], parts[-3], parts[-2]
        lang = parts[1] if len(parts) == 7 and parts[0] == "" else None
        if y.isdigit() and m.isdigit() and d.isdigit() and (len(parts) == 6 or lang):
            try:
                return PageLink(lang, dt.date(int(y), int(m), int(d)), parts[-1][:-3])
            except ValueError:
                return None
    match = _NEWS_PATH.search(target)
    if match is None and base_dir:
        match = _NEWS_PATH.search(posixpath.normpath(posixpath.join(base_dir, target)))
    if match is None:
        return None
    try:
        date = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    return PageLink(match["lang"], date, match["slug"])


def link_lang(text: str) -> str | None:
    """The edition of a page, from its first ``/xx/news/`` link (ingest asks once per archive)."""
    match = re.search(r"\]\(/([a-z]{2,3}(?:-[A-Za-z]+)?)/news/", text)
    return match.group(1) if match else None


def _heading_date(title: str) -> dt.date | None:
    link = _LINK.fullmatch(title)
    text = link.group(1) if link else title
    match = _DATE_TEXT.match(text.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _single_link(text: str) -> tuple[str, str, str] | None:
    """``[label](target) rest`` -> (label, target, rest).

    Labels with unbalanced brackets (``[... [http:--x 新华网](/zh/news/...)``) occur in the
    archive; for those the link is taken to end at the last ``](target)``."""
    text = text.strip()
    match = _LINK.match(text)
    if match:
        return match.group(1), match.group(2), text[match.end() :].strip()
    if not text.startswith("["):
        return None
    ends = list(_LINK_END.finditer(text))
    if not ends:
        return None
    last = ends[-1]
    return text[1 : last.start()], last.group(1), text[last.end() :].strip()


def _unix_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _is_noise(line: str) -> bool:
    return ".json)" in line and bool(_FORMATS_LINE.match(line))


# The caches below are called with one argument when the topic does not matter (nearly
# always): lru_cache then keys on the text itself, without building a tuple.
@lru_cache(maxsize=4096)  # a topic's tag note recurs on every line that links to it
def _tags_of(rest: str, topic: str | None = None) -> tuple[str, ...] | None:
    text = _tag_note(rest)
    return None if text is None else split_tags(text, (topic,) if topic else ())


def _topic_in(topic: str | None, text: str) -> str | None:
    """``topic`` when ``split_tags`` can use it on ``text`` (it holds a comma and is in the
    text), else None: the tag caches are then keyed on the text alone."""
    if topic and ("," in topic or "，" in topic) and topic in text:
        return topic
    return None


def _tag_note(rest: str) -> str | None:
    """The tags of a ``_Label: tags_`` note that ends ``rest`` (label: 1-40 characters, no
    digits, ``_`` or ``:``). Each "_" is tried with a regex bounded to 42 characters rather
    than one regex over the line: linear on any input (a regex with two unbounded runs took
    minutes on a line of spaces)."""
    end = len(rest.rstrip())
    if end < 3 or rest[end - 1] != "_":
        return None
    start = rest.find("_")
    while -1 < start < end - 1:
        # The first colon within 42 characters of the "_", with no "_" or digit before it.
        found = _LABEL_COLON.match(rest, start + 1, min(start + 43, end - 1))
        if found:
            colon = found.end() - 1
            label = rest[start + 1 : colon]
            # A digit that is not a decimal one (``²``) passes ``\d``, and ends a label too.
            plain = label.isascii() or not any(map(str.isdigit, label))
            if plain and 0 < len(label.strip()) <= 40:
                return rest[colon + 1 : end - 1].strip()
        start = rest.find("_", start + 1)
    return None


def _capped(text: str, limit: int, what: str, warnings: list[str], entry: int = 0) -> str:
    """``text`` cut at a word to ``limit``; the warning names ``what`` (of entry ``entry``
    of a day page, when given: the name is written only for a text that is cut)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    what = f"{what} of entry {entry}" if entry else what
    warnings.append(f"{what} of {len(text):,} characters cut to {limit:,}")
    return text[: cut if cut > 0 else limit].rstrip() + "…"


def may_have_mojibake(data: bytes) -> bool:
    """Whether UTF-8 ``data`` may decode to text with mojibake: every first character of a
    mojibake pair (U+00C2-U+00F4) is encoded with the byte 0xC3. Ten times faster than
    looking for the pairs in the decoded text of a Chinese page, where they are rare."""
    return b"\xc3" in data


def _found_sources(raw: str, into: list[Source]) -> None:
    if "://" in raw or ":--" in raw:
        into.extend(Source(title, url) for title, url in inline_sources(raw))


def parse_day_page(text: str, date: dt.date, mojibake: bool = True) -> DayPage:
    """Every event a day page lists, in order, with topic, headline, link and summary.
    ``mojibake=False``: the caller knows the page has none (see ``may_have_mojibake``)."""
    entries: list[DayEntry] = []
    topic: str | None = None
    current: dict | None = None
    saw_day_heading = False
    warnings: list[str] = []

    def flush() -> None:
        nonlocal current
        if current is not None:
            entries.append(
                DayEntry(
                    position=len(entries),
                    topic=current["topic"],
                    headline=current["headline"],
                    link=current["link"],
                    summary=_capped(
                        squash_space(" ".join(current["summary"])),
                        MAX_SUMMARY,
                        "summary",
                        warnings,
                        len(entries) + 1,
                    ),
                    tags=current["tags"],
                    sources=tuple(dict.fromkeys(current["sources"])),
                )
            )
        current = None

    for raw in text.splitlines():
        line = raw.strip()
        if not line or _is_noise(line):
            continue
        heading = _HEADING.match(line) if line[0] == "#" else None
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            if level == 2:
                flush()
                if _heading_date(title) is not None:
                    saw_day_heading = True
                topic = None
                continue
            if level == 5:
                flush()
                topic = clean_text(title) or None
                continue
            if level in (3, 4):
                flush()
                link = _single_link(title)
                if link is None:
                    label = title
                    target = None
                else:
                    label, target = link[0], parse_link_target(link[1])
                headline = _capped(
                    clean_text(label),
                    MAX_HEADLINE,
                    "headline",
                    warnings,
                    len(entries) + 1,
                )
                if headline:
                    current = {
                        "topic": topic,
                        "headline": headline,
                        "link": target,
                        "summary": [],
                        "tags": (),
                        "sources": [],
                    }
                    _found_sources(label, current["sources"])
                topic = None
                continue
            continue
        if current is None:
            continue
        tags = None
        if line[0] == "_":
            topic_kept = _topic_in(current["topic"], line)
            tags = _tags_of(line, topic_kept) if topic_kept else _tags_of(line)
        if tags is not None:
            current["tags"] = tags
        else:
            current["summary"].append(clean_text(line))
            if ":" in line:
                _found_sources(line, current["sources"])
    flush()
    if not saw_day_heading and not entries:
        raise ParseError("no day heading and no events")
    repaired = count_mojibake_lines(text) if mojibake else 0
    return DayPage(date, tuple(entries), repaired, tuple(warnings))


class _Item(NamedTuple):
    """A numbered ``[label](target) rest`` line of an event page's section."""

    label: str
    target: str
    rest: str
    tags: tuple[str, ...] | None  # from a ``_Label: tags_`` note after the link
    link: RelatedLink | None  # the target as an archive page, when the target is absolute


@lru_cache(maxsize=1 << 16)
def _section_item(text: str, topic: str | None = None) -> _Item | None:
    # Pages of one topic list the same related events, numbered differently: each item
    # (the text after its number) is parsed once.
    parts = _single_link(text)
    if parts is None:
        return None
    label, target, rest = parts
    tags = _tags_of(rest, topic) if topic else _tags_of(rest)
    page_link = _absolute_link(target) if target.startswith("/") else None
    link = None
    if page_link is not None:
        link = RelatedLink(page_link.date, page_link.slug, clean_text(label), tags or ())
    return _Item(label, target, rest, tags, link)


def _item_link(item: _Item, base_dir: str) -> RelatedLink | None:
    if item.link is not None or item.target.startswith("/"):
        return item.link
    page_link = parse_link_target(item.target, base_dir)  # a relative link
    if page_link is None:
        return None
    return RelatedLink(page_link.date, page_link.slug, clean_text(item.label), item.tags or ())


@lru_cache(maxsize=256)
def _kind_named(title: str) -> str | None:
    word = clean_text(title).rstrip(":：").strip().lower()
    return next((kind for kind, words in SECTION_WORDS.items() if word in words), None)


def _section_kind(title: str, items: list[_Item], base_dir: str) -> str:
    if kind := _kind_named(title):
        return kind
    if items and all("://" in item.target for item in items):
        return "sources"
    if items and any(item.tags is not None for item in items):
        return "related"
    if items and all(_item_link(item, base_dir) for item in items):
        return "changes"
    return "other"


def _sources(items: list[_Item]) -> tuple[list[Source], str | None]:
    """Sources and cover image of a sources section. Only http(s) addresses are kept:
    ``file:``, ``javascript:``, ``data:`` and other schemes are dropped."""
    sources: list[Source] = []
    cover: str | None = None
    for label, target, rest, _, _ in items:
        url = web_url(target)
        if url is None:
            continue
        name = clean_text(label)
        if name.lower() in COVER_TITLES:
            cover = cover or url
        else:
            sources.append(Source(name or url_host(url), url))
        image = _single_link(rest)
        if image and clean_text(image[0]).lower() in COVER_TITLES:
            cover = cover or web_url(image[1])
    return sources, cover


def _current_version(items: list[_Item]) -> str | None:
    for item in items:
        note = item.rest.lower()
        if any(word in note for word in CURRENT_VERSION_WORDS):
            return clean_text(item.label) or None
    return None


def parse_event_page(text: str, date: dt.date, slug: str, mojibake: bool = True) -> EventPage:
    """One event page: headline, summary, topic, sources, cover image, related, old slugs.
    ``mojibake=False``: the caller knows the page has none (see ``may_have_mojibake``)."""
    text = "\n" + _unix_newlines(text)
    headline: str | None = None
    topic: str | None = None
    raw_headline = ""
    body = (0, 0)
    sections: list[tuple[str, tuple[int, int]]] = []
    # Headings are found by one pass of a multiline regex; only the summary lines and the
    # numbered items of sections are looked at one by one.
    for heading in _HEADING_LINE_N.finditer(text):
        level, title = len(heading.group(1)), heading.group(2).strip()
        if headline is None:
            if level == 1:
                headline = clean_text(title)
                raw_headline = title
                body = (heading.end(), len(text))
            elif level == 5:
                topic = clean_text(title) or None
        elif level != 1:  # a second level-1 line is text
            if sections:
                sections[-1] = (sections[-1][0], (sections[-1][1][0], heading.start()))
            else:
                body = (body[0], heading.start())
            sections.append((title, (heading.end(), len(text))))

    if not headline:
        raise ParseError("no '# headline' line")
    warnings: list[str] = []
    if len(headline) > MAX_HEADLINE:
        headline = _capped(headline, MAX_HEADLINE, "headline", warnings)
    inline: list[Source] = []
    if "://" in raw_headline or ":--" in raw_headline:
        _found_sources(raw_headline, inline)

    body_text = text[body[0] : body[1]]
    is_current = ".json)" in text and _FORMATS_LINE_N.search(text) is not None
    summary = [
        clean_text(line)
        for raw in body_text.split("\n")
        if (line := raw.strip()) and not _is_noise(line)
    ]
    _found_sources(body_text, inline)
    current_headline: str | None = None
    base_dir = f"/news/{date.year}/{date.month:02d}/{date.day}"
    sources: list[Source] = []
    cover: str | None = None
    related: list[RelatedLink] = []
    earlier: list[str] = []
    # The topic matters to an item only when it holds a comma and is in the item's text
    # (``split_tags``): passed only then, so the items' cache is shared across topics.
    keep = topic if topic and ("," in topic or "，" in topic) else None
    for title, (begin, end) in sections:
        lines = _ITEM_LINE_N.findall(text, begin, end)
        items = [
            item
            for line in lines
            if (item := _section_item(line, keep) if keep and keep in line else _section_item(line))
            is not None
        ]
        kind = _section_kind(title, items, base_dir)
        if kind == "sources":
            found, image = _sources(items)
            sources.extend(found)
            cover = cover or image
        elif kind == "related":
            for item in items:
                if item.link is not None:
                    related.append(item.link)
                elif (link := _item_link(item, base_dir)) is not None:
                    related.append(link)
        elif kind == "changes":
            current_headline = _current_version(items) or current_headline
            for item in items:
                link = _item_link(item, base_dir)
                if link is not None and link.date == date and link.slug != slug:
                    earlier.append(link.slug)
    return EventPage(
        date=date,
        slug=slug,
        headline=headline,
        summary=_capped(squash_space(" ".join(summary)), MAX_SUMMARY, "summary", warnings),
        topic=topic,
        sources=tuple(dict.fromkeys(sources)),
        cover_image=cover,
        related=tuple(related),
        earlier_slugs=tuple(dict.fromkeys(earlier)),
        is_current=is_current,
        inline_sources=tuple(dict.fromkeys(inline)),
        current_headline=current_headline,
        repaired=count_mojibake_lines(text) if mojibake else 0,
        warnings=tuple(warnings),
    )
