"""The relay: EVENTS.md guarantees 1 to 4, on SQLite and PostgreSQL.

1. An event is written in the transaction of its change; a rolled-back change leaves none.
2. A committed event is published at least once, whatever the broker did meanwhile.
3. One entity's events are published in the order they were committed (its versions).
4. Positions are gap-free and increasing; a reader paging by position misses nothing, even
   when a transaction that started first commits last.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import hypothesis
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.ids import new_id
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.registry import metadata
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.base import MAX_BODY_BYTES, Message, check_batch
from haven.events.bus.memory import MemoryBus
from haven.events.leases import lock_key
from haven.events.models import Event
from haven.events.outbox import record
from haven.events.reading import read_session
from haven.events.relay import LEASE_NAME, Backoff, Relay, publication_order
from haven.settings import Settings
from tests.events.helpers import (
    FlakyBus,
    Recorder,
    all_events,
    effects,
    event_row,
    eventually,
    fast,
    positions,
    running,
    task_event,
    write,
)

RELAY_KEY = lock_key(LEASE_NAME)

PROPERTY = hypothesis.settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


async def insert(database: Database, rows: Sequence[dict[str, Any]]) -> None:
    async with database.sessions() as session, session.begin():
        await repository.insert_events(session, rows)


async def relay_all(relay: Relay) -> int:
    total = 0
    while count := await relay.relay_once():
        total += count
    return total


# --- 1. Same transaction ---------------------------------------------------------------------


async def test_a_rolled_back_change_leaves_no_event_and_a_committed_one_is_published(
    database: Database,
) -> None:

    async def change_that_fails() -> None:
        async with database.sessions() as session, session.begin():
            record(session, task_event("tasks/rolled-back", 1))
            await session.flush()  # the row reached the database, inside the transaction
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        await change_that_fails()
    await write(database, task_event("tasks/committed", 1))

    relay = Relay(database, MemoryBus(database))
    assert await relay_all(relay) == 1
    events = await all_events(database)
    assert [(event.subject, event.position) for event in events] == [("tasks/committed", 1)]


async def test_an_api_change_and_its_event_reach_a_consumer(
    database: Database, settings: Settings, client: Any, alice: Any
) -> None:
    recorder = Recorder()
    async with running(database, fast(settings), [recorder.consumer()]):
        response = await client.post("/tasks", json={"title": "Relay me"}, headers=alice.headers)
        assert response.status_code == 201, response.text
        task_id = response.json()["id"]
        failed = await client.post("/tasks", json={"title": ""}, headers=alice.headers)
        assert failed.status_code == 422

        async def seen() -> bool:
            return any(subject == f"tasks/{task_id}" for subject, _, _ in recorder.seen)

        await eventually(seen)
    assert [version for subject, version, _ in recorder.seen if subject == f"tasks/{task_id}"] == [
        1
    ]


# --- 2. At least once, after an outage -------------------------------------------------------


async def test_events_committed_while_the_broker_is_down_are_published_when_it_is_back(
    database: Database, settings: Settings
) -> None:
    bus = FlakyBus(MemoryBus(database), failures=6)
    recorder = Recorder()
    async with running(
        database, fast(settings, relay_batch_size=7), [recorder.consumer()], bus=bus
    ):
        for start in range(0, 40, 10):
            await write(
                database,
                *(task_event(f"tasks/{n % 4}", n // 4 + 1) for n in range(start, start + 10)),
            )

        async def all_handled() -> bool:
            return len(recorder.seen) == 40

        await eventually(all_handled)
    assert bus.refused == 6
    ids = {str(event.id) for event in await all_events(database)}
    assert {message.id for message in bus.accepted} >= ids
    assert set((await effects(database)).values()) == {1}
    # A refused publish consumed no position.
    found = await positions(database)
    assert found == list(range(1, len(found) + 1))


async def test_a_relay_that_crashes_after_publishing_publishes_again_and_consumers_dedupe(
    database: Database, settings: Settings
) -> None:
    bus = FlakyBus(MemoryBus(database), crash_after_publish=2)
    relay = Relay(database, bus, batch_size=5, backoff=Backoff(0.001, 0.001))
    await write(database, *(task_event(f"tasks/{n}", 1) for n in range(8)))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="crashed"):
            await relay.relay_once()
    assert await positions(database) == []  # both crashed batches rolled back
    assert await relay_all(relay) == 8
    sent = [message.id for message in bus.accepted]
    assert len(sent) == 5 + 5 + 8
    assert set(sent) == {str(e.id) for e in await all_events(database)}
    assert await positions(database) == list(range(1, 9))


class StalledBus:
    """The memory bus behind a broker that takes its time: a publish waits for `release`."""

    def __init__(self, inner: MemoryBus) -> None:
        self.inner = inner
        self.publishing = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, messages: Sequence[Message]) -> None:
        self.publishing.set()
        await self.release.wait()
        await self.inner.publish(messages)

    def subscribe(self, group: str) -> Any:
        return self.inner.subscribe(group)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_publish_that_waits_on_the_broker_holds_no_writer_back(database: Database) -> None:
    """While a publish waits (a broker down until the bus gives up takes seconds), changes
    and their events still commit: on SQLite the relay holds the write lock only to write
    positions, never across a publish."""
    bus = StalledBus(MemoryBus(database))
    relay = Relay(database, bus)
    await write(database, task_event("tasks/a", 1))
    stalled = asyncio.create_task(relay.relay_once())
    await asyncio.wait_for(bus.publishing.wait(), timeout=10)
    try:
        async with asyncio.timeout(5):  # well under the writers' busy timeout (10 s)
            await write(database, task_event("tasks/a", 2))
    finally:
        bus.release.set()
    assert await stalled == 1
    assert await relay_all(relay) == 1
    found = [(event.entity_version, event.position) for event in await all_events(database)]
    assert found == [(1, 1), (2, 2)]


async def test_a_relay_whose_database_connection_dies_mid_batch_publishes_it_again(
    database: Database,
) -> None:
    """PostgreSQL: the batch's transaction runs on the driver (db.driver.transaction). Its
    server backend killed while the broker works, the batch is not committed, the dead
    connection is not pooled again, and the next batch publishes the events once more, at
    the same positions (at least once; consumers drop the copies by id)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the relay's batch runs on a connection of its own on PostgreSQL only")
    bus = StalledBus(MemoryBus(database))
    relay = Relay(database, bus, backoff=Backoff(0.001, 0.001))
    await write(database, *(task_event(f"tasks/{n}", 1) for n in range(3)))
    stalled = asyncio.create_task(relay.relay_once())
    await asyncio.wait_for(bus.publishing.wait(), timeout=10)
    try:
        # The batch's UPDATE done, its transaction waits for the broker: kill its backend.
        killed = 0
        watcher = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with asyncio.timeout(10), watcher.connect() as connection:
            while not killed:  # autocommit: each look at pg_stat_activity is a new snapshot
                killed = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND state = 'idle in transaction' AND query LIKE '%haven_positions%'"
                    )
                )
                await asyncio.sleep(0.01)
    finally:
        bus.release.set()
    assert killed == 1
    # What the driver says depends on when it notices (the UPDATE, the COMMIT): either way
    # an error of asyncpg's, and the relay's loop backs off and tries again.
    with pytest.raises(
        (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    ):
        await stalled
    assert await positions(database) == []
    assert await relay_all(relay) == 3
    assert await positions(database) == [1, 2, 3]


# --- 3. Per-entity order ---------------------------------------------------------------------


def test_publication_order_keeps_each_subjects_versions_in_its_slots() -> None:
    ids = sorted(new_id() for _ in range(5))
    events = [
        Event(id=ids[0], subject="tasks/a", entity_version=3),
        Event(id=ids[1], subject="tasks/b", entity_version=1),
        Event(id=ids[2], subject="tasks/a", entity_version=1),
        Event(id=ids[3], subject="tasks/a", entity_version=2),
        Event(id=ids[4], subject="tasks/c", entity_version=None),
    ]
    ordered = publication_order(list(reversed(events)))
    assert [(event.subject, event.entity_version) for event in ordered] == [
        ("tasks/a", 1),
        ("tasks/b", 1),
        ("tasks/a", 2),
        ("tasks/a", 3),
        ("tasks/c", None),
    ]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[str, int]], list[int], int]:
    """Subjects' versions, a random order of their ids (skewed clocks), and a batch size."""
    versions = [
        (f"tasks/{subject}", version)
        for subject in range(draw(st.integers(1, 4)))
        for version in range(1, draw(st.integers(1, 6)) + 1)
    ]
    id_order = draw(st.permutations(range(len(versions))))
    return versions, list(id_order), draw(st.integers(1, 6))


