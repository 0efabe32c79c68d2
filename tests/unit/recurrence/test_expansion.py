"""The bounded expansion engine: RFC 5545 results, from any period, within a fixed budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import islice

import pytest
from dateutil.rrule import rrule, rrulestr
from hypothesis import assume, given
from hypothesis import strategies as st

from haven.recurrence import SearchLimitReached, expansion
from haven.recurrence.expansion import MAX_STEPS, Parts, Weekday, walls_after
from tests.unit.recurrence.hypothesis_settings import PROPERTIES

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
MO, TU, WE, TH, FR, SA, SU = range(7)

modest = PROPERTIES


def first(
    parts: Parts, start: datetime, limit: int, *, after: datetime | None = None
) -> list[datetime]:
    """The first `limit` occurrences from `start` (inclusive), or after `after`."""
    floor = start - timedelta(seconds=1) if after is None else after
    return list(islice(walls_after(parts, dtstart=start, after=floor), limit))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)


# --- agreement with dateutil ----------------------------------------------------------------


def _numbers(draw: st.DrawFn, values: list[int], most: int) -> tuple[int, ...]:
    return tuple(sorted(set(draw(st.lists(st.sampled_from(values), min_size=1, max_size=most)))))


@st.composite
def rules(draw: st.DrawFn) -> tuple[Parts, str]:
    """A rule as Parts and as RRULE text, with every part the engine knows."""
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]))
    parts = Parts(freq=freq, interval=draw(st.sampled_from([1, 1, 2, 3, 5])))
    parts = replace(parts, wkst=draw(st.integers(0, 6)))
    if draw(st.booleans()):
        parts = replace(parts, months=_numbers(draw, list(range(1, 13)), 3))
    if freq == "YEARLY" and draw(st.integers(0, 3)) == 0:
        # Week numbers in the middle of the year: at the turn of the year dateutil miscounts
        # the weeks of the year before (see test_week_numbers_follow_iso_8601).
        parts = replace(parts, weeknos=_numbers(draw, [2, 10, 20, 30, -10], 2))
    if freq in ("YEARLY", "HOURLY") and draw(st.integers(0, 3)) == 0:
        parts = replace(parts, yeardays=_numbers(draw, [1, 59, 60, 100, 365, 366, -1, -366], 2))
    if freq != "WEEKLY" and draw(st.integers(0, 2)) == 0:
        parts = replace(parts, monthdays=_numbers(draw, [1, 13, 28, 29, 30, 31, -1, -2], 2))
    if draw(st.booleans()):
        # dateutil gives nothing when plain and numbered days are mixed; RFC 5545 takes both.
        numbered = freq in ("MONTHLY", "YEARLY") and not parts.weeknos and draw(st.booleans())
        days = _numbers(draw, list(range(7)), 3)
        if numbered:
            limit = 5 if freq == "MONTHLY" or parts.months else 53
            ns = draw(st.lists(st.sampled_from([1, 2, 4, 5, -1, -2, limit, -limit]), min_size=1))
            parts = replace(parts, weekdays=tuple(Weekday(d, n) for d in days for n in set(ns)))
        else:
            parts = replace(parts, weekdays=tuple(Weekday(d) for d in days))
    if draw(st.integers(0, 2)) == 0:
        parts = replace(parts, hours=_numbers(draw, list(range(24)), 3))
    if draw(st.integers(0, 3)) == 0:
        parts = replace(parts, minutes=_numbers(draw, [0, 15, 59], 2))
    if freq != "WEEKLY" and draw(st.integers(0, 3)) == 0:
        # dateutil counts positions in a partial first week; RFC 5545 in the whole week.
        parts = replace(parts, setpos=_numbers(draw, [1, 2, 3, -1, -2, 10], 2))
    return parts, _text(parts)


def _text(parts: Parts) -> str:
    def listed(values: tuple[int, ...]) -> str:
        return ",".join(str(v) for v in values)

    text = [f"FREQ={parts.freq}", f"INTERVAL={parts.interval}", f"WKST={WEEKDAYS[parts.wkst]}"]
    for name, values in (
        ("BYMONTH", parts.months),
        ("BYWEEKNO", parts.weeknos),
        ("BYYEARDAY", parts.yeardays),
        ("BYMONTHDAY", parts.monthdays),
        ("BYHOUR", parts.hours),
        ("BYMINUTE", parts.minutes),
        ("BYSETPOS", parts.setpos),
    ):
        if values:
            text.append(f"{name}={listed(values)}")
    if parts.weekdays:
        days = [f"{'' if d.n is None else d.n}{WEEKDAYS[d.weekday]}" for d in parts.weekdays]
        text.append("BYDAY=" + ",".join(days))
    return ";".join(text)


starts = st.datetimes(min_value=datetime(1996, 1, 1), max_value=datetime(2040, 12, 31)).map(
    lambda moment: moment.replace(second=moment.second // 30 * 30, microsecond=0)
)


@modest
@given(rules(), starts)
def test_occurrences_are_those_dateutil_gives(rule: tuple[Parts, str], start: datetime) -> None:
    parts, text = rule
    try:
        mine = first(parts, start, 6)
    except SearchLimitReached:
        assume(False)  # too sparse for the budget: dateutil may take seconds to agree
        return
    reference = rrulestr(text, dtstart=start)
    assert isinstance(reference, rrule)
    assert mine == list(islice(reference, len(mine)))


@modest
@given(rules(), starts, st.integers(0, 5), st.timedeltas(timedelta(0), timedelta(days=3)))
def test_starting_from_a_later_period_gives_the_same_series(
    rule: tuple[Parts, str], start: datetime, skip: int, extra: timedelta
) -> None:
    # The search starts at the period holding `after`, never at DTSTART: same answers.
    parts, _ = rule
    try:
        walked = first(parts, start, skip + 3)
    except SearchLimitReached:
        assume(False)
        return
    assume(len(walked) > skip + 1)
    after = min(walked[skip] + extra, walked[skip + 1] - timedelta(seconds=1))
    expected = [wall for wall in walked if wall > after]
    assert first(parts, start, len(expected), after=after) == expected


# --- RFC 5545 where dateutil differs ------------------------------------------------------------


def test_plain_and_numbered_weekdays_together_give_both() -> None:
    # Every Monday and the first Tuesday of the month; dateutil gives no occurrence at all.
    parts = Parts(freq="MONTHLY", weekdays=(Weekday(MO), Weekday(TU, 1)))
    assert first(parts, at(2026, 6, 1, 9), 6) == [
        at(2026, 6, 1, 9),
        at(2026, 6, 2, 9),
        at(2026, 6, 8, 9),
        at(2026, 6, 15, 9),
        at(2026, 6, 22, 9),
        at(2026, 6, 29, 9),
    ]


@pytest.mark.parametrize("wanted", [1, 2, 52, 53, -1, -2])
def test_week_numbers_follow_iso_8601(wanted: int) -> None:
    # With weeks starting on Monday, BYWEEKNO is the ISO week, including the days at the turn
    # of the year that belong to the neighbouring year's week.
    parts = Parts(freq="YEARLY", weeknos=(wanted,), hours=(9,), minutes=(0,), seconds=(0,))
    found = first(parts, at(2014, 1, 1, 9), 80)
    assert found, "weeks 1, 2, 52 and the last two exist every year; 53 in 2015 and 2020"
    span = found[-1].date()
    expected = []
    day = date(2014, 1, 1)
    while day <= span:
        iso_year, week, _ = day.isocalendar()
        weeks = date(iso_year, 12, 28).isocalendar().week
        if wanted in (week, week - weeks - 1):
            expected.append(datetime.combine(day, found[0].time()))
        day += timedelta(days=1)
    assert found == expected


def test_week_numbers_count_from_the_week_start_given() -> None:
    # 2026 starts on a Thursday; with weeks starting on Sunday, week 1 starts on 4 January.
    parts = Parts(freq="YEARLY", wkst=SU, weeknos=(1,), weekdays=(Weekday(SU), Weekday(SA)))
    assert first(parts, at(2026, 1, 1), 2) == [at(2026, 1, 4), at(2026, 1, 10)]


def test_bysetpos_counts_the_whole_first_week() -> None:
    # The first weekday of each week: in the week of a Wednesday start, that Monday is gone.
    parts = Parts(freq="WEEKLY", weekdays=(Weekday(MO), Weekday(WE)), setpos=(1,))
    assert first(parts, at(2026, 1, 7), 2) == [at(2026, 1, 12), at(2026, 1, 19)]


# --- sparse calendars that must still be found -----------------------------------------------


@pytest.mark.parametrize("freq", ["YEARLY", "MONTHLY", "DAILY", "HOURLY"])
def test_a_leap_day_is_found_in_every_frequency(freq: str) -> None:
    parts = Parts(freq=freq, months=(2,), monthdays=(29,), hours=(9,), minutes=(0,))
    assert first(parts, at(2096, 3, 1, 9), 2) == [at(2104, 2, 29, 9), at(2108, 2, 29, 9)]


def test_a_leap_day_on_a_monday_comes_decades_apart() -> None:
    parts = Parts(freq="DAILY", months=(2,), monthdays=(29,), weekdays=(Weekday(MO),))
    assert first(parts, at(2016, 3, 1, 8), 2) == [at(2044, 2, 29, 8), at(2072, 2, 29, 8)]


def test_the_fifth_weekday_of_a_month_and_the_last_day_of_a_leap_year() -> None:
    fifth_thursday = Parts(freq="MONTHLY", weekdays=(Weekday(TH, 5),))
    assert first(fifth_thursday, at(2026, 1, 1), 3) == [
        at(2026, 1, 29),
        at(2026, 4, 30),
        at(2026, 7, 30),
    ]
    last_thursday = Parts(freq="MONTHLY", weekdays=(Weekday(TH, -5),))
    assert first(last_thursday, at(2026, 1, 1), 1) == [at(2026, 1, 1)]
    day_366 = Parts(freq="YEARLY", yeardays=(366,))
    assert first(day_366, at(2025, 1, 1), 2) == [at(2028, 12, 31), at(2032, 12, 31)]
    first_of_366 = Parts(freq="YEARLY", yeardays=(-366,))
    assert first(first_of_366, at(2025, 1, 1), 1) == [at(2028, 1, 1)]


def test_the_last_days_of_a_common_year_count_back_from_its_365th() -> None:
    last_day = Parts(freq="YEARLY", yeardays=(-1,))
    assert first(last_day, at(2025, 1, 1), 2) == [at(2025, 12, 31), at(2026, 12, 31)]
    last_friday = Parts(freq="YEARLY", weekdays=(Weekday(FR, -1),))
    assert first(last_friday, at(2027, 1, 1), 1) == [at(2027, 12, 31)]


def test_an_hourly_rule_on_a_day_of_the_year_keeps_to_that_day() -> None:
    parts = Parts(freq="HOURLY", yeardays=(1,), hours=(9,), minutes=(0,))
    assert first(parts, at(2026, 1, 1, 9), 2) == [at(2026, 1, 1, 9), at(2027, 1, 1, 9)]


def test_a_sparse_day_keeps_the_rhythm_of_the_interval_across_months() -> None:
    # Every third day, only on the 1st: the jump to the next 1st stays on the third-day rhythm
    # (1 January, then 1 April is 90 days later), as dateutil has it.
    parts = Parts(freq="DAILY", interval=3, monthdays=(1,))
    assert first(parts, at(2026, 1, 1, 9), 5) == [
        at(2026, 1, 1, 9),
        at(2026, 4, 1, 9),
        at(2026, 5, 1, 9),
        at(2026, 9, 1, 9),
        at(2026, 10, 1, 9),
    ]


def test_every_fourth_thursday_is_not_the_third() -> None:
    parts = Parts(freq="MONTHLY", weekdays=(Weekday(TH, 4),))
    assert first(parts, at(2026, 1, 1, 18), 2) == [at(2026, 1, 22, 18), at(2026, 2, 26, 18)]


def test_week_53_is_found_every_few_years() -> None:
    parts = Parts(freq="YEARLY", weeknos=(53,), weekdays=(Weekday(MO),))
    assert first(parts, at(2021, 1, 5), 2) == [at(2026, 12, 28), at(2032, 12, 27)]


def test_the_series_ends_with_the_calendar() -> None:
    parts = Parts(freq="YEARLY", interval=400, months=(2,), monthdays=(29,))
    assert first(parts, at(9600, 2, 29), 3) == [at(9600, 2, 29)]
    weekly = Parts(freq="WEEKLY", weekdays=(Weekday(SU),))
    assert first(weekly, at(9999, 12, 26), 3) == [at(9999, 12, 26)]
    hourly = Parts(freq="HOURLY", months=(12,))
    assert first(hourly, at(9999, 12, 31, 22), 3) == [at(9999, 12, 31, 22), at(9999, 12, 31, 23)]
    leap_day = Parts(freq="DAILY", months=(2,), monthdays=(29,))
    assert first(leap_day, at(9996, 2, 29), 3) == [at(9996, 2, 29)]


def test_secondly_rules_from_imports_fire_every_interval_of_seconds() -> None:
    every_second = Parts(freq="SECONDLY")
    start = datetime(2026, 1, 5, 9, 0, 1)
    assert first(every_second, start, 3) == [start + timedelta(seconds=n) for n in (0, 1, 2)]
    every_fourth = Parts(freq="SECONDLY", interval=4)
    assert first(every_fourth, start, 3) == [start + timedelta(seconds=n) for n in (0, 4, 8)]


def test_an_until_at_the_start_of_a_period_keeps_that_periods_occurrence() -> None:
    walls = walls_after(
        Parts(freq="DAILY"), dtstart=at(2026, 1, 5), after=at(2026, 1, 5), until=at(2026, 1, 7)
    )
    assert list(walls) == [at(2026, 1, 6), at(2026, 1, 7)]


def test_until_is_inclusive_to_the_second() -> None:
    parts = Parts(freq="HOURLY", minutes=(30,))
    start = at(2026, 1, 5, 9, 30)
    walls = walls_after(parts, dtstart=start, after=start, until=at(2026, 1, 5, 11, 30))
    assert list(walls) == [at(2026, 1, 5, 10, 30), at(2026, 1, 5, 11, 30)]
    just_before = walls_after(parts, dtstart=start, after=start, until=at(2026, 1, 5, 11, 29))
    assert list(just_before) == [at(2026, 1, 5, 10, 30)]


# --- the bound -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        # A Tuesday start: every 7th day, every 168th hour, is a Tuesday, never a Saturday.
        Parts(freq="DAILY", interval=7, weekdays=(Weekday(SA),)),
        Parts(freq="HOURLY", interval=168, weekdays=(Weekday(SA),)),
        Parts(freq="MONTHLY", interval=12, months=(3,)),
        Parts(freq="HOURLY", interval=24, hours=(5,)),
        # Possible calendars, but far too rare to search for.
        Parts(freq="YEARLY", weekdays=(Weekday(MO),), setpos=(53,)),
        Parts(freq="YEARLY", months=(2,), monthdays=(30,)),
    ],
    ids=["daily", "hourly", "monthly", "hour-of-day", "53rd-monday", "30-february"],
)
def test_a_rule_that_never_meets_its_interval_stops_at_the_search_limit(parts: Parts) -> None:
    with pytest.raises(SearchLimitReached, match=r"within the search limit \(1000 steps\)"):
        first(parts, at(2026, 1, 6, 9), 1)


def test_the_limit_counts_the_work_since_the_last_occurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Yearly on 29 February: three years without one (a step each) between two occurrences.
    parts = Parts(freq="YEARLY", months=(2,), monthdays=(29,))
    monkeypatch.setattr(expansion, "MAX_STEPS", 3)
    assert first(parts, at(2024, 2, 29), 12)[-1] == at(2068, 2, 29)
    monkeypatch.setattr(expansion, "MAX_STEPS", 2)
    with pytest.raises(SearchLimitReached):
        first(parts, at(2024, 2, 29), 2)


def test_the_limit_counts_every_period_before_the_first_occurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Monthly in July from 1 January: six months without it (a step each) come first.
    parts = Parts(freq="MONTHLY", months=(7,))
    monkeypatch.setattr(expansion, "MAX_STEPS", 6)
    assert first(parts, at(2026, 1, 1), 1) == [at(2026, 7, 1)]
    monkeypatch.setattr(expansion, "MAX_STEPS", 5)
    with pytest.raises(SearchLimitReached):
        first(parts, at(2026, 1, 1), 1)
    # Day by day: the first day (two steps: the period and its day), then a jump to 1 July that
    # looked through one year of candidate days (a step).
    daily = Parts(freq="DAILY", months=(7,))
    monkeypatch.setattr(expansion, "MAX_STEPS", 3)
    assert first(daily, at(2026, 1, 1), 1) == [at(2026, 7, 1)]
    monkeypatch.setattr(expansion, "MAX_STEPS", 2)
    with pytest.raises(SearchLimitReached):
        first(daily, at(2026, 1, 1), 1)


def test_a_rule_with_more_times_of_day_than_the_limit_is_refused() -> None:
    every_minute = Parts(freq="DAILY", hours=tuple(range(24)), minutes=tuple(range(60)))
    with pytest.raises(SearchLimitReached, match=f"more than {MAX_STEPS} times of day"):
        first(every_minute, at(2026, 1, 1), 1)
    ten_by_ten_by_ten = Parts(
        freq="DAILY", hours=tuple(range(10)), minutes=tuple(range(10)), seconds=tuple(range(10))
    )
    assert first(ten_by_ten_by_ten, at(2026, 1, 1), 1) == [at(2026, 1, 1)]  # exactly the limit


def test_the_search_starts_at_the_period_of_after_not_at_dtstart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visited: list[int] = []
    period_start = expansion._period_start

    def counting(index: int, parts: Parts) -> datetime:
        visited.append(index)
        return period_start(index, parts)

    monkeypatch.setattr(expansion, "_period_start", counting)
    hourly = Parts(freq="HOURLY", interval=5)
    after = at(2026, 3, 1, 12)
    # A century of five-hour steps puts 09:00 and 14:00 in phase that day.
    assert first(hourly, at(1926, 1, 1), 1, after=after) == [at(2026, 3, 1, 14)]
    assert len(visited) == 2  # the period in phase at or before `after` (09:00), and 14:00


@pytest.mark.parametrize(
    ("freq", "interval", "expected"),
    [
        ("MINUTELY", 7, [at(2026, 1, 5, 9, 12), at(2026, 1, 5, 9, 19), at(2026, 1, 5, 9, 26)]),
        ("SECONDLY", 1800, [at(2026, 1, 5, 9, 35), at(2026, 1, 5, 10, 5), at(2026, 1, 5, 10, 35)]),
    ],
)
def test_minutely_and_secondly_rules_from_imports_still_expand(
    freq: str, interval: int, expected: list[datetime]
) -> None:
    # The task gate refuses them; stored or imported ones are expanded all the same. (A start
    # off the hour, so that the minutes count in the INTERVAL's phase.)
    parts = Parts(freq=freq, interval=interval)
    start = at(2026, 1, 5, 9, 5)
    assert first(parts, start, 3, after=start) == expected
    later = first(parts, start, 1, after=expected[1])
    assert later == expected[2:]


def test_a_day_counted_from_the_end_skips_months_too_short_for_it() -> None:
    # The 31st-last day exists only in 31-day months, where it is the 1st.
    parts = Parts(freq="MONTHLY", monthdays=(-31,))
    assert first(parts, at(2026, 4, 1), 3) == [at(2026, 5, 1), at(2026, 7, 1), at(2026, 8, 1)]
