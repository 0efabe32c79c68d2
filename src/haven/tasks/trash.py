"""The trash: deleting a task (with its subtasks) softly, and bringing it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict
from haven.events.outbox import record_all
from haven.projects import service as projects
from haven.tasks import bulk
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import ensure_task_version, task_for
from haven.tasks.models import Task
from haven.tasks.open_occurrence import ensure_single_open_occurrence


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
    """Move a task and its live subtasks (at any depth) to the trash, all at one instant.

    The shared instant is what restoring uses to bring back exactly this tree. One query
    reads the subtree and one flush writes it, however deep it is.
    """
    await _trash(session, principal, [*await repo.descendants(session, task.id), task], deleted_at)


async def trash_project_tasks(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID, deleted_at: datetime
) -> None:
    """Move the live tasks of a project that is being deleted to the trash, with every
    live subtask below them (in whatever project), at the project's instant of deletion:
    restoring a task brings its subtasks back with it."""
    await bulk.change_tasks(
        session,
        repo.live_in_project_with_subtasks(session, project_id, trashing_at=deleted_at),
        lambda row: {"deleted_at": deleted_at},
        events=task_events.deleted_in_bulk,
        actor=principal.actor,
    )


async def trash_workspace_tasks(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, deleted_at: datetime
) -> None:
    """Move the live tasks of a workspace that is being deleted to the trash, each with
    its `task.deleted` event: nothing of the workspace stays live."""
    await bulk.change_tasks(
        session,
        repo.live_in_workspace(workspace_id),
        lambda row: {"deleted_at": deleted_at},
        events=task_events.deleted_in_bulk,
        actor=principal.actor,
    )


async def _trash(
    session: AsyncSession, principal: Principal, tasks: Sequence[Task], deleted_at: datetime
) -> None:
    before = [task_events.snapshot(item) for item in tasks]
    for item in tasks:
        item.deleted_at = deleted_at
    await session.flush()
    await record_all(
        session,
        [
            task_events.deleted(item, before=state, actor=principal.actor)
            for item, state in zip(tasks, before, strict=True)
        ],
    )


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


async def _leave_deleted_projects(session: AsyncSession, tasks: Sequence[Task]) -> None:
    """Tasks restored from a deleted project come back out of it: it cannot be restored,
    and a live task must not name a project that answers 404."""
    named = list({item.project_id for item in tasks if item.project_id is not None})
    gone = await projects.deleted_projects(session, named)
    for item in tasks:
        if item.project_id in gone:
            item.project_id = None


async def restore_tree(session: AsyncSession, principal: Principal, task: Task) -> None:
    """Take a task out of the trash with the subtasks that were deleted together with it.

    Those are the subtasks reached through subtasks trashed at the same instant; one
    trashed earlier on its own stays in the trash, with what is below it.
    """
    deleted_at = task.deleted_at
    if deleted_at is None:
        return
    below = await repo.deleted_together(session, task.id, deleted_at=deleted_at)
    before = [task_events.snapshot(item) for item in (task, *below)]
    for item in (task, *below):
        item.deleted_at = None
    await _leave_deleted_projects(session, (task, *below))
    for item in (task, *below):
        await ensure_single_open_occurrence(session, item)
    await session.flush()
    await record_all(
        session,
        [
            task_events.restored(item, before=state, actor=principal.actor)
            for item, state in zip((task, *below), before, strict=True)
        ],
    )
