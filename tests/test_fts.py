"""``archive.fts``: the one reading of a question's words, shared by the keyword search and
the hybrid search's relevance check."""

from __future__ import annotations

import datetime as dt

from archive.fts import STOPWORDS, folded_words, fts_terms
from embeddings.search import keyword_coverage
from tests.bot_fixtures import make_event
from tests.records import stored


def test_terms_fold_diacritics_and_drop_question_words():
    assert fts_terms("What is the latest news about the café in Zürich?") == ["cafe", "zurich"]
    assert fts_terms("news events stories") == []
    assert {"news", "latest", "happened"} <= STOPWORDS


def test_cjk_runs_become_bigrams():
    assert fts_terms("北京地震") == ["北京", "京地", "地震"]


def test_the_relevance_check_reads_events_as_the_keyword_search_does():
    event = stored(make_event(dt.date(2015, 11, 20), "cafe", "Fire at the Café de Flore in Paris"))
    assert keyword_coverage(fts_terms("cafe flore"), event) == 1.0
    assert keyword_coverage(fts_terms("Café Flore news"), event) == 1.0
    assert "cafe" in folded_words(event.headline)
