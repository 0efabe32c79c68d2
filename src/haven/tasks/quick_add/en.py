"""English quick-add grammar: dates, times, reminders and recurrence phrases.

Why our own grammar and not dateparser: measured on this project's phrase table,
`dateparser.search.search_dates` took 2-5 ms a line (300 ms on the first), read "1984 by" as
the year 1984, "555-1234 tomorrow" as one date, "May the force" as May and "Sun Ra" as a
Sunday; it finds no recurrence or reminders and answers substrings rather than offsets. The
phrases a task line uses are few, so a small exact grammar is faster and says no to what only
looks like a date. Recurrence phrases are not repeated here: `haven.recurrence.phrase_to_rule`
is the one home of "every 2nd monday".

The rules a person may wonder about:

- A weekday alone, or with "on"/"by"/"due"/"next", is the first such day *after* today: on a
  Friday, "fri" and "next fri" are both next week's Friday (one would write "today"). "this fri"
  counts today. "next" never skips a week: on Monday, "next fri" is in four days.
- "sun", "sat" and "wed" are English words too; alone they stay in the title ("Watch Sun Ra");
  after "on", "by", "due", "this", "next" or "until" they are days.
- A time alone ("at 5pm") is today if that time is still ahead, else tomorrow.
- "at 5" is 05:00: a bare hour is read on the 24-hour clock ("at 17" is 17:00).
- "dec 24" without a year is the next Dec 24 from today on (today counts).
- "in 3 days" is a date; "in 3 hours" an instant.
- Numeric dates other than ISO ("12/11") are ambiguous between countries and stay in the title.
- "remind me ..." is understood only with an offset ("30m before") or a time ("at 9am");
  "Remind me to call Bob" is a title.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from datetime import date, time, timedelta
from typing import Final

from haven.recurrence import InvalidRecurrence, phrase_to_rule
from haven.tasks.quick_add.result import (
    AtTime,
    Context,
    Found,
    InDuration,
    OnDay,
    RemindAt,
    RemindBefore,
    Repeats,
)
from haven.tasks.schemas import FIRST_YEAR, LAST_YEAR

_FLAGS: Final = re.IGNORECASE
# A part starts where no word, number, symbol or date punctuation touches it, and ends so too:
# "555-1234" holds no time and "1984" no year.
_B: Final = r"(?<![\w@#/:.\-])"
_E: Final = r"(?![\w/:\-@#]|\.\w)"
_WORD_E: Final = r"(?![\w/\-@#]|\.\w)"  # a word may end before a colon: "Tomorrow: call Ann"

_WEEKDAYS: Final = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tues": 1, "tue": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_WORD_DAYS: Final = frozenset({"wed", "sat", "sun"})
_MONTHS: Final = {
    name: number
    for number, full in enumerate(calendar.month_name)
    if full
    for name in (full.lower(), full.lower()[:3])
} | {"sept": 9}
_NUMBERS: Final = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


def _alternatives(words: Iterable[str]) -> str:
    # Longest first, so "tuesday" wins over "tue".
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_DAY_NAME: Final = rf"(?:{_alternatives(_WEEKDAYS)})"
_MONTH_NAME: Final = rf"(?:{_alternatives(_MONTHS)})\.?"
_NUMBER: Final = rf"(?:\d{{1,3}}|{_alternatives(_NUMBERS)})"
_ORD: Final = r"(?:st|nd|rd|th)?"
_YEAR: Final = r"(?:,?\s+(?P<year>\d{4}))?"
_DATE_PREFIX: Final = r"(?:(?:on|by|due|for|until|from|starting)\s+)?"

_CLOCK: Final = (
    r"(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ap>[ap]\.?m\.?)"  # 5pm, 5:30 pm, 5 p.m.
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})"  # 17:00
    r"|(?P<noon>noon|midday)|(?P<midnight>midnight))"
)
_AT_HOUR: Final = r"(?:at|@)\s+(?P<bare>\d{1,2})"  # "at 17"

_P_TIME: Final = re.compile(rf"{_B}(?:(?:at|@)\s+)?{_CLOCK}{_E}|{_B}{_AT_HOUR}{_E}", _FLAGS)
_P_ISO: Final = re.compile(
    rf"{_B}{_DATE_PREFIX}(?P<y>\d{{4}})-(?P<mo>\d{{2}})-(?P<d>\d{{2}}){_E}", _FLAGS
)
_P_MONTH_DAY: Final = re.compile(
    rf"{_B}{_DATE_PREFIX}(?P<month>{_MONTH_NAME})\s+(?:the\s+)?(?P<day>\d{{1,2}}){_ORD}{_YEAR}{_E}",
    _FLAGS,
)
_P_DAY_MONTH: Final = re.compile(
    rf"{_B}{_DATE_PREFIX}(?:the\s+)?(?P<day>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<month>{_MONTH_NAME})"
    rf"{_YEAR}{_E}",
    _FLAGS,
)
_P_WEEKDAY: Final = re.compile(
    rf"{_B}(?:(?P<pre>on|by|due|this|next|until|from|starting)\s+)?(?P<day>{_DAY_NAME})\.?{_WORD_E}",
    _FLAGS,
)
_P_WORD: Final = re.compile(
    rf"{_B}{_DATE_PREFIX}(?P<word>today|tonight|tomorrow|tmrw?"
    r"|(?:the\s+)?day\s+after\s+tomorrow|next\s+(?:week|month|year)|(?:this\s+)?weekend"
    rf"|(?:the\s+)?end\s+of\s+(?:the\s+)?month){_WORD_E}",
    _FLAGS,
)
_P_IN: Final = re.compile(
    rf"{_B}in\s+(?P<n>{_NUMBER})\s+(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|months?"
    rf"|years?){_E}",
    _FLAGS,
)
_P_REMIND_BEFORE: Final = re.compile(
    rf"{_B}(?:remind(?:\s+me)?|(?:with\s+)?(?:an?\s+)?reminder)\s+(?P<n>{_NUMBER})\s*"
    r"(?P<unit>m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)\s+"
    rf"(?:before|early|earlier|ahead|in\s+advance|beforehand){_E}",
    _FLAGS,
)
_P_REMIND_AT: Final = re.compile(
    rf"{_B}(?:remind(?:\s+me)?|(?:with\s+)?(?:an?\s+)?reminder)\s+"
    rf"(?:(?P<when>today|tomorrow|tmrw?)\s+)?(?:(?:at|@)\s+)?{_CLOCK}{_E}",
    _FLAGS,
)
_P_REPEAT_START: Final = re.compile(
    rf"{_B}(?:every(?=[\s!])|daily|weekly|monthly|yearly|annually|fortnightly|biweekly"
    rf"|quarterly|everyday){_E}",
    _FLAGS,
)
_WORD_END: Final = re.compile(r"\S+")
_MAX_REPEAT_WORDS: Final = 10
"""The longest recurrence phrase ("every 3 months on the 1st and 15th until 2027-01-31")."""
_MAX_REPEAT_TRIES: Final = 8
"""Where "every" starts no phrase this often, the line is not about recurrence."""


def find(text: str, ctx: Context) -> list[list[Found]]:
    """Every part the grammar sees in `text`, in tiers: an earlier tier's part wins an overlap."""
    return [
        [*_reminders(text, ctx)],
        [*_recurrence(text)],
        [*_dates(text, ctx), *_times(text)],
    ]


