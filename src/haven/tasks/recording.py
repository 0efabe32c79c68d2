"""The events a change to a task writes, in the transaction of the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.events.outbox import record_event
from haven.tasks.models import Task
from haven.tasks.schemas import task_to_dict


def record_task_event(
    session: AsyncSession,
    principal: Principal | None,
    event_type: str,
    task: Task,
    *,
    changes: dict[str, tuple[Any, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record an event about a task, carrying its state after the change."""
    data: dict[str, Any] = {"task": task_to_dict(task)}
    if extra:
        data.update(extra)
    record_event(
        session,
        type=event_type,
        subject=f"tasks/{task.id}",
        actor=principal.actor if principal else "system/haven",
        workspace_id=task.workspace_id,
        version=task.version,
        data=data,
        changes=changes,
    )
