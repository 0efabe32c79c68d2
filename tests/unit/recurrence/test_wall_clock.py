"""Previews and next dues across DST changes: one rule for skipped and repeated wall times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from hypothesis import given
from hypothesis import strategies as st

from haven.core.timezones import resolve_wall
from haven.recurrence import Recurrence, next_due, occurrences, parse_recurrence
from tests.unit.recurrence.hypothesis_settings import PROPERTIES

NEW_YORK = ZoneInfo("America/New_York")
DAILY = parse_recurrence(rule="FREQ=DAILY")
SERIES_START = datetime(2026, 3, 1, 2, 45, tzinfo=NEW_YORK)  # spring forward: 2026-03-08 02:00


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def preview(
    recurrence: Recurrence, start: datetime, after: datetime, limit: int = 2
) -> list[datetime]:
    found = occurrences(recurrence, series_start=start, tz=NEW_YORK, after=after, limit=limit)
    return [d.astimezone(UTC) for d in found]


def following(recurrence: Recurrence, start: datetime, after: datetime) -> datetime | None:
    due = next_due(
        recurrence,
        series_start=start,
        previous_due=after,
        completed_at=after,
        occurrences_so_far=1,
        tz=NEW_YORK,
    )
    return None if due is None else due.astimezone(UTC)


# --- spring forward: 02:45 does not exist on 2026-03-08 and is 03:45 EDT (07:45 UTC) ----------


def test_a_preview_after_the_gap_keeps_the_occurrence_moved_out_of_it() -> None:
    after = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)  # EDT, before 03:45
    assert preview(DAILY, SERIES_START, after) == [utc(2026, 3, 8, 7, 45), utc(2026, 3, 9, 6, 45)]
    assert following(DAILY, SERIES_START, after) == utc(2026, 3, 8, 7, 45)


def test_the_moved_occurrence_is_strictly_after_only_until_its_instant() -> None:
    just_before = utc(2026, 3, 8, 7, 44, 59)
    assert preview(DAILY, SERIES_START, just_before, limit=1) == [utc(2026, 3, 8, 7, 45)]
    at_it = utc(2026, 3, 8, 7, 45)
    assert preview(DAILY, SERIES_START, at_it, limit=1) == [utc(2026, 3, 9, 6, 45)]
    assert following(DAILY, SERIES_START, at_it) == utc(2026, 3, 9, 6, 45)


def test_from_before_the_gap_the_moved_occurrence_comes_next_once() -> None:
    after = datetime(2026, 3, 8, 1, 50, tzinfo=NEW_YORK)  # EST
    assert preview(DAILY, SERIES_START, after, limit=3) == [
        utc(2026, 3, 8, 7, 45),
        utc(2026, 3, 9, 6, 45),
        utc(2026, 3, 10, 6, 45),
    ]
    assert following(DAILY, SERIES_START, after) == utc(2026, 3, 8, 7, 45)


def test_hourly_after_the_gap_gives_the_moved_time_once() -> None:
    hourly = parse_recurrence(rule="FREQ=HOURLY;BYMINUTE=45")
    start = datetime(2026, 3, 7, 22, 45, tzinfo=NEW_YORK)
    # 02:45 becomes 03:45 EDT, the same instant as the real 03:45: it is given once.
    after = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)
    assert preview(hourly, start, after) == [utc(2026, 3, 8, 7, 45), utc(2026, 3, 8, 8, 45)]
    assert following(hourly, start, after) == utc(2026, 3, 8, 7, 45)


def test_real_times_after_the_gap_come_before_a_time_moved_past_them() -> None:
    # Valid RFC 5545 (a task's own rules may not list two minutes): on 2026-03-08 the picks are
    # 02:50, moved to 03:50 EDT, and 03:10 EDT, which is earlier.
    picks = Recurrence(
        rule="FREQ=DAILY;BYHOUR=2,3;BYMINUTE=10,50;BYSETPOS=2,3", mode="due", text=None
    )
    start = datetime(2026, 3, 1, 2, 50, tzinfo=NEW_YORK)
    after = datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK)
    assert preview(picks, start, after, limit=3) == [
        utc(2026, 3, 8, 7, 10),
        utc(2026, 3, 8, 7, 50),
        utc(2026, 3, 9, 6, 50),
    ]
    assert following(picks, start, after) == utc(2026, 3, 8, 7, 10)
    assert following(picks, start, utc(2026, 3, 8, 7, 10)) == utc(2026, 3, 8, 7, 50)


# --- fall back: 01:30 happens twice on 2026-11-01 (05:30 UTC in EDT, 06:30 UTC in EST) ---------

DAILY_AT_0130_START = datetime(2026, 10, 25, 1, 30, tzinfo=NEW_YORK)


def test_a_repeated_time_counts_once_at_its_first_pass() -> None:
    after = datetime(2026, 11, 1, 1, 0, tzinfo=NEW_YORK)  # the first 01:00 (EDT)
    assert preview(DAILY, DAILY_AT_0130_START, after, limit=2) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]
    assert following(DAILY, DAILY_AT_0130_START, after) == utc(2026, 11, 1, 5, 30)
    # After the first 01:30 the second pass is not another occurrence.
    first = utc(2026, 11, 1, 5, 30)
    assert preview(DAILY, DAILY_AT_0130_START, first, limit=1) == [utc(2026, 11, 2, 6, 30)]
    assert following(DAILY, DAILY_AT_0130_START, first) == utc(2026, 11, 2, 6, 30)


def test_from_the_second_pass_the_repeated_time_is_already_past() -> None:
    second_pass = utc(2026, 11, 1, 6, 15)  # 01:15 EST, after 01:30 EDT
    assert preview(DAILY, DAILY_AT_0130_START, second_pass, limit=1) == [utc(2026, 11, 2, 6, 30)]
    assert following(DAILY, DAILY_AT_0130_START, second_pass) == utc(2026, 11, 2, 6, 30)


# --- property: the preview's first due is next_due from the same point, and both are right ------

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Santiago",  # changes at midnight
    "Australia/Lord_Howe",  # a 30-minute change
    "Asia/Kolkata",  # none
]


@lru_cache(maxsize=64)
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """The instants (UTC) at which the zone's offset changes during the year, to the minute."""
    tz = ZoneInfo(zone)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(tz).utcoffset() != high.astimezone(tz).utcoffset():
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high.replace(second=0, microsecond=0))
        day += timedelta(days=1)
    return tuple(found)


