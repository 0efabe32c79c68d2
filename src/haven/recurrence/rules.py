"""Recurring due dates: RRULE validation and the next occurrence on the task's wall clock.

A series is stored as its first due instant, the task's IANA zone and an RRULE. Every
computation runs on the naive local wall clock of that zone and only the result is turned back
into an instant, so "every day at 09:00" stays at 09:00 local across DST changes. Wall times that
do not exist (spring-forward gap) move forward by the gap length; ambiguous ones (fall-back) take
the first of the two instants.

Two layers of checks: `parse_recurrence` is the gate for what a user types and adds Haven's
policy (no MINUTELY/SECONDLY, a length limit, a rule that can never fire is refused); the
expansion functions accept any rule that is valid RFC 5545, because rules also arrive from
calendar imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

Mode = Literal["due", "completion"]

MAX_LENGTH: Final = 500

_MODES: Final[tuple[str, ...]] = get_args(Mode)
_WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_HINT: Final = "use MO,TU,WE,TH,FR,SA,SU"
_FREQUENCIES: Final = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_TOO_FREQUENT: Final = frozenset({"MINUTELY", "SECONDLY"})
# The order in which a normalized rule lists its parts, so equal rules compare equal as text.
_PART_ORDER: Final = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "WKST",
)


@dataclass(frozen=True, slots=True)
class _NumberRange:
    what: str
    low: int
    high: int
    negative_allowed: bool

    def hint(self) -> str:
        if self.negative_allowed:
            return f"use {self.low} to {self.high} or -{self.high} to -{self.low}"
        return f"use {self.low} to {self.high}"


_NUMBER_LISTS: Final = {
    "BYMONTH": _NumberRange("a month", 1, 12, negative_allowed=False),
    "BYWEEKNO": _NumberRange("a week number", 1, 53, negative_allowed=True),
    "BYYEARDAY": _NumberRange("a day of the year", 1, 366, negative_allowed=True),
    "BYMONTHDAY": _NumberRange("a day of the month", 1, 31, negative_allowed=True),
    "BYHOUR": _NumberRange("an hour", 0, 23, negative_allowed=False),
    "BYMINUTE": _NumberRange("a minute", 0, 59, negative_allowed=False),
    # RFC 5545 allows 60 for a leap second; Python's datetime cannot hold it.
    "BYSECOND": _NumberRange("a second", 0, 59, negative_allowed=False),
    "BYSETPOS": _NumberRange("a set position", 1, 366, negative_allowed=True),
}
_SELECTORS: Final = frozenset({*_NUMBER_LISTS, "BYDAY"}) - {"BYSETPOS"}
_NUMBER: Final = re.compile(r"[+-]?\d{1,9}")
_POSITIVE: Final = re.compile(r"\+?\d{1,9}")
_DAY: Final = re.compile(r"(?P<n>[+-]?\d{1,3})?(?P<day>[A-Z]+)")
_UNTIL: Final = re.compile(r"(?P<date>\d{8})(?:T(?P<time>\d{6})(?P<utc>Z)?)?")

# Checks without a DTSTART start 28 years before the end of the calendar. Those years hold every
# kind of year (leap or not, starting on each weekday), and dateutil, which never gives up on a
# rule that produces nothing, stops at the end of year 9999 after a few thousand steps at most.
_PROBE_DAY: Final = date(9972, 1, 1)


class InvalidRecurrence(ValueError):
    """A recurrence the user gave cannot be used; the message says what to fix, in user words."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    rule: str
    """Normalized RRULE value without the "RRULE:" prefix, e.g. "FREQ=WEEKLY;BYDAY=MO"."""
    mode: Mode
    """"due": the next due follows the schedule; "completion": it counts from completion."""
    text: str | None
    """The phrase the user typed, if any."""


@dataclass(frozen=True, slots=True)
class _Rule:
    """A checked rule, split so the engine can substitute DTSTART-dependent parts."""

    text: str
    freq: str
    schedule: str
    """The rule without COUNT and UNTIL, with WKST explicit, ready for dateutil."""
    never_occurs: bool
    """No start date gives the rule an occurrence, e.g. BYMONTH=2;BYMONTHDAY=30."""
    count: int | None
    until: date | datetime | None
    """A date (whole day, inclusive), a UTC instant, or a floating wall time."""


