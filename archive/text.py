"""Cleaning of archive text: entities, markdown and wiki remnants, whitespace."""

from __future__ import annotations

import html
import re

_MD_LINK = re.compile(r"\[([^\[\]]*)\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*\)")
# Inline wiki citations: [http://example.com/x (BBC)] or [http:--example.com-x 国际在线].
_BARE_CITATION = re.compile(r"\[(?:https?:|ftp:)[^\[\]]*(?:\]|$)")
# Wiki links: [[target|label]] -> label, [[label]] -> label; stray [[ or ]] dropped.
_WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_WIKI_STRAY = re.compile(r"\[\[|\]\]|\{\{[^{}]*$")
_WIKI_TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")
# Chinese variant markup: -{zh-hans:A;zh-hk:B;}- keeps the first variant.
_ZH_VARIANT = re.compile(r"-\{(?:[a-zA-Z-]+:)?([^;{}]*)(?:;[^{}]*)?\}-")
_WIKI_QUOTES = re.compile(r"'{2,}")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_CITE_DATE = re.compile(r"\s*\bdate=(?:\d{4}年\d{1,2}月|[A-Z][a-z]+ \d{4})")
_TAG_SEPARATORS = re.compile(r"[，、]")
_ALL_TAG_SEPARATORS = re.compile(r"[,，、]")
_SPACE = re.compile(r"\s+")
_ODD_SPACE = re.compile(r"[^\S ]| {2}")
_NEEDS_CLEANING = re.compile(r"[&\[\]{'<]|-\{|date=|[^\S ]| {2}")


def unescape(text: str) -> str:
    """Decode HTML entities, including double-escaped ones such as ``&amp;#039;``."""
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def squash_space(text: str) -> str:
    if _ODD_SPACE.search(text) is None:
        return text.strip()
    return _SPACE.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """Plain text from a line of archive markdown: links to their text, markup dropped."""
    if not _NEEDS_CLEANING.search(text):
        return text.strip()
    text = unescape(text)
    text = _BARE_CITATION.sub(" ", text)
    text = _WIKI_LINK.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _ZH_VARIANT.sub(r"\1", text)
    text = _WIKI_TEMPLATE.sub(lambda m: m.group(1).replace("|", " "), text)
    text = _WIKI_STRAY.sub("", text)
    text = _WIKI_QUOTES.sub("", text)
    text = _HTML_TAG.sub(" ", text)
    text = _CITE_DATE.sub("", text)
    return squash_space(text)


def split_tags(text: str) -> tuple[str, ...]:
    """``a, b，c`` -> ("a", "b", "c"), de-duplicated, order kept."""
    seen: dict[str, None] = {}
    parts = _ALL_TAG_SEPARATORS.split(text) if _TAG_SEPARATORS.search(text) else text.split(",")
    for part in parts:
        tag = clean_text(part)
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)
