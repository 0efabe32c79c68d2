"""API shapes of tasks, their reminders, time logs and history; the one place each becomes JSON."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)
from sqlalchemy import inspect

from haven.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from haven.core.schemas import FromText, PatchBody, RequestBody
from haven.core.text import one_line
from haven.core.timezones import TimeZoneName
from haven.tags.schemas import TagName
from haven.tasks.models import Reminder, TimeLog

Status = Literal["todo", "in_progress", "blocked", "done", "cancelled"]
PriorityName = Literal["none", "low", "medium", "high", "urgent"]
RecurrenceMode = Literal["due", "completion"]
PRIORITY_RANK: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}
PRIORITY_NAME: dict[int, str] = {rank: name for name, rank in PRIORITY_RANK.items()}
OPEN_STATUSES = ("todo", "in_progress", "blocked")
SORT_FIELDS = ("due", "start", "priority", "created_at", "updated_at", "title", "progress")
_SORT_FIELD = "-?(" + "|".join(SORT_FIELDS) + ")"
SORT_PATTERN = f"^{_SORT_FIELD}(,{_SORT_FIELD})*$"


FIRST_YEAR, LAST_YEAR = 1900, 2200
LAST_DAY = date(LAST_YEAR, 12, 31)
"""The last accepted date: a recurring series whose next occurrence is later ends."""


def _in_calendar_range(value: date) -> date:
    """Dates far outside human planning overflow time-zone arithmetic; refuse them early."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"dates must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


Title = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(one_line)]
Instant = Annotated[AwareDatetime, FromText, AfterValidator(_in_calendar_range)]
DueValue = Instant | Annotated[date, FromText, AfterValidator(_in_calendar_range)]


# --- tasks --------------------------------------------------------------------------


