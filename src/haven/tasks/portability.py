"""How tasks travel in a workspace export (haven.portability).

With them go what hangs on a task: its tags, dependencies, reminders and time logs.
"""

from __future__ import annotations

import uuid

from haven.events.outbox import EventList
from haven.portability.errors import InvalidExport
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.tasks import events, repository
from haven.tasks.models import Reminder, Task, TimeLog


def parents_first(tasks: list[Row]) -> list[Row]:
    """Tasks ordered so that each comes after its parent (stable by id within a depth)."""
    parents = {task["id"]: task["parent_id"] for task in tasks}
    depths: dict[uuid.UUID, int] = {}

    def depth(task_id: uuid.UUID) -> int:
        chain: list[uuid.UUID] = []
        on_chain: set[uuid.UUID] = set()
        current: uuid.UUID | None = task_id
        while current is not None and current not in depths:
            if current in on_chain:
                raise InvalidExport(f"tasks: task {current} is its own ancestor")
            chain.append(current)
            on_chain.add(current)
            current = parents[current]
        level = depths[current] if current is not None else -1
        for item in reversed(chain):
            level += 1
            depths[item] = level
        return depths[task_id]

    return sorted(tasks, key=lambda task: (depth(task["id"]), str(task["id"])))


async def without_clashing_timers(context: ImportContext, logs: list[Row]) -> list[Row]:
    """Drop an imported running timer whose user already runs one here (one per user)."""
    running_users = {log["user_id"] for log in logs if log["stopped_at"] is None}
    busy = {
        user_id
        for user_id in running_users
        if await repository.running_timer(context.session, user_id) is not None
    }
    kept = [log for log in logs if log["stopped_at"] is not None or log["user_id"] not in busy]
    if len(kept) < len(logs):
        context.report.warnings.append(
            f"{len(logs) - len(kept)} running timer(s) skipped: "
            "their users already have a timer running here"
        )
    return kept


def tasks_created(_context: ImportContext, rows: list[Row]) -> EventList:
    """A `task.created` per task, parents first (the rows are: see parents_first); its
    tags and dependencies are part of the task's state, so they need no events of their own."""
    return [events.created(Task(**row), actor=IMPORT_ACTOR) for row in rows]


def _task(context: ImportContext, task_id: uuid.UUID) -> Task:
    """What an event about something a task holds needs of the task: its id and workspace."""
    return Task(id=task_id, workspace_id=context.workspace_id)


def reminders_created(context: ImportContext, rows: list[Row]) -> EventList:
    return [
        events.reminder_created(
            Reminder(**row), task=_task(context, row["task_id"]), actor=IMPORT_ACTOR
        )
        for row in rows
    ]


def time_logs_started(context: ImportContext, rows: list[Row]) -> EventList:
    """A `timer.started` per time log, carrying the log as it is (stopped or running): a
    time log has no `created` event, and this is the one that makes it."""
    return [
        events.timer_started(
            TimeLog(**row), task=_task(context, row["task_id"]), actor=IMPORT_ACTOR
        )
        for row in rows
    ]


register_section(Section("tasks", "tasks", arrange=parents_first, events=tasks_created))
register_section(Section("task_tags", "task_tags", order_by=("task_id", "tag_id"), via="task_id"))
register_section(
    Section(
        "dependencies",
        "task_dependencies",
        order_by=("task_id", "depends_on_id"),
        via="task_id",
    )
)
register_section(Section("reminders", "reminders", via="task_id", events=reminders_created))
register_section(
    Section(
        "time_logs",
        "time_logs",
        via="task_id",
        prepare=without_clashing_timers,
        events=time_logs_started,
    )
)
