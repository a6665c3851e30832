"""``bot.render``: embeds stay within Discord's limits and archive text stays inert."""

from __future__ import annotations

import datetime as dt

from archive.models import Source
from bot.render import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    escape,
    event_embed,
    event_pages,
    safe_url,
    split_title,
    truncate,
)
from tests.bot_fixtures import BASE_URL, make_event
from tests.records import stored


def huge_event(n: int = 0):
    return stored(
        make_event(
            dt.date(2015, 11, 20),
            f"huge-{n}",
            "H" * 1000,
            summary="S " * 5000,
            topic="T" * 300,
            sources=tuple(Source("x" * 300, f"https://news.example/{i}") for i in range(40)),
        ),
        n + 1,
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


def test_a_long_headline_continues_in_the_description_not_cut_mid_word():
    words = " ".join(f"word{n:03d}" for n in range(60))  # 479 characters
    embed = event_embed(stored(make_event(dt.date(2015, 11, 20), "long", words)), BASE_URL)
    assert len(embed.title) <= TITLE_LIMIT
    assert embed.title.endswith("…")
    shown = embed.title[:-1]
    assert words.startswith(shown) and words[len(shown)] == " "  # ends on a whole word
    rest = words[len(shown) :].strip()
    assert embed.description.startswith(f"…{rest}\n")  # nothing of the headline is lost


def test_split_title_keeps_short_titles_and_splits_one_huge_word():
    assert split_title("Short") == ("Short", "")
    title, rest = split_title("H" * 1000)
    assert len(title) == TITLE_LIMIT and title.endswith("…")
    assert title[:-1] + rest == "H" * 1000


def test_sources_left_out_are_counted_with_the_archive_link():
    sources = tuple(Source(f"Source {n}", f"https://news.example/{n}") for n in range(9))
    event = stored(make_event(dt.date(2015, 11, 20), "many", "Many sources", sources=sources))
    [field] = event_embed(event, BASE_URL, max_sources=4).fields
    lines = field.value.split("\n")
    assert len(lines) == 5
    assert lines[-1] == f"+5 more sources on the [archive page]({BASE_URL}/news/2015/11/20/many.md)"
    [field] = event_embed(event, BASE_URL).fields  # 8 of 9
    assert field.value.split("\n")[-1].startswith("+1 more source on the [archive page]")
    [field] = event_embed(event, BASE_URL, max_sources=9).fields
    assert "more source" not in field.value


def test_a_huge_event_says_how_many_sources_are_not_shown():
    [field] = event_embed(huge_event(), BASE_URL).fields
    shown = field.value.count("\n• ") + 1
    assert f"+{40 - shown} more sources on the" in field.value


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
