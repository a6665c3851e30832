"""Merge the copies of one event that the archive keeps under several slugs.

The rule, applied within one edition and one day (copies never cross days):

1. Each event listed on the day page is one event. Its linked page, if present, is its page.
2. A page's ``### Changes:`` section names the event's earlier slugs: those are the same event.
3. Any other page of that day is matched by *headline key*: the headline lower-cased with
   everything but letters and digits removed, so ``world's``, ``world-s`` and the mojibake
   ``worldas`` differ by one letter at most. Two keys name the same event when the shorter
   one (at least ``MIN_KEY`` long, so it means something) is found in the longer one with at
   most a few letters changed: at least ``MIN_COVERAGE`` of its letters lie in runs of
   ``MIN_RUN`` or more that the longer key shares, in order. That covers a copy cut short, a
   copy with the topic prepended (``2015 Bamako hotel attack. Ten gunmen storm ...``), mojibake
   and small wiki-markup differences (``{{SS|El Faro}}`` against ``El Faro``), and any mix
   of them.
   A page that matches nothing is an event of its own.

Two events listed separately on the day page are never merged by similarity: the editors
listed them apart, and near-identical headlines such as casualty updates can be different
events. The merged event keeps every slug as an alias, so ``### Related:`` links to any copy
resolve, and the union of the copies' sources.

Which copy's text is kept:

- Headline: the ``(Current version)`` that a page's ``### Changes:`` names, else the day
  page's, else the first page's.
- Summary: the event page's own paragraph. The day-page line is kept where it adds
  something: when the page has no paragraph, when the line is a longer version of the same
  text, or, when the two say different things, after the paragraph.
- Of copies that are the same text but for letters (``Chvez``/``Chávez``, ``Ch?vez``, or
  mojibake ftfy could not undo), the one with the letters and without mojibake.
- Sources: the union of every copy's sections and of sources written inline. An inline
  address mangled into a file name (``http:--host-path``) is repaired only when a copy, the
  day page or the sources section gives the right one; otherwise it is dropped (counted).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import chain
from urllib.parse import parse_qsl, urlencode

from archive.models import NewEvent, RelatedLink, Source
from archive.parser import DayEntry, EventPage
from archive.text import has_mojibake, is_mangled, mangle, merge_tags, web_url

MIN_KEY = 24
MIN_KEY_CJK = 8
MIN_COVERAGE = 0.95
MIN_RUN = 4

_NOT_KEY = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def headline_key(headline: str) -> str:
    """Letters and digits of a headline, lower-cased: the basis of matching."""
    return _NOT_KEY.sub("", headline.lower())


def same_event(a: str, b: str) -> bool:
    """Whether two headline keys name the same event (see the module docstring)."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < (MIN_KEY_CJK if _CJK.search(short) else MIN_KEY):
        return False
    if short in long:
        return True
    if _covered_by_shared_runs(short, long) < MIN_COVERAGE * len(short):
        return False  # cheap bound: most pairs of a day are settled without SequenceMatcher
    matcher = SequenceMatcher(None, short, long, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks() if block.size >= MIN_RUN)
    return shared >= MIN_COVERAGE * len(short)


@lru_cache(maxsize=4096)
def _runs_of(key: str) -> frozenset[str]:
    return frozenset(key[i : i + MIN_RUN] for i in range(len(key) - MIN_RUN + 1))


def _covered_by_shared_runs(short: str, long: str) -> int:
    """Letters of ``short`` inside some ``MIN_RUN`` letters that ``long`` also has: at least
    as many as lie in the shared runs SequenceMatcher can find, so a bound on its result."""
    runs = _runs_of(long)
    covered = end = 0
    for i in range(len(short) - MIN_RUN + 1):
        if short[i : i + MIN_RUN] in runs:
            covered += i + MIN_RUN - max(i, end)
            end = i + MIN_RUN
    return covered


