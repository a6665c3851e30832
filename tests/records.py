"""Between the two event records in tests: a ``NewEvent`` as a stored ``Event`` (for code
that reads stored events, without a store), and a stored event as a new one to write again."""

from __future__ import annotations

from typing import Any

from archive.models import Event, NewEvent
from archive.rows import event_rows


def stored(event: NewEvent, event_id: int = 1) -> Event:
    """``event`` as the store would read it back under ``event_id``."""
    fields = (getattr(event, name) for name in NewEvent.__match_args__)
    return Event(event_id, *fields, content_hash=event_rows(event).content_hash)  # type: ignore[call-arg]


def unstored(event: Event, **changes: Any) -> NewEvent:
    """A stored event, with ``changes``, as a record to write (to another store, or again)."""
    values = {name: getattr(event, name) for name in NewEvent.__match_args__}
    return NewEvent(**{**values, **changes})
