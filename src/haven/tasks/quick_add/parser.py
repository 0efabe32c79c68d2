"""Read a quick-add line: "Call the dentist tomorrow at 5pm, remind me 30 minutes before".

`parse_quick_add` is a pure function of the line, the moment and the user's zone. The symbols
(`#project`, `@tag`, `p1`..`p4`) are the same in every language; dates, times, reminders and
recurrence come from the language's grammar (`LANGUAGES`, one module each). Where two parts
overlap, the more binding one wins (symbols, then reminders, then recurrence, then dates and
times), then the longer, then the earlier. One project, priority, recurrence, date and time
count, chosen the same way (longer, then earlier); the others stay in the title, as does
anything not understood. A line that would leave
no title is all title ("tomorrow" is a task called "tomorrow").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from haven.recurrence import InvalidRecurrence, Recurrence, occurrences
from haven.tasks.quick_add import en
from haven.tasks.quick_add.result import (
    AtTime,
    Context,
    Found,
    InDuration,
    Kind,
    Named,
    OnDay,
    PriorityName,
    QuickAdd,
    RemindAt,
    RemindBefore,
    Reminder,
    Repeats,
    Span,
)

MAX_LENGTH: Final = 500
"""The longest line read (the API answers 422 beyond; a task title is at most 500 too)."""

Grammar = Callable[[str, Context], list[list[Found]]]
LANGUAGES: Final[dict[str, Grammar]] = {"en": en.find}

_PRIORITIES: Final[dict[str, PriorityName]] = {
    "1": "urgent",
    "2": "high",
    "3": "medium",
    "4": "low",
}
_P_PROJECT: Final = re.compile(r"(?<!\S)#(?P<name>[^\W\d_][\w\-./]*)")
_P_TAG: Final = re.compile(r"(?<!\S)@(?P<name>[^\W_][\w\-./]*)")
_P_PRIORITY: Final = re.compile(r"(?<![\w\-])[pP](?P<n>[1-4])(?![\w\-])")
_INTERVAL: Final = re.compile(r";INTERVAL=\d+")
_SEAM: Final = " \t\n,;:-\u2013\u2014"
"""Spaces and punctuation that only joined a part to the title (en and em dashes too)."""
_LEAD_INS: Final = frozenset({"and", "at", "on", "by", "due", "for", ""})
_SPACE_BEFORE_PUNCTUATION: Final = re.compile(r"\s+(?=[,;:.!?])")


class LineTooLong(ValueError):
    """The line is longer than `MAX_LENGTH`."""


def parse_quick_add(text: str, *, now: datetime, zone: str, language: str = "en") -> QuickAdd:
    """What a quick-add line describes, read at the aware instant `now` in the IANA `zone`.

    Raises `LineTooLong` beyond `MAX_LENGTH` characters and `KeyError` for a language
    without a grammar; any other line parses (what is not understood is title).
    """
    if len(text) > MAX_LENGTH:
        raise LineTooLong(f"the line is too long (at most {MAX_LENGTH} characters)")
    grammar = LANGUAGES[language]
    tz = ZoneInfo(zone)
    ctx = Context(now=now.astimezone(tz), zone=tz)
    tiers = [[*_symbols(text)], *grammar(text, ctx)]
    chosen = _choose(tiers)
    result = _assemble(text, chosen, ctx)
    if not result.title:
        return QuickAdd(title=" ".join(text.split()))
    return result


def _symbols(text: str) -> Iterator[Found]:
    for match in _P_PROJECT.finditer(text):
        name = match["name"].rstrip(".-/")
        yield Found(match.start(), match.start() + 1 + len(name), "project", Named(name))
    for match in _P_TAG.finditer(text):
        name = match["name"].rstrip(".-/")
        yield Found(match.start(), match.start() + 1 + len(name), "tag", Named(name))
    for match in _P_PRIORITY.finditer(text):
        yield Found(match.start(), match.end(), "priority", Named(_PRIORITIES[match["n"]]))


def _choose(tiers: Sequence[Sequence[Found]]) -> list[Found]:
    """The parts that count, in line order: no overlaps, and one of each single kind."""
    taken: list[Found] = []
    seen: set[str] = set()
    for tier in tiers:
        for part in sorted(tier, key=lambda p: (p.start - p.end, p.start)):
            if any(part.start < t.end and t.start < part.end for t in taken):
                continue
            single = _single_slot(part)
            if single is not None:
                if single in seen:
                    continue
                seen.add(single)
            taken.append(part)
    return sorted(taken, key=lambda p: p.start)


def _single_slot(part: Found) -> str | None:
    """Parts of which only the first counts: one project, priority, recurrence, date, time."""
    if part.kind in ("project", "priority", "recurrence"):
        return part.kind
    value = part.value
    if isinstance(value, AtTime) and value.day is None:
        return "time"
    if isinstance(value, OnDay | InDuration | AtTime):
        return "date"  # "tonight" is a date with a time a later "at 9pm" may change
    return None


def _assemble(text: str, parts: list[Found], ctx: Context) -> QuickAdd:
    result = QuickAdd(title=_title(text, parts), spans=_spans(text, parts))
    day: date | None = None
    at: time | None = None
    evening: time | None = None
    instant: datetime | None = None
    for part in parts:
        value = part.value
        if isinstance(value, OnDay):
            day = value.day
        elif isinstance(value, AtTime) and value.day is not None:
            day, evening = value.day, value.time
        elif isinstance(value, AtTime):
            at = value.time
        elif isinstance(value, InDuration):
            instant = _after(ctx.now, value.delta)
        elif isinstance(value, Repeats):
            result.recurrence = value
        elif isinstance(value, Named):
            if part.kind == "project":
                result.project = value.name
            elif part.kind == "tag" and value.name.lower() not in map(str.lower, result.tags):
                result.tags.append(value.name)
            elif part.kind == "priority":
                result.priority = _PRIORITIES[_rank_of(value.name)]
    at = at or evening
    if instant is not None:
        result.due = instant
    elif day is not None and at is not None:
        result.due = _local(day, at, ctx.zone)
    elif day is not None:
        result.due = day
    elif at is not None:
        first = _local(ctx.today, at, ctx.zone)
        result.due = (
            first if first > ctx.now else _local(ctx.today + timedelta(days=1), at, ctx.zone)
        )
    if result.recurrence is not None and day is None and instant is None:
        result.due = _first_occurrence(result.recurrence, ctx, at)
    for part in parts:
        if isinstance(part.value, RemindBefore):
            result.reminders.append(Reminder(offset_minutes=part.value.minutes))
        elif isinstance(part.value, RemindAt):
            result.reminders.append(Reminder(at=_reminder_at(part.value, result.due, ctx)))
    return result


def _rank_of(name: str) -> str:
    return next(key for key, value in _PRIORITIES.items() if value == name)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz`; one in a spring-forward gap lands after the gap."""
    wall = datetime.combine(day, at, tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)


