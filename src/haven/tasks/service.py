"""The rules of tasks: create, read, change and list them (subtasks are tasks with a parent)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import authn
from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound, ValidationFailed
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.db.session import holds_connection
from haven.events.outbox import changes_between, record_alone, record_now, record_with
from haven.projects import service as projects
from haven.tags import service as tags_service
from haven.tasks import bulk, series
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import ensure_task_version, may_read, require_scope, task_for
from haven.tasks.lists import SortKey, TaskFilters, parse_sort
from haven.tasks.models import Task
from haven.tasks.reminders import new_reminder
from haven.tasks.schemas import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    SubtaskCounts,
    TaskCreate,
    TaskUpdate,
    task_to_dict,
)
from haven.workspaces import access as workspaces

DueValue = datetime | date


async def get_task(session: AsyncSession, *, principal: Principal, task_id: uuid.UUID) -> Task:
    return await task_for(session, principal, task_id, write=False)


# --- create ---------------------------------------------------------------------------


def _to_instant(value: DueValue, zone: str) -> tuple[datetime, bool]:
    """An API due/start value as (UTC-aware instant, is it a whole day)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC), False
    return datetime.combine(value, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC), True


async def _resolve_workspace(
    session: AsyncSession, principal: Principal, data: TaskCreate
) -> uuid.UUID | None:
    """The workspace the parent, project or workspace_id name; None means the personal one."""
    candidates: list[uuid.UUID] = []
    if data.parent_id is not None:
        # The caller's membership is held before the parent is locked: a member's removal
        # takes them in that order (the membership, then the tasks it unassigns), and the
        # other order could deadlock with it.
        workspace_id = await repo.workspace_of_task(session, data.parent_id)
        if (
            workspace_id is None
            or await workspaces.role_in(
                session, user_id=principal.user_id, workspace_id=workspace_id, keep=True
            )
            is None
        ):
            raise NotFound("parent task not found")
        parent = await repo.lock_parent(session, data.parent_id)
        if parent is None or parent.deleted_at is not None or parent.workspace_id != workspace_id:
            raise NotFound("parent task not found")
        candidates.append(workspace_id)
    if data.project_id is not None:
        candidates.append(
            await projects.workspace_of(session, principal=principal, project_id=data.project_id)
        )
    if data.workspace_id is not None:
        candidates.append(data.workspace_id)
    if len(set(candidates)) > 1:
        raise ValidationFailed(
            "parent, project and workspace_id name different workspaces", loc=["body"]
        )
    return candidates[0] if candidates else None


async def create_task(
    session: AsyncSession, *, principal: Principal, data: TaskCreate, whole_write: bool = False
) -> tuple[Task, bool]:
    """Create a task; (task, created). A retried create with the same id returns the first.

    `whole_write`: the caller writes nothing else in `session`'s transaction (the REST
    create), so on PostgreSQL a plain create may commit by itself in one statement; anyone
    who goes on writing, or may roll back, leaves it False.
    """
    require_scope(principal, write=True)
    if whole_write and not holds_connection(session):
        written = await _create_in_one_statement(session, principal=principal, data=data)
        if written is not None:
            return written, True
    if data.id is not None:
        existing = await repo.get_task(session, data.id)
        if existing is not None:
            ensure_own_retry(
                created_by=existing.created_by,
                caller_id=principal.user_id,
                caller_can_see=await may_read(session, principal, existing.workspace_id),
            )
            return existing, False
    access = await workspaces.require_access(
        session,
        principal=principal,
        workspace_id=await _resolve_workspace(session, principal, data),
        at_least=Role.MEMBER,
    )
    workspace_id = access.workspace_id
    if data.assignee_id is not None:
        await _ensure_member(session, workspace_id=workspace_id, user_id=data.assignee_id)
    task = await _new_task(
        data, principal=principal, workspace_id=workspace_id, caller_zone=access.timezone
    )
    tags = await tags_service.tags_named(
        session, workspace_id=workspace_id, names=data.tags, actor=principal.actor
    )
    task.tag_names = [tag.name for tag in tags]
    created = task_events.created(task, actor=principal.actor)
    await record_with(session, created, change=repo.task_insert(task))
    await repo.link_task_tags(session, task_id=task.id, tag_ids=[tag.id for tag in tags])
    if data.reminders:
        for reminder in data.reminders:
            new_reminder(session, task, reminder)
        await session.flush()
    return task, True


