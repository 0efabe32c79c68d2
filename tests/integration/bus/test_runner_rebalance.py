"""Two consumer runners of one consumer on Kafka (Tansu): the second starts while the first is
mid-stream. The group rebalances; every event is handled once in effect and reaches the
runners once at all (the first hands its partitions over only after finishing them), in
order per workspace."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from haven.db.session import Database
from haven.events.bus.base import Bus, Delivery, Message, Subscription
from haven.events.consumers import ConsumerRunner, RetryPolicy
from tests.events.helpers import Recorder, effects, eventually
from tests.integration.bus.deliveries import PATIENCE

pytestmark = pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="the bus suite runs once, in the SQLite pass",
)


class Counting:
    """The bus, counting how often each event reached a runner."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.received: Counter[str] = Counter()
        self.members: list[tuple[Subscription, Counter[str]]] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        await self.inner.publish(messages)

    def subscribe(self, group: str) -> Subscription:
        subscription = self.inner.subscribe(group)
        receive = subscription.receive
        mine: Counter[str] = Counter()
        self.members.append((subscription, mine))

        async def counted(*, max_messages: int, timeout: float) -> Sequence[Delivery]:  # noqa: ASYNC109 - the Subscription protocol's signature
            deliveries = await receive(max_messages=max_messages, timeout=timeout)
            self.received.update(d.message.id for d in deliveries)
            mine.update(d.message.id for d in deliveries)
            return deliveries

        subscription.receive = counted  # type: ignore[method-assign]  # a spy on the adapter
        return subscription

    async def close(self) -> None:
        await self.inner.close()


def events(count: int, *, workspaces: int) -> list[Message]:
    spaces = [uuid.uuid4() for _ in range(workspaces)]
    out = []
    for position in range(1, count + 1):
        workspace = spaces[position % workspaces]
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": "haven.task.updated",
            "source": f"/workspaces/{workspace}",
            "subject": f"tasks/{workspace.hex[:8]}",
            "haven_position": position,
            "haven_version": position,
            "data": {},
        }
        out.append(
            Message(
                envelope["id"], str(workspace), envelope["type"], position, orjson.dumps(envelope)
            )
        )
    return out


@pytest.mark.parametrize("broker", ["kafka"], indirect=True)
async def test_a_runner_joining_mid_stream_takes_over_without_a_second_delivery(
    bus: Bus, database: Database
) -> None:
    sent = events(300, workspaces=12)
    counting = Counting(bus)
    recorder = Recorder(name="rebalanced")
    policy = RetryPolicy.of(base_seconds=0.001, max_seconds=0.01, max_attempts=3)

    def runner() -> ConsumerRunner:
        return ConsumerRunner(
            recorder.consumer(), database=database, bus=counting, policy=policy, poll_seconds=0.2
        )

    stop = asyncio.Event()
    first = asyncio.create_task(runner().run(stop))
    for start in range(0, 120, 20):
        await bus.publish(sent[start : start + 20])
        await asyncio.sleep(0.05)

    async def first_at_work() -> bool:
        return len(recorder.seen) >= 60

    await eventually(first_at_work)
    second = asyncio.create_task(runner().run(stop))  # joins while the first is at work
    for start in range(120, len(sent), 20):
        await bus.publish(sent[start : start + 20])
        await asyncio.sleep(0.1)

    async def all_handled() -> bool:
        return len(recorder.seen) >= len(sent)

    try:
        await eventually(all_handled, within=PATIENCE * 3)
    finally:
        stop.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=PATIENCE)

    done = await effects(database)
    assert set(done) == {m.id for m in sent}, "nothing lost"
    assert set(done.values()) == {1}, "once in effect"
    assert set(counting.received.values()) == {1}, "and delivered once: nothing handed over twice"
    by_workspace: dict[str, list[int]] = defaultdict(list)
    for subject, _version, position in recorder.seen:
        by_workspace[subject].append(position)
    assert all(found == sorted(found) for found in by_workspace.values())
    # Both runners got a share: the group rebalanced with the first one at work.
    (first_member, first_got), (_second_member, second_got) = counting.members
    assert first_got
    assert second_got
    handovers = getattr(first_member, "handovers", [])
    assert handovers, "the first runner handed partitions over"
    assert all(finished for _awaited, finished in handovers), "after finishing what it held"
