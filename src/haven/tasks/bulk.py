"""Changes that reach many tasks at once, set-based, each task still getting its event.

A tag renamed on 10,000 tasks, a member's tasks unassigned, a project's tasks trashed:
the tasks are read and rewritten a batch at a time (a few statements per batch), and the
events — one per task, with its state after and its changes — go in with one insert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.events.outbox import record_all
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.schemas import TASK_COLUMNS

BATCH_SIZE: Final = 500
_POSITION: Final = {name: index for index, name in enumerate(TASK_COLUMNS)}

# What to write on one task (its new column values), or None to leave it as it is.
Change = Callable[[Row[Any]], Mapping[str, object] | None]


async def change_tasks(
    session: AsyncSession,
    selection: ColumnElement[bool],
    change: Change,
    *,
    events: task_events.BulkBuilder,
    actor: str,
) -> None:
    """Apply `change` to every selected task: a new version, and an event for each that
    `events` builds (task_events.updated_in_bulk, deleted_in_bulk)."""
    now = utcnow()
    async for rows in repo.locked_task_batches(session, selection, batch_size=BATCH_SIZE):
        planned = [(row, values) for row in rows if (values := change(row))]
        await repo.rewrite_tasks(
            session, values=[(row.id, values) for row, values in planned], now=now
        )
        states = [(tuple(row), _after(row, values, now)) for row, values in planned]
        await record_all(session, events(states, actor))


def _after(row: Row[Any], values: Mapping[str, object], now: datetime) -> Sequence[object]:
    """A task's columns as rewrite_tasks leaves them (the row is locked: nothing else moves)."""
    after: list[object] = list(row)
    for name, value in values.items():
        after[_POSITION[name]] = value
    after[_POSITION["version"]] = row.version + 1
    after[_POSITION["updated_at"]] = now
    return after
