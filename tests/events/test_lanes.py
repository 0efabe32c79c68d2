"""Per-key lanes (events/lanes.py): keys handled concurrently, each key in order, bounded;
acknowledgements only after handling; a stop or a failure drains what is in flight.

No database and no broker: a scripted subscription stands in for the bus (the adapters' own
acknowledgement rules are proven against the real brokers in tests/integration/bus)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from haven.events.bus.base import Delivery, Message
from haven.events.lanes import Lanes


@dataclass(frozen=True, slots=True)
class Scripted:
    message: Message
    attempt: int = 1


def scripted(keys: Sequence[str]) -> list[Scripted]:
    return [
        Scripted(Message(str(uuid.uuid4()), key, "haven.task.updated", n, b"{}"))
        for n, key in enumerate(keys, start=1)
    ]


@dataclass
class ScriptedSubscription:
    """Hands out its deliveries in order, in chunks; records every call."""

    deliveries: deque[Scripted]
    chunk: int = 1_000
    asked: list[int] = field(default_factory=list)  # max_messages of each receive
    acked: list[Delivery] = field(default_factory=list)
    ack_fails: bool = False

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[Delivery]:  # noqa: ASYNC109 - the Subscription protocol's signature
        self.asked.append(max_messages)
        if not self.deliveries:
            await asyncio.sleep(min(timeout, 0.001))
            return []
        await asyncio.sleep(0)
        count = min(max_messages, self.chunk, len(self.deliveries))
        return [self.deliveries.popleft() for _ in range(count)]

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        await asyncio.sleep(0)
        if self.ack_fails:
            raise ConnectionError("the broker went away")
        self.acked.extend(deliveries)

    async def close(self) -> None:
        return None


@dataclass
class Handler:
    """Records starts and ends, checks one key never runs twice at once."""

    delay: Callable[[Delivery], float] = lambda _delivery: 0.0
    started: list[Delivery] = field(default_factory=list)
    finished: list[Delivery] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    overlaps: int = 0  # a key started while running
    busiest: int = 0
    done_after: int | None = None  # set `stop` after this many finished
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, delivery: Delivery, halt: asyncio.Event) -> bool:
        key = delivery.message.key
        if key in self.running:
            self.overlaps += 1
        self.running.add(key)
        self.busiest = max(self.busiest, len(self.running))
        self.started.append(delivery)
        try:
            seconds = self.delay(delivery)
            if seconds:
                await asyncio.sleep(seconds)
        finally:
            self.running.discard(key)
        self.finished.append(delivery)
        if self.done_after is not None and len(self.finished) >= self.done_after:
            self.stop.set()
        return True


def positions_by_key(deliveries: Sequence[Delivery]) -> dict[str, list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for delivery in deliveries:
        by_key[delivery.message.key].append(delivery.message.position)
    return by_key


CONCURRENCY_PROPERTY = hypothesis.settings(max_examples=40, deadline=None)


@CONCURRENCY_PROPERTY
@given(
    keys=st.lists(st.integers(0, 7), min_size=1, max_size=60),
    delays=st.lists(st.integers(0, 3), min_size=1, max_size=60),
    concurrency=st.integers(1, 6),
    capacity=st.integers(1, 12),
    chunk=st.integers(1, 9),
)
def test_each_key_in_order_keys_concurrently_bounded_and_acknowledged_after_handling(
    keys: list[int], delays: list[int], concurrency: int, capacity: int, chunk: int
) -> None:
    deliveries = scripted([f"ws-{key}" for key in keys])
    milliseconds = {d.message.id: delays[n % len(delays)] for n, d in enumerate(deliveries)}

    async def scenario() -> None:
        subscription = ScriptedSubscription(deque(deliveries), chunk=chunk)
        handler = Handler(
            delay=lambda d: milliseconds[d.message.id] / 1000, done_after=len(deliveries)
        )
        finished_when_acked: list[bool] = []
        ack = subscription.ack

        async def checked_ack(batch: Sequence[Delivery]) -> None:
            finished = {d.message.id for d in handler.finished}
            finished_when_acked.extend(d.message.id in finished for d in batch)
            await ack(batch)

        subscription.ack = checked_ack  # type: ignore[method-assign]  # a spy on the fake
        lanes = Lanes(
            subscription, handler, concurrency=concurrency, capacity=capacity, poll_seconds=0.01
        )
        await asyncio.wait_for(lanes.run(handler.stop), timeout=30)

        assert Counter(d.message.id for d in handler.finished) == {
            d.message.id: 1 for d in deliveries
        }
        expected = positions_by_key(deliveries)
        assert positions_by_key(handler.started) == expected  # each key in delivery order
        assert handler.overlaps == 0  # never two of one key at once
        assert handler.busiest <= concurrency
        assert lanes.busiest <= concurrency
        # Acknowledged once each, only once handled, within a key in delivery order.
        assert all(finished_when_acked)
        assert sorted(d.message.position for d in subscription.acked) == [
            d.message.position for d in deliveries
        ]
        assert positions_by_key(subscription.acked) == expected
        assert lanes.acknowledged == len(deliveries)
        # Never more held than the capacity allows (it is raised to the concurrency).
        assert max(subscription.asked) <= max(capacity, concurrency)

    asyncio.run(scenario())


async def test_a_slow_key_does_not_hold_up_the_others() -> None:
    deliveries = scripted(["slow", "fast", "fast", "other", "slow", "fast", "other"])
    release = asyncio.Event()
    subscription = ScriptedSubscription(deque(deliveries))
    handler = Handler()

    async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
        if delivery.message.key == "slow" and delivery.message.position == 1:
            await release.wait()
        return await handler(delivery, halt)

    stop = asyncio.Event()
    lanes = Lanes(subscription, handle, concurrency=2, capacity=10, poll_seconds=0.01)
    running = asyncio.create_task(lanes.run(stop))

    async def others_done() -> bool:
        return {d.message.position for d in subscription.acked} == {2, 3, 4, 6, 7}

    await until(others_done)
    assert [d.message.position for d in handler.finished if d.message.key == "slow"] == []
    release.set()

    async def all_done() -> bool:
        return len(subscription.acked) == len(deliveries)

    await until(all_done)
    assert positions_by_key(handler.finished)["slow"] == [1, 5]
    stop.set()
    await asyncio.wait_for(running, timeout=10)


async def test_stopping_finishes_the_handlers_in_flight_and_starts_no_other() -> None:
    # Three keys, each with one delivery in a handler and one waiting behind it.
    deliveries = scripted(["a", "b", "c", "a", "b", "c"])
    started = {key: asyncio.Event() for key in "abc"}
    release = asyncio.Event()
    subscription = ScriptedSubscription(deque(deliveries))
    handler = Handler()

    async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
        started[delivery.message.key].set()
        await release.wait()
        return await handler(delivery, halt)

    stop = asyncio.Event()
    lanes = Lanes(subscription, handle, concurrency=3, capacity=10, poll_seconds=0.01)
    running = asyncio.create_task(lanes.run(stop))
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started.values())), 10)
    stop.set()
    await asyncio.sleep(0.05)
    assert not running.done(), "it waits for the handlers in flight"
    assert subscription.acked == []
    release.set()
    await asyncio.wait_for(running, timeout=10)
    assert sorted(d.message.position for d in handler.finished) == [1, 2, 3]
    assert sorted(d.message.position for d in subscription.acked) == [1, 2, 3]


async def test_a_failing_handler_stops_the_flow_after_the_others_finish() -> None:
    deliveries = scripted(["a", "b", "a", "b"])
    b_started, release_b = asyncio.Event(), asyncio.Event()
    subscription = ScriptedSubscription(deque(deliveries))
    handler = Handler()

    async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
        if delivery.message.key == "b":
            b_started.set()
            await release_b.wait()
        elif delivery.message.position == 1:
            await b_started.wait()
            raise ConnectionRefusedError("the database is away")
        return await handler(delivery, halt)

    lanes = Lanes(subscription, handle, concurrency=2, capacity=10, poll_seconds=0.01)
    running = asyncio.create_task(lanes.run(asyncio.Event()))
    await asyncio.sleep(0.05)
    assert not running.done(), "b's handler is still in flight"
    release_b.set()
    try:
        await asyncio.wait_for(running, timeout=10)
    except ConnectionRefusedError:
        pass
    else:
        raise AssertionError("the failure is raised once the flow has drained")
    # b's first finished and was acknowledged; a's (failed) and everything after it were not.
    assert [d.message.position for d in subscription.acked] == [2]
    assert [d.message.position for d in handler.finished] == [2]


async def test_a_failed_acknowledgement_stops_the_flow() -> None:
    subscription = ScriptedSubscription(deque(scripted(["a", "b"])), ack_fails=True)
    lanes = Lanes(subscription, Handler(), concurrency=2, capacity=10, poll_seconds=0.01)
    try:
        await asyncio.wait_for(lanes.run(asyncio.Event()), timeout=10)
    except ConnectionError:
        pass
    else:
        raise AssertionError("a lost acknowledgement ends the flow (the runner receives again)")
    assert lanes.acknowledged == 0


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.005)


@CONCURRENCY_PROPERTY
@given(
    keys=st.lists(st.integers(0, 9), min_size=1, max_size=60),
    concurrency=st.integers(1, 4),
    max_batch=st.integers(2, 6),
    chunk=st.integers(1, 20),
    failing=st.sets(st.integers(1, 60), max_size=6),
)
def test_shared_calls_take_one_delivery_per_key_and_a_failed_call_goes_again_alone(
    keys: list[int], concurrency: int, max_batch: int, chunk: int, failing: set[int]
) -> None:
    deliveries = scripted([f"ws-{key}" for key in keys])
    initially_failing = set(failing)

    async def scenario() -> None:
        subscription = ScriptedSubscription(deque(deliveries), chunk=chunk)
        handler = Handler(done_after=len(deliveries))
        calls: list[list[Delivery]] = []  # every shared call, as it came
        alone_after_failing: list[int] = []  # positions handled by themselves after failing

        async def handle(delivery: Delivery, halt: asyncio.Event) -> bool:
            if delivery.message.position in failing:
                failing.discard(delivery.message.position)
                alone_after_failing.append(delivery.message.position)
            return await handler(delivery, halt)

        async def handle_many(batch: Sequence[Delivery], halt: asyncio.Event) -> list[bool | None]:
            calls.append(list(batch))
            if any(d.message.position in failing for d in batch):
                return [None] * len(batch)  # "rolled back": each again, by itself
            return [await handler(delivery, halt) for delivery in batch]

        lanes = Lanes(
            subscription,
            handle,
            concurrency=concurrency,
            capacity=12,
            poll_seconds=0.01,
            handle_many=handle_many,
            max_batch=max_batch,
        )
        await asyncio.wait_for(lanes.run(handler.stop), timeout=30)
        for batch in calls:
            assert 2 <= len(batch) <= max_batch
            assert len({d.message.key for d in batch}) == len(batch), "one per key"
        in_a_call = {d.message.position for batch in calls for d in batch}
        # A delivery whose shared call failed was then handled by itself.
        assert initially_failing & in_a_call <= set(alone_after_failing)
        assert Counter(d.message.id for d in handler.finished) == {
            d.message.id: 1 for d in deliveries
        }
        expected = positions_by_key(deliveries)
        assert positions_by_key(handler.started) == expected  # each key in delivery order
        assert handler.overlaps == 0
        assert lanes.busiest <= concurrency
        assert positions_by_key(subscription.acked) == expected
        assert lanes.acknowledged == len(deliveries)

    asyncio.run(scenario())


async def test_keys_share_a_call_only_when_more_wait_than_handlers_are_idle() -> None:
    # Four keys arrive at once: with four idle handlers each takes one; with one, it takes all.
    for concurrency, expected in ((4, []), (1, [["a", "b", "c"]])):
        deliveries = scripted(["a", "b", "c", "d"])
        subscription = ScriptedSubscription(deque(deliveries))
        handler = Handler(done_after=len(deliveries))
        calls: list[list[str]] = []

        async def handle_many(
            batch: Sequence[Delivery],
            halt: asyncio.Event,
            calls: list[list[str]] = calls,
            handler: Handler = handler,
        ) -> list[bool | None]:
            calls.append([d.message.key for d in batch])
            return [await handler(delivery, halt) for delivery in batch]

        lanes = Lanes(
            subscription,
            handler,
            concurrency=concurrency,
            capacity=10,
            poll_seconds=0.01,
            handle_many=handle_many,
            max_batch=3,
        )
        await asyncio.wait_for(lanes.run(handler.stop), timeout=10)
        assert calls == expected
        assert len(handler.finished) == len(deliveries)
