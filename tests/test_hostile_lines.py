"""Hostile input: every parser and text regex is linear in its input (issue 13, item 7).

A ``_a: `` line followed by 6,000 spaces and a word took 59 s before the tag note was read by
a scan; each line here is 100,000 characters and must parse in well under a second.
"""

import contextlib
import datetime as dt
import time

import pytest

from archive.parser import ParseError, parse_day_page, parse_event_page
from archive.text import clean_text, inline_sources, split_tags

DAY = dt.date(2015, 11, 20)
N = 100_000
HOSTILE = {
    "tag note of spaces": "_a: " + " " * N + "word",
    "tag note of underscores": "_" * N,
    "tag note, colons": "_a:" * (N // 3),
    "brackets": "[" * N,
    "citations": "[http:" * (N // 6),
    "citation with no end": "[http://x " + "y" * N,
    "mangled addresses": "http:--" + "-" * N,
    "templates": "{{" * (N // 2),
    "template with no end": "{{a|" + "b|" * (N // 2),
    "unmatched closing braces": "a|b=c }}" * (N // 8),
    "cite parameters": "date=" + " " * N + "x",
    "cite runs": "url=x |" * (N // 7),
    "spaces before date": " " * N + "date=2017",
    "unit pairs": "1|mi|" * (N // 5),
    "html tag with no end": "<a" + " " * N,
    "links": "[a](" * (N // 4),
    "dead links": "(dead link" * (N // 10),
    "mojibake": "cafÃ© " * (N // 6),
    "variants": "-{" * (N // 2),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_line_parses_in_well_under_a_second(name: str) -> None:
    line = HOSTILE[name]
    assert len(line) >= N - 10
    day = f"## [2015-11-20](/news/2015/11/20/index.md)\n\n### [Headline](/news/2015/11/20/x.md)\n{line}\n"
    event = f"# Headline {line}\n\n{line}\n\n### Sources:\n\n1. [{line}](http://x.example/{line})\n"
    start = time.perf_counter()
    with contextlib.suppress(ParseError):  # a headline that cleans to nothing is an error
        parse_day_page(day, DAY)
        parse_event_page(event, DAY, "x")
    clean_text(line)
    split_tags(line)
    inline_sources(line)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{name}: {elapsed:.2f} s"


def test_the_reported_line_still_reads_its_tags() -> None:
    # The line of the report is a tag note: its tags are read, not its spaces.
    page = parse_day_page(
        "## [2015-11-20](/news/2015/11/20/index.md)\n### [H](/news/2015/11/20/h.md)\n"
        "_a: " + " " * 6000 + "word_\n",
        DAY,
    )
    assert page.entries[0].tags == ("word",)
