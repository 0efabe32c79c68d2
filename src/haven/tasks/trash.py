"""The trash: deleting a task (with its subtasks) softly, and bringing it back."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
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
from haven.tasks.schemas import OPEN_STATUSES


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
    reads the subtree's ids; the subtasks are then rewritten set-based, a few statements
    per batch of tasks (tasks/bulk.py), however deep or wide the tree is.

    A subtask created under one of them while the ids were read (its request holds a lock
    on its parent, which this one then waits for) committed after the read: the walk runs
    again for such late arrivals. Once every task of the tree is locked and trashed, a new
    subtask finds its parent deleted, so a second walk normally finds nothing new.
    """
    swept: set[uuid.UUID] = set()
    for _ in range(_SWEEPS):
        below = [
            found for found in await repo.descendant_ids(session, task.id) if found not in swept
        ]
        if not below:
            break
        swept.update(below)
        await bulk.change_listed_tasks(
            session,
            below,
            repo.live_among,
            bulk.same_for_each({"deleted_at": deleted_at}),
            events=task_events.deleted_in_bulk,
            actor=principal.actor,
        )
    before = task_events.snapshot(task)
    task.deleted_at = deleted_at
    await session.flush()
    await record_all(session, [task_events.deleted(task, before=before, actor=principal.actor)])


# Walks of a subtree being trashed: the first, and more only for subtasks added meanwhile.
_SWEEPS: Final = 4


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


async def _leave_deleted_projects(session: AsyncSession, task: Task) -> None:
    """A task restored from a deleted project comes back out of it: it cannot be restored,
    and a live task must not name a project that answers 404."""
    if task.project_id is not None and await projects.deleted_projects(session, [task.project_id]):
        task.project_id = None


async def restore_tree(session: AsyncSession, principal: Principal, task: Task) -> None:
    """Take a task out of the trash with the subtasks that were deleted together with it.

    Those are the subtasks reached through subtasks trashed at the same instant; one
    trashed earlier on its own stays in the trash, with what is below it. The task itself
    goes first, then its subtasks set-based, a batch at a time (tasks/bulk.py).
    """
    deleted_at = task.deleted_at
    if deleted_at is None:
        return
    before = task_events.snapshot(task)
    task.deleted_at = None
    await _leave_deleted_projects(session, task)
    await ensure_single_open_occurrence(session, task)
    await session.flush()
    await record_all(session, [task_events.restored(task, before=before, actor=principal.actor)])
    below = await repo.deleted_together_ids(session, task.id, deleted_at=deleted_at)
    try:
        await bulk.change_listed_tasks(
            session,
            below,
            lambda ids: repo.trashed_at_among(ids, deleted_at),
            partial(_plan_restore, session),
            events=task_events.restored_in_bulk,
            actor=principal.actor,
        )
    except IntegrityError as exc:  # the open-occurrence index, when requests race
        raise Conflict(
            "another occurrence of this series was opened at the same moment; reload and retry"
        ) from exc


async def _plan_restore(session: AsyncSession, rows: Sequence[Row[Any]]) -> bulk.Change:
    """How a batch of subtasks comes back: out of deleted projects (as the task itself), and
    refused (409) when one is an open occurrence of a series that has another one open."""
    named = list({row.project_id for row in rows if row.project_id is not None})
    gone = await projects.deleted_projects(session, named)
    opening = [row for row in rows if row.series_id is not None and row.status in OPEN_STATUSES]
    per_series = Counter(row.series_id for row in opening)
    other = await repo.open_occurrence_of_any(session, list(per_series))
    if other is None and len(per_series) < len(opening):
        other = next(row.id for row in opening if per_series[row.series_id] > 1)
    if other is not None:
        raise Conflict(
            f"another occurrence of this series is open ({other}); complete, skip or"
            " delete it first"
        )
    return lambda row: _LEAVING_PROJECT if row.project_id in gone else _RESTORED


_RESTORED: Final = {"deleted_at": None}
_LEAVING_PROJECT: Final = {"deleted_at": None, "project_id": None}
