"""How tasks travel in a workspace export (haven.portability).

With them go what hangs on a task: its tags, dependencies, reminders and time logs.
"""

from __future__ import annotations

import uuid

from haven.portability.errors import InvalidExport
from haven.portability.registry import ImportContext, Row, Section, register_section
from haven.tasks import repository


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


register_section(Section("tasks", "tasks", arrange=parents_first))
register_section(Section("task_tags", "task_tags", order_by=("task_id", "tag_id"), via="task_id"))
register_section(
    Section(
        "dependencies",
        "task_dependencies",
        order_by=("task_id", "depends_on_id"),
        via="task_id",
    )
)
register_section(Section("reminders", "reminders", via="task_id"))
register_section(Section("time_logs", "time_logs", via="task_id", prepare=without_clashing_timers))
