"""The rule that a recurring series has at most one open occurrence.

Whatever reopens an occurrence (reopen, a status change, restoring it from the trash, a
completion that brings its next occurrence back) checks it and answers 409 naming the open
one; the partial unique index `uq_tasks_open_occurrence` guarantees it when requests race.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.errors import Conflict
from haven.tasks import repository as repo
from haven.tasks.models import Task
from haven.tasks.schemas import OPEN_STATUSES


async def ensure_single_open_occurrence(session: AsyncSession, task: Task) -> None:
    """409 when `task` is an open occurrence and another occurrence of its series is open."""
    if task.series_id is None or task.deleted_at is not None or task.status not in OPEN_STATUSES:
        return
    try:
        other = await repo.other_open_occurrence(session, task)
        if other is None:
            await session.flush()  # a concurrent writer is caught by the unique index here
    except IntegrityError as exc:
        raise Conflict(
            "another occurrence of this series was opened at the same moment; reload and retry"
        ) from exc
    if other is not None:
        raise Conflict(
            f"another occurrence of this series is open ({other.id}); complete, skip or"
            " delete it first"
        )
