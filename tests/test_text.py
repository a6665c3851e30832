import dataclasses

from embeddings.text import event_text, text_hash
from tests.records import stored
from tests.search_fixtures import make_event


def test_event_text_holds_headline_summary_topic_and_tags_but_not_sources():
    event = stored(make_event("2015-11-20", "Gunmen storm a hotel", "Siege", ("Mali", "Bamako"), 3))
    text = event_text(event)
    assert text.splitlines()[0] == "Gunmen storm a hotel"
    assert "Report 3: gunmen storm a hotel." in text
    assert "Siege" in text and "Mali, Bamako" in text
    assert "example.org" not in text and "2015" not in text


def test_summary_equal_to_headline_is_not_repeated():
    event = stored(make_event("2015-11-20", "Gunmen storm a hotel", None, (), 1))
    event = dataclasses.replace(event, summary="")
    assert event_text(event) == "Gunmen storm a hotel"


def test_text_hash_is_stable_and_sensitive():
    assert text_hash("a b") == text_hash("a b")
    assert text_hash("a b") != text_hash("a c")
