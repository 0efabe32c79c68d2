"""Periodic jobs on cron schedules (croniter), run once per due time across all workers.

A job is a name, a cron expression (UTC) and `async run(session, now)`. Each has a row in
`periodic_jobs` with its next run. The scheduler takes due rows FOR UPDATE SKIP LOCKED
(PostgreSQL), runs the job in that same transaction and moves `next_run_at` to the cron's
next time after now: a run commits with its schedule or not at all, and a worker that dies
mid-run leaves the job due for the next one. Missed runs (the worker was away) are not
caught up one by one: the job runs once, then follows its schedule from now.

A job that raises is rolled back; its row records the error in a transaction of its own
and the job is tried again at its next time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haven.db.session import Database
from haven.scheduler.models import PeriodicJob

log = logging.getLogger(__name__)

Run = Callable[[AsyncSession, datetime], Awaitable[None]]
ERROR_CHARS: Final = 2000


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    cron: str
    run: Run

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"{self.name}: not a cron expression: {self.cron!r}")

    def next_after(self, instant: datetime) -> datetime:
        following: datetime = croniter(self.cron, instant.astimezone(UTC)).get_next(datetime)
        return following.astimezone(UTC)


async def register(database: Database, jobs: Sequence[Periodic], *, now: datetime) -> None:
    """Give each job its row (its first run at its next cron time); a changed cron moves it."""
    async with database.sessions() as session, session.begin():
        known = {
            row.name: row
            for row in (
                await session.scalars(
                    select(PeriodicJob).where(PeriodicJob.name.in_([job.name for job in jobs]))
                )
            ).all()
        }
        for job in jobs:
            row = known.get(job.name)
            if row is None:
                first = job.next_after(now)
                session.add(PeriodicJob(name=job.name, cron=job.cron, next_run_at=first))
            elif row.cron != job.cron:
                row.cron, row.next_run_at = job.cron, job.next_after(now)


async def run_due(database: Database, jobs: Sequence[Periodic], *, now: datetime) -> int:
    """Run each job whose time has come (once, whichever worker gets it); how many ran."""
    ran = 0
    for job in jobs:
        try:
            async with database.sessions() as session, session.begin():
                due = await session.scalar(
                    select(PeriodicJob)
                    .where(PeriodicJob.name == job.name, PeriodicJob.next_run_at <= now)
                    .with_for_update(skip_locked=True)
                )
                if due is None:
                    continue
                await job.run(session, now)
                due.next_run_at, due.last_run_at, due.last_error = job.next_after(now), now, None
                ran += 1
        except Exception as error:  # one job's failure must not stop the others
            log.exception("periodic job %s failed", job.name)
            async with database.sessions() as session, session.begin():
                await session.execute(
                    update(PeriodicJob)
                    .where(PeriodicJob.name == job.name)
                    .values(next_run_at=job.next_after(now), last_error=repr(error)[:ERROR_CHARS])
                )
    return ran
