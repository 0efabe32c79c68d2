"""The scheduler's loop, one of the worker's jobs: fire what is due, sleep until the next.

Each round takes due reminders, then due digests, a batch (`scheduler_batch_size`) per
transaction until fewer than a batch are left, then runs due periodic jobs, then sleeps until
the earliest reminder still waiting or `scheduler_poll_seconds`, whichever is sooner (a
reminder created meanwhile for sooner than that waits at most one poll). Any number of
workers run it side by side: every take is FOR UPDATE SKIP LOCKED (PostgreSQL); SQLite has
one process. The clock is a parameter (tests step it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.models import User
from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events.relay import Backoff
from haven.events.signals import nap
from haven.scheduler import digests, periodic, reminders
from haven.settings import Settings

log = logging.getLogger(__name__)

UNAVAILABLE: Final = (OSError, OperationalError, InterfaceError)
Clock = Callable[[], datetime]


async def schedule_unscheduled_digests(session: AsyncSession, now: datetime) -> None:
    """Give a digest instant to users who have the digest on and none yet (accounts made
    before the scheduler, imported ones), a bounded batch per run."""
    users = (
        await session.scalars(
            select(User)
            .where(
                User.digest_enabled.is_(True),
                User.is_active.is_(True),
                User.digest_next_at.is_(None),
            )
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for user in users:
        await digests.reschedule(session, user, now=now)


def builtin_periodic() -> list[periodic.Periodic]:
    return [
        periodic.Periodic("schedule-digests", "*/10 * * * *", schedule_unscheduled_digests),
    ]


class Scheduler:
    def __init__(
        self,
        database: Database,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        late_after: timedelta = reminders.LATE_AFTER_DEFAULT,
        clock: Clock = utcnow,
        jobs: Sequence[periodic.Periodic] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.database = database
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.late_after = late_after
        self.clock = clock
        self.jobs = builtin_periodic() if jobs is None else list(jobs)
        self.backoff = backoff or Backoff(0.2, 30.0)

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> Scheduler:
        return cls(
            database,
            batch_size=settings.scheduler_batch_size,
            poll_seconds=settings.scheduler_poll_seconds,
            late_after=timedelta(seconds=settings.reminder_late_after_seconds),
        )

    async def fire_reminders(self) -> int:
        """Fire every reminder due now, a batch per transaction; how many were taken."""
        taken = 0
        while True:
            async with self.database.sessions() as session, session.begin():
                count = await reminders.fire_due_reminders(
                    session, now=self.clock(), limit=self.batch_size, late_after=self.late_after
                )
            taken += count
            if count < self.batch_size:
                return taken

    async def request_digests(self) -> int:
        taken = 0
        while True:
            async with self.database.sessions() as session, session.begin():
                count = await digests.request_due_digests(
                    session, now=self.clock(), limit=self.batch_size
                )
            taken += count
            if count < self.batch_size:
                return taken

    async def round(self) -> float:
        """One round; answers how long to sleep before the next."""
        await self.fire_reminders()
        await self.request_digests()
        await periodic.run_due(self.database, self.jobs, now=self.clock())
        async with self.database.sessions() as session:
            head = await reminders.next_fire_at(session)
        if head is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (head - self.clock()).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        attempt = 0
        registered = False
        while not stop.is_set():
            try:
                if not registered:
                    await periodic.register(self.database, self.jobs, now=self.clock())
                    registered = True
                pause = await self.round()
                attempt = 0
            except UNAVAILABLE as error:
                attempt += 1
                pause = self.backoff.delay(attempt)
                log.warning("scheduler: database unavailable (%r); again in %.1fs", error, pause)
            except Exception:  # a bad row must not end the loop; it is logged
                attempt += 1
                pause = self.backoff.delay(attempt)
                log.exception("scheduler: a round failed; again in %.1fs", pause)
            await nap(wake, stop, pause)


async def run_scheduler(database: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The worker's job (events/worker.py)."""
    await Scheduler.from_settings(database, settings).run(stop)
