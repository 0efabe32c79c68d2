"""Everyday recurrence phrases ("every 2nd monday", "every! 3 days") turned into RRULEs.

The grammar is deliberately small and exact: a phrase either maps to one rule or is refused with
a hint, never guessed. "every!" follows Todoist: the next due counts from the completion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from haven.recurrence.errors import InvalidRecurrence
from haven.recurrence.rules import Mode, check_length, normalize_rule

_DAY_NAMES: Final = {
    "MO": ("monday", "mon"),
    "TU": ("tuesday", "tues", "tue"),
    "WE": ("wednesday", "wed"),
    "TH": ("thursday", "thurs", "thur", "thu"),
    "FR": ("friday", "fri"),
    "SA": ("saturday", "sat"),
    "SU": ("sunday", "sun"),
}
_WEEKDAY_OF: Final = {name: code for code, names in _DAY_NAMES.items() for name in names}
_MONTH_NAMES: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_OF: Final = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_NUMBER_WORDS: Final = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "other": 2,
    # "every second week", "every third day"
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
}
_ORDINAL_WORDS: Final = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "last": -1,
    "second to last": -2,
    "second last": -2,
    "penultimate": -2,
}
_UNITS: Final = {
    "hour": "HOURLY",
    "day": "DAILY",
    "week": "WEEKLY",
    "month": "MONTHLY",
    "year": "YEARLY",
}
_ADVERBS: Final = {
    "hourly": ("HOURLY", 1),
    "daily": ("DAILY", 1),
    "everyday": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "fortnightly": ("WEEKLY", 2),
    "biweekly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "quarterly": ("MONTHLY", 3),
    "yearly": ("YEARLY", 1),
    "annually": ("YEARLY", 1),
}
_WORKDAYS: Final = ("MO", "TU", "WE", "TH", "FR")
_WEEKEND: Final = ("SA", "SU")


def _alternatives(words: Iterable[str]) -> str:
    # Longest first, so "second to last" wins over "second" and "thurs" over "thu".
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_DAY: Final = rf"(?:{_alternatives(_WEEKDAY_OF)})s?"
_DAY_LIST: Final = rf"{_DAY}(?:\s*(?:,|&|\band\b)\s*(?:and\s+)?{_DAY})*"
_ORDINAL: Final = rf"(?:\d{{1,3}}(?:st|nd|rd|th)|{_alternatives(_ORDINAL_WORDS)})"
_ORDINAL_LIST: Final = rf"{_ORDINAL}(?:\s*(?:,|&|\band\b)\s*(?:and\s+)?{_ORDINAL})*"
_COUNT_WORD: Final = rf"(?:\d{{1,9}}|{_alternatives(_NUMBER_WORDS)})"
_MONTH: Final = rf"(?:{_alternatives(_MONTH_OF)})"
_OF_MONTH: Final = r"(?:\s+of\s+(?:the|every|each)\s+month)?"
_LIST_SEPARATOR: Final = re.compile(r"\s*(?:,|&|\band\b)\s*")

_UNTIL_SUFFIX: Final = re.compile(r"^(?P<rest>.*?),?\s+until\s+(?P<date>.+)$")
_COUNT_SUFFIX: Final = re.compile(r"^(?P<rest>.*?),?\s+(?:for\s+)?(?P<count>\d{1,9})\s+times$")
_EVERY: Final = re.compile(r"^every\s*(?P<bang>!)?\s*(?P<body>.*)$")


@dataclass(slots=True)
class _Draft:
    """The parts of a rule as the phrase reveals them."""

    freq: str
    interval: int = 1
    by_day: list[str] = field(default_factory=list)
    by_month_day: list[int] = field(default_factory=list)
    by_month: list[int] = field(default_factory=list)
    count: int | None = None
    until: date | None = None

    def rule(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.by_month:
            parts.append("BYMONTH=" + ",".join(str(m) for m in self.by_month))
        if self.by_month_day:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.by_month_day))
        if self.by_day:
            parts.append("BYDAY=" + ",".join(self.by_day))
        return normalize_rule(";".join(parts))


def phrase_to_rule(text: str) -> tuple[str, Mode]:
    """The normalized RRULE and mode a phrase means; raises `InvalidRecurrence` if unclear."""
    check_length(text)
    phrase = " ".join(text.lower().split()).rstrip(".")
    count: int | None = None
    until: date | None = None
    while True:
        # The count first: "until" takes all the rest of the phrase as its date.
        if count is None and (match := _COUNT_SUFFIX.match(phrase)):
            count = int(match["count"])
        elif until is None and (match := _UNTIL_SUFFIX.match(phrase)):
            until = _iso_date(match["date"])
        else:
            break
        phrase = match["rest"]
    mode: Mode = "due"
    draft: _Draft | None
    if phrase in _ADVERBS:
        freq, interval = _ADVERBS[phrase]
        draft = _Draft(freq, interval)
    elif match := _EVERY.match(phrase):
        if match["bang"]:
            mode = "completion"
        draft = _every(match["body"])
    else:
        draft = None
    if draft is None:
        raise InvalidRecurrence(
            f'could not understand "{text.strip()}"; try e.g. "every 2nd monday" or an RRULE'
        )
    draft.count, draft.until = count, until
    return draft.rule(), mode


def _every(body: str) -> _Draft | None:
    """The rule for what follows "every"."""
    unit = r"(?P<unit>hour|day|week|month|year)s?"
    if match := re.fullmatch(rf"(?:(?P<n>{_COUNT_WORD})\s+)?{unit}", body):
        return _Draft(_UNITS[match["unit"]], _count(match["n"]))
    if body == "fortnight":
        return _Draft("WEEKLY", 2)
    if re.fullmatch(r"(?:week|work|business)\s?days?", body):
        return _Draft("WEEKLY", by_day=list(_WORKDAYS))
    if re.fullmatch(r"weekends?", body):
        return _Draft("WEEKLY", by_day=list(_WEEKEND))
    if match := re.fullmatch(
        rf"(?:(?P<n>{_COUNT_WORD})\s+weeks?\s+on\s+|(?P<other>other)\s+|week\s+on\s+)?"
        rf"(?P<days>{_DAY_LIST})",
        body,
    ):
        interval = 2 if match["other"] else _count(match["n"])
        return _Draft("WEEKLY", interval, by_day=_days(match["days"]))
    if match := re.fullmatch(
        rf"(?:(?P<n>{_COUNT_WORD})\s+months?\s+on\s+(?:the\s+)?|month\s+on\s+(?:the\s+)?)?"
        rf"(?P<ordinals>{_ORDINAL_LIST})\s+(?P<day>{_DAY}){_OF_MONTH}",
        body,
    ):
        weekday = _days(match["day"])[0]
        by_day = [f"{n}{weekday}" for n in _ordinals(match["ordinals"])]
        return _Draft("MONTHLY", _count(match["n"]), by_day=by_day)
    if match := re.fullmatch(
        rf"(?:(?P<n>{_COUNT_WORD})\s+months?\s+on\s+(?:the\s+)?|month\s+on\s+(?:the\s+)?)?"
        rf"(?P<ordinals>{_ORDINAL_LIST})(?:\s+day)?{_OF_MONTH}",
        body,
    ):
        return _Draft("MONTHLY", _count(match["n"]), by_month_day=_ordinals(match["ordinals"]))
    if match := re.fullmatch(
        rf"(?:year\s+on\s+)?(?:(?P<month>{_MONTH})\s+(?:the\s+)?(?P<day>{_ORDINAL}|\d{{1,2}})"
        rf"|(?:the\s+)?(?P<day2>{_ORDINAL}|\d{{1,2}})\s+(?:of\s+)?(?P<month2>{_MONTH}))",
        body,
    ):
        month = _MONTH_OF[match["month"] or match["month2"]]
        day = _ordinals(match["day"] or match["day2"])
        return _Draft("YEARLY", by_month=[month], by_month_day=day)
    return None


def _count(word: str | None) -> int:
    if word is None:
        return 1
    return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)


def _days(text: str) -> list[str]:
    codes: list[str] = []
    for name in filter(None, _LIST_SEPARATOR.split(text)):
        code = _WEEKDAY_OF.get(name) or _WEEKDAY_OF[name.removesuffix("s")]
        if code not in codes:
            codes.append(code)
    return codes


def _ordinals(text: str) -> list[int]:
    numbers: list[int] = []
    for word in filter(None, _LIST_SEPARATOR.split(text)):
        if word in _ORDINAL_WORDS:
            number = _ORDINAL_WORDS[word]
        else:
            number = int(re.sub(r"(?:st|nd|rd|th)$", "", word))
        if number not in numbers:
            numbers.append(number)
    return numbers


def _iso_date(value: str) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # a well-formed but impossible date, like 2027-02-30
    raise InvalidRecurrence(f'until: "{value}" is not a date (use YYYY-MM-DD, e.g. 2027-01-31)')
