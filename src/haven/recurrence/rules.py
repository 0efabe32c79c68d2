"""Recurring due dates: RRULE validation and the next occurrence on the task's wall clock.

A series is stored as its first due instant, the task's IANA zone and an RRULE. Every
computation runs on the naive local wall clock of that zone and only the result is turned back
into an instant, so "every day at 09:00" stays at 09:00 local across DST changes. Wall times that
do not exist (spring-forward gap) move forward by the gap length; ambiguous ones (fall-back) take
the first of the two instants (`core.timezones.resolve_wall`). `next_due` and `occurrences` both
take their dues from `_dues_after`, which orders the resolved instants, so a preview and the
chain of next dues always agree.

Three layers of checks: `parse_recurrence` is the gate for what a user types and adds Haven's
policy (nothing more often than hourly, a length limit, a rule that can never fire is refused);
`check_schedule` adds what needs the task (its due and whether it is a date); the expansion
functions accept any rule that is valid RFC 5545, because rules also arrive from imports. All
expansion goes through `expansion.walls_after`, whose work is bounded: a rule that cannot find
its next occurrence within `MAX_STEPS` raises `SearchLimitReached` instead of looping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from haven.core.timezones import earliest_wall_after, resolve_wall, wall_clock
from haven.recurrence.errors import InvalidRecurrence, SearchLimitReached
from haven.recurrence.expansion import FREQUENCIES, MAX_STEPS, Parts, Weekday, walls_after

Mode = Literal["due", "completion"]

MAX_LENGTH: Final = 500

_MODES: Final[tuple[str, ...]] = get_args(Mode)
_WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_HINT: Final = "use MO,TU,WE,TH,FR,SA,SU"
_TOO_FREQUENT: Final = frozenset({"MINUTELY", "SECONDLY"})
_WITHIN_A_DAY: Final = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
# In "completion" mode the schedule restarts on the completion day, so an INTERVAL above 1 would
# start a new phase each time: these parts select a larger unit than FREQ's and might then
# never be met (FREQ=DAILY;INTERVAL=7;BYDAY=SA restarted on a Tuesday).
_LARGER_THAN_FREQ: Final = {
    "MONTHLY": ("BYMONTH",),
    "WEEKLY": ("BYMONTH",),
    "DAILY": ("BYMONTH", "BYMONTHDAY", "BYDAY"),
    "HOURLY": ("BYMONTH", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR"),
}
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

# Whether a rule can occur at all is checked from this start with INTERVAL=1: from there every
# period is visited, so only a calendar that never fits (30 February) is left to find.
_SECOND: Final = timedelta(seconds=1)
_PROBE_START: Final = datetime.combine(date(2000, 1, 1), time())


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
    """A checked rule: its text, its schedule as numbers, and how it ends."""

    text: str
    parts: Parts
    """The schedule without COUNT and UNTIL."""
    never_occurs: bool
    """No start date gives the rule an occurrence, e.g. BYMONTH=2;BYMONTHDAY=30."""
    count: int | None
    until: date | datetime | None
    """A date (whole day, inclusive), a UTC instant, or a floating wall time."""
    given: frozenset[str]
    """The names of the parts the rule gives."""


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
    _check_policy(parsed, chosen)
    return Recurrence(rule=parsed.text, mode=chosen, text=typed)


def _check_policy(parsed: _Rule, mode: Mode) -> None:
    """Haven's limits on top of RFC 5545: a task repeats at most hourly, and can repeat."""
    freq = parsed.parts.freq
    if freq in _TOO_FREQUENT:
        raise InvalidRecurrence(
            f"FREQ={freq} is too frequent for a task (the smallest step is HOURLY)"
        )
    # Several minutes or seconds in a list fire more than once an hour, whatever FREQ says.
    for key, values in (("BYMINUTE", parsed.parts.minutes), ("BYSECOND", parsed.parts.seconds)):
        if len(values) > 1:
            raise InvalidRecurrence(
                f"{key} lists several values, so the rule fires more often than hourly"
                " (the smallest step for a task is an hour)"
            )
    if parsed.never_occurs:
        raise InvalidRecurrence(
            "the rule never produces an occurrence"
            f" (none within the search limit of {MAX_STEPS} steps)"
        )
    larger = [key for key in _LARGER_THAN_FREQ.get(freq, ()) if key in parsed.given]
    if mode == "completion" and parsed.parts.interval > 1 and larger:
        raise InvalidRecurrence(
            f'"completion" mode restarts the schedule on the completion day, so INTERVAL'
            f" cannot be combined with {', '.join(larger)} for FREQ={freq}"
            ' (the INTERVAL might never meet them); use INTERVAL=1 or "due" mode'
        )


