"""Redis Streams: entries stuck in a cut-off member's pending list reach the partition's owner."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import redis.asyncio as aioredis

from haven.events.bus.base import Bus, Message
from haven.events.bus.redis import RedisBus
from tests.integration.bus.brokers import REDIS_ADDRESS, Broker

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus suite needs no database: it runs once, in the SQLite pass",
)


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
async def test_an_entry_read_by_a_member_without_the_lease_is_claimed_back(
    bus: Bus, broker: Broker
) -> None:
    assert isinstance(bus, RedisBus)
    owner = bus.subscribe("reclaim")
    assert await owner.receive(max_messages=10, timeout=0.3) == []  # owns every partition now
    message = Message(str(uuid.uuid4()), "ws", "haven.task.updated", 1, b"{}")
    await bus.publish([message])
    # A member that lost its lease but does not know it yet reads the entry first.
    client = aioredis.Redis(host=REDIS_ADDRESS[0], port=REDIS_ADDRESS[1])
    try:
        streams = {bus.stream(n): ">" for n in range(bus.partitions)}
        taken = await client.xreadgroup("reclaim", "cut-off-member", streams, count=10)
        assert taken
    finally:
        await client.aclose()

    got = []
    deadline = time.monotonic() + 10  # the entry must idle a lease (2 s here) first
    while not got and time.monotonic() < deadline:
        got = list(await owner.receive(max_messages=10, timeout=0.5))
    assert [d.message for d in got] == [message]
    assert got[0].attempt == 2
    await owner.ack(got)
    await owner.close()
