"""Recurring series: complete, reopen and skip, and the next occurrence a completion makes.

Expansion is bounded in the recurrence module (a rule out of reach ends in a clear error, never
a long loop) and runs in a worker thread, so even its few milliseconds stay off the event loop.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import cache, partial
from typing import TypeVar
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, ValidationFailed
from haven.core.ids import derived_id
from haven.events.outbox import State, record
from haven.recurrence import (
    InvalidRecurrence,
    Recurrence,
    check_schedule,
    next_due,
    occurrences,
    parse_recurrence,
)
from haven.tasks import bulk
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import ensure_task_version, task_for
from haven.tasks.models import Reminder, Task
from haven.tasks.open_occurrence import ensure_single_open_occurrence
from haven.tasks.reminders import new_reminder
from haven.tasks.schemas import LAST_DAY, OPEN_STATUSES, RecurrenceIn, ReminderIn
from haven.tasks.trash import restore_tree, trash_tree

_T = TypeVar("_T")


@cache
def _expansion_limiter() -> anyio.CapacityLimiter:
    # One expansion at a time: the event loop competes with worker threads for the GIL, and
    # with a single one it never waits more than a switch interval (each run is a few ms).
    return anyio.CapacityLimiter(1)


async def _off_the_loop(work: Callable[[], _T]) -> _T:
    """Run bounded expansion work in a worker thread."""
    return await anyio.to_thread.run_sync(work, limiter=_expansion_limiter())


def _recurrence_of(task: Task) -> Recurrence | None:
    if not task.recurrence_rule:
        return None
    if task.recurrence_mode == "completion":
        return Recurrence(rule=task.recurrence_rule, mode="completion", text=task.recurrence_text)
    return Recurrence(rule=task.recurrence_rule, mode="due", text=task.recurrence_text)


def recurrence_from(data: RecurrenceIn) -> Recurrence:
    try:
        return parse_recurrence(rule=data.rule, text=data.text, mode=data.mode)
    except InvalidRecurrence as exc:
        loc: list[str | int] = ["body", "recurrence", "rule" if data.rule is not None else "text"]
        raise ValidationFailed(f"recurrence: {exc}", loc=loc) from exc


def _first_occurrence(recurrence: Recurrence, zone: str) -> datetime:
    """Where a recurring task without a due starts: the first day from today on that the rule
    picks, in the task's zone.

    A rule that names no days ("weekly", "every 3 days", "yearly") starts today: RFC 5545
    takes what a rule leaves out (the weekday, the day of the month) from its start. A rule
    that names its days ("every 2 weeks on Monday", "monthly on the 1st") starts on the first
    such day, found without its INTERVAL and COUNT: every other Monday, made on a Friday,
    starts on the coming Monday and goes on every other week from there.
    """
    tz = ZoneInfo(zone)
    today = datetime.combine(utcnow().astimezone(tz).date(), time(0), tzinfo=tz)
    parts = recurrence.rule.split(";")
    if not any(part.startswith("BY") for part in parts):
        return today.astimezone(UTC)
    each = replace(
        recurrence,
        rule=";".join(part for part in parts if not part.startswith(("INTERVAL=", "COUNT="))),
    )
    # Anchored the day before, so that today counts only if the rule picks it (RFC 5545
    # makes a series' start an occurrence whether or not the rule produces it).
    yesterday = today - timedelta(days=1)
    try:
        found = occurrences(each, series_start=yesterday, tz=tz, after=yesterday, limit=1)
    except InvalidRecurrence as exc:
        raise ValidationFailed(f"recurrence: {exc}", loc=["body", "recurrence"]) from exc
    if not found:
        raise ValidationFailed("recurrence: the rule has no occurrence from today on")
    return found[0].astimezone(UTC)


async def apply_recurrence(task: Task, recurrence: Recurrence | None) -> None:
    """Give a task a recurrence (or take it away); a task without a due gets the first one."""
    if recurrence is None:
        task.recurrence_rule = task.recurrence_mode = task.recurrence_text = None
        return
    if task.due_at is None:
        first = await _off_the_loop(partial(_first_occurrence, recurrence, task.timezone))
        task.due_at, task.due_is_date = first, True
    task.recurrence_rule = recurrence.rule
    task.recurrence_mode = recurrence.mode
    task.recurrence_text = recurrence.text
    if task.series_id is None:
        task.series_id = task.id
        task.series_start = task.due_at
        task.occurrence_number = 1


async def check_series(task: Task) -> None:
    """422 when the task's recurrence cannot follow its due: a date-only due that would repeat
    within a day, or a rule with no reachable occurrence after the due (from the series' real
    start, with its INTERVAL). Call it after the due, zone or recurrence changed."""
    recurrence = _recurrence_of(task)
    if recurrence is None or task.due_at is None:
        return
    check = partial(
        check_schedule,
        recurrence,
        series_start=task.series_start or task.due_at,
        due=task.due_at,
        tz=ZoneInfo(task.timezone),
        date_only=task.due_is_date,
    )
    try:
        await _off_the_loop(check)
    except InvalidRecurrence as exc:
        raise ValidationFailed(f"recurrence: {exc}", loc=["body", "recurrence"]) from exc


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
    so a retried request is harmless; but not with an If-Match that no longer matches,
    which is a 412 here as on every write.
    """
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    if task.status == "done":
        return task, await repo.next_occurrence_of(session, task.id)
    has_subtasks = await guard_open_children(session, task, cascade=cascade)
    next_task = await complete(session, principal, task, has_subtasks=has_subtasks)
    await session.flush()
    return task, next_task


