"""The archive outside the 2015 sample (issue 10): inline sources, mojibake, page summaries,
wiki leftovers, tags; and the parser's side of hostile input (issue 13, items 6 and 8).

The pages are short copies of real ones (dates and lines from archive-zh and archive-en),
with mojibake and lost letters written in as the older years of the full archive have them.
"""

import datetime as dt
import os
from pathlib import Path

from archive.models import Source
from archive.parser import MAX_HEADLINE, parse_day_page, parse_event_page
from archive.prepare import DayFolder, prepare_day

ZH_DAY = dt.date(2019, 4, 8)
ZH_SLUG = "美國政府把伊朗伊斯兰革命卫队列為恐怖組織-https-wwwvoanewscom-a-us-designate"
ZH_INDEX = f"""## [2019-04-8](/zh/news/2019/04/8/index.md)

##### 伊斯兰革命卫队
### [美國政府把伊朗伊斯兰革命卫队列為恐怖組織 [https:--www.voanews.com-a-us-designates-elite-iranian-force-as-terrorist-organization-4866512.html (VOA)] ，随即伊朗政府也将美国中央司令部及其下属部队列为恐怖组织](/zh/news/2019/04/8/{ZH_SLUG}.md)
## [前一天...](/zh/news/2019/04/7/index.md)
"""
ZH_PAGE = """### [2019-04-8](/news/2019/04/8/index.md)
##### 伊斯兰革命卫队
# 美國政府把伊朗伊斯兰革命卫队列為恐怖組織 [https:--www.voanews.com-a-us-designates-elite-iranian-force-as-terrorist-organization-4866512.html (VOA)] ，随即伊朗政府也将美国中央司令部及其下属部队列为恐怖组织
### 有关:
1. [伊朗伊斯兰革命卫队总司令改由贾法里准将担任。](/zh/news/2007/09/1/伊朗伊斯兰革命卫队总司令改由贾法里准将担任.md) _消息: 伊斯兰革命卫队_
"""

EN_DAY = dt.date(2007, 11, 20)
EN_SLUG = "2007-pakistani-state-of-emergency-thousands-of-people-escape-pakistan-s-swat-district"
EN_INDEX = f"""## [2007-11-20](/news/2007/11/20/index.md)

### [ 2007 Pakistani state of emergency: Thousands of people escape Pakistan's Swat district, where the Pakistan Army is fighting with pro-Taliban militants. [http://news.bbc.co.uk/2/hi/south_asia/7104331.stm (BBC)] More than 100 journalists are arrested. [http:--www.dawn.com-2007-11-20-top1.htm "(Dawn)"] ](/news/2007/11/20/{EN_SLUG}.md)
Pakistan&#039;s President Pervez Musharraf says elections will go ahead.
_Context: Pakistan, Pakistani, Swat_

### [ Venezuelan President Hugo Chvez meets the king of Spain. ](/news/2007/11/20/venezuelan-president-hugo-chvez-meets-the-king-of-spain.md)
The meeting follows the row over the kingâ€™s words.
_Context: Czech, Czech Republic, España, Espana, French, France_

##### Chilean general election, 2017
### [ A missile travels 435|mi|km before landing in the Sea of Japan (Link dead as of March 2016). ](/news/2007/11/20/a-missile.md)
_Context: Chilean general election, 2017, Chile_
"""
EN_PAGE = """### [2007-11-20](/news/2007/11/20/index.md)

# 2007 Pakistani state of emergency: Thousands of people escape Pakistan's Swat district, where the Pakistan Army is fighting with pro-Taliban militants. More than 100 journalists are arrested.

Thousands of people fled the Swat valley as the army shelled militant positions; the government promised elections in January.

### Sources:

1. [Dawn](http://www.dawn.com/2007/11/20/top1.htm|)
2. [Local file](file:///etc/passwd)
3. [Script](javascript:alert(1))
"""
CHAVEZ_PAGE = """### [2007-11-20](/news/2007/11/20/index.md)

# Venezuelan President Hugo Chávez meets the king of Spain.

The meeting follows the row over the kingâ€™s words.

### Changes:

1. [Venezuelan President Hugo Chvez meets the king of Spain. ](/news/2007/11/20/venezuelan-president-hugo-chvez-meets-the-king-of-spain.md) _2018-02-06 13:49:28 (First version)_
2. [Venezuelan President Hugo Chávez meets King Juan Carlos of Spain. ](/news/2007/11/20/venezuelan-president-hugo-chavez-meets-king-juan-carlos.md) _(Current version)_
"""


def _write(root: Path, date: dt.date, pages: dict[str, str], lang: str = "") -> DayFolder:
    folder = root / "news" / f"{date.year}" / f"{date.month:02d}" / f"{date.day}"
    folder.mkdir(parents=True)
    for name, text in pages.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return DayFolder(date, folder)


