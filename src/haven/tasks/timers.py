"""Time tracking: one running timer per user, and the time logs it leaves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict
from haven.core.ids import new_id
from haven.events.outbox import record
from haven.tasks import events as task_events
from haven.tasks import repository as repo
from haven.tasks.access import task_for
from haven.tasks.models import TimeLog


async def start_timer(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID
) -> TimeLog:
    """Start tracking time on a task; a timer running on another task stops first."""
    task = await task_for(session, principal, task_id, write=True)
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
    record(session, task_events.timer_started(log, task=task, actor=principal.actor))
    return log


async def _stop(session: AsyncSession, principal: Principal, log: TimeLog, note: str = "") -> None:
    log.stopped_at = max(utcnow(), log.started_at)
    if note:
        log.note = note
    await session.flush()
    task = await repo.get_task(session, log.task_id)
    if task is not None:
        record(session, task_events.timer_stopped(log, task=task, actor=principal.actor))


async def stop_timer(
    session: AsyncSession, *, principal: Principal, task_id: uuid.UUID, note: str
) -> TimeLog:
    await task_for(session, principal, task_id, write=True, include_deleted=True)
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
    await task_for(session, principal, task_id, write=False, include_deleted=True)
    return await repo.list_time_logs(session, task_id=task_id, after=after, limit=limit)