def parse_recurrence(
    *, rule: str | None = None, text: str | None = None, mode: Mode | None = None
) -> Recurrence:
    """Check what the user typed (an RRULE or a phrase) and turn it into a `Recurrence`.

    A phrase with "every!" schedules from completion unless `mode` says otherwise.
    """
    if mode is not None and mode not in _MODES:
        raise InvalidRecurrence(f'mode must be "due" or "completion", not "{mode}"')
    typed: str | None = None
    if rule is not None and text is None:
        check_length(rule)
        parsed = _parse_rule(rule)
        chosen: Mode = mode or "due"
    elif text is not None and rule is None:
        # phrases.py builds on this module's validation, so it is imported here, not on top.
        from haven.recurrence.phrases import phrase_to_rule

        rule_text, phrase_mode = phrase_to_rule(text)
        parsed = _parse_rule(rule_text)
        chosen = mode or phrase_mode
        typed = text.strip()
    else:
        raise InvalidRecurrence("give either an RRULE or a phrase, not both or neither")
    if parsed.freq in _TOO_FREQUENT:
        raise InvalidRecurrence(
            f"FREQ={parsed.freq} is too frequent for a task (the smallest step is HOURLY)"
        )
    if parsed.never_occurs:
        raise InvalidRecurrence("the rule never produces an occurrence")
    return Recurrence(rule=parsed.text, mode=chosen, text=typed)


def check_length(given: str) -> None:
    """Refuse a rule or phrase longer than any real one, before any work is spent on it."""
    if len(given) > MAX_LENGTH:
        raise InvalidRecurrence(f"the recurrence is too long (at most {MAX_LENGTH} characters)")


def normalize_rule(rule: str) -> str:
    """The canonical text of a valid RFC 5545 RRULE value; raises `InvalidRecurrence`."""
    return _parse_rule(rule).text


def next_due(
    recurrence: Recurrence,
    *,
    series_start: datetime,
    previous_due: datetime,
    completed_at: datetime,
    occurrences_so_far: int,
    tz: ZoneInfo,
) -> datetime | None:
    """The due of the occurrence after `previous_due`, or None when the series has ended.

    "due" mode follows the schedule that starts at `series_start` (COUNT counts from there).
    "completion" mode restarts the schedule on the completion day at the previous due's time of
    day; COUNT is then enforced with `occurrences_so_far`. The result is aware, in `tz`.
    """
    parsed = _parse_rule(recurrence.rule)
    if recurrence.mode not in _MODES:
        raise InvalidRecurrence(f'mode must be "due" or "completion", not "{recurrence.mode}"')
    if occurrences_so_far < 1:
        raise ValueError("occurrences_so_far counts the previous occurrence, so it is at least 1")
    previous_wall = _wall(previous_due, tz, "previous_due")
    if recurrence.mode == "completion":
        if parsed.count is not None and occurrences_so_far >= parsed.count:
            return None
        completed_day = _wall(completed_at, tz, "completed_at").date()
        anchor = datetime.combine(completed_day, previous_wall.time())
        walls = _walls_after(parsed, start=anchor, tz=tz, after=anchor)
        wall = next(walls, None)
        return None if wall is None else _attach(wall, tz)
    start_wall = _wall(series_start, tz, "series_start")
    previous_instant = previous_due.astimezone(UTC)
    for wall in _series_walls(parsed, start=start_wall, tz=tz, after=previous_wall):
        due = _attach(wall, tz)
        # Only a previous due in the second pass of a repeated hour can be later than a wall
        # time after it; the next due must still be a later instant. (Compared in UTC: Python
        # compares two datetimes with the same tzinfo by wall time, ignoring fold.)
        if due.astimezone(UTC) > previous_instant:
            return due
    return None


