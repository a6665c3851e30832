import datetime as dt
import random

from archive.dedupe import headline_key, same_event
from archive.prepare import DayFolder, prepare_day
from tests.conftest import shared_archive


def test_headline_key_ignores_case_punctuation_and_space() -> None:
    assert headline_key("The World's  2nd-largest!") == headline_key("the worlds 2nd largest")


def test_copy_cut_short_or_with_topic_prefix_is_the_same_event() -> None:
    full = headline_key("Ten gunmen storm the five-star Radisson Blu Hotel in Bamako.")
    assert same_event(full, headline_key("Ten gunmen storm the five-star Radisson"))
    assert same_event(
        full,
        headline_key(
            "2015 Bamako hotel attack. Ten gunmen storm the five-star Radisson Blu Hotel in Bamako."
        ),
    )


def test_mojibake_and_wiki_markup_differences_are_the_same_event() -> None:
    assert same_event(
        headline_key("The world's second-largest diamond of gem quality is found"),
        headline_key("The worldas second-largest diamond of gem quality is found"),
    )
    assert same_event(
        headline_key("a wreck believed to be the remains of the El Faro which disappeared"),
        headline_key("a wreck believed to be the remains of the SS El Faro which disappeared"),
    )


def test_different_events_are_not_merged() -> None:
    assert not same_event(
        headline_key("A bomb kills 12 people in Kabul."),
        headline_key("A bomb kills 12 people in Baghdad."),
    )
    # too short to trust a prefix match
    assert not same_event(headline_key("Protests"), headline_key("Protests in Paris turn violent"))
    assert not same_event("", "")


def _day(date: dt.date) -> dict[str, set[str]]:
    root = shared_archive("archive-en") / "news"
    folder = root / str(date.year) / f"{date.month:02d}" / str(date.day)
    day = prepare_day(DayFolder(date, folder), "en")
    assert day.skipped == []
    return {e.slug: set(e.aliases) for e in day.events}


def test_real_copies_of_2015_11_20_are_merged() -> None:
    events = _day(dt.date(2015, 11, 20))
    korea = events["north-korea-and-south-korea-agree-to-hold-talks-next-week"]
    assert korea == {
        "north-korea-and-south-korea-agree-to-hold-talks-next-week",
        "north-korea-south-korea-relations-north-korea-and-south-korea-agree-to-hold-talks-next-week",
        "north-koreaasouth-korea-relations-pnorth-korea-and-south-korea-agree-to-hold-talks-next-week",
    }
    diamond = events[
        "the-worldas-second-largest-diamond-of-gem-quality-karowe-ak6-is-found-in-the-karowe-mine-located-north-of-the-botswanan-capital-gaborone"
    ]
    assert (
        "the-world-s-second-largest-diamond-of-gem-quality-karowe-ak6-is-found-in-the-karowe-mine-located-north-of-the-botswanan-capital-gaborone"
        in diamond
    )
    bamako = events[
        "ten-gunmen-storm-the-five-star-radisson-blu-hotel-in-the-malian-capital-bamako-taking-170-hostages-with-at-least-27-people-killed-the-gren"
    ]
    assert any(a.startswith("2015-bamako-hotel-attack") for a in bamako)
    # every slug on disk belongs to exactly one event
    all_aliases = [a for aliases in events.values() for a in aliases]
    assert len(all_aliases) == len(set(all_aliases))
    assert len(events) == 20  # the day page lists 20 events


def test_real_copies_of_2015_11_1_are_merged() -> None:
    events = _day(dt.date(2015, 11, 1))
    by_alias = {a: slug for slug, aliases in events.items() for a in aliases}
    pairs = [
        (
            "switzerland-named-world-s-most-positive-country-for-2015",
            "switzerland-named-worldas-most-positive-country-for-2015",
        ),
        (
            "war-in-somalia-2009-present-islamist-al-shabaab-militants-attack-a-hotel-in-mogadishu-resulting-in-at-least-12-deaths",
            "islamist-al-shabaab-militants-attack-a-hotel-in-mogadishu-resulting-in-at-least-12-deaths",
        ),
        (
            "the-united-states-navy-sends-a-remotely-operated-underwater-craft-to-investigate-a-wreck-which-they-believe-is-the-remains-of-the-ss-el-fa",
            "the-united-states-navy-sends-a-remotely-operated-underwater-craft-to-investigate-a-wreck-which-they-believe-is-the-remains-of-the-el-faro-wh",
        ),
        (
            "smart-sheriff-the-most-widely-used-child-surveillance-mobile-app-in-south-korea-is-pulled-from-the-market-after-specialists-raised-serio",
            "smart-sheriff-the-most-widely-used-child-surveillance-mobile-app-in-south-korea-is-pulled-from-the-market-after-specialists-raised-ser",
        ),
    ]
    for copy, listed in pairs:
        assert by_alias[copy] == by_alias[listed] == listed
    azeri = events[
        by_alias[
            "azeri-voters-go-to-the-polls-for-a-parliamentary-election-which-azerbaijan-president-ilham-aliyev-s-ruling-new-azerbaijan-party-is-widely"
        ]
    ]
    # the current version's Changes section names a copy that is not on disk: still an alias
    assert any(a.startswith("azerbaijani-parliamentary-election-2015") for a in azeri)
    assert len(events) == 14  # the day page lists 14 events


def _same_event_without_bound(a: str, b: str) -> bool:
    """same_event as the rule states it, SequenceMatcher on every pair."""
    from difflib import SequenceMatcher

    from archive import dedupe

    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not a or not b or a == b or short in long:
        return bool(a and b)
    if len(short) < (dedupe.MIN_KEY_CJK if dedupe._CJK.search(short) else dedupe.MIN_KEY):
        return False
    blocks = SequenceMatcher(None, short, long, autojunk=False).get_matching_blocks()
    shared = sum(block.size for block in blocks if block.size >= dedupe.MIN_RUN)
    return shared >= dedupe.MIN_COVERAGE * len(short)


def test_the_cheap_bound_never_changes_a_verdict() -> None:
    rng = random.Random(7)
    base = headline_key("Ten gunmen storm the five-star Radisson Blu Hotel in the Malian capital")
    words = ["bamako", "hotel", "gunmen", "storm", "radisson", "capital", "mali", "the", "a"]
    for _ in range(3000):
        text = list(base)
        for _ in range(rng.randint(0, 6)):  # letters changed, dropped or added
            i = rng.randrange(len(text))
            text[i : i + rng.randint(0, 2)] = rng.choice(["", "a", "xy", rng.choice(words)])
        other = "".join(text)
        if rng.random() < 0.3:
            other = "".join(rng.sample(words, 5)) + other[rng.randint(0, 20) :]
        assert same_event(base, other) == _same_event_without_bound(base, other), other


def test_page_without_day_page_entry_takes_related_tags_merged() -> None:
    # No day-page entry: the tags come from the page's related links alone, merged
    # (French + France -> France) through the cached tag merging.
    from archive.dedupe import merge_day
    from archive.parser import parse_event_page

    page = parse_event_page(
        "# Floods hit the north\n\nRivers burst their banks.\n\n### Related:\n\n"
        "1. [Earlier floods](/news/2015/11/1/earlier-floods.md) _Tags: France, French_\n"
        "2. [Rain](/news/2015/11/2/rain.md) _Tags: France_\n",
        dt.date(2015, 11, 20),
        "floods-hit-the-north",
    )
    (event,), merged = merge_day(dt.date(2015, 11, 20), "en", (), [page])
    assert merged == 0
    assert event.tags == ("France",)
