"""What gets embedded for an event, and the hash that says whether it must be re-embedded."""

from __future__ import annotations

import hashlib

from archive.models import Event


def event_text(event: Event) -> str:
    """The text embedded for ``event``: headline, then summary, then topic and tags.

    The headline comes first because the model reads at most 256 word pieces and the headline
    says what happened; the summary (the source's lead) adds wording people use when they ask;
    topic and tags add the names of the wider story ("November 2015 Paris attacks"). The date is
    left out: dates are filters, not similarity. Sources, aliases and links are left out too.
    """
    parts = [event.headline.strip()]
    summary = event.summary.strip()
    if summary and summary != parts[0]:
        parts.append(summary)
    if event.topic:
        parts.append(f"Topic: {event.topic.strip()}.")
    if event.tags:
        parts.append(f"Tags: {', '.join(t.strip() for t in event.tags)}.")
    return "\n".join(parts)


def text_hash(text: str) -> str:
    """Short stable hash of an embedded text: equal hash, no need to embed again."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
