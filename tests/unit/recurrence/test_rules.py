"""RRULE validation and next-due computation on the task's wall clock."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import cast, get_args
from zoneinfo import ZoneInfo

import pytest

from haven.recurrence import (
    InvalidRecurrence,
    Mode,
    Recurrence,
    SearchLimitReached,
    next_due,
    occurrences,
    parse_recurrence,
)
from haven.recurrence.rules import normalize_rule

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
SANTIAGO = ZoneInfo("America/Santiago")


def at(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def due_rule(rule: str) -> Recurrence:
    return parse_recurrence(rule=rule)


def chain(recurrence: Recurrence, start: datetime, tz: ZoneInfo, steps: int) -> list[datetime]:
    """The series from `start`, following next_due as completing each occurrence on time would."""
    dues = [start]
    while len(dues) <= steps:
        following = next_due(
            recurrence,
            series_start=start,
            previous_due=dues[-1],
            completed_at=dues[-1],
            occurrences_so_far=len(dues),
            tz=tz,
        )
        if following is None:
            break
        dues.append(following)
    return dues


def offsets_in_hours(dues: list[datetime]) -> list[float]:
    offsets = [d.utcoffset() for d in dues]
    return [offset / timedelta(hours=1) for offset in offsets if offset is not None]


# --- validation -------------------------------------------------------------------------------

BAD_RULES = [
    ("", "the rule is empty"),
    ("RRULE:", "the rule is empty"),
    ("INTERVAL=2", "FREQ is required"),
    ("FREQ=FORTNIGHTLY", 'FREQ: "FORTNIGHTLY" is not a frequency'),
    ("FREQ=MINUTELY;INTERVAL=15", "FREQ=MINUTELY is too frequent for a task"),
    ("FREQ=SECONDLY", "FREQ=SECONDLY is too frequent for a task"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=-2", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=two", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=1.5", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;COUNT=0", "COUNT must be a positive integer"),
    ("FREQ=DAILY;COUNT=-1", "COUNT must be a positive integer"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "UNTIL and COUNT cannot both be set"),
    ("FREQ=DAILY;UNTIL=2027-01-31", 'UNTIL: "2027-01-31" is not a date or date-time'),
    ("FREQ=DAILY;UNTIL=20270230", 'UNTIL: "20270230" is not a date or date-time'),
    ("FREQ=DAILY;UNTIL=20270131T250000Z", 'UNTIL: "20270131T250000Z" is not a date'),
    ("FREQ=DAILY;UNTIL=tomorrow", 'UNTIL: "TOMORROW" is not a date or date-time'),
    (
        "FREQ=WEEKLY;BYDAY=XX",
        'BYDAY: "XX" is not a weekday (use MO,TU,WE,TH,FR,SA,SU)',
    ),
    ("FREQ=WEEKLY;BYDAY=MO,,FR", 'BYDAY: "" is not a weekday'),
    ("FREQ=WEEKLY;BYDAY=MONDAY", 'BYDAY: "MONDAY" is not a weekday'),
    ("FREQ=WEEKLY;BYDAY=2MO", 'BYDAY: "2MO" numbers a weekday within a month or year'),
    ("FREQ=MONTHLY;BYDAY=6MO", 'BYDAY: "6MO" is out of range (a month has at most 5'),
    ("FREQ=MONTHLY;BYDAY=0MO", 'BYDAY: "0MO" is out of range'),
    ("FREQ=YEARLY;BYDAY=54MO", 'BYDAY: "54MO" is out of range (a year has at most 53'),
    ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", 'BYDAY: "1MO" cannot be numbered together with'),
    ("FREQ=MONTHLY;BYMONTHDAY=32", 'BYMONTHDAY: "32" is not a day of the month'),
    ("FREQ=MONTHLY;BYMONTHDAY=0", 'BYMONTHDAY: "0" is not a day of the month'),
    ("FREQ=MONTHLY;BYMONTHDAY=first", 'BYMONTHDAY: "FIRST" is not a whole number'),
    ("FREQ=YEARLY;BYMONTH=13", 'BYMONTH: "13" is not a month (use 1 to 12)'),
    ("FREQ=YEARLY;BYMONTH=-1", 'BYMONTH: "-1" is not a month (use 1 to 12)'),
    ("FREQ=YEARLY;BYYEARDAY=367", 'BYYEARDAY: "367" is not a day of the year'),
    ("FREQ=YEARLY;BYYEARDAY=0", 'BYYEARDAY: "0" is not a day of the year'),
    ("FREQ=YEARLY;BYDAY=MO;BYSETPOS=367", 'BYSETPOS: "367" is not a set position'),
    ("FREQ=DAILY\nBYDAY=MO", "give only the RRULE value"),
    ("FREQ=DAILY\rBYDAY=MO", "give only the RRULE value"),
    ("FREQ=YEARLY;BYWEEKNO=0", 'BYWEEKNO: "0" is not a week number'),
    ("FREQ=YEARLY;BYMONTH=0", 'BYMONTH: "0" is not a month'),
    ("FREQ=YEARLY;BYWEEKNO=54", 'BYWEEKNO: "54" is not a week number'),
    ("FREQ=DAILY;BYHOUR=24", 'BYHOUR: "24" is not an hour (use 0 to 23)'),
    ("FREQ=DAILY;BYMINUTE=60", 'BYMINUTE: "60" is not a minute (use 0 to 59)'),
    ("FREQ=DAILY;BYSECOND=60", 'BYSECOND: "60" is not a second (use 0 to 59)'),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", 'BYSETPOS: "0" is not a set position'),
    ("FREQ=WEEKLY;WKST=XX", 'WKST: "XX" is not a weekday (use MO,TU,WE,TH,FR,SA,SU)'),
    ("FREQ=DAILY;COLOR=RED", 'unknown part "COLOR"'),
    ("FREQ=YEARLY;BYEASTER=0", 'unknown part "BYEASTER"'),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
    ("FREQ=DAILY;INTERVAL", '"INTERVAL" is not a NAME=VALUE part'),
    ("FREQ=DAILY;INTERVAL=", "INTERVAL has no value"),
    ("DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY", "give only the RRULE value"),
    ("EXRULE:FREQ=DAILY", "give only the RRULE value"),
    ("FREQ=MONTHLY;BYSETPOS=-1", "BYSETPOS needs another BY part to pick from"),
    ("FREQ=MONTHLY;BYWEEKNO=1", "BYWEEKNO needs FREQ=YEARLY"),
    ("FREQ=MONTHLY;BYYEARDAY=100", "BYYEARDAY cannot be used with FREQ=MONTHLY"),
    ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "the rule never produces an occurrence"),
    ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "the rule never produces an occurrence"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "the rule never produces an occurrence"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYYEARDAY=1", "never produces"),
    ("FREQ=DAILY;BYMINUTE=" + ",".join(["1"] * 250), "too long (at most 500 characters)"),
]


@pytest.mark.parametrize(("rule", "message"), BAD_RULES, ids=[r[:40] for r, _ in BAD_RULES])
def test_bad_rule_is_refused_with_a_message_that_names_the_problem(rule: str, message: str) -> None:
    with pytest.raises(InvalidRecurrence, match=re.escape(message)):
        parse_recurrence(rule=rule)


def test_a_rule_or_phrase_of_exactly_500_characters_is_accepted() -> None:
    rule = "FREQ=DAILY" + ";" * 490  # empty parts are tolerated
    assert len(rule) == 500
    assert parse_recurrence(rule=rule).rule == "FREQ=DAILY"
    phrase = "every" + " " * 492 + "day"
    assert len(phrase) == 500
    assert parse_recurrence(text=phrase).rule == "FREQ=DAILY"
    with pytest.raises(InvalidRecurrence, match="too long"):
        parse_recurrence(rule=rule + ";")


def test_invalid_recurrence_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="FREQ is required"):
        parse_recurrence(rule="BYDAY=MO")


@pytest.mark.parametrize(
    ("rule", "normalized"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("rrule:freq=weekly;byday=mo", "FREQ=WEEKLY;BYDAY=MO"),
        ("  RRULE: BYDAY = MO ; FREQ = WEEKLY ;  ", "FREQ=WEEKLY;BYDAY=MO"),
        ("FREQ=DAILY;;INTERVAL=2;", "FREQ=DAILY;INTERVAL=2"),
        ("BYDAY=+1MO;FREQ=MONTHLY;INTERVAL=01", "FREQ=MONTHLY;INTERVAL=1;BYDAY=1MO"),
        ("FREQ=DAILY;UNTIL=20270131T000000z", "FREQ=DAILY;UNTIL=20270131T000000Z"),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU", "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1"),
        ("FREQ=YEARLY;WKST=SU;BYWEEKNO=20;BYDAY=MO", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;WKST=SU"),
    ],
)
def test_rule_is_normalized_to_upper_case_in_a_fixed_part_order(rule: str, normalized: str) -> None:
    recurrence = parse_recurrence(rule=rule)
    assert recurrence == Recurrence(rule=normalized, mode="due", text=None)
    assert normalize_rule(rule) == normalized


EVERY_DAY = "BYDAY=MO,TU,WE,TH,FR,SA,SU"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=1,12",
        "FREQ=YEARLY;BYWEEKNO=1,53",
        "FREQ=YEARLY;BYWEEKNO=-53,-1",
        "FREQ=YEARLY;BYYEARDAY=1,366",
        "FREQ=YEARLY;BYYEARDAY=-366,-1",
        "FREQ=MONTHLY;BYMONTHDAY=1,31",
        "FREQ=MONTHLY;BYMONTHDAY=-31,-1",
        "FREQ=MONTHLY;BYDAY=5TH",
        "FREQ=MONTHLY;BYDAY=-5TH",
        "FREQ=YEARLY;BYDAY=53SU",
        "FREQ=YEARLY;BYDAY=-53SU",
        "FREQ=YEARLY;BYDAY=53MO",  # 2001, 2007, ...
        "FREQ=YEARLY;BYDAY=53TU",  # 2002, 2013, ...
        "FREQ=DAILY;BYHOUR=0,23",
        "FREQ=HOURLY;BYMINUTE=59;BYSECOND=59",
        "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0",
        f"FREQ=YEARLY;{EVERY_DAY};BYSETPOS=366",
        f"FREQ=YEARLY;{EVERY_DAY};BYSETPOS=-366",
    ],
)
def test_the_first_and_last_number_of_every_part_are_accepted(rule: str) -> None:
    # The 31st, the 5th Thursday, the 53rd week or Sunday, the 366th day: rare, but real.
    assert parse_recurrence(rule=rule).rule == rule


def test_hourly_rule_that_only_fits_some_start_times_is_accepted_then_refused_for_others() -> None:
    # INTERVAL=24 only ever reaches the start hour: valid for a 03:00 task, impossible for 09:00.
    recurrence = parse_recurrence(rule="FREQ=HOURLY;INTERVAL=24;BYHOUR=3")
    start = at(NEW_YORK, 2026, 1, 5, 3)
    assert next_due(
        recurrence,
        series_start=start,
        previous_due=start,
        completed_at=start,
        occurrences_so_far=1,
        tz=NEW_YORK,
    ) == at(NEW_YORK, 2026, 1, 6, 3)
    late = at(NEW_YORK, 2026, 1, 5, 9)
    with pytest.raises(SearchLimitReached, match="INTERVAL never meets its BY parts"):
        occurrences(recurrence, series_start=late, tz=NEW_YORK, after=late, limit=1)


def test_exactly_one_of_rule_and_text_is_needed() -> None:
    with pytest.raises(InvalidRecurrence, match="either an RRULE or a phrase"):
        parse_recurrence()
    with pytest.raises(InvalidRecurrence, match="either an RRULE or a phrase"):
        parse_recurrence(rule="FREQ=DAILY", text="daily")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidRecurrence, match='mode must be "due" or "completion"'):
        parse_recurrence(rule="FREQ=DAILY", mode=cast("Mode", "whenever"))


def test_phrase_with_bang_schedules_from_completion_unless_mode_is_given() -> None:
    assert parse_recurrence(text="every! 3 days") == Recurrence(
        rule="FREQ=DAILY;INTERVAL=3", mode="completion", text="every! 3 days"
    )
    assert parse_recurrence(text=" every! 3 days ", mode="due").mode == "due"
    assert parse_recurrence(text="every 3 days").mode == "due"
    assert parse_recurrence(rule="FREQ=DAILY", mode="completion").mode == "completion"


def test_a_stored_rule_that_is_invalid_fails_loudly_in_next_due() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    broken = Recurrence(rule="FREQ=DAILY;BYDAY=XX", mode="due", text=None)
    with pytest.raises(InvalidRecurrence, match='BYDAY: "XX" is not a weekday'):
        next_due(
            broken,
            series_start=start,
            previous_due=start,
            completed_at=start,
            occurrences_so_far=1,
            tz=NEW_YORK,
        )


def test_naive_datetimes_are_refused() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    with pytest.raises(ValueError, match="previous_due must be timezone-aware"):
        next_due(
            due_rule("FREQ=DAILY"),
            series_start=start,
            previous_due=start.replace(tzinfo=None),
            completed_at=start,
            occurrences_so_far=1,
            tz=NEW_YORK,
        )


# --- ending a series ----------------------------------------------------------------------------


def test_count_gives_exactly_that_many_occurrences_in_total() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    dues = chain(due_rule("FREQ=DAILY;COUNT=3"), start, NEW_YORK, steps=10)
    assert dues == [start, at(NEW_YORK, 2026, 1, 6, 9), at(NEW_YORK, 2026, 1, 7, 9)]


def test_a_start_off_the_rule_is_the_first_occurrence_and_counts_toward_count() -> None:
    # RFC 5545: DTSTART always counts as the first instance, even when the rule would skip it.
    wednesday = at(NEW_YORK, 2026, 1, 7, 9)
    recurrence = due_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=3")
    mondays = [at(NEW_YORK, 2026, 1, 12, 9), at(NEW_YORK, 2026, 1, 19, 9)]
    assert chain(recurrence, wednesday, NEW_YORK, steps=5) == [wednesday, *mondays]
    before = wednesday - timedelta(minutes=1)
    previews = occurrences(recurrence, series_start=wednesday, tz=NEW_YORK, after=before, limit=5)
    assert previews == [wednesday, *mondays]


def test_a_start_with_microseconds_is_not_counted_twice() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9).replace(microsecond=250_000)
    recurrence = due_rule("FREQ=DAILY;COUNT=2")
    before = start - timedelta(seconds=1)
    previews = occurrences(recurrence, series_start=start, tz=NEW_YORK, after=before, limit=5)
    assert previews == [start.replace(microsecond=0), at(NEW_YORK, 2026, 1, 6, 9)]


def test_count_of_one_ends_the_series_right_after_the_first() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    assert chain(due_rule("FREQ=WEEKLY;COUNT=1"), start, NEW_YORK, steps=3) == [start]
    off_rule = due_rule("FREQ=WEEKLY;BYDAY=FR;COUNT=1")  # the start is a Monday
    assert chain(off_rule, start, NEW_YORK, steps=3) == [start]


def test_date_only_until_includes_that_whole_day() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 23, 30)
    dues = chain(due_rule("FREQ=DAILY;UNTIL=20260107"), start, NEW_YORK, steps=10)
    assert dues == [start, at(NEW_YORK, 2026, 1, 6, 23, 30), at(NEW_YORK, 2026, 1, 7, 23, 30)]


def test_an_until_on_new_years_day_keeps_that_days_occurrence() -> None:
    start = at(NEW_YORK, 2026, 1, 1, 9)
    recurrence = parse_recurrence(text="every january 1st until 2028-01-01")
    previews = occurrences(
        recurrence, series_start=start, tz=NEW_YORK, after=start - timedelta(seconds=1), limit=5
    )
    assert previews == [start, at(NEW_YORK, 2027, 1, 1, 9), at(NEW_YORK, 2028, 1, 1, 9)]


def test_an_until_on_the_first_of_a_month_keeps_that_days_occurrence() -> None:
    start = at(NEW_YORK, 2026, 1, 1, 9)
    recurrence = parse_recurrence(text="every 1st until 2026-03-01")
    previews = occurrences(
        recurrence, series_start=start, tz=NEW_YORK, after=start - timedelta(seconds=1), limit=5
    )
    assert previews == [start, at(NEW_YORK, 2026, 2, 1, 9), at(NEW_YORK, 2026, 3, 1, 9)]


def test_utc_until_is_compared_as_an_instant() -> None:
    # 2026-01-07T00:00Z is 19:00 on the 6th in New York: the 09:00 on the 7th is too late.
    start = at(NEW_YORK, 2026, 1, 5, 9)
    dues = chain(due_rule("FREQ=DAILY;UNTIL=20260107T000000Z"), start, NEW_YORK, steps=10)
    assert dues == [start, at(NEW_YORK, 2026, 1, 6, 9)]
    # ... and it is 09:00 on the 7th in Tokyo, which is still included.
    start = at(TOKYO, 2026, 1, 5, 9)
    dues = chain(due_rule("FREQ=DAILY;UNTIL=20260107T000000Z"), start, TOKYO, steps=10)
    assert dues == [start, at(TOKYO, 2026, 1, 6, 9), at(TOKYO, 2026, 1, 7, 9)]


@pytest.mark.parametrize(
    ("until", "last_day"),
    [
        # The dues are at 09:29:30 in New York, 14:29:30 UTC.
        ("20260107T142929Z", 6),
        ("20260107T142930Z", 7),
        ("20260107T142945Z", 7),
        ("20260107T143500Z", 7),
        ("20260107T142000Z", 6),
        ("20260107T135959Z", 6),
    ],
)
def test_the_hours_minutes_and_seconds_of_an_until_all_count(until: str, last_day: int) -> None:
    start = datetime(2026, 1, 5, 9, 29, 30, tzinfo=NEW_YORK)
    dues = chain(due_rule(f"FREQ=DAILY;UNTIL={until}"), start, NEW_YORK, steps=10)
    assert [d.day for d in dues] == list(range(5, last_day + 1))


def test_a_series_that_starts_off_its_rule_in_the_calendars_last_year_keeps_its_start() -> None:
    # The rule's next January would be in the year 10000: the start is the only occurrence.
    start = at(TOKYO, 9999, 6, 1, 9)
    previews = occurrences(
        due_rule("FREQ=YEARLY;BYMONTH=1"),
        series_start=start,
        tz=TOKYO,
        after=start - timedelta(seconds=1),
        limit=2,
    )
    assert previews == [start]


def test_floating_until_is_read_on_the_local_wall_clock() -> None:
    start = at(BERLIN, 2026, 1, 5, 9)
    dues = chain(due_rule("FREQ=DAILY;UNTIL=20260107T090000"), start, BERLIN, steps=10)
    assert dues[-1] == at(BERLIN, 2026, 1, 7, 9)


def test_until_ends_a_completion_series_too() -> None:
    recurrence = parse_recurrence(text="every! 3 days until 2026-01-15")
    due = at(NEW_YORK, 2026, 1, 10, 9)
    following = next_due(
        recurrence,
        series_start=at(NEW_YORK, 2026, 1, 1, 9),
        previous_due=due,
        completed_at=at(NEW_YORK, 2026, 1, 13, 12),
        occurrences_so_far=4,
        tz=NEW_YORK,
    )
    assert following is None


# --- due mode and completion mode ---------------------------------------------------------------


def completion(
    recurrence: Recurrence, previous_due: datetime, completed_at: datetime, so_far: int = 1
) -> datetime | None:
    return next_due(
        recurrence,
        series_start=previous_due,
        previous_due=previous_due,
        completed_at=completed_at,
        occurrences_so_far=so_far,
        tz=NEW_YORK,
    )


def test_completion_mode_counts_from_the_completion_day_at_the_due_time_of_day() -> None:
    recurrence = parse_recurrence(text="every! 3 days")
    due = at(NEW_YORK, 2026, 1, 10, 9)
    assert completion(recurrence, due, at(NEW_YORK, 2026, 1, 10, 18)) == at(
        NEW_YORK, 2026, 1, 13, 9
    )
    # Completed two days late: the next one moves with it.
    assert completion(recurrence, due, at(NEW_YORK, 2026, 1, 12, 7)) == at(NEW_YORK, 2026, 1, 15, 9)


def test_completion_day_is_the_day_in_the_task_zone() -> None:
    # 02:00 UTC on the 11th is still the evening of the 10th in New York.
    recurrence = parse_recurrence(text="every! 3 days")
    due = at(NEW_YORK, 2026, 1, 10, 9)
    completed = datetime(2026, 1, 11, 2, tzinfo=UTC)
    assert completion(recurrence, due, completed) == at(NEW_YORK, 2026, 1, 13, 9)


def test_due_mode_ignores_when_the_task_was_completed() -> None:
    recurrence = parse_recurrence(text="every 3 days")
    due = at(NEW_YORK, 2026, 1, 10, 9)
    assert completion(recurrence, due, at(NEW_YORK, 2026, 1, 12, 7)) == at(NEW_YORK, 2026, 1, 13, 9)


def test_completion_mode_follows_the_weekdays_of_the_rule() -> None:
    recurrence = parse_recurrence(rule="FREQ=WEEKLY;BYDAY=MO", mode="completion")
    due = at(NEW_YORK, 2026, 1, 5, 9)  # a Monday
    completed = at(NEW_YORK, 2026, 1, 7, 20)  # the Wednesday after
    assert completion(recurrence, due, completed) == at(NEW_YORK, 2026, 1, 12, 9)


def test_completion_mode_enforces_count_with_the_occurrences_so_far() -> None:
    recurrence = parse_recurrence(text="every! day 3 times")
    due = at(NEW_YORK, 2026, 1, 10, 9)
    done = at(NEW_YORK, 2026, 1, 10, 10)
    assert completion(recurrence, due, done, so_far=2) == at(NEW_YORK, 2026, 1, 11, 9)
    assert completion(recurrence, due, done, so_far=3) is None


def test_a_mode_read_from_a_request_is_compared_by_value() -> None:
    # A request body's "completion" is a new string, not the literal: compared by identity, the
    # series would quietly follow the schedule instead.
    mode = cast(Mode, json.loads('{"mode": "completion"}')["mode"])
    recurrence = parse_recurrence(rule="FREQ=DAILY;INTERVAL=3", mode=mode)
    assert all(recurrence.mode is not literal for literal in get_args(Mode))
    due = at(NEW_YORK, 2026, 1, 10, 9)
    # Completed late, and completed early: the next due counts from the completion day.
    assert completion(recurrence, due, at(NEW_YORK, 2026, 1, 12, 7)) == at(NEW_YORK, 2026, 1, 15, 9)
    assert completion(recurrence, due, at(NEW_YORK, 2026, 1, 5, 7)) == at(NEW_YORK, 2026, 1, 8, 9)
    with pytest.raises(InvalidRecurrence, match="INTERVAL cannot be combined with BYDAY"):
        parse_recurrence(rule="FREQ=DAILY;INTERVAL=7;BYDAY=SA", mode=mode)


def test_occurrences_so_far_must_count_the_previous_one() -> None:
    due = at(NEW_YORK, 2026, 1, 10, 9)
    with pytest.raises(ValueError, match="at least 1"):
        completion(due_rule("FREQ=DAILY"), due, due, so_far=0)


def test_next_due_after_a_missed_stretch_is_the_next_one_in_the_schedule() -> None:
    # The caller decides whether to catch up; next_due never skips an occurrence on its own.
    start = at(NEW_YORK, 2026, 1, 5, 9)
    following = next_due(
        due_rule("FREQ=DAILY"),
        series_start=start,
        previous_due=start,
        completed_at=at(NEW_YORK, 2026, 3, 1, 9),
        occurrences_so_far=1,
        tz=NEW_YORK,
    )
    assert following == at(NEW_YORK, 2026, 1, 6, 9)


# --- wall clock and DST -------------------------------------------------------------------------


def test_daily_at_nine_stays_at_nine_across_both_new_york_dst_changes() -> None:
    spring = chain(due_rule("FREQ=DAILY"), at(NEW_YORK, 2026, 3, 6, 9), NEW_YORK, steps=4)
    assert [d.hour for d in spring] == [9] * 5
    assert [d.day for d in spring] == [6, 7, 8, 9, 10]
    assert offsets_in_hours(spring) == [-5, -5, -4, -4, -4]
    assert [d.astimezone(UTC).hour for d in spring] == [14, 14, 13, 13, 13]

    autumn = chain(due_rule("FREQ=DAILY"), at(NEW_YORK, 2026, 10, 30, 9), NEW_YORK, steps=4)
    assert [d.hour for d in autumn] == [9] * 5
    assert offsets_in_hours(autumn) == [-4, -4, -5, -5, -5]  # the change is at 02:00 on Nov 1st


def test_weekly_in_berlin_keeps_its_local_time_across_the_spring_change() -> None:
    start = at(BERLIN, 2026, 3, 22, 10)  # a Sunday, CET
    dues = chain(due_rule("FREQ=WEEKLY"), start, BERLIN, steps=2)
    assert dues == [start, at(BERLIN, 2026, 3, 29, 10), at(BERLIN, 2026, 4, 5, 10)]
    assert offsets_in_hours(dues) == [1, 2, 2]
    assert [d.astimezone(UTC).hour for d in dues] == [9, 8, 8]


def test_a_due_time_inside_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    start = at(NEW_YORK, 2026, 3, 6, 2, 30)
    dues = chain(due_rule("FREQ=DAILY"), start, NEW_YORK, steps=3)
    # 02:30 does not exist on March 8th: it becomes 03:30 EDT, and the day after is 02:30 again.
    assert [(d.day, d.hour, d.minute) for d in dues] == [
        (6, 2, 30),
        (7, 2, 30),
        (8, 3, 30),
        (9, 2, 30),
    ]
    assert dues[2] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert (
        occurrences(due_rule("FREQ=DAILY"), series_start=start, tz=NEW_YORK, after=start, limit=3)
        == dues[1:]
    )


def test_a_series_starting_in_the_gap_in_berlin() -> None:
    recurrence = due_rule("FREQ=DAILY")
    start = at(BERLIN, 2026, 3, 28, 2, 30)
    previews = occurrences(recurrence, series_start=start, tz=BERLIN, after=start, limit=2)
    assert previews == [at(BERLIN, 2026, 3, 29, 3, 30), at(BERLIN, 2026, 3, 30, 2, 30)]


def test_an_ambiguous_time_at_fall_back_takes_the_first_of_the_two() -> None:
    dues = chain(due_rule("FREQ=DAILY"), at(NEW_YORK, 2026, 10, 31, 1, 30), NEW_YORK, steps=2)
    # Compared in UTC: Python compares an ambiguous wall time to another zone as never equal.
    assert dues[1].astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT, not EST
    assert dues[1].fold == 0
    assert offsets_in_hours(dues) == [-4, -4, -5]


def test_hourly_across_spring_forward_never_gives_the_same_instant_twice() -> None:
    recurrence = due_rule("FREQ=HOURLY")
    start = at(NEW_YORK, 2026, 3, 8, 0, 30)
    dues = chain(recurrence, start, NEW_YORK, steps=3)
    assert [d.astimezone(UTC).hour for d in dues] == [5, 6, 7, 8]
    assert [d.hour for d in dues] == [0, 1, 3, 4]
    assert (
        occurrences(recurrence, series_start=start, tz=NEW_YORK, after=start, limit=3) == dues[1:]
    )


def test_next_due_is_a_later_instant_even_after_a_due_in_the_repeated_hour() -> None:
    # The previous due sits in the second 01:30 (EST); 01:45 on the wall clock is read as EDT and
    # would be earlier, so the next due is 02:45 EST.
    recurrence = due_rule("FREQ=HOURLY;BYMINUTE=45")
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC).astimezone(NEW_YORK)
    assert second_pass.fold == 1
    following = next_due(
        recurrence,
        series_start=at(NEW_YORK, 2026, 11, 1, 0, 45),
        previous_due=second_pass,
        completed_at=second_pass,
        occurrences_so_far=3,
        tz=NEW_YORK,
    )
    assert following is not None
    assert following.astimezone(UTC) == datetime(2026, 11, 1, 7, 45, tzinfo=UTC)


def test_a_preview_from_the_repeated_hour_gives_only_later_instants() -> None:
    # From the second 01:30 (EST), 01:45 on the wall clock is read as EDT: earlier, so left out.
    recurrence = Recurrence(rule="FREQ=HOURLY;BYMINUTE=45", mode="due", text=None)
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC).astimezone(NEW_YORK)
    previews = occurrences(
        recurrence,
        series_start=at(NEW_YORK, 2026, 11, 1, 0, 45),
        tz=NEW_YORK,
        after=second_pass,
        limit=2,
    )
    assert [p.astimezone(UTC).hour for p in previews] == [7, 8]  # 02:45 and 03:45 EST


def test_monthly_on_the_31st_skips_the_months_without_one() -> None:
    start = at(NEW_YORK, 2026, 1, 31, 9)
    expected = [start, *(at(NEW_YORK, 2026, m, 31, 9) for m in (3, 5, 7, 8, 10))]
    assert chain(due_rule("FREQ=MONTHLY;BYMONTHDAY=31"), start, NEW_YORK, steps=5) == expected
    # Without BYMONTHDAY the day comes from the start, with the same result (RFC 5545).
    assert chain(due_rule("FREQ=MONTHLY"), start, NEW_YORK, steps=5) == expected


def test_last_day_of_the_month_follows_each_month_length() -> None:
    start = at(NEW_YORK, 2028, 1, 31, 9)
    dues = chain(parse_recurrence(text="every last day of the month"), start, NEW_YORK, steps=3)
    assert [(d.month, d.day) for d in dues] == [(1, 31), (2, 29), (3, 31), (4, 30)]


def test_date_only_dues_stay_at_local_midnight() -> None:
    start = at(NEW_YORK, 2026, 3, 2)
    dues = chain(due_rule("FREQ=WEEKLY"), start, NEW_YORK, steps=2)
    assert dues == [start, at(NEW_YORK, 2026, 3, 9), at(NEW_YORK, 2026, 3, 16)]
    assert all(d.time().isoformat() == "00:00:00" for d in dues)


def test_a_midnight_that_does_not_exist_keeps_the_due_on_its_date() -> None:
    # Chile springs forward at midnight: 2026-09-06 00:00 does not exist and becomes 01:00.
    dues = chain(due_rule("FREQ=DAILY"), at(SANTIAGO, 2026, 9, 4), SANTIAGO, steps=3)
    assert [(d.day, d.hour) for d in dues] == [(4, 0), (5, 0), (6, 1), (7, 0)]


def test_date_only_dues_end_on_a_date_only_until() -> None:
    dues = chain(due_rule("FREQ=DAILY;UNTIL=20260307"), at(NEW_YORK, 2026, 3, 5), NEW_YORK, steps=9)
    assert [d.day for d in dues] == [5, 6, 7]


# --- previews -----------------------------------------------------------------------------------


def test_occurrences_previews_strictly_after_the_given_instant() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    recurrence = parse_recurrence(text="every mon, wed and fri")
    previews = occurrences(
        recurrence, series_start=start, tz=NEW_YORK, after=at(NEW_YORK, 2026, 1, 7, 9), limit=3
    )
    assert previews == [
        at(NEW_YORK, 2026, 1, 9, 9),
        at(NEW_YORK, 2026, 1, 12, 9),
        at(NEW_YORK, 2026, 1, 14, 9),
    ]
    assert all(p.tzinfo is NEW_YORK for p in previews)


def test_occurrences_stop_at_the_end_of_the_series_and_at_the_limit() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 9)
    before = start - timedelta(seconds=1)
    recurrence = due_rule("FREQ=DAILY;COUNT=4")
    assert (
        len(occurrences(recurrence, series_start=start, tz=NEW_YORK, after=before, limit=10)) == 4
    )
    assert occurrences(recurrence, series_start=start, tz=NEW_YORK, after=before, limit=2) == [
        start,
        at(NEW_YORK, 2026, 1, 6, 9),
    ]
    assert occurrences(recurrence, series_start=start, tz=NEW_YORK, after=before, limit=0) == []
    with pytest.raises(ValueError, match="limit must not be negative"):
        occurrences(recurrence, series_start=start, tz=NEW_YORK, after=before, limit=-1)


def test_occurrences_accept_an_instant_in_any_zone() -> None:
    start = at(TOKYO, 2026, 1, 5, 9)
    after = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # 09:00 on the 6th in Tokyo
    previews = occurrences(
        due_rule("FREQ=DAILY"), series_start=start, tz=TOKYO, after=after, limit=1
    )
    assert previews == [at(TOKYO, 2026, 1, 7, 9)]
