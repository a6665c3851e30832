"""Helpers shared by the CLI commands: argument types, event printing."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from archive.dates import DateInputError, parse_date, parse_day
from archive.models import Event


class UsageError(Exception):
    """Bad input from the operator: printed as one line, exit status 2."""


def require_writable(folder: Path, what: str) -> None:
    """Fail at once, in one line, when ``folder`` can't be written (before any long work)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(write_failure(folder, what, exc)) from None


def write_failure(folder: Path, what: str, exc: OSError) -> str:
    """One line for a failed write, saying what to do."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return f"no space left to write the {what} in {folder}: free some disk space and run again"
    return f"can't write the {what} in {folder} ({reason}): make the folder writable"


def parse_iso_date(text: str) -> dt.date:
    """A date as the bot's options take it (``archive.dates``): 2015-11-20, Nov 20 2015..."""
    try:
        return parse_date(text)
    except DateInputError as exc:
        raise UsageError(f"not a date: {text!r}. {exc}") from None


def parse_month_day(text: str) -> tuple[int, int]:
    """A month-day (11-20, Nov 20) or a full date (its month and day), as ``/onthisday``."""
    try:
        month, day, _ = parse_day(text)
    except DateInputError as exc:
        raise UsageError(f"not a day: {text!r}. {exc}") from None
    return month, day


def print_json(items: Iterable[dict[str, Any]], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    json.dump(list(items), out, ensure_ascii=False, indent=2)
    out.write("\n")


def format_event(event: Event, base_url: str = "") -> str:
    lines = [f"{event.date.isoformat()}  {event.headline}"]
    if event.topic:
        lines.append(f"  topic: {event.topic}")
    if event.summary and event.summary != event.headline:
        lines.append(f"  {event.summary}")
    if event.tags:
        lines.append(f"  tags: {', '.join(event.tags)}")
    for source in event.sources:
        lines.append(f"  - {source.title}: {source.url}")
    if base_url:
        lines.append(f"  archive: {base_url.rstrip('/')}/{event.path}")
    return "\n".join(lines)


def print_events(events: list[Event], base_url: str = "", out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for n, event in enumerate(events):
        if n:
            out.write("\n")
        out.write(format_event(event, base_url) + "\n")
