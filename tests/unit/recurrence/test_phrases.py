"""Everyday phrases a user types for a recurring task, and the RRULE each one means."""

from __future__ import annotations

import re

import pytest

from haven.recurrence import InvalidRecurrence, Mode, parse_recurrence, phrase_to_rule

WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

PHRASES: list[tuple[str, str, Mode]] = [
    ("daily", "FREQ=DAILY", "due"),
    ("every day", "FREQ=DAILY", "due"),
    ("everyday", "FREQ=DAILY", "due"),
    ("every 3 days", "FREQ=DAILY;INTERVAL=3", "due"),
    ("every other day", "FREQ=DAILY;INTERVAL=2", "due"),
    ("every third day", "FREQ=DAILY;INTERVAL=3", "due"),
    ("every weekday", WORKDAYS, "due"),
    ("every workday", WORKDAYS, "due"),
    ("every weekend", "FREQ=WEEKLY;BYDAY=SA,SU", "due"),
    ("weekly", "FREQ=WEEKLY", "due"),
    ("every week", "FREQ=WEEKLY", "due"),
    ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("every two weeks", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("every other week", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("every second week", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("fortnightly", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("biweekly", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("every fortnight", "FREQ=WEEKLY;INTERVAL=2", "due"),
    ("every monday", "FREQ=WEEKLY;BYDAY=MO", "due"),
    ("every mon", "FREQ=WEEKLY;BYDAY=MO", "due"),
    ("every mondays", "FREQ=WEEKLY;BYDAY=MO", "due"),
    ("every mon, wed and fri", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "due"),
    ("every mon, wed, and fri", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "due"),
    ("every monday and thursday", "FREQ=WEEKLY;BYDAY=MO,TH", "due"),
    ("every tues & thurs", "FREQ=WEEKLY;BYDAY=TU,TH", "due"),
    ("every other monday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "due"),
    ("every 2 weeks on mon and fri", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "due"),
    ("every week on sunday", "FREQ=WEEKLY;BYDAY=SU", "due"),
    ("every 2nd monday", "FREQ=MONTHLY;BYDAY=2MO", "due"),
    ("every second monday", "FREQ=MONTHLY;BYDAY=2MO", "due"),
    ("every first monday of the month", "FREQ=MONTHLY;BYDAY=1MO", "due"),
    ("every last friday", "FREQ=MONTHLY;BYDAY=-1FR", "due"),
    ("every second to last friday", "FREQ=MONTHLY;BYDAY=-2FR", "due"),
    ("every 2nd and 4th tuesday of the month", "FREQ=MONTHLY;BYDAY=2TU,4TU", "due"),
    ("every month on the last friday", "FREQ=MONTHLY;BYDAY=-1FR", "due"),
    ("every first day of the month", "FREQ=MONTHLY;BYMONTHDAY=1", "due"),
    ("every 1st", "FREQ=MONTHLY;BYMONTHDAY=1", "due"),
    ("every 15th", "FREQ=MONTHLY;BYMONTHDAY=15", "due"),
    ("every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15", "due"),
    ("every 15th of the month", "FREQ=MONTHLY;BYMONTHDAY=15", "due"),
    ("every 1st and 15th", "FREQ=MONTHLY;BYMONTHDAY=1,15", "due"),
    ("every 3 months on the 10th", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10", "due"),
    ("every last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", "due"),
    ("monthly", "FREQ=MONTHLY", "due"),
    ("every month", "FREQ=MONTHLY", "due"),
    ("every 3 months", "FREQ=MONTHLY;INTERVAL=3", "due"),
    ("quarterly", "FREQ=MONTHLY;INTERVAL=3", "due"),
    ("yearly", "FREQ=YEARLY", "due"),
    ("every year", "FREQ=YEARLY", "due"),
    ("annually", "FREQ=YEARLY", "due"),
    ("every 2 years", "FREQ=YEARLY;INTERVAL=2", "due"),
    ("every march 3rd", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3", "due"),
    ("every 3rd of march", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3", "due"),
    ("every sept 3rd", "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=3", "due"),
    ("every year on dec 24", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", "due"),
    ("hourly", "FREQ=HOURLY", "due"),
    ("every hour", "FREQ=HOURLY", "due"),
    ("every 4 hours", "FREQ=HOURLY;INTERVAL=4", "due"),
    ("every! 3 days", "FREQ=DAILY;INTERVAL=3", "completion"),
    ("every!3 days", "FREQ=DAILY;INTERVAL=3", "completion"),
    ("every! week", "FREQ=WEEKLY", "completion"),
    ("every! monday", "FREQ=WEEKLY;BYDAY=MO", "completion"),
    ("every day until 2027-01-31", "FREQ=DAILY;UNTIL=20270131", "due"),
    ("every day for 10 times", "FREQ=DAILY;COUNT=10", "due"),
    ("every day 10 times", "FREQ=DAILY;COUNT=10", "due"),
    ("every! 2 weeks for 5 times", "FREQ=WEEKLY;INTERVAL=2;COUNT=5", "completion"),
    ("every 2nd monday until 2027-06-30", "FREQ=MONTHLY;UNTIL=20270630;BYDAY=2MO", "due"),
    ("weekly, 3 times", "FREQ=WEEKLY;COUNT=3", "due"),
    # Case and spacing do not matter, nor does a closing full stop.
    ("Every  Monday", "FREQ=WEEKLY;BYDAY=MO", "due"),
    ("  EVERY 2ND MONDAY. ", "FREQ=MONTHLY;BYDAY=2MO", "due"),
    ("Every Day Until 2027-01-31", "FREQ=DAILY;UNTIL=20270131", "due"),
]


@pytest.mark.parametrize(("phrase", "rule", "mode"), PHRASES, ids=[p for p, _, _ in PHRASES])
def test_phrase_means_rule(phrase: str, rule: str, mode: Mode) -> None:
    assert phrase_to_rule(phrase) == (rule, mode)


@pytest.mark.parametrize(("phrase", "rule", "mode"), PHRASES, ids=[p for p, _, _ in PHRASES])
def test_phrase_passes_the_recurrence_gate(phrase: str, rule: str, mode: Mode) -> None:
    recurrence = parse_recurrence(text=phrase)
    assert (recurrence.rule, recurrence.mode, recurrence.text) == (rule, mode, phrase.strip())


UNCLEAR = ["", "every", "sometimes", "every blue moon", "every 3", "every day at 9", "biannually"]


@pytest.mark.parametrize("phrase", UNCLEAR)
def test_unclear_phrase_is_refused_with_a_hint(phrase: str) -> None:
    expected = f'could not understand "{phrase}"; try e.g. "every 2nd monday" or an RRULE'
    with pytest.raises(InvalidRecurrence, match=re.escape(expected)):
        phrase_to_rule(phrase)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("every 0 days", "INTERVAL must be a positive integer"),
        ("every day 0 times", "COUNT must be a positive integer"),
        ("every 6th monday", 'BYDAY: "6MO" is out of range'),
        ("every 32nd", 'BYMONTHDAY: "32" is not a day of the month'),
        ("every february 30th", "the rule never produces an occurrence"),
        ("every day until 2027-02-30", 'until: "2027-02-30" is not a date (use YYYY-MM-DD'),
        ("every day until next friday", 'until: "next friday" is not a date'),
        ("every day until 2027-01-31 for 3 times", "UNTIL and COUNT cannot both be set"),
        ("every day 3 times until 2027-01-31", "UNTIL and COUNT cannot both be set"),
        ("every " + "monday and " * 60 + "friday", "too long (at most 500 characters)"),
    ],
)
def test_phrase_that_names_an_impossible_rule_says_why(phrase: str, message: str) -> None:
    with pytest.raises(InvalidRecurrence, match=re.escape(message)):
        parse_recurrence(text=phrase)


NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "other": 2,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
}


@pytest.mark.parametrize(("word", "number"), NUMBER_WORDS.items())
def test_every_number_word_is_its_interval(word: str, number: int) -> None:
    interval = "" if number == 1 else f";INTERVAL={number}"
    assert phrase_to_rule(f"every {word} week") == (f"FREQ=WEEKLY{interval}", "due")


ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "last": -1,
    "second to last": -2,
    "second last": -2,
    "penultimate": -2,
}


@pytest.mark.parametrize(("word", "number"), ORDINAL_WORDS.items())
def test_every_ordinal_word_is_its_weekday_of_the_month(word: str, number: int) -> None:
    # "every fourth thursday" is the fourth, never the third.
    assert phrase_to_rule(f"every {word} thursday") == (f"FREQ=MONTHLY;BYDAY={number}TH", "due")
