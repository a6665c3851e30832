"""``bot.render``: embeds stay within Discord's limits and archive text stays inert."""

from __future__ import annotations

import datetime as dt

from archive.models import Source
from bot.render import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    digest_page,
    escape,
    event_embed,
    event_pages,
    safe_url,
    truncate,
)
from tests.bot_fixtures import BASE_URL, make_event


def huge_event(n: int = 0):
    return make_event(
        dt.date(2015, 11, 20),
        f"huge-{n}",
        "H" * 1000,
        summary="S " * 5000,
        topic="T" * 300,
        sources=tuple(Source("x" * 300, f"https://news.example/{i}") for i in range(40)),
    )


def test_a_huge_event_fits_one_embed():
    embed = event_embed(huge_event(), BASE_URL)
    assert len(embed.title) <= TITLE_LIMIT
    assert len(embed.description) <= DESCRIPTION_LIMIT
    assert all(len(field.value) <= FIELD_VALUE_LIMIT for field in embed.fields)
    assert len(embed) <= 6000
    assert embed.url == f"{BASE_URL}/news/2015/11/20/huge-0.md"


def test_pages_respect_message_limits():
    pages = event_pages([huge_event(n) for n in range(30)], BASE_URL, "**heading**")
    assert sum(len(page.embeds) for page in pages) == 30
    for page in pages:
        assert 1 <= len(page.embeds) <= 10
        assert sum(len(embed) for embed in page.embeds) <= 6000
        assert len(page.content) <= 2000
    assert pages[-1].content.endswith(f"page {len(pages)}/{len(pages)}")


def test_digest_keeps_the_most_notable_and_counts_the_rest():
    plain = [
        make_event(dt.date(2000 + n, 1, 1), f"e{n}", f"Event {n}", sources=()) for n in range(20)
    ]
    notable = make_event(
        dt.date(1999, 1, 1), "big", "Big one", sources=(Source("a", "https://a.example"),) * 3
    )
    page = digest_page([*plain, notable], BASE_URL, "**On this day**")
    assert page.embeds[0].title == "Big one"
    assert len(page.embeds) == 10
    assert page.content.endswith("11 more not shown.")


def test_escaping():
    text = escape("@everyone **bold** <@123> [x](y)")
    assert "@everyone" not in text
    assert "\\*\\*bold\\*\\*" in text
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://a.example/x (1)") == "https://a.example/x%20%281%29"


def test_truncation_ends_with_one_ellipsis():
    text = "Floods hit the country. ... More rain is expected tomorrow across the region."
    cut = truncate(text, 28)
    assert cut == "Floods hit the country…"
    assert truncate("Short enough.", 50) == "Short enough."
    assert truncate("Ends with dots.....and more", 18) == "Ends with dots…"
