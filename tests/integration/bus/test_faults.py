"""Faults of the event pipeline, end to end over each real broker (EVENTS.md guarantees 2-6).

Every test runs a broker of its own (outages.py; the machine's shared brokers are never
stopped), writes through Haven's services or API on the test database, and counts what
the consumers did by event id, from their own writes:

1. the broker goes down while 1,000 tasks are written and comes back: the relay keeps the
   events unpublished meanwhile, then every event has exactly one effect, per entity in
   commit order;
2. `haven worker` is killed (SIGKILL) mid-batch: its successor loses nothing and repeats no
   effect;
3. a consumer that fails on one event: that event is dead-lettered, the others flow;
4. a webhook receiver that fails three times: one delivery, accepted on the fourth attempt.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from haven.accounts.principal import Principal
from haven.app import create_app
from haven.db.session import Database
from haven.events.bus import open_bus
from haven.events.bus.base import BusError, Message
from haven.events.bus.nats import NatsBus
from haven.events.consumers import Consumer, load_consumers
from haven.events.models import DeadLetter, Event, ProcessedEvent
from haven.events.outbox import to_message
from haven.events.reading import read_session
from haven.settings import Settings
from haven.tasks import service as tasks
from haven.tasks.schemas import TaskCreate, TaskUpdate
from haven.webhooks.delivery import run_deliveries
from haven.webhooks.models import WebhookDelivery
from tests.events.helpers import HANDLED, Recorder, WorkerProcess, effects, fast, running
from tests.factories import Account, register
from tests.integration.bus.outages import Outage, ProcessBroker, start_private
from tests.support import advance, freeze_clock
from tests.webhook_support import Receiver, create_webhook, serving_receiver

TASKS = 1_000
# Tasks written before the outage; the rest are written while the broker is down.
BEFORE_OUTAGE = 200
# Every UPDATED_EVERY-th task is renamed twice after its creation: entities with 3 versions.
UPDATED_EVERY = 10
PER_TRANSACTION = 10
# Generous bounds for a loaded two-core machine (Kafka rejoins its group after an outage).
PATIENCE = 90.0


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> FastAPI:
    """Haven's app, allowed to send webhooks to the loopback receivers of these tests."""
    return create_app(
        settings.model_copy(update={"webhook_allow_private_targets": True}), database=database
    )


def run_name() -> str:
    return uuid.uuid4().hex[:10]


def principal(account: Account) -> Principal:
    return Principal(user_id=uuid.UUID(account.id), method="jwt")


async def owners(client: httpx.AsyncClient, count: int = 3) -> list[Principal]:
    """Users with a personal workspace each: several bus keys (partitions)."""
    return [principal(await register(client)) for _ in range(count)]


async def write_tasks(
    database: Database, people: Sequence[Principal], numbers: range
) -> list[uuid.UUID]:
    """Create a task per number, PER_TRANSACTION to a transaction (a bulk create), then rename
    every UPDATED_EVERY-th twice, each rename its own transaction (as a request would)."""
    created: list[uuid.UUID] = []
    for start in range(numbers.start, numbers.stop, PER_TRANSACTION):
        async with database.sessions() as session, session.begin():
            for n in range(start, min(start + PER_TRANSACTION, numbers.stop)):
                task, _ = await tasks.create_task(
                    session, principal=people[n % len(people)], data=TaskCreate(title=f"task {n}")
                )
                created.append(task.id)
    for round_ in (1, 2):
        for n, task_id in zip(numbers, created, strict=True):
            if n % UPDATED_EVERY:
                continue
            async with database.sessions() as session, session.begin():
                await tasks.update_task(
                    session,
                    principal=people[n % len(people)],
                    task_id=task_id,
                    data=TaskUpdate(title=f"task {n}, renamed {round_}"),
                    if_match=None,
                )
    return created


def events_written(tasks_count: int) -> int:
    """Task events of `tasks_count` tasks written by write_tasks (created + two renames)."""
    return tasks_count + 2 * len(range(0, tasks_count, UPDATED_EVERY))


async def handled(database: Database) -> int:
    """How many effects the test consumers recorded (one row each, duplicates included)."""
    async with read_session(database) as session:
        return int(await session.scalar(select(func.count()).where(Event.type == HANDLED)) or 0)


