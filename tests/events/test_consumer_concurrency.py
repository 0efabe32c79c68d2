"""A runner handles workspaces concurrently and each workspace in order (events/lanes.py);
its acknowledgements never move the memory bus's group offset past an event still being
handled; a stop drains the handlers in flight.

On SQLite a runner handles one event at a time (one writer: events/worker.py), so the tests
that need two handlers at once run in the PostgreSQL pass."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from haven.db.session import Database
from haven.events.bus.memory import MemoryBus, MemoryDelivery
from haven.events.consumers import Consumer, ConsumerRunner, Envelope, Outcome, RetryPolicy
from haven.events.models import ConsumerOffset, DeadLetter, ProcessedEvent
from haven.events.outbox import record, to_message
from haven.events.reading import read_session
from haven.events.relay import Relay
from haven.settings import Settings
from tests.databases import backend
from tests.events.helpers import (
    Recorder,
    all_events,
    effect_of,
    effects,
    eventually,
    fast,
    positions,
    running,
    task_event,
    write,
)

# SQLite: one handler at a time by design (a handler's transaction holds the one write lock).
needs_concurrent_writers = pytest.mark.skipif(
    backend() == "sqlite", reason="SQLite runs one handler at a time (one writer)"
)


class Tracking:
    """A consumer that records what it handled, in order, and how many ran at once."""

    def __init__(self, name: str = "tracking", *, seed: int = 0) -> None:
        self.name = name
        self.seen: list[Envelope] = []
        self.running = 0
        self.busiest = 0
        self.gates: dict[str, asyncio.Event] = {}  # subject -> released when set
        self.entered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._rng = random.Random(seed)

    async def handle(self, session: Any, envelope: Envelope) -> None:
        self.running += 1
        self.busiest = max(self.busiest, self.running)
        try:
            self.entered[envelope["subject"]].set()
            gate = self.gates.get(envelope["subject"])
            if gate is not None:
                await gate.wait()
            else:
                await asyncio.sleep(self._rng.uniform(0, 0.004))
            record(session, effect_of(envelope))
            self.seen.append(envelope)
        finally:
            self.running -= 1

    def consumer(self) -> Consumer:
        return Consumer(self.name, self.handle, frozenset({"haven.task.*"}))


async def offset(database: Database) -> int:
    async with read_session(database) as session:
        value = await session.scalar(select(ConsumerOffset.position))
    return int(value or 0)


def everything_acknowledged(database: Database) -> Callable[[], Awaitable[bool]]:
    """The group's offset is at the last published position (the consumers' own effects are
    events too: the relay publishes them, and the consumer skips them)."""

    async def check() -> bool:
        published = await positions(database)
        return bool(published) and await offset(database) == published[-1]

    return check


async def processed(database: Database) -> int:
    async with read_session(database) as session:
        return len((await session.scalars(select(ProcessedEvent.event_id))).all())


async def test_each_workspace_in_order_while_workspaces_run_concurrently(
    database: Database, settings: Settings
) -> None:
    rng = random.Random(12)
    workspaces = [uuid.uuid4() for _ in range(12)]
    versions: dict[str, int] = defaultdict(int)
    batches = []
    for _ in range(30):  # 30 transactions of 1 to 6 events over random tasks and workspaces
        batch = []
        for _ in range(rng.randint(1, 6)):
            workspace = rng.choice(workspaces)
            subject = f"tasks/{workspace.hex[:6]}-{rng.randint(0, 2)}"
            versions[subject] += 1
            batch.append(task_event(subject, versions[subject], workspace=workspace))
        batches.append(batch)
    total = sum(len(batch) for batch in batches)
    tracking = Tracking(seed=3)
    async with running(
        database, fast(settings, consumer_concurrency=4), [tracking.consumer()]
    ) as worker:
        for batch in batches:
            await write(database, *batch)

        async def all_handled() -> bool:
            return len(tracking.seen) == total

        await eventually(all_handled)
        await eventually(everything_acknowledged(database))
        (runner,) = worker.runners
    by_workspace: dict[str, list[int]] = defaultdict(list)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for envelope in tracking.seen:
        by_workspace[envelope["source"]].append(envelope["haven_position"])
        by_subject[envelope["subject"]].append(envelope["haven_version"])
    assert all(found == sorted(found) for found in by_workspace.values()), by_workspace
    assert all(found == list(range(1, len(found) + 1)) for found in by_subject.values())
    assert set((await effects(database)).values()) == {1}
    assert len(await effects(database)) == total
    assert runner.handled == total
    if backend() == "sqlite":
        assert tracking.busiest == 1
    else:
        assert tracking.busiest > 1, "workspaces were handled concurrently"


@needs_concurrent_writers
async def test_a_slow_workspace_holds_up_neither_the_others_nor_is_overtaken_by_the_offset(
    database: Database, settings: Settings
) -> None:
    slow, other = uuid.uuid4(), uuid.uuid4()
    tracking = Tracking()
    tracking.gates["tasks/slow"] = asyncio.Event()
    async with running(database, fast(settings, consumer_concurrency=4), [tracking.consumer()]):
        await write(database, task_event("tasks/slow", 1, workspace=slow))  # position 1
        await write(database, *(task_event("tasks/other", v, workspace=other) for v in (1, 2, 3)))
        await write(database, task_event("tasks/slow-2", 1, workspace=slow))  # position 5

        async def others_handled() -> bool:
            return [e["subject"] for e in tracking.seen] == ["tasks/other"] * 3

        await eventually(others_handled)
        await asyncio.sleep(0.2)  # time for the runner to acknowledge what it handled
        # Positions 2 to 4 are acknowledged, but the offset waits below the slow event.
        assert await offset(database) == 0
        assert await processed(database) == 3
        tracking.gates["tasks/slow"].set()

        async def all_handled() -> bool:
            return len(tracking.seen) == 5

        await eventually(all_handled)
        await eventually(everything_acknowledged(database))
    assert [e["subject"] for e in tracking.seen][3:] == ["tasks/slow", "tasks/slow-2"]


@needs_concurrent_writers
async def test_stopping_drains_the_handlers_in_flight_and_the_rest_comes_again(
    database: Database, settings: Settings
) -> None:
    workspaces = [uuid.uuid4() for _ in range(3)]
    tracking = Tracking()
    release = asyncio.Event()
    for n in range(3):
        tracking.gates[f"tasks/{n}-1"] = release
    async with running(
        database, fast(settings, consumer_concurrency=4), [tracking.consumer()]
    ) as worker:
        # Positions 1-3: one event of each workspace (held in a handler), then 4-6 behind them.
        await write(
            database,
            *(task_event(f"tasks/{n}-1", 1, workspace=w) for n, w in enumerate(workspaces)),
        )
        await write(
            database,
            *(task_event(f"tasks/{n}-2", 1, workspace=w) for n, w in enumerate(workspaces)),
        )
        await asyncio.wait_for(
            asyncio.gather(*(tracking.entered[f"tasks/{n}-1"].wait() for n in range(3))), 30
        )
        worker.stop.set()
        await asyncio.sleep(0.1)
        assert await processed(database) == 0  # still waiting for the three in flight
        release.set()
    # The three in flight committed and were acknowledged; nothing else started.
    assert sorted(e["subject"] for e in tracking.seen) == ["tasks/0-1", "tasks/1-1", "tasks/2-1"]
    assert await processed(database) == 3
    assert await offset(database) == 3

    async with running(database, fast(settings, consumer_concurrency=4), [tracking.consumer()]):

        async def rest_handled() -> bool:
            return len(tracking.seen) == 6

        await eventually(rest_handled)
        await eventually(everything_acknowledged(database))
    assert set((await effects(database)).values()) == {1}


async def test_the_memory_bus_moves_the_offset_only_over_acknowledged_deliveries(
    database: Database, settings: Settings
) -> None:
    await write(database, *(task_event(f"tasks/{n}", 1) for n in range(4)))
    relay = Relay(database, MemoryBus(database))
    while await relay.relay_once():
        pass
    subscription = MemoryBus(database).subscribe("offsets")
    first, second, third, fourth = await subscription.receive(max_messages=10, timeout=1)
    await subscription.ack([fourth, second])
    assert await offset(database) == 0
    await subscription.ack([first])
    assert await offset(database) == 2
    await subscription.ack([third])
    assert await offset(database) == 4
    await subscription.close()


@needs_concurrent_writers
async def test_waiting_workspaces_share_a_transaction_and_a_failure_in_it_undoes_only_itself(
    database: Database, settings: Settings
) -> None:
    # Twelve workspaces' events come at once to two handlers: they share transactions. One
    # of them always fails: its shared try counts as its first attempt; the others commit.
    workspaces = [uuid.uuid4() for _ in range(12)]
    events = [task_event(f"tasks/{n}", 1, workspace=w) for n, w in enumerate(workspaces)]
    recorder = Recorder(fail=lambda envelope: envelope["subject"] == "tasks/5")
    config = fast(settings, consumer_concurrency=2, consumer_max_attempts=3)
    async with running(database, config, [recorder.consumer()]) as worker:
        await write(database, *events)

        async def settled() -> bool:
            async with read_session(database) as session:
                letters = (await session.scalars(select(DeadLetter))).all()
            return len(letters) == 1 and len(await effects(database)) == 11

        await eventually(settled)
        await eventually(everything_acknowledged(database))
        (runner,) = worker.runners
    assert runner.shared >= 2, "events of waiting workspaces shared a transaction"
    assert runner.shared_failed == 1, "the failing event was in one, then went alone"
    async with read_session(database) as session:
        (letter,) = (await session.scalars(select(DeadLetter))).all()
    assert letter.envelope["subject"] == "tasks/5"
    assert letter.attempts == 3
    poison = str(letter.event_id)
    assert recorder.calls[poison] == 3, "the shared try counted as the first attempt"
    assert set((await effects(database)).values()) == {1}  # the others: once each
    assert await processed(database) == 11


@needs_concurrent_writers
async def test_a_shared_transaction_whose_commit_fails_sends_each_again_counting_no_attempt(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [task_event(f"tasks/{n}", 1, workspace=uuid.uuid4()) for n in range(3)]
    await write(database, *events)
    await Relay(database, MemoryBus(database)).relay_once()
    deliveries = [MemoryDelivery(to_message(event)) for event in await all_events(database)]
    recorder = Recorder()
    runner = ConsumerRunner(
        recorder.consumer(),
        database=database,
        bus=None,
        policy=RetryPolicy.of(base_seconds=0, max_seconds=0, max_attempts=1),
        shared_batch=10,
    )

    async def commit_refused(_messages: Any) -> None:
        raise RuntimeError("could not serialize access")

    monkeypatch.setattr(runner, "_handle_together", commit_refused)  # the commit fails
    halt = asyncio.Event()
    assert await runner._handle_deliveries(deliveries, halt) == [None, None, None]
    assert runner.shared_failed == 1
    # Alone, each is handled at its first attempt (max_attempts=1: none was counted).
    outcomes = [await runner.deliver(delivery.message, halt) for delivery in deliveries]
    assert outcomes == [Outcome.HANDLED] * 3
    assert await processed(database) == 3
