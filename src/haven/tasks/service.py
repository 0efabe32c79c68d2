"""The rules of tasks: create, change, complete (with recurrence), depend, track, remind."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import service as accounts
from haven.accounts.principal import Principal, Role, Scope
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from haven.core.ids import derived_id, new_id
from haven.events import catalog
from haven.events import service as events
from haven.events.models import Event
from haven.events.outbox import record_event
from haven.recurrence import InvalidRecurrence, Recurrence, next_due, occurrences, parse_recurrence
from haven.tasks import repository as repo
from haven.tasks.models import Project, Reminder, Tag, Task, TaskDependency, TimeLog
from haven.tasks.schemas import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    SORT_FIELDS,
    ProjectCreate,
    ProjectUpdate,
    RecurrenceIn,
    ReminderIn,
    TagCreate,
    TagUpdate,
    TaskCreate,
    TaskUpdate,
    task_to_dict,
)

DueValue = datetime | date


# --- access -------------------------------------------------------------------------


async def _authorize(
    session: AsyncSession,
    principal: Principal,
    *,
    workspace_id: uuid.UUID,
    write: bool,
    what: str,
) -> None:
    """Readers are viewers and up, writers members and up; a stranger gets 404, never 403."""
    await accounts.require_role(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.MEMBER if write else Role.VIEWER,
        what=what,
    )


def _require_scope(principal: Principal, *, write: bool) -> None:
    principal.require(Scope.TASKS_WRITE if write else Scope.TASKS_READ)


async def _task_for(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    *,
    write: bool,
    include_deleted: bool = False,
) -> Task:
    """Load a task the caller may see (404 otherwise) and may change if `write` (403).

    A task in the trash is gone for everything but restoring, deleting, its history and
    its time records, until it is restored.
    """
    _require_scope(principal, write=write)
    task = await (repo.lock_task(session, task_id) if write else repo.get_task(session, task_id))
    if task is None or (task.deleted_at is not None and not include_deleted):
        raise NotFound("task not found")
    await _authorize(session, principal, workspace_id=task.workspace_id, write=write, what="task")
    return task


def _check_version(task: Task, if_match: int | None) -> None:
    if if_match is not None and if_match != task.version:
        raise PreconditionFailed(
            f"the task is at version {task.version}, not {if_match}; reload and retry",
            body={"current": task_to_dict(task)},
        )


async def get_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID
) -> Row[Any] | Task:
    return await _task_for(session, principal, task_id, write=False)


# --- dates --------------------------------------------------------------------------


def _to_instant(value: DueValue, zone: str) -> tuple[datetime, bool]:
    """An API due/start value as (UTC-aware instant, is it a whole day)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC), False
    return datetime.combine(value, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC), True


def _recurrence_of(task: Task) -> Recurrence | None:
    if not task.recurrence_rule:
        return None
    if task.recurrence_mode == "completion":
        return Recurrence(rule=task.recurrence_rule, mode="completion", text=task.recurrence_text)
    return Recurrence(rule=task.recurrence_rule, mode="due", text=task.recurrence_text)


def _parse_recurrence(data: RecurrenceIn) -> Recurrence:
    try:
        return parse_recurrence(rule=data.rule, text=data.text, mode=data.mode)
    except InvalidRecurrence as exc:
        loc: list[str | int] = ["body", "recurrence", "rule" if data.rule is not None else "text"]
        raise ValidationFailed(f"recurrence: {exc}", loc=loc) from exc


def _first_occurrence(recurrence: Recurrence, zone: str) -> datetime:
    """Where a recurring task without a due starts: its first occurrence from today on."""
    tz = ZoneInfo(zone)
    today = datetime.combine(utcnow().astimezone(tz).date(), time(0), tzinfo=tz)
    # Anchor the series the day before, so that today counts only if the rule matches it
    # (RFC 5545 makes a series' start an occurrence whether or not the rule produces it).
    yesterday = today - timedelta(days=1)
    try:
        found = occurrences(recurrence, series_start=yesterday, tz=tz, after=yesterday, limit=1)
    except (ValueError, OverflowError):
        found = []
    if not found:
        raise ValidationFailed("recurrence: the rule has no occurrence from today on")
    return found[0].astimezone(UTC)


# --- create -------------------------------------------------------------------------