async def guard_open_children(session: AsyncSession, task: Task, *, cascade: bool) -> bool:
    """409 when a task about to be completed has open subtasks and the caller did not cascade.

    Whether the task has subtasks at all (open or not, in the trash or not), for `complete`.
    """
    has_subtasks, has_open = await repo.children_of(session, task.id)
    if has_open and not cascade:
        raise Conflict(
            "the task has open subtasks; complete them first or pass ?cascade=true",
        )
    return has_subtasks


async def complete(
    session: AsyncSession,
    principal: Principal,
    task: Task,
    *,
    before: State | None = None,
    has_subtasks: bool = True,
) -> Task | None:
    """Mark a task and its open subtasks done; the next occurrence of a recurring one, or None.

    The subtasks, at any depth, are read in one query and rewritten set-based, a few
    statements per batch of tasks (tasks/bulk.py), each with its `task.completed` event.
    `before` is the task as the request found it, when the same request changed more than
    its status (a PATCH): the completed event then carries those changes too.
    `has_subtasks` False (`guard_open_children` said so, under the task's lock) skips the
    subtree walks of the task and of its next occurrence.
    """
    now = utcnow()
    if has_subtasks:
        await bulk.change_listed_tasks(
            session,
            await repo.descendant_ids(session, task.id),
            repo.open_among,
            bulk.same_for_each(
                {
                    "status": "done",
                    "completed_at": now,
                    "completed_by": principal.user_id,
                    "progress": 100,
                }
            ),
            events=task_events.completed_in_bulk,
            actor=principal.actor,
            now=now,
        )
    if before is None:
        before = task_events.snapshot(task)
    task.status, task.completed_at, task.completed_by, task.progress = (
        "done",
        now,
        principal.user_id,
        100,
    )
    await session.flush()
    next_task = await _spawn_next_occurrence(
        session, principal, task, completed_at=now, has_subtasks=has_subtasks
    )
    record(
        session,
        task_events.completed(task, before=before, actor=principal.actor, next_task=next_task),
    )
    return next_task


async def _next_due_of(
    task: Task, *, completed_at: datetime, mode_override: str | None = None
) -> datetime | None:
    """The next occurrence's due, or None when the series ends (COUNT, UNTIL, or past the last
    accepted date). 409 when the stored rule cannot find it within the search limit."""
    recurrence = _recurrence_of(task)
    if recurrence is None or task.due_at is None:
        return None
    if mode_override == "due":
        recurrence = Recurrence(rule=recurrence.rule, mode="due", text=recurrence.text)
    following = partial(
        next_due,
        recurrence,
        series_start=task.series_start or task.due_at,
        previous_due=task.due_at,
        completed_at=completed_at,
        occurrences_so_far=task.occurrence_number,
        tz=ZoneInfo(task.timezone),
        last_day=LAST_DAY,
    )
    try:
        due = await _off_the_loop(following)
    except InvalidRecurrence as exc:  # a rule stored before today's checks, or imported
        raise Conflict(
            f"the series cannot continue: {exc}; change the task's recurrence first"
        ) from exc
    return due.astimezone(UTC) if due is not None else None


async def _spawn_next_occurrence(
    session: AsyncSession,
    principal: Principal,
    task: Task,
    *,
    completed_at: datetime,
    has_subtasks: bool = True,
) -> Task | None:
    due = await _next_due_of(task, completed_at=completed_at)
    if due is None or task.series_id is None:
        return None
    # Derived from the series and the date: a retried or concurrent completion finds it.
    next_id = derived_id(task.series_id, due.isoformat())
    existing = await repo.get_task(session, next_id)
    if existing is not None:
        if existing.deleted_at is not None:  # withdrawn by a reopen: bring it back
            await restore_tree(session, principal, existing)
        return existing
    shift = due - task.due_at if task.due_at else timedelta(0)
    nxt = await _copy_task(
        session, task, new_id_=next_id, parent_id=task.parent_id, shift=shift, series=task
    )
    await _copy_reminders(session, source=task, target=nxt, shift=shift)
    if has_subtasks:
        await _copy_subtasks(session, principal, source=task, target=nxt, shift=shift)
    await ensure_single_open_occurrence(session, nxt)
    record(session, task_events.created(nxt, actor=principal.actor, previous=task))
    return nxt


