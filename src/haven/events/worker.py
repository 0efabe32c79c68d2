"""The worker: the relay, one runner per consumer and the other jobs (webhook deliveries), as
one unit to start and stop.

`haven worker` runs it alone; `haven serve` runs it in the app's lifespan unless
`--no-worker`. Stopping (SIGTERM, SIGINT, the end of the lifespan) sets one event: the relay
finishes and commits the batch in hand, each runner finishes its handlers in flight and
acknowledges what they handled, and the bus is closed. A SIGKILL loses nothing either: the
relay's uncommitted batch is numbered again and unacknowledged deliveries come again, where
processed_events makes them harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from haven.db.session import Database
from haven.events.bus import open_bus
from haven.events.bus.base import Bus
from haven.events.consumers import (
    SHARED_BATCH,
    Consumer,
    ConsumerRunner,
    RetryPolicy,
    load_consumers,
    runners_for,
)
from haven.events.relay import Backoff, Relay
from haven.settings import Settings

log = logging.getLogger(__name__)

# Other loops the worker runs beside the relay and the consumers, until the stop event is set.
Job = Callable[[Database, Settings, asyncio.Event], Awaitable[None]]


def builtin_jobs() -> list[Job]:
    from haven.notifications.jobs import run_notifications
    from haven.scheduler.loop import run_scheduler
    from haven.webhooks.delivery import run_deliveries

    return [run_scheduler, run_deliveries, run_notifications]


class Worker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        bus: Bus | None = None,
        consumers: Sequence[Consumer] | None = None,
        jobs: Sequence[Job] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.jobs = list(builtin_jobs() if jobs is None else jobs)
        self.bus = bus or open_bus(
            settings.bus_url, database=database, poll_seconds=settings.consumer_poll_seconds
        )
        if consumers is None:
            consumers = load_consumers(settings.consumer_modules)
        self.relay = Relay(
            database,
            self.bus,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            backoff=Backoff(settings.relay_retry_base_seconds, settings.relay_retry_max_seconds),
        )
        sqlite = database.engine.dialect.name == "sqlite"
        self.runners: list[ConsumerRunner] = runners_for(
            consumers,
            database=database,
            bus=self.bus,
            policy=RetryPolicy.of(
                base_seconds=settings.consumer_retry_base_seconds,
                max_seconds=settings.consumer_retry_max_seconds,
                max_attempts=settings.consumer_max_attempts,
            ),
            batch_size=settings.consumer_batch_size,
            poll_seconds=settings.consumer_poll_seconds,
            # SQLite has one writer: a handler's transaction holds the write lock from its
            # first statement, so a second handler could only wait (and time out after
            # sqlite_busy_timeout_ms behind a slow one).
            concurrency=1 if sqlite else settings.consumer_concurrency,
            # SQLite: one event per transaction, so the runner holds the application's only
            # write lock for one handler at a time, never for several.
            shared_batch=1 if sqlite else SHARED_BATCH,
        )
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Run until `stop` is set, then drain and close."""
        names = ", ".join(runner.consumer.name for runner in self.runners) or "none"
        log.info("worker: relay and consumers (%s) on %s", names, self.settings.bus_url)
        loops = [
            self.relay.run(self.stop),
            *(runner.run(self.stop) for runner in self.runners),
            *(job(self.database, self.settings, self.stop) for job in self.jobs),
        ]
        try:
            results = await asyncio.gather(*loops, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    log.error("worker: a loop ended with %r", result)
        finally:
            await self.bus.close()
        log.info("worker: stopped")
