"""The bus contract (events/bus/base.py), run against every adapter with its real broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Sequence

import pytest

from haven.events.bus import open_bus
from haven.events.bus.base import MAX_BODY_BYTES, Bus, BusError, Delivery, Message, Subscription
from tests.integration.bus.brokers import Broker, Proxy, free_port
from tests.integration.bus.deliveries import PATIENCE, collect, collect_for, messages

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus contract needs no database: it runs once, in the SQLite pass",
)


def ids(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.message.id for d in deliveries]


async def test_round_trip_keeps_every_field(bus: Bus) -> None:
    sent = messages(5)
    sent.append(Message(str(uuid.uuid4()), "", "haven.user.created", 6, b'{"data":{}}'))
    await bus.publish(sent)
    member = bus.subscribe("round-trip")
    got = await collect(member, len(sent))
    assert sorted((d.message for d in got), key=lambda m: m.position) == sent
    assert {d.attempt for d in got} == {1}
    assert await member.receive(max_messages=10, timeout=0.2) == []
    await member.close()


async def test_per_key_order_holds_across_two_members(bus: Bus, broker: Broker) -> None:
    sent = messages(240, keys=12)
    members = [bus.subscribe("ordered"), bus.subscribe("ordered")]
    # Both join first, so that the group's partitions are shared out before work arrives.
    await asyncio.gather(*(collect_for(member, 1.5) for member in members))
    handled: list[tuple[int, Message]] = []  # (member, message) in the order handled
    done = asyncio.Event()

    async def publish() -> None:
        for start in range(0, len(sent), 20):
            await bus.publish(sent[start : start + 20])
            await asyncio.sleep(0.02)

    async def run(number: int, member: Subscription) -> None:
        deadline = time.monotonic() + PATIENCE * 2
        while not done.is_set() and time.monotonic() < deadline:
            received = await member.receive(max_messages=7, timeout=0.3)
            for delivery in received:
                handled.append((number, delivery.message))
                await asyncio.sleep(0.001)  # let the other member run in between
            await member.ack(received)
            if len({m.id for _, m in handled}) == len(sent):
                done.set()

    await asyncio.gather(publish(), *(run(n, member) for n, member in enumerate(members)))
    for member in members:
        await member.close()
    assert {m.id for _, m in handled} == {m.id for m in sent}
    first_seen: dict[str, list[int]] = {}
    ids_seen: set[str] = set()
    for _, message in handled:
        if message.id not in ids_seen:
            ids_seen.add(message.id)
            first_seen.setdefault(message.key, []).append(message.position)
    for key, positions in first_seen.items():
        assert positions == sorted(positions), f"{key} out of order"
    if broker.name != "nats":  # NATS: one member of a group pulls at a time (nats.py)
        assert {number for number, _ in handled} == {0, 1}, "the members shared the work"


async def test_every_group_gets_every_message(bus: Bus) -> None:
    sent = messages(20)
    await bus.publish(sent)
    for group in ("webhooks", "notifications"):
        member = bus.subscribe(group)
        assert sorted(set(ids(await collect(member, len(sent))))) == sorted(m.id for m in sent)
        await member.close()


async def test_unacknowledged_messages_come_again_after_the_member_closes(
    bus: Bus, broker: Broker
) -> None:
    sent = messages(6)
    await bus.publish(sent)
    first = bus.subscribe("redelivery")
    held = await collect(first, len(sent), ack=False)
    assert sorted(set(ids(held))) == sorted(m.id for m in sent)
    await first.close()

    second = bus.subscribe("redelivery")
    again = await collect(second, len(sent))
    assert sorted(set(ids(again))) == sorted(m.id for m in sent)
    for key in {m.key for m in sent}:
        positions = [d.message.position for d in again if d.message.key == key]
        assert positions == sorted(positions)
    if broker.name == "kafka":
        assert {d.attempt for d in again} == {1}  # Kafka does not count deliveries
    else:
        assert min(d.attempt for d in again) >= 2
    await second.close()


async def test_a_dead_members_messages_go_to_another_member(bus: Bus, broker: Broker) -> None:
    if broker.name == "kafka":
        pytest.skip("Kafka clients reach the broker at its advertised address: no own proxy")
    sent = messages(6)
    await bus.publish(sent)
    # The doomed member talks to the broker through a proxy of its own, then loses it for
    # good: to the broker it is a member that died (no close, no acknowledgements).
    own = Proxy(broker.proxy.upstream, free_port())
    await own.start()
    doomed_bus = open_bus(broker.url.replace(f":{broker.proxy.port}", f":{own.port}"))
    doomed = doomed_bus.subscribe("crash")
    held = await collect(doomed, len(sent), ack=False)
    assert sorted(set(ids(held))) == sorted(m.id for m in sent)
    await own.close()

    survivor = bus.subscribe("crash")
    again = await collect(survivor, len(sent))  # after the lease (2 s here) runs out
    assert sorted(set(ids(again))) == sorted(m.id for m in sent)
    assert min(d.attempt for d in again) >= 2
    for key in {m.key for m in sent}:
        positions = [d.message.position for d in again if d.message.key == key]
        assert positions == sorted(positions)
    await survivor.close()
    with contextlib.suppress(BusError, TimeoutError):
        async with asyncio.timeout(10):
            await doomed.close()
            await doomed_bus.close()


async def test_acknowledged_messages_do_not_come_again(bus: Bus) -> None:
    await bus.publish(messages(4))
    first = bus.subscribe("acked")
    assert len(set(ids(await collect(first, 4)))) == 4
    await first.close()
    second = bus.subscribe("acked")
    assert await collect_for(second, 1.5) == []
    await second.close()


async def test_a_new_group_starts_at_the_oldest_message(bus: Bus) -> None:
    early = messages(5)
    await bus.publish(early)
    old = bus.subscribe("old")
    await collect(old, 5)
    await old.close()
    late = messages(3, start=6)
    await bus.publish(late)
    new = bus.subscribe("new")
    got = await collect(new, 8)
    assert sorted({d.message.position for d in got}) == list(range(1, 9))
    await new.close()


async def test_a_batch_with_an_oversized_message_publishes_nothing(bus: Bus) -> None:
    batch = messages(3)
    batch[1] = Message(
        str(uuid.uuid4()), "ws-1", "haven.task.updated", 2, b"x" * (MAX_BODY_BYTES + 1)
    )
    with pytest.raises(BusError):
        await bus.publish(batch)
    await bus.publish(messages(1, start=10))
    member = bus.subscribe("all-or-error")
    got = await collect(member, 1)
    await asyncio.sleep(0.3)
    got += await member.receive(max_messages=10, timeout=0.3)
    assert [d.message.position for d in got] == [10]
    await member.close()


async def test_publish_and_receive_survive_a_dropped_connection(bus: Bus, broker: Broker) -> None:
    sent = messages(8)
    await bus.publish(sent[:4])
    member = bus.subscribe("reconnect")
    before = await collect(member, 4)
    broker.proxy.drop()
    for attempt in range(20):  # the relay retries a failed publish the same way
        try:
            await bus.publish(sent[4:])
            break
        except BusError:
            await asyncio.sleep(0.25 * (attempt + 1))
    after: list[Delivery] = []
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and not {m.id for m in sent} <= set(ids(before + after)):
        try:
            received = await member.receive(max_messages=10, timeout=0.5)
            await member.ack(received)
        except BusError:
            await asyncio.sleep(0.2)
            continue
        after += received
    assert {m.id for m in sent} <= set(ids(before + after))
    await member.close()


async def test_receive_gives_up_after_its_timeout(bus: Bus) -> None:
    member = bus.subscribe("idle")
    await member.receive(max_messages=10, timeout=0.2)  # joins the group (Kafka: a rebalance)
    started = time.monotonic()
    assert await member.receive(max_messages=10, timeout=0.3) == []
    assert time.monotonic() - started < 3.0  # bounded by the timeout, not the broker's defaults
    await member.close()
