"""Dependencies between tasks: one task waits for another; never in a cycle."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound
from haven.events.outbox import record
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import ensure_task_version, task_for
from haven.tasks.models import Task, TaskDependency


async def add_dependency(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    depends_on_id: uuid.UUID,
    if_match: int | None = None,
) -> Task:
    """Make a task wait for another of its workspace; a cycle is a 409."""
    await repo.lock_task_structure(session, task_id)
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    other = await repo.get_task(session, depends_on_id)
    if other is None or other.workspace_id != task.workspace_id or other.deleted_at is not None:
        raise NotFound("the task to depend on was not found in this workspace")
    if depends_on_id == task_id or await repo.depends_transitively(
        session, start_id=depends_on_id, target_id=task_id
    ):
        raise Conflict("that dependency would make a cycle")
    if await repo.dependency_exists(session, task_id=task_id, depends_on_id=depends_on_id):
        return task
    before = task_events.snapshot(task)
    session.add(TaskDependency(task_id=task_id, depends_on_id=depends_on_id, created_at=utcnow()))
    task.depends_on = [*task.depends_on, str(depends_on_id)]
    await session.flush()
    record(
        session,
        task_events.dependency_added(
            task, before=before, depends_on_id=depends_on_id, actor=principal.actor
        ),
    )
    return task


async def remove_dependency(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    depends_on_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    before = task_events.snapshot(task)
    if not await repo.delete_dependency(session, task_id=task_id, depends_on_id=depends_on_id):
        raise NotFound("no such dependency")
    task.depends_on = [d for d in task.depends_on if d != str(depends_on_id)]
    await session.flush()
    record(
        session,
        task_events.dependency_removed(
            task, before=before, depends_on_id=depends_on_id, actor=principal.actor
        ),
    )