def check_schedule(
    recurrence: Recurrence,
    *,
    series_start: datetime,
    due: datetime,
    tz: ZoneInfo,
    date_only: bool,
) -> None:
    """The checks that need the task: its series' start, its due, and whether it is a date.

    Raises `InvalidRecurrence` when a date-only due would repeat within a day, or when the
    series has no occurrence after `due` that the bounded search can find (an INTERVAL that
    never meets the BY parts from this start, or occurrences too far apart).
    """
    parsed = _parse_rule(recurrence.rule)
    parts = parsed.parts
    if date_only and (parts.freq in _WITHIN_A_DAY or parts.hours or parts.minutes or parts.seconds):
        raise InvalidRecurrence(
            "the due is a date without a time of day, so the rule cannot repeat within a day"
            " or name hours, minutes or seconds; give the due a time, or drop FREQ=HOURLY and"
            " BYHOUR/BYMINUTE/BYSECOND"
        )
    if parsed.count == 1:
        return  # the due is the only occurrence
    due_wall = _wall(due, tz, "due")
    start_wall = due_wall if recurrence.mode == "completion" else _wall(series_start, tz, "start")
    try:
        following = next(_dues_after(parsed, start=start_wall, after=due, tz=tz), None)
    except SearchLimitReached as exc:
        raise InvalidRecurrence(f"the rule cannot follow this due: {exc}") from exc
    if following is None and parsed.until is None:
        # Not ended by UNTIL: the INTERVAL never meets the BY parts again before the calendar
        # ends (FREQ=YEARLY;INTERVAL=400 on a day that never comes back).
        raise InvalidRecurrence("the rule never produces an occurrence after this due")


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
    last_day: date = date.max,
) -> datetime | None:
    """The due of the occurrence after `previous_due`, or None when the series has ended.

    "due" mode follows the schedule that starts at `series_start`; "completion" mode restarts
    the schedule on the completion day at the previous due's time of day. Both search from the
    previous occurrence, never from the series start, and COUNT counts `occurrences_so_far`.
    An occurrence whose local or UTC date is after `last_day` ends the series. The result is
    aware, in `tz`. Raises `SearchLimitReached` when the next occurrence is out of reach.
    """
    parsed = _parse_rule(recurrence.rule)
    if recurrence.mode not in _MODES:
        raise InvalidRecurrence(f'mode must be "due" or "completion", not "{recurrence.mode}"')
    if occurrences_so_far < 1:
        raise ValueError("occurrences_so_far counts the previous occurrence, so it is at least 1")
    if parsed.count is not None and occurrences_so_far >= parsed.count:
        return None
    previous_wall = _wall(previous_due, tz, "previous_due")
    if recurrence.mode == "completion":
        completed_day = _wall(completed_at, tz, "completed_at").date()
        anchor = datetime.combine(completed_day, previous_wall.time())
        dues = _dues_after(
            parsed, start=anchor, after=resolve_wall(anchor, tz), tz=tz, last_day=last_day
        )
    else:
        start_wall = _wall(series_start, tz, "series_start")
        dues = _dues_after(parsed, start=start_wall, after=previous_due, tz=tz, last_day=last_day)
    due = next(dues, None)
    if due is None or due.astimezone(UTC).date() > last_day:
        return None
    return due