def _after(now: datetime, delta: timedelta) -> datetime:
    """`delta` of real time after `now` (across a DST change too), in now's zone."""
    try:
        return (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
    except OverflowError:
        return now


def _first_occurrence(repeats: Repeats, ctx: Context, at: time | None) -> date | datetime | None:
    """Where a new series starts: the first day from today (at `at`, if given) the rule's
    pattern fits, whatever its INTERVAL: "every 3 weeks on mon" typed on a Friday starts on
    Monday, and the series counts its weeks from there (RFC 5545 would count from this week).
    """
    rule = _INTERVAL.sub("", repeats.rule)
    if "BY" not in rule:
        # The schedule hangs on its start ("weekly", "every year"): the series starts today.
        if at is None:
            return ctx.today
        first = _local(ctx.today, at, ctx.zone)
        return first if first > ctx.now else _local(ctx.today + timedelta(days=1), at, ctx.zone)
    recurrence = Recurrence(rule=rule, mode=repeats.mode, text=repeats.text)
    yesterday = _local(ctx.today - timedelta(days=1), at or time(0), ctx.zone)
    after = ctx.now if at is not None else yesterday
    try:
        found = occurrences(recurrence, series_start=yesterday, tz=ctx.zone, after=after, limit=1)
    except InvalidRecurrence:
        return None
    if not found:
        return None
    return found[0].astimezone(ctx.zone) if at is not None else found[0].astimezone(ctx.zone).date()


def _reminder_at(value: RemindAt, due: date | datetime | None, ctx: Context) -> datetime:
    """A reminder's instant: on its own day, else the due's day, else the next such time."""
    if value.day is not None:
        return _local(value.day, value.time, ctx.zone)
    if isinstance(due, datetime):
        return _local(due.astimezone(ctx.zone).date(), value.time, ctx.zone)
    if isinstance(due, date):
        return _local(due, value.time, ctx.zone)
    first = _local(ctx.today, value.time, ctx.zone)
    return first if first > ctx.now else _local(ctx.today + timedelta(days=1), value.time, ctx.zone)


def _title(text: str, parts: list[Found]) -> str:
    """The line without its parts; only at the seams where a part was are the words that led
    into it ("at", "on", ",") or the punctuation after it dropped: the rest is as typed."""
    if not parts:
        return " ".join(text.split())
    pieces: list[str] = []
    cursor = 0
    for part in parts:
        piece = text[cursor : part.start]
        pieces.append(_before_part(piece.lstrip(_SEAM) if cursor else piece))
        cursor = part.end
    pieces.append(text[cursor:].lstrip(_SEAM))
    title = " ".join(" ".join(pieces).split())
    return _SPACE_BEFORE_PUNCTUATION.sub("", title)


def _before_part(piece: str) -> str:
    """`piece` without the punctuation and the few words that only led into the next part."""
    for _ in range(3):  # "Call Bob, and at" at most
        piece = piece.rstrip(_SEAM)
        head, _space, last = piece.rpartition(" ")
        if last.lower() not in _LEAD_INS:
            break
        piece = head
    return piece


def _spans(text: str, parts: list[Found]) -> list[Span]:
    """The parts as highlights; neighbours of one kind with only spaces between are one."""
    merged: list[tuple[int, int, Kind]] = []
    for part in parts:
        if merged and merged[-1][2] == part.kind and not text[merged[-1][1] : part.start].strip():
            merged[-1] = (merged[-1][0], part.end, part.kind)
        else:
            merged.append((part.start, part.end, part.kind))
    units = _utf16_offsets(text)
    return [
        Span(text=text[start:end], start=units[start], end=units[end], kind=kind)
        for start, end, kind in merged
    ]


def _utf16_offsets(text: str) -> list[int]:
    """For each code point offset (and the end), the UTF-16 offset a JavaScript string uses."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + (2 if ord(char) > 0xFFFF else 1))
    return offsets