def test_inline_sources_become_sources_and_mangled_ones_are_repaired_only_from_a_copy(
    tmp_path: Path,
) -> None:
    folder = _write(tmp_path, EN_DAY, {"index": EN_INDEX, EN_SLUG: EN_PAGE})
    day = prepare_day(folder, "en")
    event = next(e for e in day.events if e.slug == EN_SLUG)
    assert event.headline.endswith("More than 100 journalists are arrested.")
    assert "[http" not in event.headline and "http:--" not in event.headline
    # BBC written inline; Dawn's mangled address repaired from the page's own sources, whose
    # stray "|" is gone; file: and javascript: sources dropped.
    assert set(event.sources) == {
        ("BBC", "http://news.bbc.co.uk/2/hi/south_asia/7104331.stm"),
        ("Dawn", "http://www.dawn.com/2007/11/20/top1.htm"),
    }
    assert day.inline is not None
    assert (day.inline.inline_sources, day.inline.inline_repaired) == (2, 1)


def test_a_mangled_address_nothing_repairs_is_not_stored(tmp_path: Path) -> None:
    folder = _write(tmp_path, ZH_DAY, {"index": ZH_INDEX, ZH_SLUG: ZH_PAGE})
    day = prepare_day(folder, "zh")
    (event,) = day.events
    assert (
        event.headline
        == "美國政府把伊朗伊斯兰革命卫队列為恐怖組織 ，随即伊朗政府也将美国中央司令部及其下属部队列为恐怖组织"
    )
    assert event.sources == ()
    assert day.inline is not None
    assert (day.inline.inline_sources, day.inline.inline_dropped) == (1, 1)


def test_mojibake_lost_letters_and_the_current_version(tmp_path: Path) -> None:
    slug = "venezuelan-president-hugo-chvez-meets-the-king-of-spain"
    folder = _write(tmp_path, EN_DAY, {"index": EN_INDEX, slug: CHAVEZ_PAGE})
    day = prepare_day(folder, "en")
    event = next(e for e in day.events if e.slug == slug)
    # The Changes section's current version wins over the day page's (letter-less) headline.
    assert event.headline == "Venezuelan President Hugo Chávez meets King Juan Carlos of Spain."
    assert event.summary == "The meeting follows the row over the king’s words."
    assert day.repaired == 2  # the line on the day page and the one on the event page


def test_lost_letters_are_taken_from_a_copy_that_has_them(tmp_path: Path) -> None:
    slug = "venezuelan-president-hugo-chvez-meets-the-king-of-spain"
    page = CHAVEZ_PAGE.split("### Changes:")[0]
    day = prepare_day(_write(tmp_path, EN_DAY, {"index": EN_INDEX, slug: page}), "en")
    event = next(e for e in day.events if e.slug == slug)
    assert event.headline == "Venezuelan President Hugo Chávez meets the king of Spain."


def test_page_paragraph_is_the_summary_and_the_day_line_added_when_it_says_more() -> None:
    day = parse_day_page(EN_INDEX, EN_DAY)
    page = parse_event_page(EN_PAGE, EN_DAY, EN_SLUG)
    from archive.dedupe import merge_day

    (event, *_), _ = merge_day(EN_DAY, "en", day.entries[:1], [page])
    assert event.summary == (
        "Thousands of people fled the Swat valley as the army shelled militant positions; the"
        " government promised elections in January. Pakistan's President Pervez Musharraf"
        " says elections will go ahead."
    )


def test_wiki_leftovers_and_tags() -> None:
    entries = parse_day_page(EN_INDEX, EN_DAY).entries
    missile = entries[2]
    assert missile.headline == "A missile travels 435 mi before landing in the Sea of Japan."
    # The topic, which holds a comma, is one tag; accents and demonyms merged.
    assert missile.tags == ("Chilean general election, 2017", "Chile")
    assert entries[1].tags == ("Czech Republic", "España", "France")


def test_symlinks_out_of_the_archive_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# password=hunter2\n\nsecret\n")
    folder = _write(tmp_path / "archive", EN_DAY, {"index": EN_INDEX, "real": "# Inside\n"})
    os.symlink(secret, folder.path / "secret.md")
    os.symlink(folder.path / "real.md", folder.path / "inside.md")  # inside: followed
    day = prepare_day(folder, "en")
    assert all("password" not in e.headline for e in day.events)
    assert "inside" in {a for e in day.events for a in e.aliases}
    assert [reason for _, reason in day.skipped] == ["links outside the archive: not followed"]
    # A day folder that is itself a link out of the archive is not read at all.
    outside = _write(tmp_path / "elsewhere", EN_DAY, {"index": EN_INDEX})
    link = tmp_path / "archive/news/2007/11/21"
    os.symlink(outside.path, link)
    linked = prepare_day(DayFolder(dt.date(2007, 11, 21), link), "en")
    assert linked.events == [] and linked.skipped


def test_huge_headline_and_summary_are_capped_with_a_warning(tmp_path: Path) -> None:
    huge = "word " * 200_000
    page = f"# {huge}\n\n{huge}\n"
    folder = _write(tmp_path, EN_DAY, {"index": EN_INDEX, "huge": page})
    day = prepare_day(folder, "en")
    event = next(e for e in day.events if e.slug == "huge")
    assert len(event.headline) <= MAX_HEADLINE + 1 and event.headline.endswith("…")
    assert len(event.summary) < 20_000
    reasons = [(Path(path).name, reason) for path, reason in day.warnings]
    assert ("huge.md", "headline of 1,000,000 characters cut to 2,000") in [
        (n, r.replace("999,999", "1,000,000")) for n, r in reasons
    ]


def test_source_model_unchanged() -> None:
    assert Source("a", "http://x") == Source("a", "http://x")
