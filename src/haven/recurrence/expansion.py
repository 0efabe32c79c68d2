"""RFC 5545 expansion on naive wall-clock times, with a bound on the work it may do.

dateutil's rrule looks for the next occurrence period after period and only gives up at the
year 9999, whatever UNTIL says: a rule that (almost) never occurs holds the CPU for seconds, and
it always walks from DTSTART, so a long series pays for its whole history. This engine counts
its work and stops after `MAX_STEPS` with `SearchLimitReached`, and it starts from the period of
the series that holds `after` (keeping the INTERVAL's phase), so finding the next occurrence
costs the gap to it, never the history of the series.

Each period (a year, month, week, day, hour...) of the series gives its candidate days, keeps
those every BY part accepts, combines them with the times of day, then applies BYSETPOS: the
approach of RFC 5545 and of dateutil, which the property tests use as the reference.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final

from haven.recurrence.errors import SearchLimitReached

FREQUENCIES: Final = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
MAX_STEPS: Final = 1_000
"""Periods visited plus candidate days examined before one occurrence must be found: a few
milliseconds of CPU. A leap day on a Monday in a DAILY rule (decades apart, a few steps a year)
fits; the 53rd Monday of a year (a whole year of candidate days per step) does not."""

_RANK: Final = {freq: rank for rank, freq in enumerate(FREQUENCIES)}
_DAILY: Final = _RANK["DAILY"]
_HOURLY: Final = _RANK["HOURLY"]
_MINUTELY: Final = _RANK["MINUTELY"]
_SECONDLY: Final = _RANK["SECONDLY"]


@dataclass(frozen=True, slots=True)
class Weekday:
    """One BYDAY item: a weekday (0 is Monday) and, if numbered, which one in the month/year."""

    weekday: int
    n: int | None = None


@dataclass(frozen=True, slots=True)
class Parts:
    """The schedule of a rule as numbers; an empty tuple is a part the rule does not give.

    Lists are sorted, so times come out in order.
    """

    freq: str
    interval: int = 1
    wkst: int = 0
    months: tuple[int, ...] = ()
    weeknos: tuple[int, ...] = ()
    yeardays: tuple[int, ...] = ()
    monthdays: tuple[int, ...] = ()
    weekdays: tuple[Weekday, ...] = ()
    hours: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    seconds: tuple[int, ...] = ()
    setpos: tuple[int, ...] = ()


def walls_after(
    parts: Parts, *, dtstart: datetime, after: datetime, until: datetime | None = None
) -> Iterator[datetime]:
    """The occurrences of the series that starts at `dtstart`, strictly after `after`.

    All values are naive wall times. The series ends after `until` (inclusive) or at the end of
    the calendar. Raises `SearchLimitReached` when `MAX_STEPS` of work find no next occurrence;
    the count starts again after each occurrence given.
    """
    parts = _with_defaults(parts, dtstart)
    rank = _RANK[parts.freq]
    phase = _period_index(dtstart, parts)
    index = _period_index(max(after, dtstart), parts)
    index -= (index - phase) % parts.interval
    floor = max(after, dtstart)
    steps = 0
    while True:
        try:
            start = _period_start(index, parts)
            days = _candidate_days(parts, start)
        except (ValueError, OverflowError):
            return  # the series runs past the end of the calendar
        if until is not None and start > until:
            return
        steps += 1 + len(days)
        kept = [day for day in days if _day_matches(parts, day)]
        if not parts.setpos:  # BYSETPOS counts the days before the floor, nothing else does
            kept = [day for day in kept if day >= floor.date()]
        for wall in _combine(parts, kept, _times(parts, start)):
            if until is not None and wall > until:
                return
            if wall > after and wall >= dtstart:
                yield wall
                steps = 0
        try:
            index, spent = _next_period(parts, index, start, rank, matched=bool(kept))
        except (ValueError, OverflowError):
            return  # no candidate day left in the calendar
        steps += spent
        if steps > MAX_STEPS:
            raise SearchLimitReached(
                f"no occurrence found after {after:%Y-%m-%d %H:%M} within the search limit"
                f" ({MAX_STEPS} steps): the rule's INTERVAL never meets its BY parts from that"
                " start, or its occurrences lie too far apart"
            )


def _with_defaults(parts: Parts, dtstart: datetime) -> Parts:
    """What RFC 5545 (and dateutil) take from DTSTART when the rule does not say it.

    Made explicit, the series no longer depends on DTSTART except for the INTERVAL's phase, so
    the expansion can start from any of its periods.
    """
    filled = parts
    if not (parts.weeknos or parts.yeardays or parts.monthdays or parts.weekdays):
        if parts.freq == "YEARLY":
            filled = replace(filled, months=parts.months or (dtstart.month,))
        if parts.freq in ("YEARLY", "MONTHLY"):
            filled = replace(filled, monthdays=(dtstart.day,))
        if parts.freq == "WEEKLY":
            filled = replace(filled, weekdays=(Weekday(dtstart.weekday()),))
    rank = _RANK[parts.freq]
    if not parts.hours and rank < _HOURLY:
        filled = replace(filled, hours=(dtstart.hour,))
    if not parts.minutes and rank < _MINUTELY:
        filled = replace(filled, minutes=(dtstart.minute,))
    if not parts.seconds and rank < _SECONDLY:
        filled = replace(filled, seconds=(dtstart.second,))
    return filled


# --- periods: consecutive integers, so the INTERVAL's phase is a remainder ----------------


def _week_offset(wkst: int) -> int:
    # date.toordinal() is 1 for a Monday, so a week starting on `wkst` starts on this remainder.
    return (wkst + 1) % 7


def _period_index(moment: datetime, parts: Parts) -> int:
    freq = parts.freq
    if freq == "YEARLY":
        return moment.year
    if freq == "MONTHLY":
        return moment.year * 12 + moment.month - 1
    day = moment.toordinal()
    if freq == "WEEKLY":
        return (day - _week_offset(parts.wkst)) // 7
    if freq == "DAILY":
        return day
    hour = day * 24 + moment.hour
    if freq == "HOURLY":
        return hour
    minute = hour * 60 + moment.minute
    if freq == "MINUTELY":
        return minute
    return minute * 60 + moment.second


def _period_start(index: int, parts: Parts) -> datetime:
    freq = parts.freq
    if freq == "YEARLY":
        return datetime.combine(date(index, 1, 1), time())
    if freq == "MONTHLY":
        return datetime.combine(date(index // 12, index % 12 + 1, 1), time())
    if freq == "WEEKLY":
        return datetime.fromordinal(index * 7 + _week_offset(parts.wkst))
    per_day = {"DAILY": 1, "HOURLY": 24, "MINUTELY": 1440, "SECONDLY": 86400}[freq]
    day, rest = divmod(index, per_day)
    return datetime.fromordinal(day) + timedelta(seconds=rest * (86400 // per_day))


def _next_period(
    parts: Parts, index: int, start: datetime, rank: int, *, matched: bool
) -> tuple[int, int]:
    """The next period of the series, and the steps spent finding it.

    A period of a day or less whose day the BY parts refuse jumps straight to the next day
    they may accept (the year's candidate days), so a sparse rule costs a step per candidate
    day instead of one per hour.
    """
    following = index + parts.interval
    if rank < _DAILY or matched:
        return following, 0
    day, spent = _next_candidate_day(parts, start.date())
    target = _period_index(datetime.combine(day, time()), parts)
    return max(following, target + (index - target) % parts.interval), spent


def _next_candidate_day(parts: Parts, after: date) -> tuple[date, int]:
    """The first candidate day after `after`, and the years looked at (at most past the limit:
    the caller then stops). Raises ValueError past the end of the calendar."""
    year = after.year
    for spent in range(1, MAX_STEPS + 2):
        days = _days_of_year(parts, year)
        later = bisect_right(days, after)
        if later < len(days):
            return days[later], spent
        year += 1
    return after, MAX_STEPS + 1


# --- days ---------------------------------------------------------------------------------


def _candidate_days(parts: Parts, start: datetime) -> list[date]:
    """The days of the period, narrowed cheaply when a BY part names them (every day is then
    still checked against all the parts)."""
    first = start.date()
    if parts.freq == "YEARLY":
        return list(_days_of_year(parts, first.year))
    if parts.freq == "MONTHLY":
        if parts.months and first.month not in parts.months:
            return []
        return _days_of_month(parts, first.year, first.month)
    if parts.freq == "WEEKLY":
        return [first + timedelta(days=offset) for offset in range(7)]
    return [first]


@lru_cache(maxsize=256)  # pragma: no mutate (a cache changes speed, never results)
def _days_of_year(parts: Parts, year: int) -> tuple[date, ...]:
    """The days of the year the day BY parts may accept, in order: a superset, narrowed by the
    part that names the fewest days."""
    if parts.yeardays:
        length = 366 if calendar.isleap(year) else 365
        numbers = sorted({_position(n, length) for n in parts.yeardays})
        before = date(year, 1, 1).toordinal() - 1
        return tuple(date.fromordinal(before + n) for n in numbers if 1 <= n <= length)
    if parts.weeknos and not parts.monthdays:
        return _days_of_weeks(parts, year)
    months = parts.months or tuple(range(1, 13))
    return tuple(day for month in months for day in _days_of_month(parts, year, month))


def _days_of_weeks(parts: Parts, year: int) -> tuple[date, ...]:
    first, weeks = _week_year(year, parts.wkst)
    days = {
        first + timedelta(days=7 * (number - 1) + offset)
        for number in (_position(n, weeks) for n in parts.weeknos)
        if 1 <= number <= weeks
        for offset in range(7)
    }
    # Up to three days at either end of the year belong to a week of the year beside it.
    days.update(date(year, 1, 1) + timedelta(days=offset) for offset in range(3))
    days.update(date(year, 12, 29) + timedelta(days=offset) for offset in range(3))
    return tuple(sorted(day for day in days if day.year == year))


def _days_of_month(parts: Parts, year: int, month: int) -> list[date]:
    length = calendar.monthrange(year, month)[1]
    if parts.monthdays:
        numbers = sorted({_position(n, length) for n in parts.monthdays})
    else:
        numbers = list(range(1, length + 1))
    return [date(year, month, n) for n in numbers if 1 <= n <= length]


def _position(n: int, length: int) -> int:
    """A 1-based position from a BY number: negative numbers count back from the end."""
    return n if n > 0 else length + 1 + n


def _day_matches(parts: Parts, day: date) -> bool:
    if parts.months and day.month not in parts.months:
        return False
    if parts.monthdays and not _counted(day.day, _month_length(day), parts.monthdays):
        return False
    if parts.yeardays and not _counted(_year_day(day), _year_length(day), parts.yeardays):
        return False
    if parts.weeknos and not _in_weeks(day, parts):
        return False
    return not parts.weekdays or any(_is_weekday(day, item, parts) for item in parts.weekdays)


def _counted(position: int, length: int, wanted: tuple[int, ...]) -> bool:
    """Is the 1-based `position` among `wanted`, from the start or (negative) from the end?"""
    return position in wanted or position - length - 1 in wanted


def _is_weekday(day: date, item: Weekday, parts: Parts) -> bool:
    if day.weekday() != item.weekday:
        return False
    if item.n is None:
        return True
    # A numbered weekday counts within the month, unless a YEARLY rule has no BYMONTH.
    if parts.freq == "MONTHLY" or parts.months:
        position, length = day.day, _month_length(day)
    else:
        position, length = _year_day(day), _year_length(day)
    return item.n in ((position - 1) // 7 + 1, -((length - position) // 7 + 1))


def _in_weeks(day: date, parts: Parts) -> bool:
    """Is the day in one of the week numbers, counted in the year its week belongs to?

    Week 1 is the first week (starting on WKST) with at least four days in the year, as in
    ISO 8601; such a week belongs to the year of its fourth day.
    """
    week_start = _week_start(day, parts.wkst)
    first, weeks = _week_year((week_start + timedelta(days=3)).year, parts.wkst)
    return _counted((week_start - first).days // 7 + 1, weeks, parts.weeknos)


@lru_cache(maxsize=64)  # pragma: no mutate (a cache changes speed, never results)
def _week_year(year: int, wkst: int) -> tuple[date, int]:
    """The first day of the year's week 1, and how many weeks the year has."""
    first = _week_start(date(year, 1, 4), wkst)  # week 1 holds 4 January
    last = _week_start(date(year, 12, 28), wkst)  # so does the last week 28 December
    return first, (last - first).days // 7 + 1


def _week_start(day: date, wkst: int) -> date:
    return day - timedelta(days=(day.weekday() - wkst) % 7)


def _month_length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _year_length(day: date) -> int:
    return 366 if calendar.isleap(day.year) else 365


def _year_day(day: date) -> int:
    return day.toordinal() - date(day.year, 1, 1).toordinal() + 1


# --- times and BYSETPOS -------------------------------------------------------------------


def _times(parts: Parts, start: datetime) -> list[time]:
    """The times of day of the period: a field the period fixes (the hour of an HOURLY period)
    comes from its start and must pass its BY part; the others come from their BY parts."""
    rank = _RANK[parts.freq]
    fields: list[tuple[int, ...]] = []
    for level, wanted, value in (
        (_HOURLY, parts.hours, start.hour),
        (_MINUTELY, parts.minutes, start.minute),
        (_SECONDLY, parts.seconds, start.second),
    ):
        if rank < level:
            fields.append(wanted)
        elif wanted and value not in wanted:
            return []
        else:
            fields.append((value,))
    hours, minutes, seconds = fields
    if len(hours) * len(minutes) * len(seconds) > MAX_STEPS:
        raise SearchLimitReached(
            f"the rule lists more than {MAX_STEPS} times of day (BYHOUR x BYMINUTE x BYSECOND)"
        )
    return [time(h, m, s) for h in hours for m in minutes for s in seconds]


def _combine(parts: Parts, days: list[date], times: list[time]) -> Iterator[datetime]:
    """The period's occurrences in order: every time on every day, or the BYSETPOS picks."""
    if not parts.setpos:
        for day in days:
            for moment in times:
                yield datetime.combine(day, moment)
        return
    total = len(days) * len(times)
    picked: set[datetime] = set()
    for position in parts.setpos:
        index = _position(position, total) - 1
        if 0 <= index < total:
            day_index, time_index = divmod(index, len(times))
            picked.add(datetime.combine(days[day_index], times[time_index]))
    yield from sorted(picked)