async def until(check: Callable[[], Awaitable[bool]], *, within: float = PATIENCE) -> None:
    """Wait for `check` to hold, looking every 0.1 s (a bound for a busy machine)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the pipeline did not get there within {within:g} s")
        await asyncio.sleep(0.1)


async def task_events(database: Database) -> list[Event]:
    async with read_session(database) as session:
        query = select(Event).where(Event.type.startswith("haven.task.")).order_by(Event.id)
        return list((await session.scalars(query)).all())


async def unpublished_task_events(database: Database) -> int:
    async with read_session(database) as session:
        query = select(func.count()).where(
            Event.type.startswith("haven.task."), Event.position.is_(None)
        )
        return int(await session.scalar(query) or 0)


def assert_once_each(expected: Sequence[Event], counts: dict[str, int]) -> None:
    ids = {str(event.id) for event in expected}
    missing = ids - set(counts)
    assert not missing, f"{len(missing)} events never took effect (of {len(ids)})"
    assert set(counts) <= ids, "an effect of an event that was never written"
    doubled = {event_id: n for event_id, n in counts.items() if n != 1}
    assert not doubled, f"{len(doubled)} events took effect more than once"


def assert_entity_order(seen: Sequence[tuple[str, int | None, int]]) -> None:
    """Per entity, versions and positions strictly increase in the order handled."""
    by_subject: dict[str, list[tuple[int | None, int]]] = defaultdict(list)
    for subject, version, position in seen:
        by_subject[subject].append((version, position))
    for subject, handled in by_subject.items():
        versions = [version or 0 for version, _ in handled]
        positions = [position for _, position in handled]
        assert versions == sorted(set(versions)), f"{subject}: versions handled as {versions}"
        assert positions == sorted(set(positions)), f"{subject}: positions handled as {positions}"


# --- 1. the broker goes down and comes back ------------------------------------------------


async def test_a_broker_outage_loses_no_event_and_repeats_no_effect(
    database: Database, client: httpx.AsyncClient, settings: Settings, private_broker: Outage
) -> None:
    people = await owners(client)
    recorder = Recorder()
    config = fast(
        settings,
        bus_url=private_broker.url(run_name()),
        relay_batch_size=200,
        # Retries while the broker is down: a few a second, not a busy loop.
        relay_retry_base_seconds=0.05,
        relay_retry_max_seconds=0.5,
        consumer_retry_base_seconds=0.05,
        consumer_retry_max_seconds=0.5,
        consumer_batch_size=50,
    )
    async with running(database, config, [recorder.consumer()]) as worker:
        await write_tasks(database, people, range(BEFORE_OUTAGE))

        async def flowing() -> bool:
            return len(recorder.seen) >= 50

        await until(flowing)
        await private_broker.stop()  # with deliveries in flight and events left to relay
        await write_tasks(database, people, range(BEFORE_OUTAGE, TASKS))

        # Down: what was written meanwhile stays unpublished, however often the relay tries.
        published = worker.relay.published
        await asyncio.sleep(1.0)
        assert worker.relay.published == published
        during = events_written(TASKS) - events_written(BEFORE_OUTAGE)
        assert await unpublished_task_events(database) >= during

        await private_broker.start()
        written = await task_events(database)
        assert len(written) == events_written(TASKS)

        async def all_handled() -> bool:
            return await handled(database) >= len(written)

        await until(all_handled)
    assert await unpublished_task_events(database) == 0
    assert_once_each(written, await effects(database))
    assert len(recorder.seen) == len(written)
    assert_entity_order(recorder.seen)


# --- 2. the worker is killed mid-batch ------------------------------------------------------


@pytest.fixture
def worker_process(
    settings: Settings, private_broker: Outage, tmp_path: Path
) -> Iterator[WorkerProcess]:
    process = WorkerProcess(
        settings, tmp_path / "worker.log", bus_url=private_broker.url(run_name()), relay_batch=50
    )
    yield process
    process.kill_if_running()


async def handled_in_order(database: Database) -> list[tuple[str, int | None, int]]:
    """The sample consumer's effects in the order it recorded them (ids are UUIDv7, made in
    the handler): (subject, version, 0) — the effect does not keep the position."""
    async with read_session(database) as session:
        query = select(Event.data).where(Event.type == HANDLED).order_by(Event.id)
        rows = (await session.scalars(query)).all()
    return [(str(data["subject"]), data["v"], 0) for data in rows]


async def test_a_worker_killed_mid_batch_resumes_without_loss_or_repeat(
    database: Database,
    client: httpx.AsyncClient,
    worker_process: WorkerProcess,
) -> None:
    people = await owners(client)
    await write_tasks(database, people, range(150))
    written = await task_events(database)

    worker_process.start()

    async def some_handled() -> bool:
        return await handled(database) >= 40

    await until(some_handled)
    assert await worker_process.signal(signal.SIGKILL) == -signal.SIGKILL
    assert await handled(database) < len(written), "the kill landed after the work"

    worker_process.start()

    async def all_handled() -> bool:
        return await handled(database) >= len(written)

    await until(all_handled)
    assert await worker_process.signal(signal.SIGTERM) == 0, worker_process.log.read_text()

    assert_once_each(written, await effects(database))
    async with read_session(database) as session:
        query = select(func.count()).where(ProcessedEvent.consumer == "sample")
        assert await session.scalar(query) == len(written)
    order = await handled_in_order(database)
    assert_entity_order([(subject, version, version or 0) for subject, version, _ in order])


# --- 3. a poison event -----------------------------------------------------------------------


async def test_a_failing_event_is_dead_lettered_and_the_rest_flow(
    database: Database, client: httpx.AsyncClient, settings: Settings, private_broker: Outage
) -> None:
    people = await owners(client)
    await write_tasks(database, people, range(60))
    written = await task_events(database)
    # The first rename of an entity that has a second one after it.
    poison = next(
        event for event in written if event.entity_version == 2 and event.type.endswith("updated")
    )
    recorder = Recorder(fail=lambda envelope: envelope["id"] == str(poison.id))
    config = fast(settings, bus_url=private_broker.url(run_name()), consumer_max_attempts=3)
    async with running(database, config, [recorder.consumer()]):

        async def all_but_one() -> bool:
            return await handled(database) >= len(written) - 1

        await until(all_but_one)

        async def lettered() -> bool:
            async with read_session(database) as session:
                return await session.get(DeadLetter, ("recorder", poison.id)) is not None

        await until(lettered)

    async with read_session(database) as session:
        letters = (await session.scalars(select(DeadLetter))).all()
    [letter] = letters
    assert (letter.event_id, letter.attempts) == (poison.id, 3)
    assert letter.envelope["subject"] == poison.subject
    assert "poison" in letter.error
    assert recorder.calls[str(poison.id)] == 3
    others = [event for event in written if event.id != poison.id]
    assert_once_each(others, await effects(database))
    assert_entity_order(recorder.seen)  # the poison's entity went on with its version 3
    assert (poison.subject, 3) in {(subject, version) for subject, version, _ in recorder.seen}


# --- 4. a webhook receiver that fails three times ------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver() as found:
        yield found


async def attempts_recorded(database: Database, *, status: str = "pending") -> int:
    """The attempts of the (first) delivery, once it is in this state; else 0."""
    async with read_session(database) as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id).limit(1)
        delivery = await session.scalar(query)
    return delivery.attempts if delivery is not None and delivery.status == status else 0


def webhooks_consumer() -> Consumer:
    [found] = [item for item in load_consumers() if item.name == "webhooks"]
    return found


async def test_a_webhook_failing_three_times_is_delivered_once(
    database: Database,
    client: httpx.AsyncClient,
    settings: Settings,
    private_broker: Outage,
    receiver: Receiver,
) -> None:
    alice = await register(client)
    webhook = await create_webhook(client, alice, receiver.url, event_types=["haven.task.*"])
    receiver.answer(500, 502, 503)  # then 200
    now = freeze_clock(datetime.now(UTC))
    bus_url = private_broker.url(run_name())
    config = fast(
        settings,
        bus_url=bus_url,
        webhook_allow_private_targets=True,
        webhook_poll_seconds=0.05,
    )
    async with running(database, config, [webhooks_consumer()]) as worker:
        deliveries = asyncio.create_task(run_deliveries(database, config, worker.stop))
        response = await client.post("/tasks", json={"title": "Ship it"}, headers=alice.headers)
        assert response.status_code == 201, response.text

        # The schedule's waits (5 s, 5 min, 30 min) pass on Haven's clock, not in the test:
        # it moves once each failed attempt is recorded (and its next one scheduled).
        for attempts, wait in ((1, 5.0), (2, 300.0), (3, 1800.0)):

            async def recorded(count: int = attempts) -> bool:
                return await attempts_recorded(database) >= count

            await until(recorded)
            advance(now, seconds=wait)

        async def accepted() -> bool:
            return await attempts_recorded(database, status="succeeded") == 4

        await until(accepted)

        # The same event again on the broker (a relay that crashed before its commit), then a
        # new one behind it: once the new one is delivered, the copy has been handled too.
        [created] = await task_events(database)
        bus = open_bus(bus_url)
        try:
            await bus.publish([to_message(created)])
        finally:
            await bus.close()
        second = await client.post("/tasks", json={"title": "Then this"}, headers=alice.headers)
        assert second.status_code == 201, second.text

        async def second_sent() -> bool:
            return len(receiver.received) >= 5

        await until(second_sent)
        worker.stop.set()
        await asyncio.wait_for(deliveries, timeout=30)

    ids = [got.headers["webhook-id"] for got in receiver.received]
    assert ids[:4] == [str(created.id)] * 4
    assert len(ids) == 5
    async with read_session(database) as session:
        rows = (await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))).all()
    first = [row for row in rows if row.event_id == created.id]
    [delivery] = first
    assert (delivery.status, delivery.attempts) == ("succeeded", 4)
    assert [entry["status_code"] for entry in delivery.attempt_log] == [500, 502, 503, 200]
    assert str(delivery.endpoint_id) == webhook["id"]


# --- the NATS adapter after a server restart -------------------------------------------------


async def test_after_a_nats_restart_a_new_holder_gets_the_unacknowledged_first(
    tmp_path: Path,
) -> None:
    """JetStream serves messages never delivered before those whose ack_wait has not run
    out, and a restarted server counts that wait again: without the adapter's wait, a
    key's later events came before the earlier ones a lost fetch had taken."""
    server = await start_private("nats", tmp_path)
    assert isinstance(server, ProcessBroker)
    bus = NatsBus(server.url(run_name()))
    try:
        sent = [
            Message(str(uuid.uuid4()), "ws", "haven.task.updated", n, b"{}") for n in range(1, 9)
        ]
        await bus.publish(sent)
        first = bus.subscribe("order")
        [one] = await first.receive(max_messages=1, timeout=10)
        await first.ack([one])
        await first.close()
        # A fetch whose messages never reached the member (a connection cut mid-fetch): a
        # client of its own takes 2, 3 and 4 from the group and is gone.
        lost = await nats.connect(f"nats://127.0.0.1:{server.port}")
        try:
            raw = await lost.jetstream().pull_subscribe_bind("order", stream=bus.stream)
            taken = await raw.fetch(3, timeout=10)
            assert [int((m.headers or {})["haven_position"]) for m in taken] == [2, 3, 4]
        finally:
            await lost.close()
        await asyncio.sleep(0.5)  # the server stores the group's state (delivered, acked)
        await server.stop()
        await server.start()
        second = bus.subscribe("order")
        got: list[int] = []
        deadline = time.monotonic() + PATIENCE
        while not set(got) >= {2, 3, 4, 5, 6, 7, 8} and time.monotonic() < deadline:
            try:
                deliveries = await second.receive(max_messages=10, timeout=1)
            except BusError:
                await second.close()
                second = bus.subscribe("order")
                continue
            got += [d.message.position for d in deliveries]
            await second.ack(deliveries)
        await second.close()
    finally:
        await bus.close()
        await server.close()
    first_seen = list(dict.fromkeys(got))
    assert first_seen == sorted(first_seen), f"delivered in the order {got}"
    assert set(got) >= {2, 3, 4, 5, 6, 7, 8}