async def _create_in_one_statement(
    session: AsyncSession, *, principal: Principal, data: TaskCreate
) -> Task | None:
    """The common create (no parent, project, assignee, tags or reminders) as one statement
    that checks the caller's access itself and commits on its own (PostgreSQL): one round
    trip instead of BEGIN, the access check, the insert and COMMIT.

    It needs what an earlier create of the caller's found (`workspaces.access_hints`): the
    workspace's id and the caller's zone. The statement checks them again with the caller's
    role, so where anything changed (or the id is taken) it writes nothing, and the create
    goes the long way, which answers or refuses exactly as it always does. None then.
    """
    if (
        session.get_bind().dialect.name != "postgresql"
        or data.parent_id is not None
        or data.project_id is not None
        or data.assignee_id is not None
        or data.tags
        or data.reminders
    ):
        return None
    hint = workspaces.access_hints.get(principal.user_id, data.workspace_id)
    if hint is None:
        return None
    task = await _new_task(
        data, principal=principal, workspace_id=hint.workspace_id, caller_zone=hint.timezone
    )
    guard = workspaces.access_guard(at_least=Role.MEMBER, personal=data.workspace_id is None)
    change = repo.task_insert_guarded(task, guard)
    parameters = {**change.parameters, **workspaces.guard_parameters(principal, hint)}
    created = task_events.created(task, actor=principal.actor)
    if not await record_alone(session, created, change=replace(change, parameters=parameters)):
        workspaces.access_hints.forget(principal.user_id, data.workspace_id)
        return None
    # The guard read the caller's account active in the write's own statement.
    authn.confirm_active(session, principal, active=True)
    return task