async def _resolve_workspace(
    session: AsyncSession, principal: Principal, data: TaskCreate
) -> uuid.UUID | None:
    """The workspace the parent, project or workspace_id name; None means the personal one."""
    candidates: list[uuid.UUID] = []
    if data.parent_id is not None:
        parent = await repo.get_task(session, data.parent_id)
        if (
            parent is None
            or parent.deleted_at is not None
            or await accounts.role_in(
                session, user_id=principal.user_id, workspace_id=parent.workspace_id
            )
            is None
        ):
            raise NotFound("parent task not found")
        candidates.append(parent.workspace_id)
    if data.project_id is not None:
        project = await repo.get_project(session, data.project_id)
        if project is None or project.deleted_at is not None:
            raise NotFound("project not found")
        candidates.append(project.workspace_id)
    if data.workspace_id is not None:
        candidates.append(data.workspace_id)
    if len(set(candidates)) > 1:
        raise ValidationFailed(
            "parent, project and workspace_id name different workspaces", loc=["body"]
        )
    return candidates[0] if candidates else None


async def create_task(
    session: AsyncSession, *, principal: Principal, data: TaskCreate
) -> tuple[Task, bool]:
    """Create a task; (task, created). A retried create with the same id returns the first."""
    _require_scope(principal, write=True)
    if data.id is not None:
        existing = await repo.get_task(session, data.id)
        if existing is not None:
            role = await accounts.role_in(
                session, user_id=principal.user_id, workspace_id=existing.workspace_id
            )
            if role is None:
                raise Conflict("that id is already taken; choose another")
            return existing, False
    access = await accounts.require_access(
        session,
        principal=principal,
        workspace_id=await _resolve_workspace(session, principal, data),
        at_least=Role.MEMBER,
    )
    workspace_id = access.workspace_id
    zone = data.timezone or access.timezone
    if data.assignee_id is not None:
        await _ensure_member(session, workspace_id=workspace_id, user_id=data.assignee_id)

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
        timezone=zone,
        assignee_id=data.assignee_id,
        estimate_minutes=data.estimate_minutes,
        created_by=principal.user_id,
        tag_names=[],
        depends_on=[],
        version=1,
    )
    if data.due is not None:
        task.due_at, task.due_is_date = _to_instant(data.due, zone)
    if data.start is not None:
        task.start_at, task.start_is_date = _to_instant(data.start, zone)
    if data.status == "done":
        task.completed_at, task.completed_by, task.progress = utcnow(), principal.user_id, 100
    if data.recurrence is not None:
        _apply_recurrence(task, _parse_recurrence(data.recurrence))
    tags = await _resolve_tags(
        session, workspace_id=workspace_id, names=data.tags, actor=principal.actor
    )
    task.tag_names = [tag.name for tag in tags]
    session.add(task)
    await session.flush()
    repo.add_task_tags(session, task_id=task.id, tag_ids=[tag.id for tag in tags])
    for reminder in data.reminders:
        _add_reminder(session, task, reminder)
    await session.flush()
    _record(session, principal, catalog.TASK_CREATED, task)
    return task, True


def _apply_recurrence(task: Task, recurrence: Recurrence | None) -> None:
    if recurrence is None:
        task.recurrence_rule = task.recurrence_mode = task.recurrence_text = None
        return
    if task.due_at is None:
        task.due_at, task.due_is_date = _first_occurrence(recurrence, task.timezone), True
    task.recurrence_rule = recurrence.rule
    task.recurrence_mode = recurrence.mode
    task.recurrence_text = recurrence.text
    if task.series_id is None:
        task.series_id = task.id
        task.series_start = task.due_at
        task.occurrence_number = 1