def occurrences(
    recurrence: Recurrence, *, series_start: datetime, tz: ZoneInfo, after: datetime, limit: int
) -> list[datetime]:
    """Up to `limit` dues of the series strictly after `after`, as `next_due` would chain them.

    The preview follows the schedule from `series_start` in both modes: a series that counts
    from completion has no later dues known before it is completed.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    parsed = _parse_rule(recurrence.rule)
    start_wall = _wall(series_start, tz, "series_start")
    floor_wall = _wall(after, tz, "after")
    floor = after.astimezone(UTC)
    found: list[datetime] = []
    if limit == 0:
        return found
    for wall in _series_walls(parsed, start=start_wall, tz=tz, after=floor_wall):
        due = _attach(wall, tz)
        # A wall time shifted out of a DST gap can land on or past the next ones; skip those,
        # exactly as chaining next_due does.
        if wall <= floor_wall or due.astimezone(UTC) <= floor:
            continue
        found.append(due)
        if len(found) == limit:
            break
        floor, floor_wall = due.astimezone(UTC), _wall(due, tz, "due")
    return found


def _series_walls(
    parsed: _Rule, *, start: datetime, tz: ZoneInfo, after: datetime
) -> Iterator[datetime]:
    """Naive wall times of the series from the naive `start`, strictly after the naive `after`.

    As RFC 5545 says, the start is always the first occurrence and COUNT includes it, even when
    the rule itself would not produce it (dateutil then leaves it out).
    """
    start = start.replace(microsecond=0)  # as dateutil does, so the two starts compare equal
    with _expansion_errors(start):
        schedule = _schedule(parsed, start, tz)
        on_rule = not parsed.never_occurs and schedule.after(start, inc=True) == start
        remaining = parsed.count
        if not on_rule:
            if start > after:
                yield start
            remaining = None if remaining is None else remaining - 1
        if parsed.never_occurs or remaining == 0:
            return
        if remaining is not None:
            schedule = _schedule(parsed, start, tz, count=remaining)
        yield from schedule.xafter(after)


def _walls_after(
    parsed: _Rule, *, start: datetime, tz: ZoneInfo, after: datetime
) -> Iterator[datetime]:
    """Naive wall times the rule produces from `start` (COUNT left out), strictly after `after`."""
    with _expansion_errors(start):
        if not parsed.never_occurs:
            yield from _schedule(parsed, start, tz).xafter(after)


def _schedule(parsed: _Rule, start: datetime, tz: ZoneInfo, *, count: int | None = None) -> rrule:
    text = parsed.schedule
    if count is not None:
        text += f";COUNT={count}"
    if parsed.until is not None:
        text += f";UNTIL={_local_until(parsed.until, tz):%Y%m%dT%H%M%S}"
    return _build(text, start)


@contextmanager
def _expansion_errors(start: datetime) -> Iterator[None]:
    try:
        yield
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, InvalidRecurrence):
            raise
        # dateutil refuses some BYHOUR/BYMINUTE sets that an INTERVAL can never reach from
        # this particular start time.
        raise InvalidRecurrence(
            f"the rule never produces an occurrence from a start at {start:%H:%M} ({exc})"
        ) from exc


def _build(text: str, dtstart: datetime) -> rrule:
    built = rrulestr(text, dtstart=dtstart)
    if not isinstance(built, rrule):
        # Only a multi-line text becomes a set, and _split_parts refuses line breaks.
        raise InvalidRecurrence("give a single RRULE")
    return built


def _wall(moment: datetime, tz: ZoneInfo, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(tz).replace(tzinfo=None)


def _attach(wall: datetime, tz: ZoneInfo) -> datetime:
    # fold=0 picks the first of two ambiguous instants; inside a gap it reads the wall time with
    # the offset from before the gap, so the round trip through UTC moves it forward by the gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def _local_until(until: date | datetime, tz: ZoneInfo) -> datetime:
    """UNTIL as a naive wall time in `tz`: dateutil refuses an aware UNTIL with a naive start."""
    if isinstance(until, datetime):
        if until.tzinfo is None:
            return until
        try:
            return until.astimezone(tz).replace(tzinfo=None)
        except OverflowError:  # the last hours of the year 9999, east of UTC
            return datetime.combine(date.max, time.max)
    return datetime.combine(until, time.max)


def _never_occurs(schedule_parts: list[str], start: datetime) -> bool:
    # With INTERVAL=1 the occurrences include those of any INTERVAL, from any start.
    every_period = [p for p in schedule_parts if not p.startswith("INTERVAL=")]
    probe = _build(";".join(every_period), start)
    try:
        return probe.after(start, inc=True) is None
    except (ValueError, OverflowError):
        return True  # ran past the year 9999 without finding an occurrence


@lru_cache(maxsize=1024)
def _parse_rule(rule: str) -> _Rule:
    parts = _split_parts(rule)
    freq = parts.get("FREQ")
    if freq is None:
        raise InvalidRecurrence("FREQ is required")
    if freq not in _FREQUENCIES:
        raise InvalidRecurrence(
            f'FREQ: "{freq}" is not a frequency (use YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY)'
        )
    normalized: dict[str, str] = {"FREQ": freq}
    count: int | None = None
    until: date | datetime | None = None
    for key, value in parts.items():
        if key == "FREQ":
            continue
        if key == "INTERVAL":
            normalized[key] = str(_positive(value, "INTERVAL"))
        elif key == "COUNT":
            count = _positive(value, "COUNT")
            normalized[key] = str(count)
        elif key == "UNTIL":
            until = _until(value)
            normalized[key] = value
        elif key == "WKST":
            if value not in _WEEKDAYS:
                raise InvalidRecurrence(f'WKST: "{value}" is not a weekday ({_WEEKDAY_HINT})')
            normalized[key] = value
        elif key == "BYDAY":
            normalized[key] = _by_day(value, freq=freq, with_weekno="BYWEEKNO" in parts)
        else:
            normalized[key] = _number_list(key, value, _NUMBER_LISTS[key])
    if count is not None and until is not None:
        raise InvalidRecurrence("UNTIL and COUNT cannot both be set")
    _check_combinations(freq, normalized)
    ordered = [f"{key}={normalized[key]}" for key in _PART_ORDER if key in normalized]
    schedule_parts = [p for p in ordered if not p.startswith(("COUNT=", "UNTIL="))]
    if "WKST" not in normalized:
        # dateutil would otherwise take the week start from the process-wide calendar setting.
        schedule_parts.append("WKST=MO")
    # dateutil refuses an HOURLY rule whose INTERVAL never reaches BYHOUR from DTSTART, so the
    # checks start on the first BYHOUR/BYMINUTE/BYSECOND value.
    first = {
        key: min(int(n) for n in normalized[key].split(",")) if key in normalized else 0
        for key in ("BYHOUR", "BYMINUTE", "BYSECOND")
    }
    start = datetime.combine(
        _PROBE_DAY, time(first["BYHOUR"], first["BYMINUTE"], first["BYSECOND"])
    )
    try:
        _build(";".join(schedule_parts), start)  # dateutil has its say on what the checks missed
        never_occurs = _never_occurs(schedule_parts, start)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise InvalidRecurrence(f"the rule is not valid: {exc}") from exc
    return _Rule(
        text=";".join(ordered),
        freq=freq,
        schedule=";".join(schedule_parts),
        never_occurs=never_occurs,
        count=count,
        until=until,
    )


def _split_parts(rule: str) -> dict[str, str]:
    value = rule.strip()
    if value.upper().startswith("RRULE:"):
        value = value[len("RRULE:") :].strip()
    if not value:
        raise InvalidRecurrence("the rule is empty")
    if ":" in value or "\n" in value or "\r" in value:
        raise InvalidRecurrence(
            "give only the RRULE value (like FREQ=WEEKLY;BYDAY=MO), without DTSTART or other lines"
        )
    parts: dict[str, str] = {}
    for raw in value.split(";"):
        piece = raw.strip()
        if not piece:
            continue  # tolerate "FREQ=DAILY;" and doubled separators
        key, equals, part_value = piece.partition("=")
        key, part_value = key.strip().upper(), part_value.strip().upper()
        if not equals:
            raise InvalidRecurrence(f'"{piece}" is not a NAME=VALUE part')
        if key not in _PART_ORDER:
            raise InvalidRecurrence(f'unknown part "{key}" (known parts: {", ".join(_PART_ORDER)})')
        if key in parts:
            raise InvalidRecurrence(f"{key} is given twice")
        if not part_value:
            raise InvalidRecurrence(f"{key} has no value")
        parts[key] = part_value
    return parts


def _positive(value: str, key: str) -> int:
    if not _POSITIVE.fullmatch(value) or int(value) < 1:
        raise InvalidRecurrence(f"{key} must be a positive integer")
    return int(value)


def _until(value: str) -> date | datetime:
    match = _UNTIL.fullmatch(value)
    bad = InvalidRecurrence(
        f'UNTIL: "{value}" is not a date or date-time (use YYYYMMDD or YYYYMMDDTHHMMSSZ)'
    )
    if match is None:
        raise bad
    day_text, time_text = match["date"], match["time"]
    try:
        day = date(int(day_text[:4]), int(day_text[4:6]), int(day_text[6:]))
        if time_text is None:
            return day
        moment = datetime.combine(
            day, time(int(time_text[:2]), int(time_text[2:4]), int(time_text[4:]))
        )
    except ValueError:
        raise bad from None
    return moment.replace(tzinfo=UTC) if match["utc"] else moment


def _number_list(key: str, value: str, allowed: _NumberRange) -> str:
    numbers: list[int] = []
    for item in value.split(","):
        item = item.strip()
        if not _NUMBER.fullmatch(item):
            raise InvalidRecurrence(f'{key}: "{item}" is not a whole number')
        number = int(item)
        if (number < 0 and not allowed.negative_allowed) or not (
            allowed.low <= abs(number) <= allowed.high
        ):
            raise InvalidRecurrence(f'{key}: "{item}" is not {allowed.what} ({allowed.hint()})')
        numbers.append(number)
    return ",".join(str(n) for n in numbers)


def _by_day(value: str, *, freq: str, with_weekno: bool) -> str:
    days: list[str] = []
    for item in value.split(","):
        item = item.strip()
        match = _DAY.fullmatch(item)
        if match is None or match["day"] not in _WEEKDAYS:
            weekday = match["day"] if match is not None else item
            raise InvalidRecurrence(f'BYDAY: "{weekday}" is not a weekday ({_WEEKDAY_HINT})')
        if match["n"] is None:
            days.append(match["day"])
            continue
        number = int(match["n"])
        if freq not in ("MONTHLY", "YEARLY"):
            raise InvalidRecurrence(
                f'BYDAY: "{item}" numbers a weekday within a month or year,'
                " so it needs FREQ=MONTHLY or FREQ=YEARLY"
            )
        if with_weekno:
            raise InvalidRecurrence(f'BYDAY: "{item}" cannot be numbered together with BYWEEKNO')
        limit = 5 if freq == "MONTHLY" else 53
        if number == 0 or abs(number) > limit:
            period = "month" if freq == "MONTHLY" else "year"
            raise InvalidRecurrence(
                f'BYDAY: "{item}" is out of range'
                f" (a {period} has at most {limit} of each weekday; use 1 to {limit} or -1 to"
                f" -{limit})"
            )
        days.append(f"{number}{match['day']}")
    return ",".join(days)


def _check_combinations(freq: str, parts: dict[str, str]) -> None:
    """The combinations RFC 5545 forbids, which dateutil would silently accept."""
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise InvalidRecurrence("BYWEEKNO needs FREQ=YEARLY")
    if "BYYEARDAY" in parts and freq in ("DAILY", "WEEKLY", "MONTHLY"):
        raise InvalidRecurrence(f"BYYEARDAY cannot be used with FREQ={freq}")
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise InvalidRecurrence("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    if "BYSETPOS" in parts and not _SELECTORS & parts.keys():
        raise InvalidRecurrence(
            "BYSETPOS needs another BY part to pick from (for example BYDAY=MO,TU,WE,TH,FR)"
        )
