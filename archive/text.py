"""Cleaning of archive text: entities, markdown and wiki remnants, mojibake, whitespace.

Every pattern here runs in time linear in its input, hostile input included: possessive
quantifiers (``*+``), starts anchored on a literal, or a scan written out by hand. A
100,000-character line is cleaned in milliseconds (tests/test_archive_text.py).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# Inline wiki citations: [http://example.com/x (BBC)] or [http:--example.com-x 国际在线].
# Group 1 is the address, group 2 the name (may be empty).
_CITATION = re.compile(
    r"\[((?:https?|ftp):(?://|--)[^\s\[\]]++)[^\S\n]*+([^\[\]]*+)(?:\]|$)", re.IGNORECASE
)
# Addresses written in the text itself, also file-name-mangled ones (http:--host-path) and
# their scheme-less tails (":--web.archive.org-...").
_BARE_URL = re.compile(r"(?:https?)?:(?://|--)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]++", re.IGNORECASE)
_URL_TRAILER = ".,;:!?'\"|)"
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp")  # pictures, not sources
_MD_LINK = re.compile(r"\[([^\[\]]*+)\]\([^()\s]*+(?:\([^()\s]*+\)[^()\s]*+)*+\)")
# Wiki links: [[target|label]] -> label, [[label]] -> label; stray [[ or ]] dropped.
_WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*+\|)?+([^\[\]]*+)\]\]")
_WIKI_STRAY = re.compile(r"\[\[|\]\]|\{\{[^{}]*+$")
_WIKI_TEMPLATE = re.compile(r"\{\{([^{}]*+)\}\}")
# Unit conversions whose braces were lost: 435|mi|km -> 435 mi.
_UNIT_PAIR = re.compile(r"(\d)\|([A-Za-z°][A-Za-z0-9/°.]{0,9}+)\|[A-Za-z°][A-Za-z0-9/°.]{0,9}+")
_UNIT_NAMES = {"F": "°F", "C": "°C", "K": "K"}
# "(Link dead as of March 2016)", "(dead link)" and a bare "dead link" that ends a text.
_DEAD_LINK = re.compile(
    r"(?<!\s)\s*+(?:\(\s*+(?:link dead|dead link)\b[^()]*+\)|\bdead ?link\s*+$)", re.IGNORECASE
)
# Named citation parameters (url=..., date=..., bot=...) left in text by lost {{cite}} and
# {{dead link}} templates. The start must not follow a letter (lookbehind) so a run of
# spaces is scanned once, from its start.
_CITE_KEYS = (
    r"(?:url|archive-?url|archive-?date|access-?date|date|bot|fix-attempted|language|author\d*"
    r"|coauthors|last\d*|first\d*|title|trans-title|work|publisher|pages?|location|agency"
    r"|newspaper|website|format|url-status|dead-?url|df|quote|accessdate)"
)
_CITE_RUN = re.compile(
    rf"(?<![\w=])[^\S\n]*+\|?[^\S\n]*+{_CITE_KEYS}[^\S\n]*+=[^|\[\]]*+"
    rf"(?:\|[^\S\n]*+(?:{_CITE_KEYS}[^\S\n]*+=[^|\[\]]*+)?+)*+",
    re.IGNORECASE,
)
# The value of a last parameter ends at the first word that is not part of a date.
_CITE_VALUE_END = re.compile(
    r"[^\S\n]*+(?:\d{4}年\d{1,2}月(?:\d{1,2}日)?+|\S++(?:[^\S\n]++\d{4}\b)?+)?+"
)
# Chinese variant markup: -{zh-hans:A;zh-hk:B;}- keeps the first variant.
_ZH_VARIANT = re.compile(r"-\{(?:[a-zA-Z-]++:)?+([^;{}]*+)(?:;[^{}]*+)?+\}-")
_WIKI_QUOTES = re.compile(r"'{2,}+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*+>")
_TAG_SEPARATORS = re.compile(r"[，、]")
_ALL_TAG_SEPARATORS = re.compile(r"[,，、]")
_YEAR = re.compile(r"\d{4}")
_SPACE = re.compile(r"\s+")
# Whitespace other than " " (what str.isspace() accepts), spelt out: a plain character class
# is scanned far faster than [^\S ].
OTHER_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_SPACE = re.compile(f"[{OTHER_SPACES}]")
# A colon is markup only as the start of an address (":--" or "://", looked for apart: an
# alternative in the pattern would stop the regex engine from skipping to the characters
# of the class): lines with a colon and no other markup (many English ones) stay plain.
_MARKUP_OR_SPACE = re.compile(f"[&\\[\\]{{}}<|={OTHER_SPACES}]")
# UTF-8 read as Windows-1252 or Latin-1: a lead byte (Â..ô) followed by what a continuation
# byte (0x80-0xBF) decodes to in either. Only text with such a pair is given to ftfy.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
# _MARKUP_OR_SPACE, and the first character of a _MOJIBAKE pair.
_MARKUP_SPACE_OR_LEAD = re.compile(f"[&\\[\\]{{}}<|={OTHER_SPACES}\u00c2-\u00f4]")
MAX_TEMPLATE = 400  # a {{template}} longer than this is text, not a template


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


def has_mojibake(text: str) -> bool:
    """Whether ``text`` may hold UTF-8 decoded as Latin-1/Windows-1252 (``â€™``, ``Ã©``)."""
    return not text.isascii() and _MOJIBAKE.search(text) is not None


def repair_mojibake(text: str) -> str:
    """``text`` with mojibake undone by ftfy; text without the telltale pairs is returned
    as it is, without calling ftfy (which is slow, and only needed there)."""
    if not has_mojibake(text):
        return text
    return _fix_encoding(text)


def _fix_encoding(text: str) -> str:
    # ftfy is imported on first use: its import costs each parser process ~0.1 s (~300 M
    # instructions), and most pages (all but a few hundred of the archive) need no repair.
    import ftfy

    return ftfy.fix_encoding(text)


def count_mojibake_lines(text: str) -> int:
    """How many lines of ``text`` mojibake repair changes (what ingest reports)."""
    if not has_mojibake(text):
        return 0
    return sum(
        1 for line in text.split("\n") if has_mojibake(line) and repair_mojibake(line) != line
    )


def _template(match: re.Match[str]) -> str:
    body = match.group(1)
    if len(body) > MAX_TEMPLATE:
        return body
    name, _, args = body.partition("|")
    name = name.strip()
    lower = name.lower()
    parts = [a.strip() for a in args.split("|")] if args else []
    if lower in ("convert", "cvt") and len(parts) >= 2:
        return f"{parts[0]} {_UNIT_NAMES.get(parts[1], parts[1])}"
    if lower in ("chem", "chem2", "ce", "chemf"):
        return "".join(parts)
    if lower.startswith("lang") and parts:
        return parts[-1]
    positional = [p for p in parts if p and "=" not in p]
    # Maintenance, language and flag templates ({{cn}}, {{dead link|date=…}}, {{en}},
    # {{ru icon}}) are lower-case names with no text of their own: dropped. Names such as
    # {{DPP}} are abbreviations the text needs, and {{SS|El Faro}} keeps its words.
    if not positional and (name == lower or not name):
        return " "
    return " ".join([name, *positional])


def _unit_pair(match: re.Match[str]) -> str:
    return f"{match.group(1)} {_UNIT_NAMES.get(match.group(2), match.group(2))}"


def _cite_run(match: re.Match[str]) -> str:
    # Keep what follows the last value's date or token: "date=十一月 2017 同一天" -> " 同一天".
    text = match.group(0)
    last = max(text.rfind("="), 0) + 1
    end = _CITE_VALUE_END.match(text, last)
    return " " + text[end.end() if end else len(text) :] if "|" not in text[last:] else " "


def _drop_template_tails(text: str) -> str:
    """``link|date=… |bot=InternetArchiveBot }} 立場新聞`` -> ``立場新聞``: the part of a
    template before an unmatched ``}}`` (its ``{{`` was lost) is dropped when it holds
    parameters (``|``, ``=``); otherwise only the braces."""
    out = []
    start = 0
    while (cut := text.find("}}", start)) != -1:
        before = text[start:cut]
        if "{{" in before:
            out.append(text[start : cut + 2])
        else:
            boundary = max(before.rfind("。"), before.rfind(". "), before.rfind("]"))
            segment = before[boundary + 1 :]
            if "|" in segment or "=" in segment:
                before = before[: boundary + 1]
            out.append(before)
        start = cut + 2
    out.append(text[start:])
    return " ".join(out) if len(out) > 1 else text


def needs_cleaning(text: str) -> bool:
    """Whether ``clean_text`` may do more to ``text`` than strip it: it holds markup, odd
    spaces or the first character of a mojibake pair. What it finds in a text, it finds in
    the text's parts too, so one test of a whole line can stand for its parts."""
    return bool(
        _MARKUP_SPACE_OR_LEAD.search(text)
        or (":" in text and ("://" in text or ":--" in text))
        or "  " in text
        or "''" in text
        or "dead" in text
        or "Dead" in text
    )


def _may_need_cleaning(text: str, markup: re.Pattern[str]) -> bool:
    return bool(
        markup.search(text)
        or (":" in text and ("://" in text or ":--" in text))
        or "  " in text
        or "''" in text
        or "dead" in text
        or "Dead" in text
    )


def clean_text(text: str) -> str:
    """Plain text from a line of archive markdown: links to their text, markup dropped."""
    # Most lines need nothing: one search for markup, odd spaces and the first character of
    # a mojibake pair settles them (mojibake is looked for only where such a character is).
    if not _may_need_cleaning(text, _MARKUP_SPACE_OR_LEAD):
        return text.strip()
    if not text.isascii() and _MOJIBAKE.search(text) is not None:
        text = _fix_encoding(text)
    # Each step runs only when its markup can be there (substring tests are cheap).
    if not _may_need_cleaning(text, _MARKUP_OR_SPACE):
        return text.strip()
    if "&" in text:
        text = unescape(text)
    if "[" in text:
        if "[http" in text or "[ftp" in text or "[HTTP" in text:
            text = _CITATION.sub(" ", text)
        if "[[" in text:
            text = _WIKI_LINK.sub(r"\1", text)
        if "](" in text:
            text = _MD_LINK.sub(r"\1", text)
    if ":--" in text or "://" in text:
        text = _BARE_URL.sub(" ", text)
    if "{" in text:
        if "-{" in text:
            text = _ZH_VARIANT.sub(r"\1", text)
        if "{{" in text:
            text = _WIKI_TEMPLATE.sub(_template, text)
    if "}}" in text:
        text = _drop_template_tails(text)
    if "[[" in text or "]]" in text or "{{" in text:
        text = _WIKI_STRAY.sub("", text)
    if "|" in text:
        text = _UNIT_PAIR.sub(_unit_pair, text)
    if "=" in text:
        text = _CITE_RUN.sub(_cite_run, text)
    # "ead" is in many English words (read, head, lead): the regex, which has no literal to
    # jump to and is tried at every character, runs only when it can match.
    if "ead" in text and "dead" in text.lower():
        text = _DEAD_LINK.sub("", text)
    if "''" in text:
        text = _WIKI_QUOTES.sub("", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    return squash_space(text)


def inline_sources(text: str) -> list[tuple[str, str]]:
    """Sources written into a line of text rather than a sources section, as (title, url):
    ``[http://x/y (RTE)]``, ``[http://x "(The Irish Times)"]``, ``[http:--x-y 新华网]`` and
    bare addresses. The url is as written (mangled ones too: ``fix_url`` and the merge
    decide); the title is the name in brackets, or the address's host when there is none."""
    found: list[tuple[str, str]] = []
    if "[" in text and (":--" in text or "://" in text):
        for match in _CITATION.finditer(text):
            url, name = match.group(1), match.group(2)
            if url.endswith(")") and "/" not in url[url.rfind("(") :]:  # [http://x/y(Reuters)]
                url, name = url[: url.rfind("(")], url[url.rfind("(") :] + " " + name
            url = url.rstrip(_URL_TRAILER)
            name = clean_text(name).strip(" \"'()（）“”")
            found.append((name or url_host(url), url))
        text = _CITATION.sub(" ", text)
    if ":--" in text or "://" in text:
        for match in _BARE_URL.finditer(text):
            url = match.group(0).rstrip(_URL_TRAILER)
            if url.lower().startswith("http") and not url.lower().endswith(_IMAGE_ENDINGS):
                found.append((url_host(url), url))
    return found


def url_host(url: str) -> str:
    rest = url.split("//", 1)[-1] if "//" in url else url.split(":--", 1)[-1]
    host = rest.split("/", 1)[0]
    if ":--" in url:  # mangled: the host ends where the first "-" after its last dot is
        host = rest.split("-", 1)[0] if "." in rest.split("-", 1)[0] else host
    return host.lower().removeprefix("www.")


def is_mangled(url: str) -> bool:
    """``http:--host-path``: an address whose ``/`` became ``-`` (a file name)."""
    head = url[:8].lower()
    return head.startswith(("http:--", "https:--"))


def mangle(url: str) -> str:
    """What an address looks like after the archive's file-name mangling."""
    return url.replace("/", "-")


def web_url(url: str) -> str | None:
    """A source address as stored: http(s) only (``file:``, ``javascript:``, ``data:`` and
    the rest are dropped, None), without the stray ``|`` wiki tables leave at the end."""
    last = url[-1:]
    if (
        url.startswith(("http://", "https://"))
        and len(url) > 8
        and not (last == "|" or last.isspace())
    ):
        return url  # the common case, settled without copies of the address
    url = url.strip().rstrip("|").strip()
    head = url[:8].lower()
    if not head.startswith(("http://", "https://")) or len(url) <= len("https://"):
        return None
    return url


@lru_cache(maxsize=1 << 15)  # tags recur on many events
def fold(text: str) -> str:
    """Case, accents and punctuation dropped: ``Ahmet Davutoğlu`` ~ ``ahmet davutoglu``."""
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    return " ".join(_NOT_ALNUM.sub(" ", text.casefold()).split())


# What str.isalnum() rejects: re's \w is str.isalnum() or "_".
_NOT_ALNUM = re.compile(r"[\W_]")


def split_tags(text: str, keep: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``a, b，c`` -> ("a", "b", "c"), de-duplicated, order kept.

    A tag that itself contains a comma is never split: one of ``keep`` (the event's topic,
    ``Chilean general election, 2017``) found in the text stays whole, and so does a name
    followed by a year (``Myanmar general election, 2015``)."""
    held: list[str] = []
    for name in keep:
        if name and ("," in name or "，" in name) and name in text:
            text = text.replace(name, f"\x00{len(held)}\x00")
            held.append(name)
    parts = _ALL_TAG_SEPARATORS.split(text) if _TAG_SEPARATORS.search(text) else text.split(",")
    joined = _years_joined(parts) if _YEAR.search(text) else parts

    # Tags without markup (most) are only stripped: one test of the whole text settles them.
    plain = not held and not needs_cleaning(text)
    seen: dict[str, None] = {}
    for part in joined:
        if "\x00" in part:
            part = re.sub(r"\x00(\d+)\x00", lambda m: held[int(m.group(1))], part)
        tag = part.strip() if plain else clean_text(part)
        if tag:
            seen.setdefault(tag, None)
    return merge_tags(tuple(seen))


def _years_joined(parts: list[str]) -> list[str]:
    """``["Myanmar general election", " 2015"]`` -> ``["Myanmar general election, 2015"]``."""
    joined: list[str] = []
    for part in parts:
        if joined and _YEAR.fullmatch(part.strip()) and not _YEAR.fullmatch(joined[-1].strip()):
            joined[-1] = f"{joined[-1]},{part}"
        else:
            joined.append(part)
    return joined


# Demonym endings and the country-name endings they come from (French -> France, Syrian ->
# Syria, Chinese -> China, Japanese -> Japan, Iraqi -> Iraq, Polish -> Poland, Turkish ->
# Turkey): English word formation, not a list of names.
_DEMONYM_ENDINGS = (
    ("ench", "ance"),
    ("ian", "ia"),
    ("ean", "ea"),
    ("an", "a"),
    ("an", ""),
    ("ese", "a"),
    ("ese", ""),
    ("ish", "land"),
    ("ish", "ey"),
    ("ish", ""),
    ("i", ""),
    ("ic", "y"),
)


_DEMONYM_SUFFIXES = tuple({ending for ending, _ in _DEMONYM_ENDINGS})


@lru_cache(maxsize=1 << 12)
def _country_forms(tag: str) -> set[str]:
    """Names a one-word tag may stand for: itself and its country forms, plain and with
    ``Republic`` (Czech -> Czech Republic), folded."""
    word = fold(tag)
    stems = {word}
    for ending, replacement in _DEMONYM_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 1:
            stems.add(word[: -len(ending)] + replacement)
    forms: set[str] = set()
    for stem in stems:
        forms.update((stem, f"{stem} republic", f"republic of {stem}", f"the {stem}"))
    return forms


@lru_cache(maxsize=1 << 12)  # the events of a topic carry the same tags
def merge_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Near-duplicate tags kept as one, in order: the same name up to case, accents and
    punctuation (the form with accents wins, then the first), and a one-word name or demonym
    with the country it names when both are there (French + France -> France, Czech + Czech
    Republic -> Czech Republic)."""
    if len(tags) < 2:
        return tags
    keys = list(map(fold, tags))
    known = set(keys)
    # A one-word tag whose country form is another tag of the list joins that tag.
    # Its forms with a space start with "the " or hold "republic", the others replace a
    # demonym ending: with neither among the tags (most lists, all Chinese ones), no tag can
    # join another. Keys are letters and digits with single spaces: joined by newlines, one
    # search finds either.
    joined = "\n" + "\n".join(known)
    spaced = "republic" in joined or "\nthe " in joined
    target: dict[str, str] = {}
    for key in known:
        if (
            " " not in key
            and (spaced or key.endswith(_DEMONYM_SUFFIXES))
            and key.isalpha()
            and len(forms := _country_forms(key) & known) > 1
        ):
            target[key] = next(iter(sorted(forms - {key})))
    if len(known) == len(keys) and not target:
        return tags
    best: dict[str, str] = {}
    for tag, key in zip(tags, keys, strict=True):
        seen = best.get(key)
        if seen is None or (seen.isascii() and not tag.isascii()):
            best[key] = tag
    out: dict[str, None] = {}
    for key in keys:
        out.setdefault(best[target.get(key, key)], None)
    return tuple(out)
