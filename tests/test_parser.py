import datetime as dt

import pytest

from archive.models import RelatedLink, Source
from archive.parser import (
    ParseError,
    link_lang,
    parse_day_page,
    parse_event_page,
    parse_link_target,
)
from tests.fixtures import archive_pages as pages

DAY = dt.date(2016, 3, 14)


def test_plain_event_page_every_field() -> None:
    page = parse_event_page(pages.EN_FLOOD, DAY, "heavy-rain")
    assert page.headline == (
        "Heavy rain floods large parts of Lagos, Nigeria, displacing at least 4,000 people."
    )
    assert page.summary == (
        "Emergency services in Lagos say thousands of residents have left their homes after two"
        " days of rain. The city's governor calls it the worst flooding in a decade."
    )
    assert page.topic is None
    assert page.sources == (
        Source("Lagos Herald", "http://lagosherald.example/2016/03/14/floods"),
        Source("Wire & Co", "https://wire.example/africa/lagos-floods?utm_source=feed"),
    )
    assert page.cover_image is None
    assert page.related == (
        RelatedLink(
            dt.date(2015, 6, 4),
            "floods-in-accra-ghana-leave-25-people-dead",
            "Floods in Accra, Ghana, leave 25 people dead.",
            ("flooding", "West Africa"),
        ),
        # a relative link resolves against the page's own folder
        RelatedLink(
            dt.date(2016, 3, 15),
            "nigeria-s-president-visits-flood-hit-areas-of-lagos",
            "Nigeria's president visits flood-hit areas of Lagos.",
            ("Lagos", "flooding"),
        ),
    )
    assert page.earlier_slugs == ()
    assert not page.is_current


def test_later_variant_topic_cover_and_changes() -> None:
    slug = "a-12-year-old-from-chennai-becomes-the-youngest-player-to-beat-a-world-champion-in-a-rapid-game"
    page = parse_event_page(pages.EN_CHESS, DAY, slug)
    assert page.is_current
    assert page.topic == "Chess"
    assert page.headline.startswith("A 12-year-old from Chennai") and '"rapid"' in page.headline
    assert page.sources == (Source("Chennai Times", "https://chennaitimes.example/chess-prodigy"),)
    assert page.cover_image == "https://img.example/chess.jpg"
    # Changes name earlier slugs; the page's own slug is not an alias of itself
    assert page.earlier_slugs == ("chess-" + slug,)
    assert [r.slug for r in page.related] == [
        "magnus-carlsen-retains-the-world-chess-championship-title"
    ]


def test_chinese_event_page_localised_headings() -> None:
    page = parse_event_page(pages.ZH_SAKURA, DAY, "日本气象厅宣布东京樱花开始开放-比往年早五天")
    assert link_lang(pages.ZH_SAKURA) == "zh"
    assert page.topic == "日本"
    assert page.headline == "日本气象厅宣布东京樱花开始开放，比往年早五天。"
    assert page.summary == "气象厅表示，今年气温偏高。"
    assert page.sources == (Source("共同社", "https://kyodo.example/sakura"),)
    assert page.cover_image == "https://kyodo.example/sakura.jpg"
    assert page.related[0].date == dt.date(2016, 11, 24)
    assert page.related[0].tags == ("日本", "东京")


def test_english_day_page_lists_every_event() -> None:
    day = parse_day_page(pages.EN_DAY_2016_03_14, DAY)
    assert link_lang(pages.EN_DAY_2016_03_14) is None
    assert [e.topic for e in day.entries] == ["Flooding in Lagos", "Chess", "Space", None]
    flood, chess, probe, strike = day.entries
    assert flood.summary.startswith("Emergency services in Lagos")
    assert flood.tags == ()
    assert chess.headline.endswith('in a "rapid" game.')
    assert chess.summary == ""
    assert chess.tags == ("Chennai", "chess", "India")
    assert (
        probe.headline
        == "The Aurora probe sends its first images of the far side of the Moon back to Earth."
    )
    assert strike.link is not None and strike.link.date == DAY
    assert strike.link.slug.startswith("a-train-strike")
    assert [e.position for e in day.entries] == [0, 1, 2, 3]


def test_chinese_day_page_strips_inline_citations() -> None:
    day = parse_day_page(pages.ZH_DAY_2016_03_14, DAY)
    assert link_lang(pages.ZH_DAY_2016_03_14) == "zh"
    assert [e.topic for e in day.entries] == ["日本", "北京"]
    assert day.entries[1].headline == "北京举行国际马拉松比赛，约三万人参加。"
    assert day.entries[1].link is not None
    assert day.entries[1].link.slug == "北京举行国际马拉松比赛-约三万人参加-http-newsexamplecn"


def test_day_page_link_with_unbalanced_brackets_in_its_text() -> None:
    text = (
        "## [2013-10-24](/zh/news/2013/10/24/index.md)\n\n##### 尼日利亚\n"
        "### [ 尼日利亞軍方突襲。 [http:--news.example.cn-2013 (新华网](/zh/news/2013/10/24/x-htt.md)\n"
    )
    day = parse_day_page(text, dt.date(2013, 10, 24))
    assert day.entries[0].link is not None and day.entries[0].link.slug == "x-htt"
    assert day.entries[0].headline.startswith("尼日利亞軍方突襲")


def test_page_without_headline_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="headline"):
        parse_event_page(pages.EN_BROKEN, DAY, "a-train-strike")


def test_empty_day_page_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_day_page("just some text\n", DAY)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/news/2015/11/20/a-b.md", (None, dt.date(2015, 11, 20), "a-b")),
        ("/zh/news/2006/01/12/印尼.md", ("zh", dt.date(2006, 1, 12), "印尼")),
        ("../19/x.md", (None, dt.date(2016, 3, 19), "x")),
        ("/news/2015/11/20/a%20b.md#top", (None, dt.date(2015, 11, 20), "a b")),
        ("/news/2015/13/20/x.md", None),
        ("https://example.com/news/2015/11/20/x.md", None),
    ],
)
def test_link_targets(target: str, expected: tuple | None) -> None:
    link = parse_link_target(target, "/news/2016/03/14")
    assert (None if link is None else (link.lang, link.date, link.slug)) == expected


def _tag_note_by_rule(rest: str) -> str | None:
    """The rule of ``_tag_note``, one character at a time (as it was first written)."""
    end = len(rest.rstrip())
    if end < 3 or rest[end - 1] != "_":
        return None
    start = rest.find("_")
    while -1 < start < end - 1:
        colon = -1
        for i in range(start + 1, min(start + 43, end - 1)):
            if rest[i] in ":：":
                colon = i
                break
            if rest[i] == "_" or rest[i].isdigit():
                break
        label = rest[start + 1 : colon].strip() if colon != -1 else ""
        if label and len(label) <= 40:
            return rest[colon + 1 : end - 1].strip()
        start = rest.find("_", start + 1)
    return None


def test_tag_note_follows_its_rule_on_random_lines() -> None:
    import random

    from archive.parser import _tag_note

    rng = random.Random(7)
    alphabet = ["_", ":", "：", " ", "a", "b", "1", "²", "١", "\u3000", "Z"]  # ² and ١: digits
    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        line = ("_" if rng.random() < 0.5 else "") + line + ("_ " if rng.random() < 0.7 else "")
        assert _tag_note(line) == _tag_note_by_rule(line), repr(line)
    assert _tag_note("_Context: a, b_") == "a, b"
    assert _tag_note("_Label²: a_") is None