def test_each_entitys_events_are_published_in_version_order_whatever_their_ids(
    settings: Settings,
) -> None:
    with own_loop(settings) as (loop, database):

        @PROPERTY
        @given(histories())
        def check(history: tuple[list[tuple[str, int]], list[int], int]) -> None:
            loop.run_until_complete(_check_version_order(database, *history))

        check()


async def _check_version_order(
    database: Database, versions: list[tuple[str, int]], id_order: list[int], batch: int
) -> None:
    await clear(database)
    ids = sorted(new_id() for _ in versions)
    rows = [
        event_row(subject, version, id=ids[id_order[n]])
        for n, (subject, version) in enumerate(versions)
    ]
    # Committed version by version, as row locks make writers do, but with scrambled ids.
    for one in rows:
        await insert(database, [one])
    relay = Relay(database, MemoryBus(database), batch_size=batch)
    assert await relay_all(relay) == len(rows)
    published: dict[str, list[int]] = defaultdict(list)
    for event in sorted(await all_events(database), key=lambda e: e.position or 0):
        published[event.subject].append(event.entity_version or 0)
    assert all(found == sorted(found) for found in published.values()), published
    assert await positions(database) == list(range(1, len(rows) + 1))


# --- 4. Gap-free positions; a reader paging by position misses nothing -----------------------


