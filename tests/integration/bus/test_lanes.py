"""Per-key lanes (events/lanes.py) over the real brokers: keys handled concurrently keep their
order; a slow key holds nothing else up and loses nothing; Kafka commits never pass an
unacknowledged record; a Kafka member that joins mid-stream takes over partitions only after
the old member finished and committed what it held (a rebalance hands nothing over twice)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence

import pytest

from haven.events.bus.base import Bus, Delivery, Message
from haven.events.bus.kafka import KafkaSubscription
from haven.events.lanes import Lanes
from tests.integration.bus.brokers import Broker
from tests.integration.bus.deliveries import PATIENCE, collect, collect_for, messages

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus suite needs no database: it runs once, in the SQLite pass",
)


def in_order_per_key(handled: Sequence[Message]) -> bool:
    """Each key's first deliveries came in position order (a redelivery repeats one)."""
    seen: set[str] = set()
    by_key: dict[str, list[int]] = defaultdict(list)
    for message in handled:
        if message.id not in seen:
            seen.add(message.id)
            by_key[message.key].append(message.position)
    return all(positions == sorted(positions) for positions in by_key.values())


async def until(check: Callable[[], bool], *, within: float = PATIENCE) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


async def publish_slowly(bus: Bus, sent: Sequence[Message], *, chunk: int = 20) -> None:
    for start in range(0, len(sent), chunk):
        await bus.publish(sent[start : start + chunk])
        await asyncio.sleep(0.03)


async def test_keys_are_handled_concurrently_each_in_order(bus: Bus) -> None:
    sent = messages(200, keys=20)
    rng = random.Random(5)
    handled: list[Message] = []
    running: set[str] = set()
    overlaps = 0
    done = asyncio.Event()

    async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
        nonlocal overlaps
        key = delivery.message.key
        overlaps += key in running
        running.add(key)
        await asyncio.sleep(rng.uniform(0, 0.004))
        running.discard(key)
        handled.append(delivery.message)
        if {m.id for m in handled} >= {m.id for m in sent}:
            done.set()
        return True

    member = bus.subscribe("lanes")
    lanes = Lanes(member, handle, concurrency=6, capacity=40, poll_seconds=0.2)
    flow = asyncio.create_task(lanes.run(done))
    await publish_slowly(bus, sent)
    await asyncio.wait_for(flow, timeout=PATIENCE * 2)
    await member.close()

    assert {m.id for m in handled} == {m.id for m in sent}
    assert in_order_per_key(handled)
    assert overlaps == 0
    assert lanes.busiest > 1
    again = bus.subscribe("lanes")
    assert await collect_for(again, 1.5) == [], "everything handled was acknowledged"
    await again.close()


async def test_a_slow_key_holds_nothing_else_up_and_loses_nothing(bus: Bus, broker: Broker) -> None:
    # One key (ws-0, blocked in its handler) among others; all in one Kafka partition when the
    # topic has one, here spread by the adapters' own hashing.
    sent = messages(30, keys=5)
    slow = sent[0]
    handled: list[Message] = []

    async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
        if delivery.message.id == slow.id:
            await asyncio.Event().wait()  # never finishes: the member "crashes" meanwhile
        handled.append(delivery.message)
        return True

    await bus.publish(sent)
    member = bus.subscribe("slow")
    lanes = Lanes(member, handle, concurrency=3, capacity=50, poll_seconds=0.2)
    flow = asyncio.create_task(lanes.run(asyncio.Event()))
    others = {m.id for m in sent if m.key != slow.key}
    await until(lambda: others <= {m.id for m in handled})
    await until(lambda: lanes.acknowledged >= len(others))
    assert not any(m.key == slow.key for m in handled), "the slow key's later events wait"
    flow.cancel()  # a crash: the slow one was never acknowledged
    with contextlib.suppress(asyncio.CancelledError):
        await flow
    await member.close()

    successor = bus.subscribe("slow")
    came_again: list[Message] = []
    slow_ids = {m.id for m in sent if m.key == slow.key}
    deadline = time.monotonic() + PATIENCE
    while not slow_ids <= {m.id for m in came_again} and time.monotonic() < deadline:
        received = await successor.receive(max_messages=50, timeout=0.5)
        came_again += [d.message for d in received]
        await successor.ack(received)
    await successor.close()
    slow_key = [m.position for m in sent if m.key == slow.key]
    assert [m.position for m in came_again if m.key == slow.key][: len(slow_key)] == slow_key
    if broker.name != "kafka":  # NATS and Redis acknowledge message by message
        assert {m.key for m in came_again} == {slow.key}