class CandidateIndex:
    """Which groups of a day may hold a key that ``same_event`` matches with a given key.

    A pre-filter, so that merging a day does not compare every page with every group (that
    took minutes for a day of 20,000 pages). It never leaves out a true match. Two keys match
    when equal (an exact-key table), or when the shorter one, of n letters, has at least
    c = ceil(MIN_COVERAGE * n) letters in runs of ``MIN_RUN`` or more that the longer one also
    has. Each letter so covered lies in a ``MIN_RUN``-gram of the shorter key that the longer
    key has, and each such gram covers ``MIN_RUN`` letters at most: so the keys share at least
    c / (MIN_RUN * m) distinct grams, m being how often one gram repeats in the shorter key.
    Groups are found through an index gram -> groups, counted in C (``Counter``), and kept
    when they share that many grams with the key as the shorter one, or their shortest
    qualifying key's own threshold.
    """

    def __init__(self) -> None:
        self._exact: dict[str, set[int]] = {}
        self._groups_of: dict[str, set[int]] = {}
        self._need: dict[int, int] = {}  # group -> least shared grams for its shorter keys

    @staticmethod
    def _need_of(key: str) -> int | None:
        """Distinct grams a longer key must share with ``key``; None: only equal keys match."""
        n = len(key)
        if n < (MIN_KEY_CJK if _CJK.search(key) else MIN_KEY):
            return None
        if len(_runs_of(key)) == n - MIN_RUN + 1:
            repeats = 1  # every gram distinct (most keys): no need to count them
        else:
            repeats = max(Counter(key[i : i + MIN_RUN] for i in range(n - MIN_RUN + 1)).values())
        return max(1, math.ceil(math.ceil(MIN_COVERAGE * n) / (MIN_RUN * repeats)))

    def add(self, key: str, group: int) -> None:
        if not key:
            return
        groups = self._exact.setdefault(key, set())
        if group in groups:
            return  # the group has this key already (a page and its day-page line, often)
        groups.add(group)
        for gram in _runs_of(key):
            self._groups_of.setdefault(gram, set()).add(group)
        need = self._need_of(key)
        if need is not None and need < self._need.get(group, need + 1):
            self._need[group] = need

    def candidates(self, key: str) -> list[int]:
        """Groups that may match ``key``, in order; the others certainly do not."""
        if not key:
            return []
        shared = Counter(chain.from_iterable(self._groups_of.get(g, ()) for g in _runs_of(key)))
        own = self._need_of(key)
        found = set(self._exact.get(key, ()))
        for group, count in shared.items():
            need = self._need.get(group)
            if (own is not None and count >= own) or (need is not None and count >= need):
                found.add(group)
        return sorted(found)


class UnionFind:
    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self._parent.setdefault(item, item)
        if parent != item:
            parent = self._parent[item] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self._parent[root_b] = root_a


@dataclass
class _Group:
    entry: DayEntry | None
    pages: list[EventPage]
    slugs: list[str]


def _url_key(url: str) -> str:
    """A URL as compared for duplicates: no scheme, no www., no utm_ tracking parameters."""
    rest = url.strip().split("://", 1)[-1]
    host, _, path = rest.partition("/")
    host = host.lower().removeprefix("www.")
    path, _, query = path.partition("?")
    if "utm_" in query:
        query = urlencode([(k, v) for k, v in parse_qsl(query) if not k.startswith("utm_")])
    return f"{host}/{path.rstrip('/')}?{query}"


@dataclass
class MergeStats:
    """Counts of a merge that ingest reports: sources written inline in text, and how many
    of those had a mangled address that a copy repaired or that nothing could repair."""

    inline_sources: int = 0
    inline_repaired: int = 0
    inline_dropped: int = 0


def _merge_sources(
    pages: list[EventPage], entry: DayEntry | None, stats: MergeStats
) -> tuple[Source, ...]:
    seen: dict[str, Source] = {}
    for page in pages:
        for source in page.sources:
            seen.setdefault(_url_key(source.url), source)
    inline = [s for p in pages for s in p.inline_sources] + list(entry.sources if entry else ())
    if not inline:
        return tuple(seen.values())
    proper = {mangle(s.url): s.url for s in [*seen.values(), *inline] if not is_mangled(s.url)}
    counted: set[str] = set()
    for source in inline:
        written = source.url.rstrip("|")
        if written in counted:
            continue
        counted.add(written)
        stats.inline_sources += 1
        if is_mangled(written):
            if written not in proper:
                stats.inline_dropped += 1
                continue
            written = proper[written]
            stats.inline_repaired += 1
        url = web_url(written)
        if url is not None:
            seen.setdefault(_url_key(url), Source(source.title, url))
    return tuple(seen.values())


