"""Cleaning of archive text: entities, markdown and wiki remnants, whitespace."""

from __future__ import annotations

import html
import re

_MD_LINK = re.compile(r"\[([^\[\]]*+)\]\([^()\s]*+(?:\([^()\s]*+\)[^()\s]*+)*+\)")
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
# Whitespace other than " " (what str.isspace() accepts), spelt out: a plain character class
# is scanned far faster than [^\S ].
OTHER_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_SPACE = re.compile(f"[{OTHER_SPACES}]")
_MARKUP_OR_SPACE = re.compile(f"[&\\[\\]{{<{OTHER_SPACES}]")


def unescape(text: str) -> str:
    """Decode HTML entities, including double-escaped ones such as ``&amp;#039;``."""
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def squash_space(text: str) -> str:
    if "  " not in text and _OTHER_SPACE.search(text) is None:
        return text.strip()
    return _SPACE.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """Plain text from a line of archive markdown: links to their text, markup dropped."""
    # Each step runs only when its markup can be there (substring tests are cheap).
    if not (_MARKUP_OR_SPACE.search(text) or "  " in text or "''" in text or "date=" in text):
        return text.strip()
    if "&" in text:
        text = unescape(text)
    if "[" in text:
        text = _BARE_CITATION.sub(" ", text)
        if "[[" in text:
            text = _WIKI_LINK.sub(r"\1", text)
        if "](" in text:
            text = _MD_LINK.sub(r"\1", text)
    if "{" in text:
        if "-{" in text:
            text = _ZH_VARIANT.sub(r"\1", text)
        if "{{" in text:
            text = _WIKI_TEMPLATE.sub(lambda m: m.group(1).replace("|", " "), text)
    if "[[" in text or "]]" in text or "{{" in text:
        text = _WIKI_STRAY.sub("", text)
    if "''" in text:
        text = _WIKI_QUOTES.sub("", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "date=" in text:
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