async def _new_task(
    data: TaskCreate, *, principal: Principal, workspace_id: uuid.UUID, caller_zone: str
) -> Task:
    """The task `data` describes, every column set (it is written with one plain INSERT)."""
    now = utcnow()
    zone = data.timezone or caller_zone
    task = Task(
        id=data.id or new_id(),
        workspace_id=workspace_id,
        project_id=data.project_id,
        parent_id=data.parent_id,
        title=data.title,
        description=data.description,
        status=data.status,
        priority=PRIORITY_RANK[data.priority],
        progress=data.progress,
        due_at=None,
        due_is_date=False,
        start_at=None,
        start_is_date=False,
        timezone=zone,
        assignee_id=data.assignee_id,
        estimate_minutes=data.estimate_minutes,
        tag_names=[],
        depends_on=[],
        recurrence_rule=None,
        recurrence_mode=None,
        recurrence_text=None,
        series_id=None,
        series_start=None,
        occurrence_number=1,
        previous_id=None,
        completed_at=None,
        completed_by=None,
        deleted_at=None,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    if data.due is not None:
        task.due_at, task.due_is_date = _to_instant(data.due, zone)
    if data.start is not None:
        task.start_at, task.start_is_date = _to_instant(data.start, zone)
    if data.status == "done":
        task.completed_at, task.completed_by, task.progress = now, principal.user_id, 100
    if data.recurrence is not None:
        await series.apply_recurrence(task, series.recurrence_from(data.recurrence))
        await series.check_series(task)
    return task


async def _ensure_member(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    member = await workspaces.role_in(
        session, user_id=user_id, workspace_id=workspace_id, keep=True
    )
    if member is None:
        raise ValidationFailed(
            "the assignee is not a member of the task's workspace", loc=["body", "assignee_id"]
        )


async def _set_tags(
    session: AsyncSession, principal: Principal, task: Task, names: Sequence[str]
) -> None:
    tags = await tags_service.tags_named(
        session, workspace_id=task.workspace_id, names=names, actor=principal.actor
    )
    await repo.replace_task_tags(session, task_id=task.id, tag_ids=[tag.id for tag in tags])
    task.tag_names = [tag.name for tag in tags]


# --- update ---------------------------------------------------------------------------

_SIMPLE_FIELDS = ("title", "description", "progress", "estimate_minutes")


async def update_task(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: int | None,
) -> tuple[Task, Task | None]:
    """Apply a partial update; (task, next occurrence if the update completed it)."""
    if "parent_id" in data.model_fields_set:
        await repo.lock_task_structure(session, task_id)
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    fields = data.model_fields_set
    before = task_events.snapshot(task)
    due_before = task.due_at

    for name in _SIMPLE_FIELDS:
        if name in fields:
            setattr(task, name, getattr(data, name))
    if "priority" in fields and data.priority is not None:
        task.priority = PRIORITY_RANK[data.priority]
    if "timezone" in fields and data.timezone is not None:
        _move_to_zone(task, data.timezone)
    if "project_id" in fields:
        await _move_to_project(session, principal, task, data.project_id)
    if "parent_id" in fields:
        await _move_under(session, principal, task, data.parent_id)
    if "assignee_id" in fields:
        if data.assignee_id is not None:
            await _ensure_member(session, workspace_id=task.workspace_id, user_id=data.assignee_id)
        task.assignee_id = data.assignee_id
    if "start" in fields:
        task.start_at, task.start_is_date = (
            _to_instant(data.start, task.timezone) if data.start is not None else (None, False)
        )
    if "due" in fields:
        task.due_at, task.due_is_date = (
            _to_instant(data.due, task.timezone) if data.due is not None else (None, False)
        )
        if task.series_id is not None and task.occurrence_number == 1:
            task.series_start = task.due_at
    if task.due_at != due_before:
        await repo.reschedule_offset_reminders(session, task_id=task.id, due_at=task.due_at)
    if "recurrence" in fields:
        recurrence = series.recurrence_from(data.recurrence) if data.recurrence else None
        await series.apply_recurrence(task, recurrence)
    if fields & {"due", "timezone", "recurrence"}:
        await series.check_series(task)
    if "tags" in fields and data.tags is not None:
        await _set_tags(session, principal, task, data.tags)

    next_task: Task | None = None
    completing = False
    if "status" in fields and data.status is not None and data.status != task.status:
        if data.status == "done":
            completing = True
        elif task.status in ("done", "cancelled") and data.status in OPEN_STATUSES:
            await series.reopen(session, principal, task, status=data.status)
        else:
            task.status = data.status
    await session.flush()
    if completing:
        # The version moves once per transaction, so a PATCH that completes is one change: one
        # task.completed event, whose changes hold the other fields the PATCH set too.
        has_subtasks = await series.guard_open_children(session, task, cascade=False)
        next_task = await series.complete(
            session, principal, task, before=before, has_subtasks=has_subtasks
        )
    elif changes_between(before, task_to_dict(task)):
        await record_now(session, task_events.updated(task, before=before, actor=principal.actor))
    return task, next_task


def _move_to_zone(task: Task, zone: str) -> None:
    """Change a task's zone; whole-day dates keep their calendar day in the new zone."""
    old = ZoneInfo(task.timezone)
    for instant, is_date in (("due_at", task.due_is_date), ("start_at", task.start_is_date)):
        value: datetime | None = getattr(task, instant)
        if value is not None and is_date:
            setattr(task, instant, _to_instant(value.astimezone(old).date(), zone)[0])
    if task.series_start is not None and task.due_is_date:
        task.series_start = _to_instant(task.series_start.astimezone(old).date(), zone)[0]
    task.timezone = zone


async def _move_to_project(
    session: AsyncSession, principal: Principal, task: Task, project_id: uuid.UUID | None
) -> None:
    if project_id is not None:
        project_workspace = await projects.workspace_of(
            session, principal=principal, project_id=project_id
        )
        if project_workspace != task.workspace_id:
            raise ValidationFailed(
                "the project is in another workspace", loc=["body", "project_id"]
            )
    task.project_id = project_id


async def _move_under(
    session: AsyncSession, principal: Principal, task: Task, parent_id: uuid.UUID | None
) -> None:
    if parent_id is not None:
        parent = await repo.lock_parent(session, parent_id)
        if (
            parent is None
            or parent.workspace_id != task.workspace_id
            or parent.deleted_at is not None
        ):
            raise NotFound("parent task not found")
        if parent_id == task.id or task.id in await repo.ancestor_ids(session, parent_id):
            raise Conflict("a task cannot be moved under itself or one of its subtasks")
    task.parent_id = parent_id


# --- lists ----------------------------------------------------------------------------


async def list_tasks(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: TaskFilters,
    sort: Sequence[SortKey],
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Sequence[Any]]:
    """Up to `limit` tasks the caller may see, as plain rows of TASK_COLUMNS."""
    require_scope(principal, write=False)
    return await repo.list_tasks(
        session,
        viewer_id=principal.user_id,
        workspace_ids_for=workspaces.visible_workspace_ids,
        tag_is_named=tags_service.is_named,
        filters=filters,
        sort=sort,
        after=after,
        limit=limit,
    )


async def count_tasks(
    session: AsyncSession, *, principal: Principal, filters: TaskFilters, cap: int
) -> int:
    """How many tasks the caller may see match `filters`, counted up to `cap`."""
    require_scope(principal, write=False)
    return await repo.count_tasks(
        session,
        viewer_id=principal.user_id,
        workspace_ids_for=workspaces.visible_workspace_ids,
        tag_is_named=tags_service.is_named,
        filters=filters,
        cap=cap,
    )


async def subtask_counts(session: AsyncSession, *, task_ids: Sequence[uuid.UUID]) -> SubtaskCounts:
    """The derived subtask counts of tasks the caller has just read (a page, or the task a
    request read or changed): their subtasks are in the same workspaces, so what the caller
    may see. One statement for any number of them, none for none."""
    return await repo.subtask_counts(session, task_ids)


async def list_subtasks(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Sequence[Any]]:
    """Up to `limit` of a task's direct subtasks, oldest first (the task list, filtered)."""
    await task_for(session, principal, task_id, write=False)
    return await list_tasks(
        session,
        principal=principal,
        filters=TaskFilters(parent_id=task_id),
        sort=parse_sort(None),
        after=after,
        limit=limit,
    )


# --- tags on tasks --------------------------------------------------------------------


async def rename_tag_on_tasks(
    session: AsyncSession,
    *,
    principal: Principal,
    tag_id: uuid.UUID,
    old_name: str,
    new_name: str,
) -> None:
    """A renamed tag shows its new name on every task that carries it (each task updated)."""
    await bulk.change_tasks(
        session,
        repo.carrying_tag(tag_id),
        lambda row: {"tag_names": [new_name if n == old_name else n for n in row.tag_names]},
        events=task_events.updated_in_bulk,
        actor=principal.actor,
    )


async def remove_tag_from_tasks(
    session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID, name: str
) -> None:
    """A tag about to be deleted disappears from every task that carries it (each updated)."""
    await bulk.change_tasks(
        session,
        repo.carrying_tag(tag_id),
        lambda row: {"tag_names": [n for n in row.tag_names if n != name]},
        events=task_events.updated_in_bulk,
        actor=principal.actor,
    )


# --- members --------------------------------------------------------------------------


async def unassign_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Someone who left a workspace is no longer the assignee of its tasks (each updated).

    An assignee is always a member (creating or changing a task checks it); this keeps
    it so when a member goes.
    """
    await bulk.change_tasks(
        session,
        repo.assigned_in(workspace_id, user_id),
        lambda row: {"assignee_id": None},
        events=task_events.updated_in_bulk,
        actor=principal.actor,
    )