@pytest.mark.parametrize("broker", ["kafka"], indirect=True)
async def test_kafka_commits_stop_at_the_first_unacknowledged_record(bus: Bus) -> None:
    sent = messages(5, keys=1)  # one key: one partition, offsets in publication order
    await bus.publish(sent)
    member = bus.subscribe("prefix")
    first = await collect(member, 5, ack=False)
    assert [d.message.id for d in first] == [m.id for m in sent]
    await member.ack([first[0], first[2], first[3], first[4]])  # all but the second
    await member.close()

    successor = bus.subscribe("prefix")
    again = await collect(successor, 4, ack=False)
    assert [d.message.id for d in again] == [m.id for m in sent[1:]]
    await successor.ack(again)
    await successor.close()
    last = bus.subscribe("prefix")
    assert await collect_for(last, 1.5) == []
    await last.close()


@pytest.mark.parametrize("broker", ["kafka"], indirect=True)
async def test_a_kafka_member_joining_mid_stream_gets_nothing_handled_again(bus: Bus) -> None:
    sent = messages(240, keys=16)
    gate = sent[40]  # held in a handler of the first member while the second joins
    gate_entered, gate_open = asyncio.Event(), asyncio.Event()
    handled: list[tuple[str, Message]] = []
    done = asyncio.Event()
    rng = random.Random(9)

    def handler(name: str) -> Callable[[Delivery, asyncio.Event], Awaitable[bool]]:
        async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
            if delivery.message.id == gate.id:
                gate_entered.set()
                await gate_open.wait()
            await asyncio.sleep(rng.uniform(0, 0.003))
            handled.append((name, delivery.message))
            if {m.id for _, m in handled} >= {m.id for m in sent}:
                done.set()
            return True

        return handle

    first, second = bus.subscribe("handover"), bus.subscribe("handover")
    assert isinstance(first, KafkaSubscription)
    flows = [
        asyncio.create_task(
            Lanes(first, handler("first"), concurrency=4, capacity=30, poll_seconds=0.2).run(done)
        )
    ]
    await publish_slowly(bus, sent[:80])
    await asyncio.wait_for(gate_entered.wait(), timeout=PATIENCE)
    flows.append(
        asyncio.create_task(
            Lanes(second, handler("second"), concurrency=4, capacity=30, poll_seconds=0.2).run(done)
        )
    )
    # The group rebalances; the first member waits in its hand-over for the gate's handler.
    await asyncio.sleep(2.0)
    assert not first.handovers, "the hand-over waits for the handler in flight"
    gate_open.set()
    await publish_slowly(bus, sent[80:])  # the rest of the stream, once both are members
    await asyncio.wait_for(asyncio.gather(*flows), timeout=PATIENCE * 3)
    await first.close()
    await second.close()

    counts = Counter(m.id for _, m in handled)
    assert set(counts) == {m.id for m in sent}, "nothing lost"
    assert set(counts.values()) == {1}, "nothing handled again"
    assert in_order_per_key([m for _, m in handled])
    assert {name for name, _ in handled} == {"first", "second"}
    awaited, finished = first.handovers[0]
    assert awaited >= 1  # it waited for what it held...
    assert finished  # ...and all of it finished in time
