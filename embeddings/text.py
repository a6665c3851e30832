"""What gets embedded for an event, and the hash that says whether it must be re-embedded."""

from __future__ import annotations

import hashlib

from archive.models import Event

# The model reads at most 256 word pieces (about 1,100 characters of English; a piece is rarely
# over 15 characters): text past this many characters can't change the vector, and a huge
# headline (50 MB) would otherwise cost gigabytes in the tokenizer.
MAX_EMBEDDED_CHARS = 4096


def is_cut(event: Event) -> bool:
    """True when ``event_text`` cuts the event's text to ``MAX_EMBEDDED_CHARS``."""
    return len(event.headline) + len(event.summary) > MAX_EMBEDDED_CHARS


def event_text(event: Event) -> str:
    """The text embedded for ``event``: headline, then summary, then topic and tags.

    The headline comes first because the model reads at most 256 word pieces and the headline
    says what happened; the summary (the source's lead) adds wording people use when they ask;
    topic and tags add the names of the wider story ("November 2015 Paris attacks"). The date is
    left out: dates are filters, not similarity. Sources, aliases and links are left out too.
    At most ``MAX_EMBEDDED_CHARS`` characters are returned.
    """
    cap = MAX_EMBEDDED_CHARS
    parts = [event.headline[: cap * 2].strip()]
    summary = event.summary[: cap * 2].strip()
    if summary and summary != parts[0]:
        parts.append(summary)
    if event.topic:
        parts.append(f"Topic: {event.topic.strip()}.")
    if event.tags:
        parts.append(f"Tags: {', '.join(t.strip() for t in event.tags)}.")
    return "\n".join(parts)[:cap]


def text_hash(text: str) -> str:
    """Short stable hash of an embedded text: equal hash, no need to embed again."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
