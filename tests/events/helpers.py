"""What the event-pipeline tests share: writing events, effects to count, buses that fail."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.ids import new_id
from haven.db.session import Database
from haven.events.bus.base import Bus, Message, Subscription
from haven.events.bus.memory import MemoryBus
from haven.events.consumers import Consumer, Envelope
from haven.events.models import Event
from haven.events.outbox import DomainEvent, record
from haven.events.reading import read_session
from haven.events.worker import Worker
from haven.settings import Settings

TASK_UPDATED = "haven.task.updated"
HANDLED = "haven.test.handled"  # what the test consumers write: one per event handled


def task_event(
    subject: str, version: int | None, *, workspace: uuid.UUID | None = None
) -> DomainEvent:
    return DomainEvent(
        type=TASK_UPDATED,
        subject=subject,
        actor="system/test",
        workspace_id=workspace,
        version=version,
        data={"n": version},
    )


async def write(database: Database, *events: DomainEvent) -> None:
    """Record events in one committed transaction."""
    async with database.sessions() as session, session.begin():
        for event in events:
            record(session, event)


async def all_events(database: Database, *, types: Sequence[str] = (TASK_UPDATED,)) -> list[Event]:
    async with read_session(database) as session:
        query = select(Event).where(Event.type.in_(types)).order_by(Event.id)
        return list((await session.scalars(query)).all())


async def positions(database: Database) -> list[int]:
    async with read_session(database) as session:
        query = select(Event.position).where(Event.position.is_not(None)).order_by(Event.position)
        return [int(value) for value in (await session.scalars(query)).all() if value is not None]


async def effects(database: Database) -> Counter[str]:
    """How many times each event id was handled, as the consumers' own writes show it."""
    async with read_session(database) as session:
        query = select(Event.data).where(Event.type == HANDLED)
        return Counter(str(data["of"]) for data in (await session.scalars(query)).all())


def effect_of(envelope: Envelope) -> DomainEvent:
    return DomainEvent(
        type=HANDLED,
        subject=f"handled/{envelope['id']}",
        actor="system/test",
        workspace_id=None,
        version=None,
        data={"of": envelope["id"], "subject": envelope["subject"], "v": envelope["haven_version"]},
    )


@dataclass
class Recorder:
    """A consumer that records its effect in its transaction (and the order it saw)."""

    name: str = "recorder"
    seen: list[tuple[str, int | None, int]] = field(default_factory=list)  # (subject, version, pos)
    fail: Callable[[Envelope], bool] = lambda _envelope: False
    calls: Counter[str] = field(default_factory=Counter)

    async def handle(self, session: AsyncSession, envelope: Envelope) -> None:
        self.calls[str(envelope["id"])] += 1
        if self.fail(envelope):
            raise RuntimeError(f"poison: {envelope['id']}")
        record(session, effect_of(envelope))
        self.seen.append(
            (envelope["subject"], envelope["haven_version"], envelope["haven_position"])
        )

    def consumer(self) -> Consumer:
        return Consumer(self.name, self.handle, frozenset({"haven.task.*"}))


class FlakyBus:
    """The memory bus behind a broker that refuses `failures` publishes, or accepts them and
    then "crashes" the relay before its commit (`crash_after_publish`)."""

    def __init__(
        self, inner: MemoryBus, *, failures: int = 0, crash_after_publish: int = 0
    ) -> None:
        self.inner = inner
        self.failures = failures
        self.crash_after_publish = crash_after_publish
        self.accepted: list[Message] = []  # what the "broker" holds, duplicates included
        self.refused = 0

    async def publish(self, messages: Sequence[Message]) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.refused += 1
            raise ConnectionError("broker unavailable")
        self.accepted.extend(messages)
        await self.inner.publish(messages)
        if self.crash_after_publish > 0:
            self.crash_after_publish -= 1
            raise RuntimeError("relay crashed after publishing, before committing")

    def subscribe(self, group: str) -> Subscription:
        return self.inner.subscribe(group)

    async def close(self) -> None:
        await self.inner.close()


def fast(settings: Settings, **changes: object) -> Settings:
    """Settings with the pipeline's waits made tiny for tests."""
    values: dict[str, object] = {
        "relay_poll_seconds": 0.05,
        "relay_retry_base_seconds": 0.001,
        "relay_retry_max_seconds": 0.01,
        "consumer_poll_seconds": 0.05,
        "consumer_retry_base_seconds": 0.001,
        "consumer_retry_max_seconds": 0.01,
        "consumer_max_attempts": 3,
    }
    values.update(changes)
    return settings.model_copy(update=values)


@asynccontextmanager
async def running(
    database: Database,
    settings: Settings,
    consumers: Sequence[Consumer] = (),
    *,
    bus: Bus | None = None,
) -> AsyncIterator[Worker]:
    worker = Worker(database, settings, bus=bus, consumers=consumers, jobs=())
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, timeout=30)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    """Wait for `check` to hold (a generous bound for a busy machine, not a speed check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("the pipeline did not get there in time")
        await asyncio.sleep(0.02)


ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`haven worker` as a process on the test database, with the sample consumer
    (tests/events/sample_consumer.py: its effect in its transaction), on the bus at `bus_url`
    (None: the default, the events table itself)."""

    def __init__(
        self, settings: Settings, log: Path, *, bus_url: str | None = None, relay_batch: int = 25
    ) -> None:
        self.env = {
            **os.environ,
            "HAVEN_DATABASE_URL": settings.effective_database_url,
            "HAVEN_DATA_DIR": str(settings.data_dir),
            "HAVEN_LOG_LEVEL": "WARNING",
            "HAVEN_CONSUMER_MODULES": '["tests.events.sample_consumer"]',
            "HAVEN_RELAY_BATCH_SIZE": str(relay_batch),
            "HAVEN_RELAY_POLL_SECONDS": "0.05",
            "HAVEN_CONSUMER_BATCH_SIZE": "40",
            "HAVEN_CONSUMER_POLL_SECONDS": "0.05",
            "HAVEN_CONSUMER_RETRY_BASE_SECONDS": "0.01",
            "HAVEN_CONSUMER_RETRY_MAX_SECONDS": "0.2",
            "HAVEN_TEST_HANDLER_SECONDS": "0.002",
        }
        if bus_url is not None:
            self.env["HAVEN_BUS_URL"] = bus_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "haven", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def signal(self, number: int) -> int:
        """Send `number` and wait (off the event loop) for the process to end: its code."""
        assert self.process is not None
        self.process.send_signal(number)
        return await asyncio.to_thread(self.process.wait, 60)

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)


def event_row(subject: str, version: int | None, **columns: Any) -> dict[str, Any]:
    """An events row as the outbox writes it; `columns` override (an id of the test's choosing)."""
    return {
        "id": new_id(),
        "type": TASK_UPDATED,
        "source": "/",
        "subject": subject,
        "workspace_id": None,
        "actor": "system/test",
        "entity_version": version,
        "time": utcnow(),
        "traceparent": None,
        "data": {"n": version},
    } | columns
