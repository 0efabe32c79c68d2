"""The trash: deleting a task (with its subtasks) softly, and bringing it back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict
from haven.events import catalog
from haven.tasks import repository as repo
from haven.tasks.access import ensure_task_version, task_for
from haven.tasks.models import Task
from haven.tasks.open_occurrence import ensure_single_open_occurrence
from haven.tasks.recording import record_task_event


async def delete_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> None:
    """Soft-delete a task and its subtasks (restorable together)."""
    task = await task_for(session, principal, task_id, write=True, include_deleted=True)
    ensure_task_version(task, if_match)
    if task.deleted_at is not None:
        return
    await trash_tree(session, principal, task, deleted_at=utcnow())


async def trash_tree(
    session: AsyncSession, principal: Principal, task: Task, *, deleted_at: datetime
) -> None:
    """Move a task and its live subtasks to the trash, all at one instant.

    The shared instant is what restoring uses to bring back exactly this tree.
    """
    for item in [*await repo.descendants(session, task.id), task]:
        item.deleted_at = deleted_at
        await session.flush()
        record_task_event(session, principal, catalog.TASK_DELETED, item)


async def trash_project_tasks(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID, deleted_at: datetime
) -> None:
    """Move the live tasks of a project that is being deleted to the trash."""
    for task in await repo.project_tasks(session, project_id):
        task.deleted_at = deleted_at
        await session.flush()
        record_task_event(session, principal, catalog.TASK_DELETED, task)


async def restore_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> Task:
    """Bring a task back from the trash, with the subtasks deleted together with it."""
    task = await task_for(session, principal, task_id, write=True, include_deleted=True)
    ensure_task_version(task, if_match)
    if task.deleted_at is None:
        return task
    if task.parent_id is not None:
        parent = await repo.get_task(session, task.parent_id)
        if parent is not None and parent.deleted_at is not None:
            raise Conflict("the parent task is deleted; restore it first")
    await restore_tree(session, principal, task)
    return task


async def restore_tree(session: AsyncSession, principal: Principal, task: Task) -> None:
    """Take a task out of the trash with the subtasks that were deleted together with it."""
    deleted_at = task.deleted_at
    if deleted_at is None:
        return
    task.deleted_at = None
    await ensure_single_open_occurrence(session, task)
    await session.flush()
    record_task_event(session, principal, catalog.TASK_RESTORED, task)
    for child in await _deleted_with(session, task, deleted_at):
        child.deleted_at = None
        await ensure_single_open_occurrence(session, child)
        await session.flush()
        record_task_event(session, principal, catalog.TASK_RESTORED, child)


async def _deleted_with(session: AsyncSession, task: Task, deleted_at: datetime) -> list[Task]:
    found: list[Task] = []
    for child in await repo.children_including_deleted(session, task.id):
        if child.deleted_at == deleted_at:
            found.append(child)
            found.extend(await _deleted_with(session, child, deleted_at))
    return found