# --- times --------------------------------------------------------------------------


def _clock(match: re.Match[str]) -> time | None:
    if match["noon"]:
        return time(12)
    if match["midnight"]:
        return time(0)
    if match["ap"]:
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return time(hour % 12 + (12 if match["ap"].lower().startswith("p") else 0), minute)
    hour, minute = int(match["h24"]), int(match["m24"])
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _times(text: str) -> Iterator[Found]:
    for match in _P_TIME.finditer(text):
        if match["bare"] is not None:
            hour = int(match["bare"])
            at: time | None = time(hour) if hour <= 23 else None
        else:
            at = _clock(match)
        if at is not None:
            yield Found(match.start(), match.end(), "due", AtTime(at))


# --- dates --------------------------------------------------------------------------


def _dates(text: str, ctx: Context) -> Iterator[Found]:
    today = ctx.today
    for match in _P_ISO.finditer(text):
        day = _date_or_none(int(match["y"]), int(match["mo"]), int(match["d"]))
        if day is not None:
            yield Found(match.start(), match.end(), "due", OnDay(day))
    for pattern in (_P_MONTH_DAY, _P_DAY_MONTH):
        for match in pattern.finditer(text):
            month = _MONTHS[match["month"].lower().rstrip(".")]
            day = _month_day(today, month, int(match["day"]), match["year"])
            if day is not None:
                yield Found(match.start(), match.end(), "due", OnDay(day))
    for match in _P_WEEKDAY.finditer(text):
        name, pre = match["day"].lower(), (match["pre"] or "").lower()
        if name in _WORD_DAYS and not pre:
            continue
        ahead = (_WEEKDAYS[name] - today.weekday()) % 7
        if ahead == 0 and pre != "this":
            ahead = 7
        yield Found(match.start(), match.end(), "due", OnDay(today + timedelta(days=ahead)))
    for match in _P_WORD.finditer(text):
        yield Found(match.start(), match.end(), "due", _word_day(match["word"], today))
    for match in _P_IN.finditer(text):
        n = _number(match["n"])
        unit = match["unit"].lower()
        if unit.startswith(("min", "h")):
            delta = timedelta(minutes=n) if unit.startswith("min") else timedelta(hours=n)
            yield Found(match.start(), match.end(), "due", InDuration(delta))
            continue
        found = _plus(today, n, unit)
        if found is not None:
            yield Found(match.start(), match.end(), "due", OnDay(found))