async def _ensure_member(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    if await accounts.role_in(session, user_id=user_id, workspace_id=workspace_id) is None:
        raise ValidationFailed(
            "the assignee is not a member of the task's workspace", loc=["body", "assignee_id"]
        )


async def _resolve_tags(
    session: AsyncSession, *, workspace_id: uuid.UUID, names: Sequence[str], actor: str
) -> list[Tag]:
    """The workspace's tags by name, created where missing; the first spelling of a name wins.

    Concurrent requests may create the same new tag: the insert skips names that exist by
    the time it runs, so both end up with the one tag instead of a unique violation.
    """
    wanted = {name.lower(): name for name in names}
    if not wanted:
        return []
    existing = await repo.tags_by_key(session, workspace_id=workspace_id, keys=list(wanted))
    missing = {key: name for key, name in wanted.items() if key not in existing}
    if missing:
        created = await repo.insert_missing_tags(
            session,
            rows=[
                {"id": new_id(), "workspace_id": workspace_id, "name": name, "name_key": key}
                for key, name in missing.items()
            ],
        )
        for tag in created:
            record_event(
                session,
                type=catalog.TAG_CREATED,
                subject=f"tags/{tag.id}",
                actor=actor,
                workspace_id=workspace_id,
                version=tag.version,
                data={"tag": tag_to_dict(tag)},
            )
        existing = await repo.tags_by_key(session, workspace_id=workspace_id, keys=list(wanted))
    return [existing[key] for key in wanted]


async def _set_tags(
    session: AsyncSession, principal: Principal, task: Task, names: Sequence[str]
) -> None:
    tags = await _resolve_tags(
        session, workspace_id=task.workspace_id, names=names, actor=principal.actor
    )
    await repo.replace_task_tags(session, task_id=task.id, tag_ids=[tag.id for tag in tags])
    task.tag_names = [tag.name for tag in tags]


def _add_reminder(session: AsyncSession, task: Task, data: ReminderIn) -> Reminder:
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


def _record(
    session: AsyncSession,
    principal: Principal | None,
    event_type: str,
    task: Task,
    *,
    changes: dict[str, tuple[Any, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
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


# --- update -------------------------------------------------------------------------

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
    task = await _task_for(session, principal, task_id, write=True)
    _check_version(task, if_match)
    fields = data.model_fields_set
    before = task_to_dict(task)
    due_before = task.due_at

    for name in _SIMPLE_FIELDS:
        if name in fields:
            setattr(task, name, getattr(data, name))
    if "priority" in fields and data.priority is not None:
        task.priority = PRIORITY_RANK[data.priority]
    if "timezone" in fields and data.timezone is not None:
        _move_to_zone(task, data.timezone)
    if "project_id" in fields:
        await _move_to_project(session, task, data.project_id)
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
        recurrence = _parse_recurrence(data.recurrence) if data.recurrence else None
        _apply_recurrence(task, recurrence)
    if "tags" in fields and data.tags is not None:
        await _set_tags(session, principal, task, data.tags)

    next_task: Task | None = None
    completing = False
    if "status" in fields and data.status is not None and data.status != task.status:
        if data.status == "done":
            completing = True
        elif task.status in ("done", "cancelled") and data.status in OPEN_STATUSES:
            task.completed_at = task.completed_by = None
            task.status = data.status
            await _withdraw_next_occurrence(session, principal, task)
        else:
            task.status = data.status
    if completing:
        await _guard_open_children(session, task, cascade=False)
        next_task = await _complete(session, principal, task)
    await session.flush()
    changes = _diff(before, task_to_dict(task))
    if changes and not completing:
        _record(session, principal, catalog.TASK_UPDATED, task, changes=changes)
    elif changes:
        changes.pop("status", None)
        changes.pop("completed_at", None)
        if set(changes) - {"version", "updated_at", "progress"}:
            _record(session, principal, catalog.TASK_UPDATED, task, changes=changes)
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


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    ignored = {"version", "updated_at"}
    return {
        key: (before[key], after[key])
        for key in after
        if key not in ignored and before.get(key) != after[key]
    }


async def _move_to_project(session: AsyncSession, task: Task, project_id: uuid.UUID | None) -> None:
    if project_id is not None:
        project = await repo.get_project(session, project_id)
        if project is None or project.deleted_at is not None:
            raise NotFound("project not found")
        if project.workspace_id != task.workspace_id:
            raise ValidationFailed(
                "the project is in another workspace", loc=["body", "project_id"]
            )
    task.project_id = project_id


async def _move_under(
    session: AsyncSession, principal: Principal, task: Task, parent_id: uuid.UUID | None
) -> None:
    if parent_id is not None:
        parent = await repo.get_task(session, parent_id)
        if (
            parent is None
            or parent.workspace_id != task.workspace_id
            or parent.deleted_at is not None
        ):
            raise NotFound("parent task not found")
        if parent_id == task.id or task.id in await repo.ancestor_ids(session, parent_id):
            raise Conflict("a task cannot be moved under itself or one of its subtasks")
    task.parent_id = parent_id


# --- complete, reopen, skip ---------------------------------------------------------


async def complete_task(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    cascade: bool,
    if_match: int | None,
) -> tuple[Task, Task | None]:
    """Mark a task done; a recurring one gets its next occurrence in the same transaction.

    Completing a task that is already done changes nothing and answers the same result,
    so a retried request is harmless.
    """
    task = await _task_for(session, principal, task_id, write=True)
    if task.status == "done":
        return task, await repo.next_occurrence_of(session, task.id)
    _check_version(task, if_match)
    await _guard_open_children(session, task, cascade=cascade)
    next_task = await _complete(session, principal, task)
    await session.flush()
    return task, next_task


async def _guard_open_children(session: AsyncSession, task: Task, *, cascade: bool) -> None:
    if not await repo.has_open_children(session, task.id):
        return
    if not cascade:
        raise Conflict(
            "the task has open subtasks; complete them first or pass ?cascade=true",
        )


async def _complete(session: AsyncSession, principal: Principal, task: Task) -> Task | None:
    now = utcnow()
    for child in await repo.descendants(session, task.id):
        if child.status in OPEN_STATUSES:
            before = child.status
            child.status, child.completed_at, child.completed_by = "done", now, principal.user_id
            child.progress = 100
            await session.flush()
            _record(
                session,
                principal,
                catalog.TASK_COMPLETED,
                child,
                changes={"status": (before, "done")},
            )
    before = task.status
    task.status, task.completed_at, task.completed_by, task.progress = (
        "done",
        now,
        principal.user_id,
        100,
    )
    await session.flush()
    next_task = await _spawn_next_occurrence(session, principal, task, completed_at=now)
    _record(
        session,
        principal,
        catalog.TASK_COMPLETED,
        task,
        changes={"status": (before, "done")},
        extra={"next_id": str(next_task.id) if next_task else None},
    )
    return next_task


def _next_due_of(
    task: Task, *, completed_at: datetime, mode_override: str | None = None
) -> datetime | None:
    recurrence = _recurrence_of(task)
    if recurrence is None or task.due_at is None:
        return None
    if mode_override == "due":
        recurrence = Recurrence(rule=recurrence.rule, mode="due", text=recurrence.text)
    try:
        due = next_due(
            recurrence,
            series_start=task.series_start or task.due_at,
            previous_due=task.due_at,
            completed_at=completed_at,
            occurrences_so_far=task.occurrence_number,
            tz=ZoneInfo(task.timezone),
        )
    except (ValueError, OverflowError):  # the series runs past the calendar's end
        return None
    return due.astimezone(UTC) if due is not None else None


async def _spawn_next_occurrence(
    session: AsyncSession, principal: Principal, task: Task, *, completed_at: datetime
) -> Task | None:
    due = _next_due_of(task, completed_at=completed_at)
    if due is None or task.series_id is None:
        return None
    # Derived from the series and the date: a retried or concurrent completion finds it.
    next_id = derived_id(task.series_id, due.isoformat())
    existing = await repo.get_task(session, next_id)
    if existing is not None:
        if existing.deleted_at is not None:  # withdrawn by a reopen: bring it back
            await _restore_tree(session, principal, existing)
        return existing
    shift = due - task.due_at if task.due_at else timedelta(0)
    nxt = await _copy_task(
        session, task, new_id_=next_id, parent_id=task.parent_id, shift=shift, series=task
    )
    await _copy_reminders(session, source=task, target=nxt, shift=shift)
    await _copy_subtasks(session, principal, source=task, target=nxt, shift=shift)
    await session.flush()
    _record(session, principal, catalog.TASK_CREATED, nxt, extra={"previous_id": str(task.id)})
    return nxt


async def _copy_task(
    session: AsyncSession,
    source: Task,
    *,
    new_id_: uuid.UUID,
    parent_id: uuid.UUID | None,
    shift: timedelta,
    series: Task | None = None,
) -> Task:
    """A fresh, open copy of a task moved by `shift`; with `series`, its next occurrence."""
    copy = Task(
        id=new_id_,
        workspace_id=source.workspace_id,
        project_id=source.project_id,
        parent_id=parent_id,
        title=source.title,
        description=source.description,
        status="todo",
        priority=source.priority,
        progress=0,
        due_at=source.due_at + shift if source.due_at else None,
        due_is_date=source.due_is_date,
        start_at=source.start_at + shift if source.start_at else None,
        start_is_date=source.start_is_date,
        timezone=source.timezone,
        assignee_id=source.assignee_id,
        estimate_minutes=source.estimate_minutes,
        tag_names=list(source.tag_names),
        depends_on=[],
        created_by=source.created_by,
        version=1,
    )
    if series is not None:
        copy.occurrence_number = series.occurrence_number + 1
        copy.previous_id = series.id
        copy.series_id, copy.series_start = series.series_id, series.series_start
        copy.recurrence_rule, copy.recurrence_mode = series.recurrence_rule, series.recurrence_mode
        copy.recurrence_text = series.recurrence_text
    session.add(copy)
    await session.flush()
    repo.add_task_tags(
        session, task_id=copy.id, tag_ids=await repo.task_tag_ids(session, source.id)
    )
    return copy


async def _copy_reminders(
    session: AsyncSession, *, source: Task, target: Task, shift: timedelta
) -> None:
    for reminder in await repo.list_reminders(session, source.id):
        at = reminder.at + shift if reminder.at is not None else None
        data = ReminderIn(at=at, offset_minutes=reminder.offset_minutes)
        _add_reminder(session, target, data)


async def _copy_subtasks(
    session: AsyncSession, principal: Principal, *, source: Task, target: Task, shift: timedelta
) -> None:
    """Recreate the subtask tree under the next occurrence, every subtask open again."""
    for child in await repo.children(session, source.id):
        copy = await _copy_task(
            session,
            child,
            new_id_=derived_id(target.id, str(child.id)),
            parent_id=target.id,
            shift=shift,
        )
        await _copy_reminders(session, source=child, target=copy, shift=shift)
        await _copy_subtasks(session, principal, source=child, target=copy, shift=shift)
        _record(session, principal, catalog.TASK_CREATED, copy)


async def reopen_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> Task:
    task = await _task_for(session, principal, task_id, write=True)
    _check_version(task, if_match)
    if task.status in OPEN_STATUSES:
        return task
    before = task.status
    task.status, task.completed_at, task.completed_by = "todo", None, None
    await session.flush()
    _record(session, principal, catalog.TASK_REOPENED, task, changes={"status": (before, "todo")})
    await _withdraw_next_occurrence(session, principal, task)
    return task


async def _withdraw_next_occurrence(
    session: AsyncSession, principal: Principal, task: Task
) -> None:
    """Undoing a completion takes back the occurrence it made, if nobody has touched it.

    It goes to the trash: completing again brings the same occurrence (same id) back.
    """
    nxt = await repo.next_occurrence_of(session, task.id)
    if nxt is None or nxt.deleted_at is not None or nxt.version != 1 or nxt.status != "todo":
        return
    now = utcnow()
    for item in [*await repo.descendants(session, nxt.id), nxt]:
        item.deleted_at = now
        await session.flush()
        _record(session, principal, catalog.TASK_DELETED, item)


async def skip_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> Task:
    """Move a recurring task to its next occurrence without completing this one."""
    task = await _task_for(session, principal, task_id, write=True)
    _check_version(task, if_match)
    if task.recurrence_rule is None or task.due_at is None:
        raise Conflict("only a recurring task with a due date can be skipped")
    due = _next_due_of(task, completed_at=utcnow(), mode_override="due")
    if due is None:
        raise Conflict("the series has no further occurrence to skip to")
    before_due = task_to_dict(task)["due"]
    shift = due - task.due_at
    task.due_at = due
    if task.start_at is not None:
        task.start_at += shift
    task.occurrence_number += 1
    for reminder in await repo.list_reminders(session, task.id):
        if reminder.at is not None:
            reminder.at += shift
            reminder.fire_at, reminder.fired_at = reminder.at, None
    await repo.reschedule_offset_reminders(session, task_id=task.id, due_at=task.due_at)
    await session.flush()
    _record(
        session,
        principal,
        catalog.TASK_SKIPPED,
        task,
        changes={"due": (before_due, task_to_dict(task)["due"])},
    )
    return task


# --- delete, restore ----------------------------------------------------------------


async def delete_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> None:
    """Soft-delete a task and its subtasks (restorable together)."""
    task = await _task_for(session, principal, task_id, write=True, include_deleted=True)
    _check_version(task, if_match)
    if task.deleted_at is not None:
        return
    now = utcnow()
    for item in [*await repo.descendants(session, task.id), task]:
        item.deleted_at = now
        await session.flush()
        _record(session, principal, catalog.TASK_DELETED, item)


async def restore_task(session: AsyncSession, *, principal: Principal, task_id: uuid.UUID) -> Task:
    task = await _task_for(session, principal, task_id, write=True, include_deleted=True)
    if task.deleted_at is None:
        return task
    if task.parent_id is not None:
        parent = await repo.get_task(session, task.parent_id)
        if parent is not None and parent.deleted_at is not None:
            raise Conflict("the parent task is deleted; restore it first")
    await _restore_tree(session, principal, task)
    return task


async def _restore_tree(session: AsyncSession, principal: Principal, task: Task) -> None:
    """Take a task out of the trash with the subtasks that were deleted together with it."""
    deleted_at = task.deleted_at
    if deleted_at is None:
        return
    task.deleted_at = None
    await session.flush()
    _record(session, principal, catalog.TASK_RESTORED, task)
    for child in await _deleted_with(session, task, deleted_at):
        child.deleted_at = None
        await session.flush()
        _record(session, principal, catalog.TASK_RESTORED, child)


async def _deleted_with(session: AsyncSession, task: Task, deleted_at: datetime) -> list[Task]:
    found: list[Task] = []
    for child in await repo.children_including_deleted(session, task.id):
        if child.deleted_at == deleted_at:
            found.append(child)
            found.extend(await _deleted_with(session, child, deleted_at))
    return found


# --- lists --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskPage:
    rows: Sequence[Row[Any]]
    next_cursor_values: list[Any] | None


def parse_sort(sort: str | None) -> list[repo.SortKey]:
    if not sort:
        return [repo.SortKey("created_at", descending=False)]
    keys: list[repo.SortKey] = []
    for raw in sort.split(","):
        part = raw.strip()
        descending = part.startswith("-")
        field = part.lstrip("-+")
        if field not in SORT_FIELDS:
            allowed = ", ".join(SORT_FIELDS)
            raise ValidationFailed(
                f"cannot sort by {field!r}; use {allowed} (prefix - for descending)",
                loc=["query", "sort"],
            )
        if any(key.field == field for key in keys):
            raise ValidationFailed(f"{field!r} appears twice in sort", loc=["query", "sort"])
        keys.append(repo.SortKey(field, descending))
    return keys


async def list_tasks(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: repo.TaskFilters,
    sort: Sequence[repo.SortKey],
    after: Sequence[Any] | None,
    limit: int,
) -> TaskPage:
    _require_scope(principal, write=False)
    rows = await repo.list_tasks(
        session,
        viewer_id=principal.user_id,
        workspace_ids_for=accounts.visible_workspace_ids,
        filters=filters,
        sort=sort,
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = repo.cursor_values(rows[-1], sort) if more and rows else None
    return TaskPage(rows=rows, next_cursor_values=cursor)


async def list_subtasks(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    after: Sequence[Any] | None,
    limit: int,
) -> TaskPage:
    """A page of a task's direct subtasks, oldest first (the task list, filtered)."""
    await _task_for(session, principal, task_id, write=False)
    return await list_tasks(
        session,
        principal=principal,
        filters=repo.TaskFilters(parent_id=task_id),
        sort=parse_sort(None),
        after=after,
        limit=limit,
    )


# --- dependencies -------------------------------------------------------------------


async def add_dependency(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    depends_on_id: uuid.UUID,
) -> Task:
    task = await _task_for(session, principal, task_id, write=True)
    other = await repo.get_task(session, depends_on_id)
    if other is None or other.workspace_id != task.workspace_id or other.deleted_at is not None:
        raise NotFound("the task to depend on was not found in this workspace")
    if depends_on_id == task_id or await repo.depends_transitively(
        session, start_id=depends_on_id, target_id=task_id
    ):
        raise Conflict("that dependency would make a cycle")
    if await repo.dependency_exists(session, task_id=task_id, depends_on_id=depends_on_id):
        return task
    session.add(TaskDependency(task_id=task_id, depends_on_id=depends_on_id, created_at=utcnow()))
    task.depends_on = [*task.depends_on, str(depends_on_id)]
    await session.flush()
    _record(
        session,
        principal,
        catalog.TASK_DEPENDENCY_ADDED,
        task,
        extra={"depends_on_id": str(depends_on_id)},
    )
    return task


async def remove_dependency(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    depends_on_id: uuid.UUID,
) -> None:
    task = await _task_for(session, principal, task_id, write=True)
    if not await repo.delete_dependency(session, task_id=task_id, depends_on_id=depends_on_id):
        raise NotFound("no such dependency")
    task.depends_on = [d for d in task.depends_on if d != str(depends_on_id)]
    await session.flush()
    _record(
        session,
        principal,
        catalog.TASK_DEPENDENCY_REMOVED,
        task,
        extra={"depends_on_id": str(depends_on_id)},
    )


# --- time tracking ------------------------------------------------------------------


def _timer_event(
    session: AsyncSession, principal: Principal, event_type: str, log: TimeLog, task: Task
) -> None:
    record_event(
        session,
        type=event_type,
        subject=f"tasks/{task.id}",
        actor=principal.actor,
        workspace_id=task.workspace_id,
        data={"time_log": time_log_to_dict(log)},
    )


def time_log_to_dict(log: TimeLog) -> dict[str, Any]:
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


async def start_timer(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID
) -> TimeLog:
    """Start tracking time on a task; a timer running on another task stops first."""
    task = await _task_for(session, principal, task_id, write=True)
    running = await repo.running_timer(session, principal.user_id)
    if running is not None:
        if running.task_id == task_id:
            return running
        await _stop(session, principal, running)
    log = TimeLog(id=new_id(), task_id=task_id, user_id=principal.user_id, started_at=utcnow())
    session.add(log)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent start won the race
        raise Conflict("another timer was started at the same moment; retry") from exc
    _timer_event(session, principal, catalog.TIMER_STARTED, log, task)
    return log


async def _stop(session: AsyncSession, principal: Principal, log: TimeLog, note: str = "") -> None:
    log.stopped_at = max(utcnow(), log.started_at)
    if note:
        log.note = note
    await session.flush()
    task = await repo.get_task(session, log.task_id)
    if task is not None:
        _timer_event(session, principal, catalog.TIMER_STOPPED, log, task)


async def stop_timer(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, note: str
) -> TimeLog:
    await _task_for(session, principal, task_id, write=True, include_deleted=True)
    running = await repo.running_timer(session, principal.user_id)
    if running is None or running.task_id != task_id:
        raise Conflict("you have no running timer on this task")
    await _stop(session, principal, running, note)
    return running


async def list_time_logs(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[TimeLog]:
    await _task_for(session, principal, task_id, write=False, include_deleted=True)
    return await repo.list_time_logs(session, task_id=task_id, after=after, limit=limit)


# --- reminders ----------------------------------------------------------------------


async def list_reminders(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID
) -> Sequence[Reminder]:
    await _task_for(session, principal, task_id, write=False)
    return await repo.list_reminders(session, task_id)


async def add_reminder(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, data: ReminderIn
) -> Reminder:
    task = await _task_for(session, principal, task_id, write=True)
    if len(await repo.list_reminders(session, task_id)) >= 20:
        raise Conflict("a task can have at most 20 reminders")
    reminder = _add_reminder(session, task, data)
    await session.flush()
    record_event(
        session,
        type=catalog.REMINDER_CREATED,
        subject=f"tasks/{task.id}",
        actor=principal.actor,
        workspace_id=task.workspace_id,
        data={"reminder": reminder_to_dict(reminder)},
    )
    return reminder


def reminder_to_dict(reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.id,
        "task_id": reminder.task_id,
        "at": reminder.at,
        "offset_minutes": reminder.offset_minutes,
        "fire_at": reminder.fire_at,
        "fired_at": reminder.fired_at,
        "created_at": reminder.created_at,
    }


async def delete_reminder(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, reminder_id: uuid.UUID
) -> None:
    task = await _task_for(session, principal, task_id, write=True)
    reminder = await repo.get_reminder(session, reminder_id)
    if reminder is None or reminder.task_id != task_id:
        raise NotFound("reminder not found")
    await session.delete(reminder)
    await session.flush()
    record_event(
        session,
        type=catalog.REMINDER_DELETED,
        subject=f"tasks/{task.id}",
        actor=principal.actor,
        workspace_id=task.workspace_id,
        data={"reminder_id": str(reminder_id)},
    )


# --- history ------------------------------------------------------------------------


async def task_history(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Event]:
    await _task_for(session, principal, task_id, write=False, include_deleted=True)
    return await events.subject_history(
        session, subject=f"tasks/{task_id}", after=after, limit=limit
    )


# --- projects -----------------------------------------------------------------------


async def _project_for(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID, *, write: bool
) -> Project:
    _require_scope(principal, write=write)
    project = await repo.get_project(session, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound("project not found")
    await _authorize(
        session, principal, workspace_id=project.workspace_id, write=write, what="project"
    )
    return project


def project_to_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "workspace_id": project.workspace_id,
        "name": project.name,
        "description": project.description,
        "color": project.color,
        "archived": project.archived,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "version": project.version,
    }


def _record_project(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    project: Project,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    _record_entity(
        session, principal, event_type, "project", project, project_to_dict(project), changes
    )


def _record_entity(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    kind: str,
    entity: Project | Tag,
    state: dict[str, Any],
    changes: dict[str, tuple[Any, Any]] | None,
) -> None:
    record_event(
        session,
        type=event_type,
        subject=f"{kind}s/{entity.id}",
        actor=principal.actor,
        workspace_id=entity.workspace_id,
        version=entity.version,
        data={kind: state},
        changes=changes,
    )


async def get_project(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID
) -> Project:
    return await _project_for(session, principal, project_id, write=False)


async def create_project(
    session: AsyncSession, *, principal: Principal, data: ProjectCreate
) -> tuple[Project, bool]:
    _require_scope(principal, write=True)
    if data.id is not None:
        existing = await repo.get_project(session, data.id)
        if existing is not None:
            if (
                await accounts.role_in(
                    session, user_id=principal.user_id, workspace_id=existing.workspace_id
                )
                is None
            ):
                raise Conflict("that id is already taken; choose another")
            return existing, False
    access = await accounts.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.MEMBER
    )
    workspace_id = access.workspace_id
    project = Project(
        id=data.id or new_id(),
        workspace_id=workspace_id,
        name=data.name,
        description=data.description,
        color=data.color,
        archived=False,
        created_by=principal.user_id,
        version=1,
    )
    session.add(project)
    await session.flush()
    _record_project(session, principal, catalog.PROJECT_CREATED, project)
    return project, True


async def update_project(
    session: AsyncSession,
    *,
    principal: Principal,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    if_match: int | None,
) -> Project:
    project = await _project_for(session, principal, project_id, write=True)
    if if_match is not None and if_match != project.version:
        raise PreconditionFailed(
            f"the project is at version {project.version}, not {if_match}",
            body={"current": project_to_dict(project)},
        )
    before = project_to_dict(project)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name != "color":
            raise ValidationFailed(f"{name!r} cannot be null", loc=["body", name])
        setattr(project, name, value)
    await session.flush()
    after = project_to_dict(project)
    changes = {k: (before[k], after[k]) for k in data.model_fields_set if before[k] != after[k]}
    if changes:
        _record_project(session, principal, catalog.PROJECT_UPDATED, project, changes)
    return project


async def delete_project(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID, if_match: int | None
) -> None:
    """Soft-delete a project together with its tasks."""
    project = await _project_for(session, principal, project_id, write=True)
    if if_match is not None and if_match != project.version:
        raise PreconditionFailed(
            f"the project is at version {project.version}, not {if_match}",
            body={"current": project_to_dict(project)},
        )
    now = utcnow()
    for task in await repo.project_tasks(session, project.id):
        task.deleted_at = now
        await session.flush()
        _record(session, principal, catalog.TASK_DELETED, task)
    project.deleted_at = now
    await session.flush()
    _record_project(session, principal, catalog.PROJECT_DELETED, project)


async def list_projects(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    include_archived: bool,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Project]:
    _require_scope(principal, write=False)
    return await repo.list_projects(
        session,
        workspace_ids=accounts.visible_workspace_ids(principal.user_id),
        workspace_id=workspace_id,
        include_archived=include_archived,
        after=after,
        limit=limit,
    )


# --- tags ---------------------------------------------------------------------------


async def _tag_for(
    session: AsyncSession, principal: Principal, tag_id: uuid.UUID, *, write: bool
) -> Tag:
    _require_scope(principal, write=write)
    tag = await repo.get_tag(session, tag_id)
    if tag is None:
        raise NotFound("tag not found")
    await _authorize(session, principal, workspace_id=tag.workspace_id, write=write, what="tag")
    return tag


def tag_to_dict(tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.id,
        "workspace_id": tag.workspace_id,
        "name": tag.name,
        "color": tag.color,
        "created_at": tag.created_at,
        "version": tag.version,
    }


def _record_tag(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    tag: Tag,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    _record_entity(session, principal, event_type, "tag", tag, tag_to_dict(tag), changes)


async def get_tag(session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID) -> Tag:
    return await _tag_for(session, principal, tag_id, write=False)


async def create_tag(session: AsyncSession, *, principal: Principal, data: TagCreate) -> Tag:
    _require_scope(principal, write=True)
    access = await accounts.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.MEMBER
    )
    workspace_id = access.workspace_id
    key = data.name.lower()
    if await repo.tags_by_key(session, workspace_id=workspace_id, keys=[key]):
        raise Conflict(f"a tag named {data.name!r} already exists in this workspace")
    tag = Tag(
        id=new_id(), workspace_id=workspace_id, name=data.name, name_key=key, color=data.color
    )
    session.add(tag)
    await session.flush()
    _record_tag(session, principal, catalog.TAG_CREATED, tag)
    return tag


async def update_tag(
    session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID, data: TagUpdate
) -> Tag:
    tag = await _tag_for(session, principal, tag_id, write=True)
    before = tag_to_dict(tag)
    if "color" in data.model_fields_set:
        tag.color = data.color
    if data.name is not None and data.name != tag.name:
        key = data.name.lower()
        clash = await repo.tags_by_key(session, workspace_id=tag.workspace_id, keys=[key])
        if key in clash and clash[key].id != tag.id:
            raise Conflict(f"a tag named {data.name!r} already exists in this workspace")
        old_name = tag.name
        tag.name, tag.name_key = data.name, key
        for task in await repo.tasks_with_tag(session, tag.id):
            task.tag_names = [data.name if n == old_name else n for n in task.tag_names]
    await session.flush()
    after = tag_to_dict(tag)
    changes = {k: (before[k], after[k]) for k in ("name", "color") if before[k] != after[k]}
    if changes:
        _record_tag(session, principal, catalog.TAG_UPDATED, tag, changes)
    return tag


async def delete_tag(session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID) -> None:
    tag = await _tag_for(session, principal, tag_id, write=True)
    for task in await repo.tasks_with_tag(session, tag.id):
        task.tag_names = [n for n in task.tag_names if n != tag.name]
    _record_tag(session, principal, catalog.TAG_DELETED, tag)
    await session.delete(tag)
    await session.flush()


async def list_tags(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Tag]:
    _require_scope(principal, write=False)
    return await repo.list_tags(
        session,
        workspace_ids=accounts.visible_workspace_ids(principal.user_id),
        workspace_id=workspace_id,
        after=after,
        limit=limit,
    )
