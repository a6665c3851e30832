import datetime as dt

import pytest

from embeddings.dates import understand_dates

D = dt.date


@pytest.mark.parametrize(
    ("question", "date_from", "date_to", "text"),
    [
        ("Russian missiles in November 2015", D(2015, 11, 1), D(2015, 11, 30), "Russian missiles"),
        ("earthquakes in 2015", D(2015, 1, 1), D(2015, 12, 31), "earthquakes"),
        ("What happened in 2015?", D(2015, 1, 1), D(2015, 12, 31), "What happened?"),
        ("2015 floods in India", D(2015, 1, 1), D(2015, 12, 31), "floods in India"),
        (
            "What happened in Paris on 13 November 2015?",
            D(2015, 11, 13), D(2015, 11, 13), "What happened in Paris?",
        ),
        ("hotel siege on November 20, 2015", D(2015, 11, 20), D(2015, 11, 20), "hotel siege"),
        ("news on the 20th of November 2015", D(2015, 11, 20), D(2015, 11, 20), "news"),
        ("attacks on 2015-11-13", D(2015, 11, 13), D(2015, 11, 13), "attacks"),
        (
            "fires in the last week of November 2015",
            D(2015, 11, 24), D(2015, 11, 30), "fires",
        ),
        (
            "What happened in the first week of October 2015?",
            D(2015, 10, 1), D(2015, 10, 7), "What happened?",
        ),
        ("storms in the third week of February 2012", D(2012, 2, 15), D(2012, 2, 21), "storms"),
        ("storms before 2010", None, D(2009, 12, 31), "storms"),
        ("riots before 20 November 2015", None, D(2015, 11, 19), "riots"),
        ("elections after March 2016", D(2016, 4, 1), None, "elections"),
        ("elections after 2015", D(2016, 1, 1), None, "elections"),
        ("hurricanes since 2012", D(2012, 1, 1), None, "hurricanes"),
        ("floods between 2009 and 2011", D(2009, 1, 1), D(2011, 12, 31), "floods"),
        (
            "attacks from June 2015 to August 2015",
            D(2015, 6, 1), D(2015, 8, 31), "attacks",
        ),
        (
            "between 1 October 2015 and 5 October 2015 hurricanes",
            D(2015, 10, 1), D(2015, 10, 5), "hurricanes",
        ),
        ("riots in early 2011", D(2011, 1, 1), D(2011, 4, 30), "riots"),
        ("news during late November 2015", D(2015, 11, 21), D(2015, 11, 30), "news"),
        ("Sept 2015 refugees", D(2015, 9, 1), D(2015, 9, 30), "refugees"),
    ],
)  # fmt: skip
def test_each_phrasing_gives_its_window_and_is_stripped(question, date_from, date_to, text):
    window = understand_dates(question)
    assert (window.date_from, window.date_to) == (date_from, date_to)
    assert window.text == text
    assert window.phrase is not None and window.phrase in question


@pytest.mark.parametrize(
    "question",
    [
        "Russian cruise missiles fired from the Caspian Sea",
        "Boeing 737 crash",
        "over 600 terrorists killed",
        "flight MH17",
        "What happened last week?",
    ],
)
def test_questions_without_an_absolute_date_are_left_alone(question):
    window = understand_dates(question)
    assert not window.bounded
    assert window.text == question
    assert window.phrase is None


def test_impossible_day_is_not_a_date_but_its_month_is():
    window = understand_dates("news on 31 February 2015")
    assert (window.date_from, window.date_to) == (D(2015, 2, 1), D(2015, 2, 28))


def test_last_week_of_february_in_a_leap_year():
    window = understand_dates("last week of February 2016")
    assert (window.date_from, window.date_to) == (D(2016, 2, 23), D(2016, 2, 29))


def test_only_the_first_date_phrase_is_used():
    window = understand_dates("in 2015, before the 2016 election")
    assert (window.date_from, window.date_to) == (D(2015, 1, 1), D(2015, 12, 31))
    assert "2016" in window.text