def _fresh_copy(
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
    return copy


async def _copy_task(
    session: AsyncSession,
    source: Task,
    *,
    new_id_: uuid.UUID,
    parent_id: uuid.UUID | None,
    shift: timedelta,
    series: Task | None = None,
) -> Task:
    """Write a fresh copy of a task (see _fresh_copy) with the task's tags."""
    copy = _fresh_copy(source, new_id_=new_id_, parent_id=parent_id, shift=shift, series=series)
    session.add(copy)
    await session.flush()
    repo.add_task_tags(
        session, task_id=copy.id, tag_ids=await repo.task_tag_ids(session, source.id)
    )
    return copy


def _shifted(reminder: Reminder, shift: timedelta) -> ReminderIn:
    """A reminder as it goes onto a copy of its task moved by `shift`."""
    at = reminder.at + shift if reminder.at is not None else None
    return ReminderIn(at=at, offset_minutes=reminder.offset_minutes)


async def _copy_reminders(
    session: AsyncSession, *, source: Task, target: Task, shift: timedelta
) -> None:
    for reminder in await repo.list_reminders(session, source.id):
        new_reminder(session, target, _shifted(reminder, shift))


async def _copy_subtasks(
    session: AsyncSession, principal: Principal, *, source: Task, target: Task, shift: timedelta
) -> None:
    """Recreate the subtask tree under the next occurrence, every subtask open again.

    The tree, its tags and reminders are read in three queries and written in one flush,
    whatever its depth; each copy's id is derived from its parent copy's, so a retried
    completion finds the same copies.
    """
    subtree = await repo.live_subtree(session, source.id)
    if not subtree:
        return
    ids = [task.id for task in subtree]
    tag_ids, reminders = await repo.tag_ids_of(session, ids), await repo.reminders_of(session, ids)
    children: dict[uuid.UUID | None, list[Task]] = {}
    for task in subtree:  # oldest first, as they were created
        children.setdefault(task.parent_id, []).append(task)
    copies: list[tuple[Task, Task]] = []
    waiting = deque([(source.id, target.id)])  # (a task, its copy), parents before subtasks
    while waiting:
        original_id, copy_id = waiting.popleft()
        for child in children.get(original_id, []):
            copy = _fresh_copy(
                child, new_id_=derived_id(copy_id, str(child.id)), parent_id=copy_id, shift=shift
            )
            session.add(copy)
            copies.append((child, copy))
            waiting.append((child.id, copy.id))
    await session.flush()
    for child, copy in copies:
        repo.add_task_tags(session, task_id=copy.id, tag_ids=tag_ids.get(child.id, []))
        for reminder in reminders.get(child.id, []):
            new_reminder(session, copy, _shifted(reminder, shift))
        record(session, task_events.created(copy, actor=principal.actor))


async def reopen_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> Task:
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    if task.status in OPEN_STATUSES:
        return task
    before = task_events.snapshot(task)
    await reopen(session, principal, task, status="todo")
    await session.flush()
    record(session, task_events.reopened(task, before=before, actor=principal.actor))
    return task


async def reopen(session: AsyncSession, principal: Principal, task: Task, *, status: str) -> None:
    """Make a done or cancelled occurrence open again, holding the rule of one open occurrence.

    The next occurrence its completion made goes back first if nobody started it; with another
    occurrence still open, the reopen is refused (409).
    """
    await _withdraw_next_occurrence(session, principal, task)
    task.status, task.completed_at, task.completed_by = status, None, None
    await ensure_single_open_occurrence(session, task)


async def _withdraw_next_occurrence(
    session: AsyncSession, principal: Principal, task: Task
) -> None:
    """The next occurrence goes to the trash if it is still to do with no progress: completing
    again brings the same occurrence (same id) back. One someone started stays, and the reopen
    is then refused."""
    nxt = await repo.next_occurrence_of(session, task.id)
    if nxt is None or nxt.deleted_at is not None or nxt.status != "todo" or nxt.progress:
        return
    if await _holds(session, nxt, task):
        return  # the task was just put under its next occurrence: that one is in use
    await trash_tree(session, principal, nxt, deleted_at=utcnow())


async def _holds(session: AsyncSession, ancestor: Task, task: Task) -> bool:
    """Whether `task` (with its parent as just set, saved or not) sits under `ancestor`."""
    if task.parent_id is None:
        return False
    if task.parent_id == ancestor.id:
        return True
    return ancestor.id in await repo.ancestor_ids(session, task.parent_id)


async def skip_task(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, if_match: int | None
) -> Task:
    """Move a recurring task to its next occurrence without completing this one."""
    task = await task_for(session, principal, task_id, write=True)
    ensure_task_version(task, if_match)
    if task.recurrence_rule is None or task.due_at is None:
        raise Conflict("only a recurring task with a due date can be skipped")
    due = await _next_due_of(task, completed_at=utcnow(), mode_override="due")
    if due is None:
        raise Conflict("the series has no further occurrence to skip to")
    before = task_events.snapshot(task)
    shift = due - task.due_at
    task.due_at = due
    if task.start_at is not None:
        task.start_at += shift
    task.occurrence_number += 1
    for reminder in await repo.list_reminders(session, task.id):
        if reminder.at is not None:
            reminder.at += shift
            reminder.fire_at, reminder.fired_at, reminder.outcome = reminder.at, None, None
    await repo.reschedule_offset_reminders(session, task_id=task.id, due_at=task.due_at)
    await session.flush()
    record(session, task_events.skipped(task, before=before, actor=principal.actor))
    return task
