"""Consumers: EVENTS.md guarantees 5 (one effect per event id) and 6 (dead letters), the
order kept while retrying, graceful shutdown, and the `haven events` commands."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import structlog
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner, Result

from haven.cli import app as cli
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.memory import MemoryBus
from haven.events.consumers import (
    Consumer,
    ConsumerRunner,
    Outcome,
    RetryPolicy,
    registry,
)
from haven.events.models import ConsumerOffset, DeadLetter, ProcessedEvent
from haven.events.reading import read_session
from haven.events.relay import Backoff, Relay
from haven.events.signals import nap
from haven.settings import Settings
from tests.events.helpers import (
    Recorder,
    all_events,
    effects,
    eventually,
    fast,
    running,
    task_event,
    write,
)

POLICY = RetryPolicy.of(base_seconds=0.001, max_seconds=0.005, max_attempts=3)


@pytest.fixture(autouse=True)
def _keep_logging_config() -> Iterator[None]:
    # The commands point structlog at the runner's stderr, which closes after each run.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


async def published(database: Database, *events: Any) -> None:
    await write(database, *events)
    relay = Relay(database, MemoryBus(database))
    while await relay.relay_once():
        pass


def runner_for(recorder: Recorder, database: Database) -> ConsumerRunner:
    return ConsumerRunner(
        recorder.consumer(), database=database, bus=MemoryBus(database), policy=POLICY
    )


async def rows(database: Database, model: Any) -> list[Any]:
    async with read_session(database) as session:
        return list((await session.scalars(select(model))).all())


# --- 5. One effect per event id ----------------------------------------------------------


async def test_a_redelivered_event_has_no_second_effect(database: Database) -> None:
    await published(database, task_event("tasks/a", 1), task_event("tasks/a", 2))
    recorder = Recorder()
    runner = runner_for(recorder, database)
    bus = MemoryBus(database)

    first = bus.subscribe(recorder.name)
    deliveries = await first.receive(max_messages=10, timeout=1)
    assert [await runner.deliver(d.message) for d in deliveries] == [Outcome.HANDLED] * 2
    await first.close()  # crashed before acknowledging: the group will deliver them again

    second = bus.subscribe(recorder.name)
    again = await second.receive(max_messages=10, timeout=1)
    assert [d.message.id for d in again] == [d.message.id for d in deliveries]
    for delivery in again:
        await runner.deliver(delivery.message)  # and once more, directly
    await second.ack(again)
    await second.close()

    assert set(recorder.calls.values()) == {1}, "the handler ran once per event"
    assert set((await effects(database)).values()) == {1}
    assert len(await rows(database, ProcessedEvent)) == 2
    third = bus.subscribe(recorder.name)
    assert await third.receive(max_messages=10, timeout=0.05) == []
    await third.close()


async def test_a_failed_handler_leaves_neither_its_writes_nor_the_mark(database: Database) -> None:
    await published(database, task_event("tasks/a", 1))
    recorder = Recorder(fail=lambda _envelope: True)
    runner = ConsumerRunner(
        recorder.consumer(),
        database=database,
        bus=None,
        policy=RetryPolicy.of(base_seconds=0, max_seconds=0, max_attempts=2),
    )
    (event,) = await all_events(database)
    from haven.events.outbox import to_message

    assert await runner.deliver(to_message(event)) is Outcome.DEAD_LETTERED
    assert await effects(database) == {}
    assert await rows(database, ProcessedEvent) == []


# --- 6. Poison events: bounded retries with backoff, dead letters, the rest flows --------------


def test_backoff_is_exponential_with_full_jitter_and_bounded() -> None:
    backoff = Backoff(base_seconds=0.1, max_seconds=1.0)
    import random

    rng = random.Random(7)
    for failures, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (80, 1.0)]:
        delays = [backoff.delay(failures, rng) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.8
        assert min(delays) < ceiling * 0.2


async def test_a_poison_event_is_dead_lettered_and_the_rest_flow(
    database: Database, settings: Settings
) -> None:
    recorder = Recorder(fail=lambda envelope: envelope["subject"] == "tasks/poison")
    async with running(database, fast(settings), [recorder.consumer()]):
        await write(
            database,
            task_event("tasks/a", 1),
            task_event("tasks/poison", 1),
            task_event("tasks/a", 2),
            task_event("tasks/poison", 2),
            task_event("tasks/b", 1),
        )

        async def settled() -> bool:
            return len(recorder.seen) == 3 and len(await rows(database, DeadLetter)) == 2

        await eventually(settled)
    assert [(s, v) for s, v, _ in recorder.seen] == [("tasks/a", 1), ("tasks/a", 2), ("tasks/b", 1)]
    letters = sorted(await rows(database, DeadLetter), key=lambda letter: letter.position)
    assert [letter.envelope["haven_version"] for letter in letters] == [1, 2]
    for letter in letters:
        assert letter.consumer == recorder.name
        assert letter.attempts == 3
        assert recorder.calls[str(letter.event_id)] == 3
        assert letter.error.startswith("RuntimeError: poison")
        assert letter.first_failed_at <= letter.last_failed_at
    # The consumer went past them: its group's offset is the last position.
    (offset,) = await rows(database, ConsumerOffset)
    assert offset.position >= 5


async def test_later_events_of_an_entity_wait_while_one_is_retried(
    database: Database, settings: Settings
) -> None:
    failures = {"left": 2}

    def flaky(envelope: Any) -> bool:
        if envelope["subject"] == "tasks/a" and envelope["haven_version"] == 1 and failures["left"]:
            failures["left"] -= 1
            return True
        return False

    recorder = Recorder(fail=flaky)
    async with running(database, fast(settings), [recorder.consumer()]):
        await write(database, *(task_event("tasks/a", version) for version in (1, 2, 3)))

        async def done() -> bool:
            return len(recorder.seen) == 3

        await eventually(done)
    assert [version for _, version, _ in recorder.seen] == [1, 2, 3]
    assert await rows(database, DeadLetter) == []


class AckFailsOnce:
    """The memory bus, but the first acknowledgement is lost with the connection."""

    def __init__(self, inner: MemoryBus) -> None:
        self.inner = inner
        self.failed = False
        self.subscriptions = 0

    async def publish(self, messages: Any) -> None:
        await self.inner.publish(messages)

    def subscribe(self, group: str) -> Any:
        self.subscriptions += 1
        subscription = self.inner.subscribe(group)
        ack = subscription.ack

        async def lossy_ack(deliveries: Any) -> None:
            if not self.failed:
                self.failed = True
                raise ConnectionError("lost the connection while acknowledging")
            await ack(deliveries)

        subscription.ack = lossy_ack  # type: ignore[method-assign]  # a fault put into the fake
        return subscription

    async def close(self) -> None:
        await self.inner.close()


async def test_an_outage_while_consuming_dead_letters_nothing_and_loses_nothing(
    database: Database, settings: Settings
) -> None:
    outage = {"left": 4}

    def database_away(envelope: Any) -> bool:
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("INSERT ...", {}, ConnectionRefusedError("database away"))
        return False

    recorder = Recorder(fail=database_away)
    bus = AckFailsOnce(MemoryBus(database))
    async with running(database, fast(settings), [recorder.consumer()], bus=bus):
        await write(database, *(task_event("tasks/a", version) for version in (1, 2, 3, 4)))

        async def done() -> bool:
            return len(recorder.seen) == 4

        await eventually(done)
    assert await rows(database, DeadLetter) == []  # 4 failures > 3 attempts, yet no dead letter
    assert [version for _, version, _ in recorder.seen] == [1, 2, 3, 4]
    assert bus.failed
    assert bus.subscriptions >= 2  # received again from the last acknowledgement
    assert set((await effects(database)).values()) == {1}


# --- Graceful shutdown ---------------------------------------------------------------------


async def test_stopping_finishes_the_handler_in_flight_and_acknowledges_it(
    database: Database, settings: Settings
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(session: Any, envelope: Any) -> None:
        started.set()
        await release.wait()

    async with running(
        database, fast(settings), [Consumer("slow", slow, frozenset({"haven.task.*"}))]
    ) as worker:
        await write(database, task_event("tasks/a", 1), task_event("tasks/a", 2))
        await asyncio.wait_for(started.wait(), timeout=30)
        worker.stop.set()
        await nap(asyncio.Event(), asyncio.Event(), 0.1)
        # Still running: it waits for the handler in flight...
        assert await rows(database, ProcessedEvent) == []
        release.set()
    # ...which committed and was acknowledged; the second event was left for the next start.
    processed = await rows(database, ProcessedEvent)
    (offset,) = await rows(database, ConsumerOffset)
    assert len(processed) == 1
    assert offset.position == 1


# --- The command line ----------------------------------------------------------------------


async def haven(settings: Settings, *args: str) -> Result:
    env = {
        "HAVEN_DATABASE_URL": settings.effective_database_url,
        "HAVEN_DATA_DIR": str(settings.data_dir),
        "HAVEN_LOG_LEVEL": "WARNING",
        "HAVEN_CONSUMER_RETRY_BASE_SECONDS": "0.001",
        "HAVEN_CONSUMER_RETRY_MAX_SECONDS": "0.001",
        "HAVEN_CONSUMER_MAX_ATTEMPTS": "2",
    }
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


@pytest.fixture
def registered() -> Iterator[Recorder]:
    recorder = Recorder(name="cli-recorder")
    registry.register(recorder.consumer())
    yield recorder
    registry.unregister(recorder.name)


async def test_dead_letters_are_listed_shown_and_replayed_from_the_cli(
    database: Database, settings: Settings, registered: Recorder
) -> None:
    poisoned = True
    registered.fail = lambda envelope: poisoned and envelope["subject"] == "tasks/poison"
    await published(database, task_event("tasks/poison", 1), task_event("tasks/b", 1))
    runner = ConsumerRunner(registered.consumer(), database=database, bus=None, policy=POLICY)
    from haven.events.outbox import to_message

    for event in await all_events(database):
        await runner.deliver(to_message(event))
    (letter,) = await rows(database, DeadLetter)
    event_id = str(letter.event_id)

    listed = await haven(settings, "events", "dlq", "list")
    assert listed.exit_code == 0, listed.output
    assert event_id in listed.output
    assert "cli-recorder" in listed.output
    shown = await haven(settings, "events", "dlq", "show", event_id)
    assert shown.exit_code == 0, shown.output
    document = orjson.loads(shown.output)
    assert document["envelope"]["subject"] == "tasks/poison"
    assert document["attempts"] == 3
    assert "poison" in document["error"]

    failed = await haven(settings, "events", "dlq", "replay", event_id)
    assert failed.exit_code == 1
    assert "failed again" in failed.output
    (letter,) = await rows(database, DeadLetter)
    assert letter.attempts == 4

    poisoned = False
    replayed = await haven(
        settings, "events", "dlq", "replay", event_id, "--consumer", "cli-recorder"
    )
    assert replayed.exit_code == 0, replayed.output
    assert await rows(database, DeadLetter) == []
    marks = {mark.event_id for mark in await rows(database, ProcessedEvent)}
    assert uuid.UUID(event_id) in marks
    assert (await effects(database))[event_id] == 1
    assert "no dead letters" in (await haven(settings, "events", "dlq", "list")).output


async def test_a_consumer_is_replayed_from_a_position(
    database: Database, settings: Settings, registered: Recorder
) -> None:
    await published(database, *(task_event(f"tasks/{n}", 1) for n in range(5)))
    runner = ConsumerRunner(registered.consumer(), database=database, bus=None, policy=POLICY)
    from haven.events.outbox import to_message

    events = sorted(await all_events(database), key=lambda event: event.position or 0)
    for event in events:
        await runner.deliver(to_message(event))
    result = await haven(
        settings, "events", "replay", "--consumer", "cli-recorder", "--from-position", "3"
    )
    assert result.exit_code == 0, result.output
    assert "3 event(s) handled again" in result.output
    assert [registered.calls[str(event.id)] for event in events] == [1, 1, 2, 2, 2]
    async with database.sessions() as session:
        marks = await repository.processed_event_ids(session, consumer="cli-recorder")
    assert marks == {event.id for event in events}

    unknown = await haven(
        settings, "events", "replay", "--consumer", "nobody", "--from-position", "1"
    )
    assert unknown.exit_code == 1
    assert "no consumer named 'nobody'" in unknown.output


async def test_tail_prints_the_feed_filtered(database: Database, settings: Settings) -> None:
    home, work = uuid.uuid4(), uuid.uuid4()
    await published(
        database,
        task_event("tasks/a", 1, workspace=home),
        task_event("tasks/b", 1, workspace=work),
        task_event("tasks/a", 2, workspace=home),
    )
    result = await haven(settings, "events", "tail", "--no-follow", "--position", "1")
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.output.splitlines()]
    assert [line["haven_position"] for line in lines] == [1, 2, 3]
    assert all(line["specversion"] == "1.0" for line in lines)

    only_home = await haven(
        settings,
        "events",
        "tail",
        "--no-follow",
        "--position",
        "2",
        "--workspace",
        str(home),
        "--type",
        "haven.task.*",
    )
    assert [orjson.loads(line)["haven_position"] for line in only_home.output.splitlines()] == [3]
    none = await haven(settings, "events", "tail", "--no-follow", "--type", "haven.task.created")
    assert none.exit_code == 0
    assert none.output == ""


async def test_the_new_commands_are_listed(settings: Settings) -> None:
    top = await haven(settings, "--help")
    assert "worker" in top.output
    assert "events" in top.output
    events = await haven(settings, "events", "--help")
    assert all(name in events.output for name in ("tail", "dlq", "replay"))
    serve = await haven(settings, "serve", "--help")
    words = " ".join(serve.output.replace("│", " ").split())
    assert "run the event relay and consumers elsewhere (haven worker)" in words
