"""NATS: a delivery held past ack_wait (waiting in a lane behind a slow key, or in a slow
handler) is kept alive with "in progress" and not delivered a second time (bus/nats.py)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter

import pytest

from haven.events.bus.base import Delivery, Message
from haven.events.bus.nats import NatsBus
from haven.events.lanes import Lanes
from tests.integration.bus.brokers import NATS_ADDRESS, drop_nats_stream, require
from tests.integration.bus.deliveries import PATIENCE, messages

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus suite needs no database: it runs once, in the SQLite pass",
)

ACK_WAIT = 1.0


async def test_a_delivery_waiting_behind_a_slow_key_is_not_delivered_again() -> None:
    require(NATS_ADDRESS, "NATS")
    run = uuid.uuid4().hex[:10]
    stream = f"HTWPI{run}"  # this test's own stream (and consumer): nothing shared
    bus = NatsBus(
        f"nats://{NATS_ADDRESS[0]}:{NATS_ADDRESS[1]}?stream={stream}&prefix=htwpi{run}"
        f"&ack_wait={ACK_WAIT}&lease=5"
    )
    try:
        sent = messages(4, keys=1)  # one key: each waits for the one before
        await bus.publish(sent)
        member = bus.subscribe("slow-key")
        handled: list[Message] = []
        attempts: list[int] = []
        done = asyncio.Event()

        async def handle(delivery: Delivery, _halt: asyncio.Event) -> bool:
            attempts.append(delivery.attempt)
            handled.append(delivery.message)
            # Each handler outlasts ack_wait: the last one waits ~3x ack_wait in its lane.
            await asyncio.sleep(ACK_WAIT * 1.2)
            if len({message.id for message in handled}) == len(sent):
                done.set()
            return True

        lanes = Lanes(member, handle, concurrency=2, capacity=10, poll_seconds=0.2)
        # `done` is also the lanes' stop: they finish once every message was handled.
        await asyncio.wait_for(lanes.run(done), PATIENCE)
        # Nothing came twice, neither to the lane nor to a second fetch.
        assert [message.id for message in handled] == [message.id for message in sent]
        assert Counter(attempts) == {1: len(sent)}
        assert await member.receive(max_messages=10, timeout=ACK_WAIT * 1.5) == []
        _, js, _ = await bus.connected()
        info = await js.consumer_info(stream, member.durable)
        assert info.num_redelivered == 0
        assert info.num_ack_pending == 0
        await member.close()
    finally:
        await bus.close()
        await drop_nats_stream(stream)
