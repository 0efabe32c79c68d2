"""What the bus tests over real brokers share: messages to publish, receiving until done."""

from __future__ import annotations

import time
import uuid

from haven.events.bus.base import Delivery, Message, Subscription

# Generous: the first receive of a Kafka member joins its group (a rebalance).
PATIENCE = 20.0


def messages(count: int, *, keys: int = 3, start: int = 1) -> list[Message]:
    out = []
    for n in range(start, start + count):
        body = f'{{"specversion":"1.0","id":"e{n}","data":{{"n":{n}}}}}'.encode()
        out.append(Message(f"{uuid.uuid4()}", f"ws-{n % keys}", "haven.task.updated", n, body))
    return out


async def collect(
    subscription: Subscription, count: int, *, ack: bool = True, batch: int = 50
) -> list[Delivery]:
    """Receive until `count` distinct messages came (or PATIENCE ran out)."""
    got: list[Delivery] = []
    seen: set[str] = set()
    deadline = time.monotonic() + PATIENCE
    while len(seen) < count and time.monotonic() < deadline:
        received = await subscription.receive(max_messages=batch, timeout=0.5)
        got += received
        seen |= {d.message.id for d in received}
        if ack:
            await subscription.ack(received)
    return got


async def collect_for(subscription: Subscription, seconds: float) -> list[Delivery]:
    """Everything received (and not acknowledged) within `seconds`."""
    got: list[Delivery] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += await subscription.receive(max_messages=50, timeout=0.3)
    return got
