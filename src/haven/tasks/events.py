"""The events of tasks, built in one place (docs/events.md lists each one's `data`).

Every event about a task carries the task as GET /tasks/{id} shows it after the change
(but for the subtask counts derived from other tasks: schemas.task_values_to_dict), and —
except `created` — `changes`: each field that moved, as [old, new]. Folding a task's
history therefore gives back the task, field by field. Events about a task's time and
reminders carry those instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.tasks.models import Reminder, Task, TimeLog
from haven.tasks.schemas import (
    reminder_to_dict,
    task_to_dict,
    task_values_to_dict,
    time_log_to_dict,
)


class TaskCreated(TypedDict):
    task: State
    # The occurrence this one follows, when completing a recurring task made it.
    previous_id: NotRequired[str]


class TaskChanged(TypedDict):
    task: State
    changes: Changes


class TaskCompleted(TaskChanged):
    next_id: str | None


class DependencyChanged(TaskChanged):
    depends_on_id: str


class TimeLogged(TypedDict):
    time_log: State


class ReminderSet(TypedDict):
    reminder: State


class ReminderDropped(TypedDict):
    reminder_id: str


def snapshot(task: Task) -> State:
    """The task as the API shows it now: take one before changing a task."""
    return task_to_dict(task)


def _subject(task_id: uuid.UUID) -> str:
    return f"tasks/{task_id}"


def _about(type_: str, task: Task, actor: str, data: TaskCreated | TaskChanged) -> DomainEvent:
    return DomainEvent(
        type=type_,
        subject=_subject(task.id),
        actor=actor,
        workspace_id=task.workspace_id,
        version=task.version,
        data=data,
    )


def _changed(task: Task, before: State) -> TaskChanged:
    after = task_to_dict(task)
    return {"task": after, "changes": changes_between(before, after)}


def created(task: Task, *, actor: str, previous: Task | None = None) -> DomainEvent:
    data: TaskCreated = {"task": task_to_dict(task)}
    if previous is not None:
        data["previous_id"] = str(previous.id)
    return _about(catalog.TASK_CREATED, task, actor, data)


def updated(task: Task, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TASK_UPDATED, task, actor, _changed(task, before))


def completed(
    task: Task, *, before: State, actor: str, next_task: Task | None = None
) -> DomainEvent:
    data: TaskCompleted = {
        **_changed(task, before),
        "next_id": str(next_task.id) if next_task is not None else None,
    }
    return _about(catalog.TASK_COMPLETED, task, actor, data)


def reopened(task: Task, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TASK_REOPENED, task, actor, _changed(task, before))


def skipped(task: Task, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TASK_SKIPPED, task, actor, _changed(task, before))


def deleted(task: Task, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TASK_DELETED, task, actor, _changed(task, before))


def restored(task: Task, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TASK_RESTORED, task, actor, _changed(task, before))


def dependency_added(
    task: Task, *, before: State, depends_on_id: uuid.UUID, actor: str
) -> DomainEvent:
    data: DependencyChanged = {**_changed(task, before), "depends_on_id": str(depends_on_id)}
    return _about(catalog.TASK_DEPENDENCY_ADDED, task, actor, data)


def dependency_removed(
    task: Task, *, before: State, depends_on_id: uuid.UUID, actor: str
) -> DomainEvent:
    data: DependencyChanged = {**_changed(task, before), "depends_on_id": str(depends_on_id)}
    return _about(catalog.TASK_DEPENDENCY_REMOVED, task, actor, data)


# A task's values in schemas.TASK_COLUMNS order: what a set-based update reads and writes.
TaskColumns = Sequence[object]


# Builds the events of tasks changed by a set-based update (tasks/bulk.py).
BulkBuilder = Callable[[Iterable[tuple[TaskColumns, TaskColumns]], str], list[DomainEvent]]


def updated_in_bulk(
    rows: Iterable[tuple[TaskColumns, TaskColumns]], actor: str
) -> list[DomainEvent]:
    """A `task.updated` for each task a set-based change reached (a tag renamed, …)."""
    return _in_bulk(catalog.TASK_UPDATED, rows, actor)


def deleted_in_bulk(
    rows: Iterable[tuple[TaskColumns, TaskColumns]], actor: str
) -> list[DomainEvent]:
    """A `task.deleted` for each task a set-based change trashed (a project deleted, …)."""
    return _in_bulk(catalog.TASK_DELETED, rows, actor)


def restored_in_bulk(
    rows: Iterable[tuple[TaskColumns, TaskColumns]], actor: str
) -> list[DomainEvent]:
    """A `task.restored` for each subtask restored with its parent."""
    return _in_bulk(catalog.TASK_RESTORED, rows, actor)


def completed_in_bulk(
    rows: Iterable[tuple[TaskColumns, TaskColumns]], actor: str
) -> list[DomainEvent]:
    """A `task.completed` for each subtask a cascade completed (it makes no next occurrence)."""
    return _in_bulk(catalog.TASK_COMPLETED, rows, actor, completed=True)


def _in_bulk(
    type_: str,
    rows: Iterable[tuple[TaskColumns, TaskColumns]],
    actor: str,
    *,
    completed: bool = False,
) -> list[DomainEvent]:
    """One event per task, from its values before and after: the tasks are never loaded."""
    events: list[DomainEvent] = []
    for before, after in rows:
        state = task_values_to_dict(after)
        changed = TaskChanged(
            task=state, changes=changes_between(task_values_to_dict(before), state)
        )
        data = TaskCompleted(**changed, next_id=None) if completed else changed
        events.append(
            DomainEvent(
                type=type_,
                subject=f"tasks/{state['id']}",
                actor=actor,
                workspace_id=uuid.UUID(state["workspace_id"]),
                version=state["version"],
                data=data,
            )
        )
    return events


def _on_task(
    type_: str, task: Task, actor: str, data: TimeLogged | ReminderSet | ReminderDropped
) -> DomainEvent:
    """An event about something a task holds: the task's subject, no task version."""
    return DomainEvent(
        type=type_,
        subject=_subject(task.id),
        actor=actor,
        workspace_id=task.workspace_id,
        version=None,
        data=data,
    )


def timer_started(log: TimeLog, *, task: Task, actor: str) -> DomainEvent:
    return _on_task(catalog.TIMER_STARTED, task, actor, {"time_log": time_log_to_dict(log)})


def timer_stopped(log: TimeLog, *, task: Task, actor: str) -> DomainEvent:
    return _on_task(catalog.TIMER_STOPPED, task, actor, {"time_log": time_log_to_dict(log)})


def reminder_created(reminder: Reminder, *, task: Task, actor: str) -> DomainEvent:
    data: ReminderSet = {"reminder": reminder_to_dict(reminder)}
    return _on_task(catalog.REMINDER_CREATED, task, actor, data)


def reminder_deleted(reminder_id: uuid.UUID, *, task: Task, actor: str) -> DomainEvent:
    data: ReminderDropped = {"reminder_id": str(reminder_id)}
    return _on_task(catalog.REMINDER_DELETED, task, actor, data)
