"""Reliability of ingest and the store under damaged archives, faults and concurrency
(issue 13). Each test reproduces one finding of the fault probe."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from archive import dedupe
from archive.dedupe import headline_key, same_event
from archive.prepare import DayFolder, prepare_day
from bench.huge_day import write_day

# ----- item 9: a huge day is merged in linear time -------------------------------------


def test_candidate_index_never_leaves_out_a_match() -> None:
    from archive.dedupe import CandidateIndex

    rng = random.Random(7)
    words = "storm flood kills people in the city of lagos paris government says talks".split()
    keys = []
    for _ in range(300):
        base = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
        keys.append(headline_key(base))
        # copies: cut short, a topic prefixed, one letter changed
        keys.append(headline_key(base[: rng.randint(1, len(base))]))
        keys.append(headline_key("topic. " + base))
        i = rng.randrange(len(base))
        keys.append(headline_key(base[:i] + "a" + base[i + 1 :]))
    index = CandidateIndex()
    for group, key in enumerate(keys):
        index.add(key, group)
    for key in keys[:400]:
        truth = {g for g, other in enumerate(keys) if same_event(key, other)}
        assert truth <= set(index.candidates(key)), key


def test_a_huge_day_compares_each_page_with_few_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = 3000
    write_day(tmp_path, pages, listed=0.5)
    calls = 0
    real = dedupe.same_event

    def counting(a: str, b: str) -> bool:
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(dedupe, "same_event", counting)
    day = prepare_day(DayFolder(dt.date(2016, 3, 14), tmp_path / "news/2016/03/14"), "en")
    assert len(day.events) == pages
    # every page against every group was ~pages**2 / 4 (over 2 million) comparisons
    assert calls < 20 * pages
