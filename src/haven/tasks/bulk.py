"""Changes that reach many tasks at once, set-based, each task still getting its event.

A tag renamed on 10,000 tasks, a member's tasks unassigned, a project's tasks trashed, a
subtree 1,500 deep trashed, restored or completed: the tasks are read and rewritten a batch
at a time (a few statements per batch), and the events — one per task, with its state after
and its changes — go in with one insert.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
# At most this many distinct sets of values in a batch are written one UPDATE each.
_FEW: Final = 4
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
        await _rewrite(session, rows, change, now=now, events=events, actor=actor)


# Looks at one locked batch before it is written (may raise, may read what the change
# needs) and answers the change to apply to its tasks.
Plan = Callable[[Sequence[Row[Any]]], Awaitable[Change]]
# The selection of the tasks to change among a batch of listed ids (repo.live_among, …):
# re-checked under the batch's row locks.
Among = Callable[[Sequence[uuid.UUID]], ColumnElement[bool]]


async def change_listed_tasks(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    among: Among,
    plan: Plan,
    *,
    events: task_events.BulkBuilder,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Like change_tasks, for tasks known by id (a subtree read in one walk): `BATCH_SIZE`
    ids at a time, each batch read and locked in one statement, planned, rewritten (see
    _write) and its events written in one insert."""
    now = now or utcnow()
    for start in range(0, len(ids), BATCH_SIZE):
        rows = await repo.locked_tasks(session, among(ids[start : start + BATCH_SIZE]))
        if rows:
            change = await plan(rows)
            await _rewrite(session, rows, change, now=now, events=events, actor=actor)


async def _rewrite(
    session: AsyncSession,
    rows: Sequence[Row[Any]],
    change: Change,
    *,
    now: datetime,
    events: task_events.BulkBuilder,
    actor: str,
) -> None:
    planned = [(row, values) for row in rows if (values := change(row))]
    await _write(session, planned, now=now)
    states = [(tuple(row), _after(row, values, now)) for row, values in planned]
    await record_all(session, events(states, actor))


async def _write(
    session: AsyncSession,
    planned: Sequence[tuple[Row[Any], Mapping[str, object]]],
    *,
    now: datetime,
) -> None:
    """Tasks that get the same values (all of a subtree trashed at one instant) are written
    with one UPDATE … WHERE id IN per distinct set of values, when a batch has a few such
    sets; tasks that each get their own (a tag renamed inside each task's list of tags)
    with one executemany per set of columns."""
    groups: dict[tuple[tuple[str, object], ...], list[uuid.UUID]] = {}
    for row, values in planned:
        key = tuple(sorted(values.items()))
        try:
            groups.setdefault(key, []).append(row.id)
        except TypeError:  # unhashable values (a list): no two tasks are alike
            break
    else:
        if len(groups) <= _FEW:
            for key, ids in groups.items():
                await repo.set_on_tasks(session, ids=ids, values=dict(key), now=now)
            return
    by_columns: dict[frozenset[str], list[tuple[uuid.UUID, Mapping[str, object]]]] = {}
    for row, values in planned:
        by_columns.setdefault(frozenset(values), []).append((row.id, values))
    for same_columns in by_columns.values():
        await repo.rewrite_tasks(session, values=same_columns, now=now)


def _after(row: Row[Any], values: Mapping[str, object], now: datetime) -> Sequence[object]:
    """A task's columns as rewrite_tasks leaves them (the row is locked: nothing else moves)."""
    after: list[object] = list(row)
    for name, value in values.items():
        if name in _POSITION:  # a column the API does not show (completed_by) is no field
            after[_POSITION[name]] = value
    after[_POSITION["version"]] = row.version + 1
    after[_POSITION["updated_at"]] = now
    return after


def same_for_each(values: Mapping[str, object]) -> Plan:
    """A plan that writes the same values on every task of every batch."""

    async def plan(_rows: Sequence[Row[Any]]) -> Change:
        return lambda _row: values

    return plan