@dataclass
class Reader:
    """A change-feed reader that pages by position, as an integration would."""

    after: int = 0
    seen: list[uuid.UUID] = field(default_factory=list)

    async def page(self, database: Database, *, limit: int = 3) -> None:
        while True:
            async with read_session(database) as session:
                events = await repository.published_events(session, after=self.after, limit=limit)
            if not events:
                return
            assert [event.position for event in events] == list(
                range(self.after + 1, self.after + 1 + len(events))
            ), "a gap in the positions"
            self.seen += [event.id for event in events]
            self.after = events[-1].position or self.after


class Writers:
    """Transactions that write events and stay open: real ones on PostgreSQL; on SQLite (where
    a writer holds the database's write lock until it ends) rows whose ids are taken when the
    transaction "starts" and that are inserted when it commits — the same out-of-order ids."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = database.engine.dialect.name == "postgresql"
        self.open: dict[int, tuple[AsyncSession | None, list[dict[str, Any]]]] = {}
        self.committed: list[uuid.UUID] = []
        self.rolled_back: list[uuid.UUID] = []

    async def begin(self, slot: int, count: int) -> None:
        rows = [event_row(f"tasks/w{slot}-{uuid.uuid4().hex[:6]}", 1) for _ in range(count)]
        session = None
        if self.postgres:
            session = self.database.sessions()
            await session.begin()
            await repository.insert_events(session, rows)
        self.open[slot] = (session, rows)

    async def end(self, slot: int, *, commit: bool) -> None:
        session, rows = self.open.pop(slot)
        ids = [one["id"] for one in rows]
        if session is not None:
            await (session.commit() if commit else session.rollback())
            await session.close()
        elif commit:
            await insert(self.database, rows)
        (self.committed if commit else self.rolled_back).extend(ids)

    async def end_all(self) -> None:
        for slot in list(self.open):
            await self.end(slot, commit=True)


async def test_a_reader_paging_by_position_sees_an_event_that_committed_late(
    database: Database,
) -> None:
    writers = Writers(database)
    relay = Relay(database, MemoryBus(database))
    reader = Reader()
    await writers.begin(0, 1)  # the long transaction: its event's id is the older one
    await writers.begin(1, 1)
    await writers.end(1, commit=True)  # a later transaction commits first
    await relay_all(relay)
    await reader.page(database)
    assert reader.seen == writers.committed
    await writers.end(0, commit=True)  # the long one commits last
    await relay_all(relay)
    await reader.page(database)
    assert reader.seen == writers.committed  # both, once each, in commit order
    committed_first, committed_last = writers.committed
    assert committed_last < committed_first, "paging by id or time would skip the late one"


Step = tuple[str, int]
steps = st.lists(
    st.tuples(st.sampled_from(["begin", "commit", "rollback", "relay", "read"]), st.integers(0, 2)),
    min_size=5,
    max_size=25,
)


def test_random_interleavings_of_writers_relay_and_reader_lose_nothing(settings: Settings) -> None:
    """Writers that commit or roll back in any order, relay runs (some of them crashing after
    publishing) and a reader between them: positions stay gap-free, the reader gets every
    committed event exactly once and never a rolled-back one."""
    with own_loop(settings) as (loop, database):

        @PROPERTY
        @given(steps, st.randoms(use_true_random=False))
        def check(plan: list[Step], rng: random.Random) -> None:
            loop.run_until_complete(_interleave(database, plan, rng))

        check()


async def _interleave(database: Database, plan: list[Step], rng: random.Random) -> None:
    await clear(database)
    writers = Writers(database)
    bus = FlakyBus(MemoryBus(database))
    relay = Relay(database, bus, batch_size=2)
    reader = Reader()
    try:
        for action, slot in plan:
            if action == "begin" and slot not in writers.open:
                await writers.begin(slot, 1 + slot)
            elif action in ("commit", "rollback") and slot in writers.open:
                await writers.end(slot, commit=action == "commit")
            elif action == "relay":
                bus.crash_after_publish = int(rng.random() < 0.3)
                with contextlib.suppress(RuntimeError):
                    await relay.relay_once()
            elif action == "read":
                await reader.page(database)
            assert await positions(database) == list(range(1, len(await positions(database)) + 1))
        await writers.end_all()
    finally:
        for session, _ in writers.open.values():
            if session is not None:
                await session.close()
    bus.crash_after_publish = 0
    await relay_all(relay)
    await reader.page(database)
    assert sorted(reader.seen) == sorted(writers.committed)
    assert len(reader.seen) == len(set(reader.seen))
    assert not set(reader.seen) & set(writers.rolled_back)


@contextmanager
def own_loop(settings: Settings) -> Iterator[tuple[asyncio.AbstractEventLoop, Database]]:
    """A loop and engine of the test's own: hypothesis drives examples synchronously."""
    loop = asyncio.new_event_loop()
    engine = create_engine(settings)
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    try:
        yield loop, database
    finally:
        loop.run_until_complete(clear(database))
        loop.run_until_complete(database.dispose())
        loop.close()


