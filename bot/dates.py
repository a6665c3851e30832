"""The dates of the bot's options: ``archive.dates``, the parser the CLI shares, under the
name the cogs import. Importing it loads no discord."""

from __future__ import annotations

from archive.dates import (
    DATE_HELP,
    MONTH_DAY_HELP,
    DateInputError,
    Window,
    long_date,
    long_month_day,
    parse_date,
    parse_day,
    suggestion_window,
)

__all__ = [
    "DATE_HELP",
    "MONTH_DAY_HELP",
    "DateInputError",
    "Window",
    "long_date",
    "long_month_day",
    "parse_date",
    "parse_day",
    "suggestion_window",
]