# What the lost-letter comparison ignores: every character but ASCII that is not
# whitespace or "?" (the kept ranges spelt out: one regex pass instead of a loop in Python).
_NOT_LOSS_KEY = re.compile(r"[^\x00-\x08\x0e-\x1b\x21-\x3e\x40-\x7f]++")


def _loss_key(text: str) -> str:
    """The ASCII letters, digits and marks of ``text`` but ``?``, without whitespace."""
    return _NOT_LOSS_KEY.sub("", text)


def _letters_score(text: str) -> int:
    lost = text.count("?") + text.count("\ufffd") + (5 if has_mojibake(text) else 0)
    return sum(1 for c in text if not c.isascii() and c.isalpha()) - 2 * lost


def fullest(chosen: str, copies: list[str]) -> str:
    """``chosen``, or a copy that is the same text with letters ``chosen`` lost
    (``Chvez`` -> ``Chávez``) or without its mojibake. Only for mostly Latin text: the
    comparison ignores every non-ASCII letter."""
    others = [copy for copy in copies if copy != chosen]
    if not chosen or not others:
        return chosen
    if len(chosen.encode()) - len(chosen) > 0.4 * len(chosen):
        return chosen  # mostly non-Latin text (the cheap test: bytes beyond one a character)
    key = _loss_key(chosen)
    if len(key) < 0.8 * len(chosen.replace(" ", "")):
        return chosen
    best, score = chosen, None  # scored only once a copy has the same key (rare)
    for copy in dict.fromkeys(others):
        if copy != best and _loss_key(copy) == key:
            score = _letters_score(best) if score is None else score
            if (s := _letters_score(copy)) > score:
                best, score = copy, s
    return best


def _summary(pages: list[EventPage], entry: DayEntry | None) -> str:
    """The page's paragraph; the day-page line where it adds something (module docstring)."""
    paragraphs = [p.summary for p in pages if p.summary]
    line = entry.summary if entry else ""
    if not paragraphs:
        return line
    paragraph = fullest(paragraphs[0], [*paragraphs, line])
    if not line:
        return paragraph
    page_key, line_key = headline_key(paragraph), headline_key(line)
    if line_key in page_key or (len(line_key) <= len(page_key) and same_event(page_key, line_key)):
        return paragraph
    if page_key in line_key or same_event(page_key, line_key):
        return fullest(line, [*paragraphs, line])
    return f"{paragraph} {line}"


def _merge_related(pages: list[EventPage]) -> tuple[RelatedLink, ...]:
    seen: dict[tuple[dt.date | None, str], RelatedLink] = {}
    for page in pages:
        for link in page.related:
            seen.setdefault((link.date, link.slug), link)
    return tuple(seen.values())


def _page_rank(page: EventPage) -> tuple[int, int]:
    # The current version first; among the rest the shortest headline, i.e. no topic prefix.
    return (0 if page.is_current else 1, len(page.headline))


