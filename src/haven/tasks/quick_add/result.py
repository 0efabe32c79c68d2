"""What a quick-add line means: the parts a grammar finds and the result they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from haven.recurrence import Mode

Kind = Literal["due", "recurrence", "reminder", "project", "tag", "priority"]
PriorityName = Literal["urgent", "high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class Context:
    """The moment a line is read in: the user's wall clock and zone."""

    now: datetime
    """Aware, in `zone`."""
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True, slots=True)
class OnDay:
    """A due date: "tomorrow", "next fri", "dec 24"."""

    day: date


@dataclass(frozen=True, slots=True)
class AtTime:
    """A time of day: "5pm", "at noon"; `day` when the phrase names one too ("tonight")."""

    time: time
    day: date | None = None


@dataclass(frozen=True, slots=True)
class InDuration:
    """An instant from now: "in 3 hours"."""

    delta: timedelta


@dataclass(frozen=True, slots=True)
class Repeats:
    rule: str
    mode: Mode
    text: str


@dataclass(frozen=True, slots=True)
class RemindBefore:
    minutes: int


@dataclass(frozen=True, slots=True)
class RemindAt:
    time: time
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Named:
    """A project, tag or priority, by the name typed (a priority's name is normalized)."""

    name: str


Value = OnDay | AtTime | InDuration | Repeats | RemindBefore | RemindAt | Named


@dataclass(frozen=True, slots=True)
class Found:
    """One part of the line a grammar understood; offsets are code points into the line."""

    start: int
    end: int
    kind: Kind
    value: Value


@dataclass(frozen=True, slots=True)
class Span:
    """A part of the line as the UI highlights it.

    `start`/`end` count UTF-16 code units (JavaScript string indices), so that
    `text.slice(start, end)` in the browser is exactly the part, emoji and all.
    """

    text: str
    start: int
    end: int
    kind: Kind


@dataclass(frozen=True, slots=True)
class Reminder:
    """Either minutes before the due or an aware instant."""

    offset_minutes: int | None = None
    at: datetime | None = None


@dataclass(slots=True)
class QuickAdd:
    """A quick-add line understood: the task it describes, before project and tags resolve."""

    title: str
    due: date | datetime | None = None
    """A date (all day) or an aware instant in the user's zone."""
    recurrence: Repeats | None = None
    reminders: list[Reminder] = field(default_factory=list)
    project: str | None = None
    tags: list[str] = field(default_factory=list)
    priority: PriorityName | None = None
    spans: list[Span] = field(default_factory=list)
