"""Reminders on a task: at an instant, or some minutes before its due."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound
from haven.core.ids import new_id
from haven.events.outbox import record
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import task_for
from haven.tasks.models import Reminder, Task
from haven.tasks.schemas import ReminderIn

MAX_REMINDERS = 20


def new_reminder(session: AsyncSession, task: Task, data: ReminderIn) -> Reminder:
    """A reminder on a task (added to the session): at an instant, or minutes before due."""
    if data.at is not None:
        fire_at: datetime | None = data.at
    else:
        assert data.offset_minutes is not None
        fire_at = repo.fire_time(task.due_at, data.offset_minutes)
    reminder = Reminder(
        id=new_id(),
        task_id=task.id,
        at=data.at,
        offset_minutes=data.offset_minutes,
        fire_at=fire_at,
        created_at=utcnow(),
    )
    session.add(reminder)
    return reminder


async def list_reminders(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID
) -> Sequence[Reminder]:
    await task_for(session, principal, task_id, write=False)
    return await repo.list_reminders(session, task_id)


async def add_reminder(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, data: ReminderIn
) -> Reminder:
    task = await task_for(session, principal, task_id, write=True)
    if len(await repo.list_reminders(session, task_id)) >= MAX_REMINDERS:
        raise Conflict(f"a task can have at most {MAX_REMINDERS} reminders")
    reminder = new_reminder(session, task, data)
    await session.flush()
    record(session, task_events.reminder_created(reminder, task=task, actor=principal.actor))
    return reminder


async def delete_reminder(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, reminder_id: uuid.UUID
) -> None:
    task = await task_for(session, principal, task_id, write=True)
    reminder = await repo.get_reminder(session, reminder_id)
    if reminder is None or reminder.task_id != task_id:
        raise NotFound("reminder not found")
    await session.delete(reminder)
    await session.flush()
    record(session, task_events.reminder_deleted(reminder_id, task=task, actor=principal.actor))