class RecurrenceIn(RequestBody):
    """Either an RFC 5545 RRULE or a phrase such as "every 2nd monday"."""

    rule: str | None = Field(None, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO"])
    text: str | None = Field(None, max_length=200, examples=["every 2nd monday"])
    mode: RecurrenceMode | None = Field(
        None, description="due: from the due date (default); completion: from completion time"
    )

    @model_validator(mode="after")
    def _one_of(self) -> RecurrenceIn:
        if (self.rule is None) == (self.text is None):
            raise ValueError("give exactly one of 'rule' or 'text'")
        return self


class RecurrenceOut(BaseModel):
    rule: str
    mode: RecurrenceMode
    text: str | None


class ReminderIn(RequestBody):
    at: Instant | None = Field(None, description="an absolute instant")
    offset_minutes: StrictInt | None = Field(
        None, ge=0, le=525_600, description="minutes before the task's due"
    )

    @model_validator(mode="after")
    def _one_of(self) -> ReminderIn:
        if (self.at is None) == (self.offset_minutes is None):
            raise ValueError("give exactly one of 'at' or 'offset_minutes'")
        return self


class ReminderOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    at: datetime | None
    offset_minutes: int | None
    fire_at: datetime | None = Field(description="when it fires; null while the task has no due")
    fired_at: datetime | None = Field(
        description="when the scheduler took it; null until then (and again when re-timed)"
    )
    outcome: Literal["fired", "late", "superseded", "cancelled"] | None = Field(
        description="what became of it: fired on time; late (fired after the worker was "
        "away); superseded (a later reminder of the task fired instead); cancelled (the "
        "task was closed or deleted when its time came); null while it waits"
    )
    created_at: datetime


class TaskCreate(RequestBody):
    id: uuid.UUID | None = Field(None, description="client-chosen id; makes a retry idempotent")
    workspace_id: uuid.UUID | None = Field(
        None, description="default: the project's workspace, else your personal workspace"
    )
    title: Title
    project_id: uuid.UUID | None = None
    description: str = Field("", max_length=100_000)
    status: Status = "todo"
    priority: PriorityName = "none"
    progress: StrictInt = Field(0, ge=0, le=100, description="percent done")
    due: DueValue | None = Field(None, description="a date (all day) or an instant with offset")
    start: DueValue | None = None
    timezone: TimeZoneName | None = Field(
        None, description="IANA zone for dates and recurrence; default: your profile's"
    )
    tags: list[TagName] = Field(default_factory=list, max_length=50)
    parent_id: uuid.UUID | None = Field(None, description="makes this a subtask")
    assignee_id: uuid.UUID | None = None
    estimate_minutes: StrictInt | None = Field(None, ge=0, le=1_000_000)
    recurrence: RecurrenceIn | None = None
    reminders: list[ReminderIn] = Field(default_factory=list, max_length=20)


class TaskUpdate(PatchBody):
    nullable: ClassVar[frozenset[str]] = frozenset(
        {
            "project_id",
            "due",
            "start",
            "parent_id",
            "assignee_id",
            "estimate_minutes",
            "recurrence",
        }
    )

    title: Title | None = None
    project_id: uuid.UUID | None = None
    description: str | None = Field(None, max_length=100_000)
    status: Status | None = None
    priority: PriorityName | None = None
    progress: StrictInt | None = Field(None, ge=0, le=100)
    due: DueValue | None = None
    start: DueValue | None = None
    timezone: TimeZoneName | None = None
    tags: list[TagName] | None = Field(None, max_length=50)
    parent_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    estimate_minutes: StrictInt | None = Field(None, ge=0, le=1_000_000)
    recurrence: RecurrenceIn | None = None


class TaskOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    title: str
    description: str
    status: Status
    priority: PriorityName
    progress: int
    due: DueValue | None
    start: DueValue | None
    timezone: str
    tags: list[str]
    depends_on: list[uuid.UUID]
    assignee_id: uuid.UUID | None
    estimate_minutes: int | None
    recurrence: RecurrenceOut | None
    series_id: uuid.UUID | None
    occurrence_number: int
    completed_at: datetime | None
    deleted_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int
    subtask_count: int = Field(
        description="derived, read-only: the task's direct subtasks, those in the trash left"
        " out. Not in the task's events (it changes with its subtasks' own events)"
    )
    subtasks_done: int = Field(
        description="derived, read-only: how many of those subtasks are closed (done or"
        " cancelled); the task can be completed without ?cascade when it equals subtask_count"
    )


class TaskSearchQuery(BaseModel):
    """The filters a person searches tasks with: GET /tasks takes them, a saved search keeps
    them (haven.savedsearches); lists.filters_from_query checks what a type cannot."""

    project_id: str | None = Field(
        None, max_length=36, description="a project id, or 'none' for tasks in no project"
    )
    status: list[Status] | None = Field(None, description="repeat to match any of several")
    priority: list[PriorityName] | None = Field(None, description="repeat to match any")
    tag: str | None = Field(None, max_length=100, description="a tag name, any case")
    due_before: str | None = Field(
        None, max_length=40, description="an instant with offset, or a date (its start, UTC)"
    )
    due_after: str | None = Field(None, max_length=40, description="as due_before")
    q: str | None = Field(None, max_length=200, description="full-text search")
    sort: str | None = Field(
        None,
        max_length=200,
        pattern=SORT_PATTERN,
        description="comma-separated fields, '-' for descending, e.g. due,-priority",
    )


class TaskFilterQuery(TaskSearchQuery):
    """The filters of GET /tasks (and of GET /tasks/count, which takes the same)."""

    workspace_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    parent_id: str | None = Field(
        None, max_length=36, description="a task id, or 'none' for top-level tasks only"
    )
    whole_day_due_before: str | None = Field(
        None,
        max_length=40,
        description=(
            "as due_before, for whole-day dues only (a date without a time): those match only "
            "when before this bound, timed dues are left to due_before. Overdue, as the web "
            "UI shows it: due_before=<now>&whole_day_due_before=<the start of today>"
        ),
    )
    deleted: bool = Field(False, description="list the trash instead")


class TaskListQuery(TaskFilterQuery):
    """The query of GET /tasks; validated in one pass (this is the busiest endpoint)."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size (1-200)")
    cursor: str | None = Field(
        None, max_length=2048, description="next_cursor of the previous page"
    )


TASK_COUNT_CAP = 10_000
"""GET /tasks/count counts up to this many: its cost stays bounded however many match."""


class TaskCount(BaseModel):
    count: int = Field(description=f"how many tasks match, at most {TASK_COUNT_CAP:,}")
    capped: bool = Field(description=f"true when {TASK_COUNT_CAP:,} or more match")


class CompleteResult(BaseModel):
    task: TaskOut
    next: TaskOut | None = Field(description="the next occurrence of a recurring task, or null")


class DependencyCreate(RequestBody):
    depends_on_id: uuid.UUID


class TimeLogOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    user_id: uuid.UUID
    started_at: datetime
    stopped_at: datetime | None
    duration_seconds: int | None
    note: str


class TimerStop(RequestBody):
    note: str = Field("", max_length=500)


class HistoryEntry(BaseModel):
    """A CloudEvents 1.0 event (see docs/events.md)."""

    model_config = ConfigDict(extra="allow")

    specversion: str
    id: uuid.UUID
    type: str
    source: str
    subject: str
    time: datetime
    haven_actor: str
    haven_version: int | None
    haven_position: int | None
    data: dict[str, Any]


# --- the one place a task becomes JSON ------------------------------------------------

# The columns a task's JSON is made of, in the order task_values_to_dict unpacks them.
# Reads select exactly these (repository.TASK_READ_COLUMNS), so a list is built from plain
# tuples without attribute lookups: this runs fifty times per page.
TASK_COLUMNS = (
    "id",
    "workspace_id",
    "project_id",
    "parent_id",
    "title",
    "description",
    "status",
    "priority",
    "progress",
    "due_at",
    "due_is_date",
    "start_at",
    "start_is_date",
    "timezone",
    "tag_names",
    "depends_on",
    "assignee_id",
    "estimate_minutes",
    "recurrence_rule",
    "recurrence_mode",
    "recurrence_text",
    "series_id",
    "occurrence_number",
    "completed_at",
    "deleted_at",
    "created_by",
    "created_at",
    "updated_at",
    "version",
)
# Of a task's subtasks: (how many, how many of them are closed), by the task's id. The
# derived fields of TaskOut; a task missing here has none.
SubtaskCounts = Mapping[uuid.UUID, tuple[int, int]]
NO_SUBTASKS: SubtaskCounts = {}
CLOSED_STATUSES = ("done", "cancelled")


def _instant(value: datetime | None) -> datetime | None:
    """A UTC instant; the JSON writer (core.http.dump_json) renders it RFC 3339 with Z."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def due_json(instant: datetime, is_date: bool, zone: str) -> str | datetime | None:
    """A due or start as the task JSON shows it: a date for a whole-day one, else the instant."""
    if is_date:
        return _local_day(instant, zone)
    return _instant(instant)


@lru_cache(maxsize=4096)
def _local_day(instant: datetime, zone: str) -> str:
    """The calendar day (ISO) a whole-day due or start stands for: its instant is that day's
    start in the task's zone. Remembered: converting to a zone costs about a microsecond, and
    a page's dates are mostly the same few days."""
    return instant.astimezone(ZoneInfo(zone)).date().isoformat()


def task_values_to_dict(values: Sequence[Any]) -> dict[str, Any]:
    """A task's TASK_COLUMNS values (a result row) as it is stored: the shape of TaskOut
    without its derived fields, and the `task` of its events (docs/events.md).

    It runs for every task of a page, so the common cases are written out here rather than
    in helpers: an absent value stays None, and an instant the driver gave in UTC (as
    asyncpg does) is used as it is.
    """
    (
        id_,
        workspace_id,
        project_id,
        parent_id,
        title,
        description,
        status,
        priority,
        progress,
        due_at,
        due_is_date,
        start_at,
        start_is_date,
        timezone,
        tag_names,
        depends_on,
        assignee_id,
        estimate_minutes,
        recurrence_rule,
        recurrence_mode,
        recurrence_text,
        series_id,
        occurrence_number,
        completed_at,
        deleted_at,
        created_by,
        created_at,
        updated_at,
        version,
    ) = values
    recurrence = None
    if recurrence_rule:
        recurrence = {
            "rule": recurrence_rule,
            "mode": recurrence_mode or "due",
            "text": recurrence_text,
        }
    if completed_at is not None and completed_at.tzinfo is not UTC:
        completed_at = completed_at.astimezone(UTC)
    if deleted_at is not None and deleted_at.tzinfo is not UTC:
        deleted_at = deleted_at.astimezone(UTC)
    if created_at.tzinfo is not UTC:
        created_at = created_at.astimezone(UTC)
    if updated_at.tzinfo is not UTC:
        updated_at = updated_at.astimezone(UTC)
    return {
        "id": str(id_),
        "workspace_id": str(workspace_id),
        "project_id": None if project_id is None else str(project_id),
        "parent_id": None if parent_id is None else str(parent_id),
        "title": title,
        "description": description,
        "status": status,
        "priority": PRIORITY_NAME.get(priority, "none"),
        "progress": progress,
        "due": None if due_at is None else due_json(due_at, due_is_date, timezone),
        "start": None if start_at is None else due_json(start_at, start_is_date, timezone),
        "timezone": timezone,
        "tags": list(tag_names) if tag_names else [],
        "depends_on": list(depends_on) if depends_on else [],
        "assignee_id": None if assignee_id is None else str(assignee_id),
        "estimate_minutes": estimate_minutes,
        "recurrence": recurrence,
        "series_id": None if series_id is None else str(series_id),
        "occurrence_number": occurrence_number,
        "completed_at": completed_at,
        "deleted_at": deleted_at,
        "created_by": None if created_by is None else str(created_by),
        "created_at": created_at,
        "updated_at": updated_at,
        "version": version,
    }


def task_to_dict(task: Any) -> dict[str, Any]:
    """A task (ORM object) as it is stored; task_values_to_dict's shape.

    The values the object holds are read from its state's dict (an ORM attribute read costs
    several times a dict look-up, and a write reads a task this way two or three times);
    one it does not hold, expired or never set, is read as an attribute, which loads it.
    """
    held = inspect(task).dict
    return task_values_to_dict(
        [held[name] if name in held else getattr(task, name) for name in TASK_COLUMNS]
    )


def task_values_to_out(values: Sequence[Any], subtasks: SubtaskCounts) -> dict[str, Any]:
    """A task's TASK_COLUMNS values as the API's reads show it: the shape of TaskOut, its
    derived subtask counts looked up by its id in `subtasks`."""
    shown = task_values_to_dict(values)
    shown["subtask_count"], shown["subtasks_done"] = subtasks.get(values[0], (0, 0))
    return shown


def task_to_out(task: Any, subtasks: SubtaskCounts) -> dict[str, Any]:
    """A task (ORM object) as the API's reads show it: the shape of TaskOut."""
    shown = task_to_dict(task)
    shown["subtask_count"], shown["subtasks_done"] = subtasks.get(task.id, (0, 0))
    return shown


def reminder_to_dict(reminder: Reminder) -> dict[str, Any]:
    """A reminder as the API shows it; the shape of ReminderOut."""
    return {
        "id": reminder.id,
        "task_id": reminder.task_id,
        "at": reminder.at,
        "offset_minutes": reminder.offset_minutes,
        "fire_at": reminder.fire_at,
        "fired_at": reminder.fired_at,
        "outcome": reminder.outcome,
        "created_at": reminder.created_at,
    }


def time_log_to_dict(log: TimeLog) -> dict[str, Any]:
    """A time log as the API shows it; the shape of TimeLogOut."""
    duration = int((log.stopped_at - log.started_at).total_seconds()) if log.stopped_at else None
    return {
        "id": log.id,
        "task_id": log.task_id,
        "user_id": log.user_id,
        "started_at": log.started_at,
        "stopped_at": log.stopped_at,
        "duration_seconds": duration,
        "note": log.note,
    }


class DayCountOut(BaseModel):
    day: date
    count: int


class ProjectTimeOut(BaseModel):
    project_id: uuid.UUID | None = Field(description="null: tasks in no project")
    name: str | None
    seconds: int


class TaskStatsOut(BaseModel):
    timezone: str = Field(description="the caller's zone, whose days these are")
    start: date
    end: date = Field(description="inclusive")
    completed: list[DayCountOut] = Field(
        description="tasks the caller completed on each day of the window, oldest first"
    )
    tracked: list[ProjectTimeOut] = Field(
        description="the caller's time tracked within the window per project, most first"
    )