def _word_day(word: str, today: date) -> OnDay | AtTime:
    word = " ".join(word.lower().split()).removeprefix("the ")
    if word == "today":
        return OnDay(today)
    if word == "tonight":
        return AtTime(time(20), day=today)
    if word in ("tomorrow", "tmr", "tmrw"):
        return OnDay(today + timedelta(days=1))
    if word == "day after tomorrow":
        return OnDay(today + timedelta(days=2))
    if word == "next week":
        return OnDay(today + timedelta(days=7 - today.weekday()))
    if word == "next month":
        return OnDay((today.replace(day=1) + timedelta(days=32)).replace(day=1))
    if word == "next year":
        return OnDay(date(today.year + 1, 1, 1))
    if word.endswith("weekend"):
        # The coming Saturday; on a Sunday the weekend is today.
        ahead = 0 if today.weekday() == 6 else 5 - today.weekday()
        return OnDay(today + timedelta(days=ahead))
    # "end of (the) month"
    return OnDay(today.replace(day=calendar.monthrange(today.year, today.month)[1]))


def _number(word: str) -> int:
    return _NUMBERS.get(word.lower()) or int(word)


def _plus(today: date, n: int, unit: str) -> date | None:
    """`today` moved by n days, weeks, months or years (a month end stays in its month)."""
    try:
        if unit.startswith(("d", "w")):
            days = n if unit.startswith("d") else 7 * n
            found = today + timedelta(days=days)
            return found if found.year <= LAST_YEAR else None
        months = n if unit.startswith("mo") else 12 * n
        year, month = divmod(today.month - 1 + months, 12)
        year += today.year
        if year > LAST_YEAR:
            return None
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, min(today.day, last))
    except (OverflowError, ValueError):
        return None


def _date_or_none(year: int, month: int, day: int) -> date | None:
    """The date, if it exists and lies in the years a task may be due in."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(today: date, month: int, day: int, year: str | None) -> date | None:
    if year is not None:
        return _date_or_none(int(year), month, day)
    # The next such day from today on; Feb 29 waits for a leap year.
    for candidate_year in range(today.year, today.year + 9):
        found = _date_or_none(candidate_year, month, day)
        if found is not None and found >= today:
            return found
    return None


# --- reminders ----------------------------------------------------------------------

_MINUTES_PER: Final = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def _reminders(text: str, ctx: Context) -> Iterator[Found]:
    for match in _P_REMIND_BEFORE.finditer(text):
        unit = match["unit"].lower()
        per = _MINUTES_PER["m" if unit.startswith("mi") or unit == "m" else unit[0]]
        minutes = _number(match["n"]) * per
        if minutes <= 525_600:
            yield Found(match.start(), match.end(), "reminder", RemindBefore(minutes))
    for match in _P_REMIND_AT.finditer(text):
        at = _clock(match)
        if at is None:
            continue
        when = (match["when"] or "").lower()
        day = None
        if when == "today":
            day = ctx.today
        elif when:
            day = ctx.today + timedelta(days=1)
        yield Found(match.start(), match.end(), "reminder", RemindAt(at, day))


# --- recurrence ---------------------------------------------------------------------


def _recurrence(text: str) -> Iterator[Found]:
    """The longest phrase from each "every"/"weekly" on that `phrase_to_rule` accepts."""
    for tries, start in enumerate(_P_REPEAT_START.finditer(text)):
        if tries == _MAX_REPEAT_TRIES:
            return
        ends = [
            word.end() for word in _WORD_END.finditer(text, start.start(), start.start() + 120)
        ][:_MAX_REPEAT_WORDS]
        for end in reversed(ends):
            phrase = text[start.start() : end].rstrip(",.;:")
            if not phrase.strip() or phrase.endswith(" "):
                continue
            try:
                rule, mode = phrase_to_rule(phrase)
            except InvalidRecurrence:
                continue
            yield Found(
                start.start(),
                start.start() + len(phrase),
                "recurrence",
                Repeats(rule, mode, " ".join(phrase.split())),
            )
            break