def reference_next(rule: str, start: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The earliest instant after `after` among all the series' wall times, each resolved on
    its own: dateutil on naive wall times, plus the start (RFC 5545 always counts it)."""
    start_wall = start.astimezone(tz).replace(tzinfo=None)
    built = rrulestr(rule, dtstart=start_wall)
    assert isinstance(built, rrule)
    lower = max(after.astimezone(tz).replace(tzinfo=None) - timedelta(days=2), start_wall)
    walls = [start_wall, *islice(built.xafter(lower), 200)]
    instants = [resolve_wall(wall, tz).astimezone(UTC) for wall in walls]
    return min(i for i in instants if i > after.astimezone(UTC))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, datetime, datetime, ZoneInfo]:
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    year = draw(st.integers(2000, 2035))
    changes = transitions(zone, year)
    around_a_change: bool = draw(st.booleans())
    if changes and around_a_change:
        near = draw(st.sampled_from(changes))  # the interesting part: around a DST change
    else:
        near = datetime.combine(date(year, 1, 1), datetime.min.time(), tzinfo=UTC) + timedelta(
            days=draw(st.integers(0, 364))
        )
    after = near + timedelta(minutes=draw(st.integers(-4 * 60, 4 * 60)))
    freq = draw(st.sampled_from(["HOURLY", "DAILY", "WEEKLY"]))
    interval = draw(st.integers(1, 3))
    rule = f"FREQ={freq};INTERVAL={interval}"
    if freq != "HOURLY" and draw(st.booleans()):
        # An hour around the change: the one it skips or repeats, or one beside it.
        hour = (near - timedelta(minutes=1)).astimezone(tz).hour + draw(st.integers(-1, 1))
        rule += f";BYHOUR={hour % 24}"
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    back = timedelta(hours=draw(st.integers(0, 24 * 21)))
    start_wall = (after.astimezone(tz).replace(tzinfo=None) - back).replace(
        minute=minute, second=0, microsecond=0
    )
    start = resolve_wall(start_wall, tz)
    return rule, start, after.astimezone(tz), tz


@PROPERTIES
@given(cases(), st.integers(1, 4))
def test_the_preview_starts_at_next_due_from_the_same_point(
    case: tuple[str, datetime, datetime, ZoneInfo], limit: int
) -> None:
    rule, start, after, tz = case
    recurrence = parse_recurrence(rule=rule)
    previews = occurrences(recurrence, series_start=start, tz=tz, after=after, limit=limit)
    due = next_due(
        recurrence,
        series_start=start,
        previous_due=after,
        completed_at=after,
        occurrences_so_far=1,
        tz=tz,
    )
    assert due is not None
    assert len(previews) == limit
    assert previews[0].astimezone(UTC) == due.astimezone(UTC)
    assert due.astimezone(UTC) == reference_next(rule, start, after, tz)
    # Each further preview is next_due from the one before: strictly later instants.
    for earlier, later in pairwise(previews):
        chained = next_due(
            recurrence,
            series_start=start,
            previous_due=earlier,
            completed_at=earlier,
            occurrences_so_far=1,
            tz=tz,
        )
        assert chained is not None
        assert chained.astimezone(UTC) == later.astimezone(UTC) > earlier.astimezone(UTC)
