"""API shapes of quick add: the line in, the created task (or a preview) and its parts out."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from haven.core.schemas import RequestBody
from haven.core.timezones import TimeZoneName
from haven.tags.schemas import TagName
from haven.tasks.quick_add.parser import MAX_LENGTH
from haven.tasks.quick_add.result import Kind, QuickAdd
from haven.tasks.schemas import DueValue, PriorityName, RecurrenceOut, TaskOut

if TYPE_CHECKING:
    from haven.tasks.quick_add.service import Reading


class QuickAddIn(RequestBody):
    text: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        examples=["Call the dentist tomorrow at 5pm, remind me 30 minutes before"],
    )
    id: uuid.UUID | None = Field(None, description="client-chosen id; makes a retry idempotent")
    workspace_id: uuid.UUID | None = Field(
        None, description="default: the project's workspace, else your personal workspace"
    )
    project_id: uuid.UUID | None = Field(None, description="the project if the line names none")
    tags: list[TagName] = Field(
        default_factory=list, max_length=50, description="tags besides those the line names"
    )
    due: DueValue | None = Field(None, description="the due if the line names none")
    timezone: TimeZoneName | None = Field(
        None, description="IANA zone the line is read in (and the task's); default: your profile's"
    )
    language: Literal["en"] = Field("en", description="the grammar the line is read with")


class ParsedPart(BaseModel):
    """A part of the line that was understood; `start`/`end` count UTF-16 code units, as
    JavaScript string indices do, so `text.slice(start, end)` is the part."""

    text: str
    start: int
    end: int
    kind: Kind


class QuickAddReminder(BaseModel):
    at: datetime | None
    offset_minutes: int | None


class QuickAddCreated(TaskOut):
    parsed: list[ParsedPart]


class QuickAddPreview(BaseModel):
    """What the line would create (`?dry_run=true`); nothing is written."""

    title: str
    due: DueValue | None
    priority: PriorityName
    project: str | None = Field(description="the project's name, from #project or project_id")
    project_id: uuid.UUID | None = Field(description="null when #project would be created")
    tags: list[str]
    recurrence: RecurrenceOut | None
    reminders: list[QuickAddReminder]
    timezone: str
    parsed: list[ParsedPart]


def parts_to_list(result: QuickAdd) -> list[dict[str, Any]]:
    return [
        {"text": span.text, "start": span.start, "end": span.end, "kind": span.kind}
        for span in result.spans
    ]


def preview_to_dict(reading: Reading, *, default_due: date | datetime | None) -> dict[str, Any]:
    """What a dry run answers; the shape of QuickAddPreview."""
    line = reading.line
    repeats = line.recurrence
    due = line.due if line.due is not None else default_due
    return {
        "title": line.title,
        # In UTC, as a task shows its due.
        "due": due.astimezone(UTC) if isinstance(due, datetime) else due,
        "priority": line.priority or "none",
        "project": reading.project_name,
        "project_id": reading.project_id,
        "tags": reading.tags,
        "recurrence": (
            {"rule": repeats.rule, "mode": repeats.mode, "text": repeats.text} if repeats else None
        ),
        "reminders": [
            {"at": r.at.astimezone(UTC) if r.at else None, "offset_minutes": r.offset_minutes}
            for r in line.reminders
        ],
        "timezone": reading.timezone,
        "parsed": parts_to_list(line),
    }
