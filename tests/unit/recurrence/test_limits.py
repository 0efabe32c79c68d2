"""What Haven refuses so that no rule can hold the server: the policy, the checks against the
task's due, the end of the accepted date range, and the search that starts where the series is."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from haven.recurrence import (
    InvalidRecurrence,
    Mode,
    Recurrence,
    SearchLimitReached,
    check_schedule,
    expansion,
    next_due,
    occurrences,
    parse_recurrence,
    rules,
)

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_MINUTE = ",".join(str(n) for n in range(60))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def check(rule: str, due: datetime, *, date_only: bool = False) -> None:
    recurrence = parse_recurrence(rule=rule)
    check_schedule(recurrence, series_start=due, due=due, tz=BERLIN, date_only=date_only)


def following(
    rule: str,
    *,
    start: datetime,
    previous: datetime,
    so_far: int = 1,
    last_day: date = date.max,
) -> datetime | None:
    return next_due(
        Recurrence(rule=rule, mode="due", text=None),
        series_start=start,
        previous_due=previous,
        completed_at=previous,
        occurrences_so_far=so_far,
        tz=BERLIN,
        last_day=last_day,
    )


# --- the effective frequency ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "part"),
    [
        (f"FREQ=HOURLY;BYMINUTE={EVERY_MINUTE};BYSECOND={EVERY_MINUTE}", "BYMINUTE"),
        ("FREQ=HOURLY;BYMINUTE=0,30", "BYMINUTE"),
        ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0,20,40", "BYMINUTE"),
        ("FREQ=YEARLY;BYSECOND=0,30", "BYSECOND"),
        ("FREQ=WEEKLY;BYMINUTE=5;BYSECOND=1,2", "BYSECOND"),
    ],
)
def test_a_rule_that_fires_more_often_than_hourly_is_refused(rule: str, part: str) -> None:
    message = f"{part} lists several values, so the rule fires more often than hourly"
    with pytest.raises(InvalidRecurrence, match=re.escape(message)):
        parse_recurrence(rule=rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)),
        "FREQ=HOURLY;BYMINUTE=30;BYSECOND=15",
        "FREQ=HOURLY;INTERVAL=2",
    ],
)
def test_hourly_is_the_smallest_step_allowed(rule: str) -> None:
    assert parse_recurrence(rule=rule).rule == rule


@pytest.mark.parametrize(
    "rule",
    ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9", "FREQ=WEEKLY;BYMINUTE=5", "FREQ=DAILY;BYSECOND=1"],
)
def test_a_date_without_a_time_cannot_repeat_within_a_day(rule: str) -> None:
    with pytest.raises(InvalidRecurrence, match="the due is a date without a time of day"):
        check(rule, at(2026, 1, 6), date_only=True)
    check(rule, at(2026, 1, 6, 9), date_only=False)


def test_a_date_repeats_daily_or_less_often() -> None:
    for rule in ("FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=MONTHLY;BYMONTHDAY=-1"):
        check(rule, at(2026, 1, 6), date_only=True)


# --- rules that never meet their INTERVAL from the real start ------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;INTERVAL=7;BYDAY=SA",
        "FREQ=HOURLY;INTERVAL=168;BYDAY=SA",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=3",
        "FREQ=HOURLY;INTERVAL=24;BYHOUR=5",
    ],
)
def test_a_rule_that_never_meets_its_interval_from_the_due_is_refused(rule: str) -> None:
    tuesday = at(2026, 1, 6, 9)
    with pytest.raises(InvalidRecurrence, match="the rule cannot follow this due"):
        check(rule, tuesday)


def test_the_same_rule_is_fine_from_a_due_it_meets() -> None:
    check("FREQ=DAILY;INTERVAL=7;BYDAY=SA", at(2026, 1, 10, 9))
    check("FREQ=HOURLY;INTERVAL=168;BYDAY=SA", at(2026, 1, 10, 9))
    check("FREQ=HOURLY;INTERVAL=24;BYHOUR=5", at(2026, 1, 10, 5))


def test_a_rule_with_no_occurrence_left_in_the_calendar_is_refused() -> None:
    # Every 400 years on a leap day that is a Monday: the Gregorian calendar repeats every 400
    # years, so from a leap day on a Tuesday the series never has a second occurrence.
    with pytest.raises(InvalidRecurrence, match="never produces an occurrence after this due"):
        check("FREQ=YEARLY;INTERVAL=400;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", at(2028, 2, 29, 9))


def test_a_start_off_the_rule_does_not_count_as_an_occurrence_after_the_due() -> None:
    # No January is left after July 9999; the June start (off the rule) lies before the due.
    recurrence = parse_recurrence(rule="FREQ=YEARLY;BYMONTH=1")
    with pytest.raises(InvalidRecurrence, match="never produces an occurrence after this due"):
        check_schedule(
            recurrence,
            series_start=at(9999, 6, 1, 9),
            due=at(9999, 7, 1, 9),
            tz=BERLIN,
            date_only=False,
        )


def test_a_series_that_ends_by_until_or_count_needs_no_next_occurrence() -> None:
    tuesday = at(2026, 1, 6, 9)
    check("FREQ=DAILY;INTERVAL=7;BYDAY=SA;COUNT=1", tuesday)
    check("FREQ=DAILY;INTERVAL=7;BYDAY=SA;UNTIL=20260301", tuesday)


def test_completion_mode_refuses_an_interval_with_a_larger_unit() -> None:
    # Restarted on any completion day, every 7th day may never be a Saturday.
    with pytest.raises(InvalidRecurrence, match="cannot be combined with BYDAY for FREQ=DAILY"):
        parse_recurrence(rule="FREQ=DAILY;INTERVAL=7;BYDAY=SA", mode="completion")
    with pytest.raises(InvalidRecurrence, match="BYMONTH for FREQ=MONTHLY"):
        parse_recurrence(rule="FREQ=MONTHLY;INTERVAL=2;BYMONTH=3", mode="completion")
    # Weekdays within a week, or no INTERVAL, can always be met.
    parse_recurrence(rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", mode="completion")
    parse_recurrence(rule="FREQ=DAILY;BYDAY=SA", mode="completion")
    parse_recurrence(rule="FREQ=YEARLY;INTERVAL=2;BYMONTH=3", mode="completion")


def test_completion_mode_is_checked_from_the_due_as_its_first_restart() -> None:
    # A stored rule from before the completion-mode policy: its INTERVAL is 24 hours from 09:00.
    stored = Recurrence(rule="FREQ=HOURLY;INTERVAL=24;BYHOUR=5", mode="completion", text=None)
    due = at(2026, 1, 6, 9)
    with pytest.raises(InvalidRecurrence, match="the rule cannot follow this due"):
        check_schedule(stored, series_start=at(2026, 1, 1, 5), due=due, tz=BERLIN, date_only=False)
    check_schedule(stored, series_start=due, due=at(2026, 1, 6, 5), tz=BERLIN, date_only=False)


def test_due_mode_is_checked_from_the_series_start_and_completion_mode_from_the_due() -> None:
    # Every 12 months on the 31st: from a January start it meets every January; a due moved to
    # February keeps that rhythm in "due" mode, but restarts in February (never a 31st) in
    # "completion" mode. The mode is read from a request, so compared by value.
    rule = "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31"
    start, moved = at(2026, 1, 31, 9), at(2026, 2, 15, 9)
    due_mode = Recurrence(rule=rule, mode="due", text=None)
    check_schedule(due_mode, series_start=start, due=moved, tz=BERLIN, date_only=False)
    mode = cast(Mode, json.loads('{"mode": "completion"}')["mode"])
    completion_mode = Recurrence(rule=rule, mode=mode, text=None)
    with pytest.raises(InvalidRecurrence, match="the rule cannot follow this due"):
        check_schedule(completion_mode, series_start=start, due=moved, tz=BERLIN, date_only=False)


# --- the search starts where the series is -------------------------------------------------------


def test_a_series_started_long_ago_costs_only_the_step_to_its_next_occurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reported case: the due moved years ahead of the series start, then completed. Walking
    # from the start would take tens of thousands of steps; five are allowed.
    monkeypatch.setattr(expansion, "MAX_STEPS", 5)
    start = at(1990, 1, 1, 9)
    previous = at(2031, 5, 6, 9, 7)
    assert following("FREQ=HOURLY;BYMINUTE=30", start=start, previous=previous) == at(
        2031, 5, 6, 9, 30
    )
    assert following("FREQ=DAILY;INTERVAL=3", start=start, previous=previous) == at(2031, 5, 8, 9)


def test_count_counts_the_occurrences_used_even_when_the_due_moved() -> None:
    start = at(2026, 1, 5, 9)
    moved_far = at(2027, 6, 1, 9)
    assert following("FREQ=DAILY;COUNT=3", start=start, previous=moved_far, so_far=2) == at(
        2027, 6, 2, 9
    )
    assert following("FREQ=DAILY;COUNT=3", start=start, previous=moved_far, so_far=3) is None


def test_a_due_moved_before_the_series_start_comes_back_to_the_start() -> None:
    start = at(2026, 1, 7, 9)  # a Wednesday, off the rule: still the first occurrence
    earlier = at(2025, 12, 1, 9)
    assert following("FREQ=WEEKLY;BYDAY=MO", start=start, previous=earlier) == start
    # On the rule too, and not at an earlier time of the start's day that the rule names.
    start = at(2026, 1, 5, 10)
    earlier = at(2026, 1, 4, 12)
    assert following("FREQ=DAILY;BYHOUR=8,10", start=start, previous=earlier) == start


def test_an_occurrence_beyond_the_last_accepted_day_ends_the_series() -> None:
    last = date(2200, 12, 31)
    start = at(2200, 1, 1, 9)
    assert following("FREQ=YEARLY", start=start, previous=start, last_day=last) is None
    late = at(2200, 12, 30, 9)
    assert following("FREQ=DAILY", start=start, previous=late, last_day=last) == at(2200, 12, 31, 9)
    last_one = at(2200, 12, 31, 9)
    assert following("FREQ=DAILY", start=start, previous=last_one, last_day=last) is None


def test_the_last_accepted_day_is_also_checked_in_utc() -> None:
    # The API shows an instant in UTC: 20:00 in New York on 31 December is 2201 there.
    new_york = ZoneInfo("America/New_York")
    daily = Recurrence(rule="FREQ=DAILY", mode="due", text=None)
    for hour, expected_year in ((18, 2200), (20, None)):
        start = datetime(2200, 12, 30, hour, tzinfo=new_york)
        result = next_due(
            daily,
            series_start=start,
            previous_due=start,
            completed_at=start,
            occurrences_so_far=1,
            tz=new_york,
            last_day=date(2200, 12, 31),
        )
        assert (result and result.astimezone(UTC).year) == expected_year


def test_a_stored_rule_out_of_reach_ends_in_search_limit_reached() -> None:
    # Rules stored before these checks (or imported) are still bounded when completed.
    start = at(2026, 1, 6, 9)
    with pytest.raises(SearchLimitReached):
        following("FREQ=DAILY;INTERVAL=7;BYDAY=SA", start=start, previous=start)
    every_second = f"FREQ=HOURLY;BYMINUTE={EVERY_MINUTE};BYSECOND={EVERY_MINUTE}"
    with pytest.raises(SearchLimitReached, match="times of day"):
        following(every_second, start=start, previous=start + timedelta(days=3000))


def test_a_preview_with_count_walks_at_most_the_limit_of_earlier_occurrences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # COUNT is counted from the start, so a preview walks the occurrences before `after`.
    monkeypatch.setattr(rules, "MAX_STEPS", 2)
    counted = parse_recurrence(rule="FREQ=DAILY;COUNT=10")
    start = at(2026, 1, 1, 9)
    two_before = occurrences(
        counted, series_start=start, tz=BERLIN, after=at(2026, 1, 2, 10), limit=1
    )
    assert two_before == [at(2026, 1, 3, 9)]
    with pytest.raises(SearchLimitReached, match="more than 2 occurrences lie between"):
        occurrences(counted, series_start=start, tz=BERLIN, after=at(2026, 1, 3, 10), limit=1)
    # Without COUNT the preview starts where `after` is.
    endless = parse_recurrence(rule="FREQ=DAILY")
    far = occurrences(endless, series_start=start, tz=BERLIN, after=at(2030, 1, 3, 10), limit=2)
    assert far == [at(2030, 1, 4, 9), at(2030, 1, 5, 9)]


def test_count_lowered_below_the_occurrences_used_ends_the_series() -> None:
    start = at(2026, 1, 5, 9)
    fifth = at(2026, 1, 9, 9)
    assert following("FREQ=DAILY;COUNT=3", start=start, previous=fifth, so_far=5) is None
    assert following("FREQ=DAILY;COUNT=6", start=start, previous=fifth, so_far=5) == at(
        2026, 1, 10, 9
    )


def test_a_preview_gives_exactly_the_limit_even_a_long_one() -> None:
    daily = parse_recurrence(rule="FREQ=DAILY")
    start = at(2026, 1, 1, 9)
    previews = occurrences(daily, series_start=start, tz=BERLIN, after=start, limit=300)
    assert len(previews) == 300
    assert previews[-1] == at(2026, 10, 28, 9)


def test_an_until_in_the_last_hours_of_the_calendar_is_read_east_of_utc() -> None:
    # 23:00 UTC on 31 December 9999 is past the end of the calendar in Tokyo.
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2026, 1, 5, 9, tzinfo=tokyo)
    result = next_due(
        Recurrence(rule="FREQ=DAILY;UNTIL=99991231T230000Z", mode="due", text=None),
        series_start=start,
        previous_due=start,
        completed_at=start,
        occurrences_so_far=1,
        tz=tokyo,
    )
    assert result == datetime(2026, 1, 6, 9, tzinfo=tokyo)


def test_a_rule_is_judged_possible_from_every_period_not_only_every_other_one() -> None:
    # Every other month in February meets it from an even start; the due decides (later).
    for rule in ("FREQ=MONTHLY;BYMONTH=2", "FREQ=MONTHLY;INTERVAL=2;BYMONTH=2"):
        assert parse_recurrence(rule=rule).rule == rule


def test_a_rule_that_occurs_only_every_few_years_is_not_taken_for_one_that_never_does() -> None:
    # The first of 53 Saturdays comes only in years that start on a Saturday (2000, 2005, 2011):
    # the check that a rule can occur at all must count the first day it looks at.
    rule = "FREQ=YEARLY;BYDAY=-53SA"
    assert parse_recurrence(rule=rule).rule == rule