async def clear(database: Database) -> None:
    async with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if table.name in {"events", "processed_events", "dead_letters", "consumer_offsets"}:
                await connection.execute(table.delete())


# --- One relay at a time -----------------------------------------------------------------------


async def test_relays_running_at_once_never_share_or_skip_a_position(database: Database) -> None:
    """Even without their leases (a relay that lost its lease without noticing), concurrent
    relay transactions are serialised: every event once, no gap, no position twice."""
    for start in range(0, 60, 10):
        await write(
            database, *(task_event(f"tasks/{n % 7}", n // 7 + 1) for n in range(start, start + 10))
        )
    relays = [Relay(database, MemoryBus(database), batch_size=7) for _ in range(3)]
    while sum(await asyncio.gather(*(relay.relay_once() for relay in relays))):
        pass
    assert sum(relay.published for relay in relays) == 60
    assert await positions(database) == list(range(1, 61))


async def test_one_relay_is_active_and_a_standby_takes_over_when_its_lease_is_lost(
    database: Database,
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the relay's lease is a PostgreSQL lock (SQLite: one process)")
    active = Relay(database, MemoryBus(database), poll_seconds=0.05)
    standby = Relay(database, MemoryBus(database), poll_seconds=0.05)
    stop_active, stop_standby = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(active.run(stop_active))
    await write(database, task_event("tasks/a", 1))

    async def active_published() -> bool:
        return active.published == 1

    await eventually(active_published)
    second = asyncio.create_task(standby.run(stop_standby))
    await write(database, task_event("tasks/a", 2), task_event("tasks/b", 1))

    async def published(count: int) -> bool:
        return len(await positions(database)) == count

    await eventually(lambda: published(3))
    assert standby.published == 0, "the standby relayed while the lease was held"

    # The active relay's lease connection dies (a network cut, a restarted pooler): whoever
    # takes the lock next (the old holder, reconnecting, or the standby) goes on.
    async with database.engine.connect() as connection:
        killed = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid::bigint = :high AND objid::bigint = :low"
            ),
            {"high": (RELAY_KEY >> 32) & 0xFFFFFFFF, "low": RELAY_KEY & 0xFFFFFFFF},
        )
    assert killed == 1
    await write(database, *(task_event("tasks/c", version) for version in (1, 2, 3)))
    await eventually(lambda: published(6))

    # The holder goes away for good: the standby takes over.
    stop_active.set()
    await first
    before = standby.published
    await write(database, task_event("tasks/d", 1))
    await eventually(lambda: published(7))
    stop_standby.set()
    await second
    assert active.published + standby.published == 7
    assert standby.published > before, "nobody took the lease over"
    assert await positions(database) == list(range(1, 8))


# --- Wake-ups: no waiting for the poll -----------------------------------------------------------

SLEEPY = 120.0  # a poll interval no test waits out: only a wake-up gets the event through


async def test_a_commit_wakes_the_relay_and_the_consumers_before_their_poll(
    database: Database, settings: Settings
) -> None:
    recorder = Recorder()
    slow_polls = fast(settings, relay_poll_seconds=SLEEPY, consumer_poll_seconds=SLEEPY)
    async with running(database, slow_polls, [recorder.consumer()]) as worker:
        await asyncio.sleep(0.3)  # both loops are idle, napping
        await write(database, task_event("tasks/a", 1))

        async def seen() -> bool:
            return len(recorder.seen) == 1

        await eventually(seen, within=SLEEPY / 4)
        assert worker.relay.published >= 1


async def test_a_commit_in_another_process_wakes_the_relay_through_notify(
    database: Database,
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writing process: the in-process signal is its wake-up")
    relay = Relay(database, MemoryBus(database), poll_seconds=SLEEPY)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.3)
    # A plain connection, no ORM session: no in-process signal, only the trigger's NOTIFY.
    async with database.engine.begin() as connection:
        await connection.execute(Event.__table__.insert(), [event_row("tasks/elsewhere", 1)])

    async def published() -> bool:
        return relay.published == 1

    await eventually(published, within=SLEEPY / 4)
    stop.set()
    await task


async def test_an_event_too_large_for_a_broker_travels_without_its_data(
    database: Database,
) -> None:
    huge = dataclasses.replace(
        task_event("tasks/huge", 1), data={"description": "x" * (MAX_BODY_BYTES + 1)}
    )
    await write(database, task_event("tasks/small", 1), huge)
    bus = CheckingBus()
    relay = Relay(database, bus, backoff=Backoff(0.001, 0.001))
    assert await relay_all(relay) == 2
    bodies = {message.position: orjson.loads(message.body) for message in bus.accepted}
    assert bodies[1]["data"] == {"n": 1}
    assert "data" not in bodies[2]
    assert bodies[2]["haven_data_omitted"] is True
    assert bodies[2]["subject"] == "tasks/huge"


class CheckingBus:
    """A bus that refuses what a real broker refuses (an oversized message)."""

    def __init__(self) -> None:
        self.accepted: list[Message] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        check_batch(messages)
        self.accepted.extend(messages)

    def subscribe(self, group: str) -> Any:
        raise NotImplementedError  # the relay only publishes; no test here subscribes

    async def close(self) -> None:
        return None
