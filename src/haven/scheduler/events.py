"""The scheduler's events: a reminder came due, a user's daily digest is due."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Final, TypedDict

from haven.events import catalog
from haven.events.outbox import DomainEvent

ACTOR: Final = "system/scheduler"


class DueTask(TypedDict):
    id: uuid.UUID
    title: str
    due: object
    project_id: uuid.UUID | None
    workspace_id: uuid.UUID


class ReminderDue(TypedDict):
    reminder: dict[str, Any]
    task: DueTask
    user_id: str | None
    late: bool


class DigestRequested(TypedDict):
    user_id: str
    local_date: str
    timezone: str
    late: bool


def reminder_due(
    reminder: dict[str, Any],
    *,
    task: DueTask,
    user_id: uuid.UUID | None,
    late: bool,
) -> DomainEvent:
    """`reminder` is its API shape (tasks.schemas.reminder_to_dict) as the scheduler took it."""
    data: ReminderDue = {
        "reminder": reminder,
        "task": task,
        "user_id": None if user_id is None else str(user_id),
        "late": late,
    }
    return DomainEvent(
        type=catalog.REMINDER_DUE,
        subject=f"tasks/{task['id']}",
        actor=ACTOR,
        workspace_id=task["workspace_id"],
        version=None,
        data=data,
    )


def digest_requested(
    user_id: uuid.UUID, day: date, zone: str, *, late: bool, event_id: uuid.UUID
) -> DomainEvent:
    data: DigestRequested = {
        "user_id": str(user_id),
        "local_date": day.isoformat(),
        "timezone": zone,
        "late": late,
    }
    return DomainEvent(
        id=event_id,
        type=catalog.DIGEST_REQUESTED,
        subject=f"users/{user_id}",
        actor=ACTOR,
        workspace_id=None,
        version=None,
        data=data,
    )