def occurrences(
    recurrence: Recurrence, *, series_start: datetime, tz: ZoneInfo, after: datetime, limit: int
) -> list[datetime]:
    """Up to `limit` dues of the series strictly after `after`, as `next_due` would chain them.

    The preview follows the schedule from `series_start` in both modes: a series that counts
    from completion has no later dues known before it is completed. COUNT is counted from the
    start, so with COUNT the occurrences before `after` are walked too (at most `MAX_STEPS`).
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    parsed = _parse_rule(recurrence.rule)
    start_wall = _wall(series_start, tz, "series_start").replace(microsecond=0)
    _wall(after, tz, "after")  # refuses a naive `after`
    floor = after.astimezone(UTC)
    if parsed.count is None:
        return list(islice(_dues_after(parsed, start=start_wall, after=after, tz=tz), limit))
    found: list[datetime] = []
    if limit == 0:
        return found
    first = resolve_wall(start_wall, tz) - _SECOND
    walked = 0
    for due in islice(_dues_after(parsed, start=start_wall, after=first, tz=tz), parsed.count):
        if due.astimezone(UTC) <= floor:
            walked += 1
            if walked > MAX_STEPS:
                raise SearchLimitReached(
                    f"more than {MAX_STEPS} occurrences lie between the start and the preview"
                )
            continue
        found.append(due)
        if len(found) == limit:
            break
    return found


def _dues_after(
    parsed: _Rule, *, start: datetime, after: datetime, tz: ZoneInfo, last_day: date = date.max
) -> Iterator[datetime]:
    """The dues of the series from the naive `start`, strictly after the aware `after`, in
    order and each instant once, aware in `tz`; without COUNT (the callers count).

    Wall times become instants by `resolve_wall`, which is not monotonic: a time in a gap
    moves forward past the real times just after the gap (on a spring-forward day in New
    York, 02:45 becomes 03:45 EDT, later than 03:30), and the times of a repeated hour resolve
    to its first pass. So the walk starts early enough to see such a time, and before giving
    a moved one it gives the later wall times that land before it.
    """
    latest = after.astimezone(UTC)
    floor = earliest_wall_after(after, tz)
    for wall in _series_walls(parsed, start=start, after=floor, tz=tz, last_day=last_day):
        due = resolve_wall(wall, tz)
        if due.astimezone(UTC) <= latest:
            continue  # before `after`, or an instant given already
        moved_to = wall_clock(due, tz)
        if moved_to != wall:
            until = min(moved_to, _last_wall(parsed, tz, last_day))
            for passed in walls_after(parsed.parts, dtstart=start, after=wall, until=until):
                earlier = resolve_wall(passed, tz)
                if latest < earlier.astimezone(UTC) < due.astimezone(UTC):
                    yield earlier
                    latest = earlier.astimezone(UTC)
        yield due
        latest = due.astimezone(UTC)


def _series_walls(
    parsed: _Rule,
    *,
    start: datetime,
    after: datetime,
    tz: ZoneInfo,
    last_day: date = date.max,
) -> Iterator[datetime]:
    """Naive wall times of the series from the naive `start`, strictly after the naive `after`,
    without COUNT (the callers count).

    As RFC 5545 says, the start is always the first occurrence, even when the rule itself would
    not produce it.
    """
    start = start.replace(microsecond=0)
    if after < start and not _on_rule(parsed.parts, start):
        yield start
    until = _last_wall(parsed, tz, last_day)
    yield from walls_after(parsed.parts, dtstart=start, after=after, until=until)


def _last_wall(parsed: _Rule, tz: ZoneInfo, last_day: date) -> datetime:
    """The last wall time the series may have: its UNTIL, or the end of `last_day`."""
    last_wall = datetime.combine(last_day, time.max)
    if parsed.until is None:
        return last_wall
    return min(_local_until(parsed.until, tz), last_wall)


def _on_rule(parts: Parts, start: datetime) -> bool:
    """Does the rule itself produce its start?"""
    try:
        first = next(walls_after(parts, dtstart=start, after=start - _SECOND))
    except (StopIteration, SearchLimitReached):
        return False
    return first == start


def _wall(moment: datetime, tz: ZoneInfo, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return wall_clock(moment, tz)


def _local_until(until: date | datetime, tz: ZoneInfo) -> datetime:
    """UNTIL as a naive wall time in `tz`, the way every wall time of the series is compared."""
    if isinstance(until, datetime):
        if until.tzinfo is None:
            return until
        try:
            return until.astimezone(tz).replace(tzinfo=None)
        except OverflowError:  # the last hours of the year 9999, east of UTC
            return datetime.combine(date.max, time.max)
    return datetime.combine(until, time.max)


def _never_occurs(parts: Parts) -> bool:
    # With INTERVAL=1 the occurrences include those of any INTERVAL, from any start.
    probe = replace(parts, interval=1)
    start = _PROBE_START.replace(
        hour=min(parts.hours, default=0),
        minute=min(parts.minutes, default=0),
        second=min(parts.seconds, default=0),
    )
    try:
        return next(walls_after(probe, dtstart=start, after=start - _SECOND), None) is None
    except SearchLimitReached:
        return True


@lru_cache(maxsize=1024)  # pragma: no mutate (a cache changes speed, never results)
def _parse_rule(rule: str) -> _Rule:
    parts = _split_parts(rule)
    freq = parts.get("FREQ")
    if freq is None:
        raise InvalidRecurrence("FREQ is required")
    if freq not in FREQUENCIES:
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
    schedule = _schedule_of(freq, normalized)
    ordered = [f"{key}={normalized[key]}" for key in _PART_ORDER if key in normalized]
    return _Rule(
        text=";".join(ordered),
        parts=schedule,
        never_occurs=_never_occurs(schedule),
        count=count,
        until=until,
        given=frozenset(normalized),
    )


def _schedule_of(freq: str, normalized: dict[str, str]) -> Parts:
    def numbers(key: str) -> tuple[int, ...]:
        given = normalized.get(key)
        return () if given is None else tuple(sorted({int(n) for n in given.split(",")}))

    weekdays: list[Weekday] = []
    for item in normalized.get("BYDAY", "").split(",") if "BYDAY" in normalized else []:
        match = _DAY.fullmatch(item)
        assert match is not None  # _by_day wrote it
        n = None if match["n"] is None else int(match["n"])
        weekdays.append(Weekday(_WEEKDAYS.index(match["day"]), n))
    return Parts(
        freq=freq,
        interval=int(normalized.get("INTERVAL", "1")),
        wkst=_WEEKDAYS.index(normalized.get("WKST", "MO")),
        months=numbers("BYMONTH"),
        weeknos=numbers("BYWEEKNO"),
        yeardays=numbers("BYYEARDAY"),
        monthdays=numbers("BYMONTHDAY"),
        weekdays=tuple(dict.fromkeys(weekdays)),
        hours=numbers("BYHOUR"),
        minutes=numbers("BYMINUTE"),
        seconds=numbers("BYSECOND"),
        setpos=numbers("BYSETPOS"),
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