def merge_day(
    date: dt.date,
    lang: str,
    entries: tuple[DayEntry, ...],
    pages: list[EventPage],
    stats: MergeStats | None = None,
) -> tuple[list[NewEvent], int]:
    """Turn a day's listing and pages into events, merging copies (see ``archive.dedupe``).

    Returns the events (not stored yet) and how many copies were merged away; counts
    of inline sources are added to ``stats``."""
    stats = stats if stats is not None else MergeStats()
    by_slug = {page.slug: page for page in pages}
    groups: list[_Group] = []
    owner: dict[str, int] = {}
    merged_away = 0
    for entry in entries:
        slug = entry.link.slug if entry.link and entry.link.date == date else None
        if slug is not None and slug in owner:
            merged_away += 1  # the day page lists the very same link twice
            continue
        group = _Group(entry, [], [])
        if slug is not None:
            group.slugs.append(slug)
            owner[slug] = len(groups)
            if slug in by_slug:
                group.pages.append(by_slug[slug])
        groups.append(group)

    # Explicit aliases from ### Changes: sections.
    links = UnionFind()
    for page in pages:
        for earlier in page.earlier_slugs:
            links.union(page.slug, earlier)

    def key_of(group: _Group) -> list[str]:
        keys = [headline_key(p.headline) for p in group.pages]
        if group.entry is not None:
            keys.append(headline_key(group.entry.headline))
        return keys

    # Pages the day page does not link to, if any (most days have none): each joins the first
    # group (in order of ownership) of its set of linked slugs, or a group whose headline key
    # matches. The keys of every group go in an index, so that each page is compared with a
    # few candidates only; it is built when a page first needs it (the result is the same:
    # the index holds every group's keys whenever it is asked).
    unlinked = [page for page in pages if page.slug not in owner]
    by_link: dict[str, int] = {}
    for slug, group_index in owner.items():
        by_link.setdefault(links.find(slug), group_index)
    index: CandidateIndex | None = None

    for page in sorted(unlinked, key=_page_rank):
        target = by_link.get(links.find(page.slug))
        key = headline_key(page.headline)
        if target is None:
            if index is None:
                index = CandidateIndex()
                for group_index, group in enumerate(groups):
                    for k in key_of(group):
                        index.add(k, group_index)
            target = next(
                (
                    i
                    for i in index.candidates(key)
                    if any(same_event(key, k) for k in key_of(groups[i]))
                ),
                None,
            )
        if target is None:
            owner[page.slug] = len(groups)
            groups.append(_Group(None, [page], [page.slug]))
        else:
            owner[page.slug] = target
            groups[target].pages.append(page)
            groups[target].slugs.append(page.slug)
            merged_away += 1
        by_link.setdefault(links.find(page.slug), owner[page.slug])
        if index is not None:
            index.add(key, owner[page.slug])

    events = [_event_of(date, lang, n, group, stats) for n, group in enumerate(groups)]
    return events, merged_away


def _event_of(
    date: dt.date, lang: str, position: int, group: _Group, stats: MergeStats
) -> NewEvent:
    pages = group.pages
    if len(pages) > 1:  # most events have one page, or none
        pages = sorted(pages, key=_page_rank)
        if group.entry is not None and group.slugs:
            linked = [p for p in pages if p.slug == group.slugs[0]]
            pages = linked + [p for p in pages if p.slug != group.slugs[0]]
    entry = group.entry
    # The first of the pages' current headline, topic and cover image, in one pass.
    current = page_topic = cover = None
    for page in pages:
        current = current or page.current_headline or None
        page_topic = page_topic or page.topic or None
        cover = cover or page.cover_image or None
    headline = current or (entry.headline if entry else pages[0].headline)
    headline = fullest(headline, [p.headline for p in pages] + ([entry.headline] if entry else []))
    summary = _summary(pages, entry)
    topic = (entry.topic if entry else None) or page_topic
    related = _merge_related(pages)
    tag_counts: dict[str, int] = {}
    for link in related:
        for tag in link.tags:
            tag_counts[tag] = tag_counts.get(tag, 0) + 1
    by_count = sorted(tag_counts, key=tag_counts.__getitem__, reverse=True)  # stable: ties in order
    tags = merge_tags(tuple(dict.fromkeys([*entry.tags, *by_count]) if entry else by_count))
    slugs = list(group.slugs)
    for page in pages:
        slugs.extend(page.earlier_slugs)
    canonical = group.slugs[0] if group.slugs else _fallback_slug(headline)
    return NewEvent(
        lang=lang,
        date=date,
        slug=canonical,
        headline=headline,
        summary=summary,
        topic=topic,
        tags=tags,
        sources=_merge_sources(pages, entry, stats),
        aliases=tuple(sorted(set(slugs) | {canonical})),
        cover_image=cover,
        related=related,
        has_page=bool(pages),
        position=position,
    )


def _fallback_slug(headline: str) -> str:
    """A slug for a day-page entry without a link, shaped like the archive's own."""
    return re.sub(r"[\W_]+", "-", headline.lower()).strip("-")[:140] or "event"
