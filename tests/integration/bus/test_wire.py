"""What each adapter puts on the wire (EVENTS.md): keys, headers, subjects, streams."""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import redis.asyncio as aioredis

from haven.events.bus.base import Bus, Message
from haven.events.bus.base import partition_of as bus_partition
from haven.events.bus.redis import RedisBus
from tests.integration.bus.brokers import NATS_ADDRESS, REDIS_ADDRESS, Broker

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus suite needs no database: it runs once, in the SQLite pass",
)

WORKSPACE = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def event(position: int) -> Message:
    body = b'{"specversion":"1.0","type":"haven.task.completed"}'
    return Message(str(uuid.uuid4()), WORKSPACE, "haven.task.completed", position, body)


def option(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


async def test_wire_format(bus: Bus, broker: Broker) -> None:
    sent = event(7)
    await bus.publish([sent])
    if broker.name == "kafka":
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            option(broker.url, "topic"),
            bootstrap_servers=urlsplit(broker.url).netloc,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        await consumer.start()
        try:
            record = await consumer.getone()
        finally:
            await consumer.stop()
        assert record.key == WORKSPACE.encode()
        assert record.value == sent.body
        headers = dict(record.headers)
        assert headers["ce_id"] == sent.id.encode()
        assert headers["ce_type"] == b"haven.task.completed"
        assert headers["haven_position"] == b"7"
    elif broker.name == "nats":
        import nats

        nc = await nats.connect(f"nats://{NATS_ADDRESS[0]}:{NATS_ADDRESS[1]}")
        try:
            js = nc.jetstream()
            stream = option(broker.url, "stream")
            stored = await js.get_msg(stream, seq=1)
            assert stored.subject == f"{option(broker.url, 'prefix')}.{WORKSPACE}.task.completed"
            assert stored.headers is not None
            assert stored.headers["Nats-Msg-Id"] == sent.id
            assert stored.headers["ce_type"] == "haven.task.completed"
            assert stored.data == sent.body
        finally:
            await nc.close()
    else:
        client = aioredis.Redis(host=REDIS_ADDRESS[0], port=REDIS_ADDRESS[1])
        try:
            number = bus_partition(WORKSPACE, int(option(broker.url, "partitions")))
            entries = await client.xrange(f"{option(broker.url, 'prefix')}:{number}")
        finally:
            await client.aclose()
        assert len(entries) == 1
        fields = entries[0][1]
        assert fields[b"id"] == sent.id.encode()
        assert fields[b"body"] == sent.body


async def test_nats_drops_a_second_publish_of_the_same_event(bus: Bus, broker: Broker) -> None:
    if broker.name != "nats":
        pytest.skip("publish deduplication by event id is JetStream's (Nats-Msg-Id)")
    sent = event(1)
    await bus.publish([sent])
    await bus.publish([sent, event(2)])  # the relay retrying a batch that half succeeded
    member = bus.subscribe("dedup")
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        received = await member.receive(max_messages=10, timeout=0.3)
        await member.ack(received)
        got += received
    got += await member.receive(max_messages=10, timeout=0.5)
    assert [d.message.position for d in got] == [1, 2]
    await member.close()


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
async def test_redis_appends_a_batch_to_each_partitions_stream_in_order(bus: Bus) -> None:
    assert isinstance(bus, RedisBus)
    # "": an event outside any workspace; "wś-…": text the script's JSON must carry intact.
    keys = ["", "wś-1", *(f"ws-{n}" for n in range(5))]
    sent = [
        Message(str(uuid.uuid4()), keys[n % 7], "haven.task.updated", n, f"{n}".encode())
        for n in range(1, 41)
    ]
    assert len({bus_partition(m.key, bus.partitions) for m in sent}) > 1
    await bus.publish(sent)
    client = aioredis.Redis(host=REDIS_ADDRESS[0], port=REDIS_ADDRESS[1])
    try:
        for number in range(bus.partitions):
            entries = await client.xrange(bus.stream(number))
            share = [m for m in sent if bus_partition(m.key, bus.partitions) == number]
            assert [fields for _, fields in entries] == [
                {
                    b"id": m.id.encode(),
                    b"key": m.key.encode(),
                    b"type": m.type.encode(),
                    b"position": str(m.position).encode(),
                    b"body": m.body,
                }
                for m in share
            ]
    finally:
        await client.aclose()


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
async def test_redis_publishes_after_the_server_lost_its_script(bus: Bus) -> None:
    assert isinstance(bus, RedisBus)
    # What a restarted (or failed-over) server knows of the script: nothing. An unknown sha
    # stands in for it here; SCRIPT FLUSH would empty the shared server's cache for everyone.
    bus._append.sha = "0" * 40
    sent = event(1)
    await bus.publish([sent])
    client = aioredis.Redis(host=REDIS_ADDRESS[0], port=REDIS_ADDRESS[1])
    try:
        number = bus_partition(WORKSPACE, bus.partitions)
        entries = await client.xrange(bus.stream(number))
    finally:
        await client.aclose()
    assert [fields[b"id"] for _, fields in entries] == [sent.id.encode()]
