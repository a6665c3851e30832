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
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

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
    matcher = SequenceMatcher(None, short, long, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks() if block.size >= MIN_RUN)
    return shared >= MIN_COVERAGE * len(short)


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
