"""Any line parses, quickly, into a title and highlights that are exact parts of it."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.tasks.quick_add import MAX_LENGTH, LineTooLong, parse_quick_add

_NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
_WORDS = [
    "every", "every!", "day", "2nd", "monday", "mon", "on", "the", "1st", "last", "weeks",
    "remind", "me", "30m", "before", "at", "5pm", "17:00", "noon", "tomorrow", "next", "fri",
    "in", "3", "days", "hours", "dec", "24", "2026-12-24", "#home", "@tag", "p1", "p4", "and",
    ",", "1984", "555-1234", "😀", "tonight", "weekend", "until", "2027-01-31", "times", "#",
    "@", "!", "-", ":", "a", "an", "of", "month", "year", "weekday",
]  # fmt: skip


def _utf16(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def _check(text: str) -> None:
    result = parse_quick_add(text, now=_NOW, zone="Europe/Berlin")
    assert result.title or not text.strip()
    assert len(result.title) <= len(text)
    previous_end = 0
    for span in result.spans:
        assert _utf16(text, span.start, span.end) == span.text
        assert span.start >= previous_end
        previous_end = span.end
    if isinstance(result.due, datetime):
        assert result.due.utcoffset() is not None
    if result.due is not None:
        day = result.due.date() if isinstance(result.due, datetime) else result.due
        assert date(1900, 1, 1) <= day <= date(2200, 12, 31)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join))
def test_lines_of_grammar_words_parse(text: str) -> None:
    _check(text[:MAX_LENGTH])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=MAX_LENGTH))
def test_any_text_parses(text: str) -> None:
    _check(text)


@pytest.mark.parametrize(
    "text",
    [
        "every " * 83,
        "every! " * 71,
        "every 1st, 2nd, 3rd, " * 25,
        "remind me " * 50,
        "1" * MAX_LENGTH,
        "1:" * 250,
        "at " * 166,
        "in 1 " * 100,
        "#a" * 250,
        "@" * MAX_LENGTH,
        "p1 " * 166,
        "dec 24 " * 71,
        "on on on on " * 41,
        "mon, " * 100,
        "every mon, " * 45,
        "-" * MAX_LENGTH,
        "every 2 weeks on " + "mon and " * 60,
    ],
    ids=lambda text: text[:12],
)
def test_adversarial_lines_finish_fast(text: str) -> None:
    text = text[:MAX_LENGTH]
    parse_quick_add(text, now=_NOW, zone="Europe/Berlin")  # warm the regex caches
    started = time.process_time()
    parse_quick_add(text, now=_NOW, zone="Europe/Berlin")
    # Generous for a shared CI machine; a backtracking blow-up takes seconds to hours.
    assert time.process_time() - started < 0.25


def test_a_longer_line_is_refused() -> None:
    parse_quick_add("a" * MAX_LENGTH, now=_NOW, zone="UTC")
    with pytest.raises(LineTooLong):
        parse_quick_add("a" * (MAX_LENGTH + 1), now=_NOW, zone="UTC")


def test_an_unknown_language_has_no_grammar() -> None:
    with pytest.raises(KeyError):
        parse_quick_add("Pay rent tomorrow", now=_NOW, zone="UTC", language="xx")


@pytest.mark.parametrize("hours", range(0, 48, 5))
def test_the_same_line_read_later_never_falls_before_now(hours: int) -> None:
    now = _NOW + timedelta(hours=hours)
    for text in ("Call at 5pm", "Call at 9am", "Call tonight", "Standup every weekday at 9am"):
        due = parse_quick_add(text, now=now, zone="Europe/Berlin").due
        assert isinstance(due, datetime)
        assert due > now or text == "Call tonight"


def test_spans_count_utf16_units_as_javascript_does() -> None:
    text = "😀😀 Call Ann tomorrow"
    [span] = parse_quick_add(text, now=_NOW, zone="UTC").spans
    assert (span.start, span.end, span.text, span.kind) == (14, 22, "tomorrow", "due")
    assert text.index("tomorrow") == 12  # code points; the browser counts 2 per emoji
