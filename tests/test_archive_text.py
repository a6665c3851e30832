import re

import pytest

from archive.text import OTHER_SPACES, clean_text, split_tags


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("The city&#039;s  governor", "The city's governor"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("see [the report](http://x.example/a_(b)) now", "see the report now"),
        ("the ''Aurora'' probe", "the Aurora probe"),
        ("remains of the {{SS|El Faro}} which", "remains of the SS El Faro which"),
        ("killed. [http://bbc.example/x (BBC)] More", "killed. More"),
        ("一架-{zh-hans:苏霍伊;zh-hk:蘇霍伊;}-客机", "一架苏霍伊客机"),
        ("人死亡。[http:--gb.example.cn 国际在线]date=2018年5月 ", "人死亡。"),
        ("Relations<p>North Korea", "Relations North Korea"),
        ("武裝分子。 [http:--news.example.cn-2013 (新华网", "武裝分子。"),
        ("同步刊出冰点]]》的回應。 {{dead link", "同步刊出冰点》的回應。"),
        ("the [[Foo Bar|foo]] and [[Baz]]", "the foo and Baz"),
        ("\t spaced\n out \u3000", "spaced out"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_split_tags_keeps_order_and_drops_repeats() -> None:
    assert split_tags("Lagos, flooding, Lagos") == ("Lagos", "flooding")
    assert split_tags("日本， 美国、 中国") == ("日本", "美国", "中国")
    assert split_tags("") == ()


def test_other_spaces_are_every_isspace_character_but_space() -> None:
    spelt_out = re.compile(f"[{OTHER_SPACES}]")
    every = [chr(c) for c in range(0x110000)]
    assert [c for c in every if spelt_out.match(c)] == [
        c for c in every if c.isspace() and c != " "
    ]
