"""Reminders that come due become `haven.reminder.due` events, each once.

The scheduler takes the head of the queue of reminders not yet taken (`fired_at` null,
`fire_at` passed; index `ix_reminders_pending`) with their tasks, in one transaction:
FOR UPDATE SKIP LOCKED on PostgreSQL, so workers running side by side take different
reminders, and a worker that dies mid-batch leaves nothing taken (its transaction rolls
back, its locks go). For each reminder it sets `fired_at` and an `outcome`, and writes the
event of those that fire in the same transaction: a reminder fires once or not at all.

Outcomes, one home for the rule of which reminder still stands:
- FIRED: on time; LATE: taken more than `late_after` past its time (the worker was away).
- CANCELLED: its task is done, cancelled or in the trash when the time comes (completing
  a task so cancels its reminders; a reopened task's reminders that are still ahead fire).
- SUPERSEDED: a task had several reminders come due while the worker was away: only the
  latest fires (LATE), the others are marked, never a burst of stale reminders.

Re-timing (a due moved, a recurring task rolled on) clears `fired_at` and `outcome` in the
tasks module; the next occurrence of a series gets copies of its reminders.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haven.events.outbox import EventList, record_all
from haven.scheduler import events as scheduler_events
from haven.tasks.models import Reminder, Task
from haven.tasks.schemas import due_json

FIRED: Final = "fired"
LATE: Final = "late"
SUPERSEDED: Final = "superseded"
CANCELLED: Final = "cancelled"
# A result row of _COLUMNS, read by name.
_Row = Row[*tuple[Any, ...]]
# A reminder taken this long after its time is late (the worker was away).
LATE_AFTER_DEFAULT: Final = timedelta(minutes=5)
# Task states in which a reminder still makes sense.
OPEN_STATUSES: Final = frozenset({"todo", "in_progress", "blocked"})

_REMINDERS: Final = cast(Table, Reminder.__table__)
_COLUMNS: Final = (
    Reminder.id,
    Reminder.task_id,
    Reminder.at,
    Reminder.offset_minutes,
    Reminder.fire_at,
    Reminder.created_at,
    Task.workspace_id,
    Task.project_id,
    Task.title,
    Task.status,
    Task.deleted_at,
    Task.due_at,
    Task.due_is_date,
    Task.timezone,
    Task.assignee_id,
    Task.created_by,
)


def recipient(assignee_id: uuid.UUID | None, created_by: uuid.UUID | None) -> uuid.UUID | None:
    """Whom a task's reminder is for: its assignee, else whoever created it."""
    return assignee_id if assignee_id is not None else created_by


def _due_events(
    rows: Sequence[_Row], outcomes: dict[uuid.UUID, str], *, now: datetime
) -> EventList:
    """The `haven.reminder.due` events of the reminders that fire."""
    return [
        scheduler_events.reminder_due(
            {
                "id": row.id,
                "task_id": row.task_id,
                "at": row.at,
                "offset_minutes": row.offset_minutes,
                "fire_at": row.fire_at,
                "fired_at": now,
                "outcome": outcomes[row.id],
                "created_at": row.created_at,
            },
            task={
                "id": row.task_id,
                "title": row.title,
                "due": None
                if row.due_at is None
                else due_json(row.due_at, row.due_is_date, row.timezone),
                "project_id": row.project_id,
                "workspace_id": row.workspace_id,
            },
            user_id=recipient(row.assignee_id, row.created_by),
            late=outcomes[row.id] == LATE,
        )
        for row in rows
        if outcomes[row.id] in (FIRED, LATE)
    ]


def decide(rows: Sequence[_Row], *, now: datetime, late_after: timedelta) -> dict[uuid.UUID, str]:
    """What becomes of each reminder taken at `now`: its outcome by reminder id."""
    outcomes: dict[uuid.UUID, str] = {}
    late_by_task: defaultdict[uuid.UUID, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.deleted_at is not None or row.status not in OPEN_STATUSES:
            outcomes[row.id] = CANCELLED
        elif now - row.fire_at > late_after:
            late_by_task[row.task_id].append(row)
        else:
            outcomes[row.id] = FIRED
    for late in late_by_task.values():
        latest = max(late, key=lambda row: (row.fire_at, row.id))
        for row in late:
            outcomes[row.id] = LATE if row is latest else SUPERSEDED
    return outcomes


async def fire_due_reminders(
    session: AsyncSession, *, now: datetime, limit: int, late_after: timedelta
) -> int:
    """Take up to `limit` reminders due at `now` and fire those that stand. Answers how
    many were taken (the caller goes on while it is `limit`)."""
    statement = (
        select(*_COLUMNS)
        .join(Task, Task.id == Reminder.task_id)
        .where(Reminder.fired_at.is_(None), Reminder.fire_at.is_not(None), Reminder.fire_at <= now)
        .order_by(Reminder.fire_at)
        .limit(limit)
        .with_for_update(of=Reminder, skip_locked=True)
    )
    rows: Sequence[_Row] = (await session.execute(statement)).all()
    if not rows:
        return 0
    outcomes = decide(rows, now=now, late_after=late_after)
    by_outcome: defaultdict[str, list[uuid.UUID]] = defaultdict(list)
    for reminder_id, outcome in outcomes.items():
        by_outcome[outcome].append(reminder_id)
    for outcome, ids in by_outcome.items():
        # Through the table: a plain UPDATE, none of the ORM's bookkeeping for loaded objects.
        await session.execute(
            update(_REMINDERS).where(_REMINDERS.c.id.in_(ids)).values(fired_at=now, outcome=outcome)
        )
    await record_all(session, _due_events(rows, outcomes, now=now))
    return len(rows)


async def next_fire_at(session: AsyncSession) -> datetime | None:
    """When the earliest reminder not yet taken is due (the head of the queue)."""
    found: datetime | None = await session.scalar(
        select(Reminder.fire_at)
        .where(Reminder.fired_at.is_(None), Reminder.fire_at.is_not(None))
        .order_by(Reminder.fire_at)
        .limit(1)
    )
    return found
