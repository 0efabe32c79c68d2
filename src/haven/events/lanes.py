"""Per-key lanes: one subscription's deliveries handled concurrently across keys, in order
within a key.

The bus key is the workspace id, so one key's deliveries hold every event of its entities:
handling them one at a time, in delivery order, keeps per-entity order (EVENTS.md, guarantee
3), while the deliveries of other keys go on meanwhile, at most `concurrency` handlers at once.
A busy key takes turns with the others (one delivery, then the next key waiting).

- Receiving: at most `capacity` deliveries are held (received and not yet finished); the flow
  receives again once half of that is free, or as soon as any is free while a handler is
  idle for want of work. A key stuck on a slow handler or a retry holds up the other keys
  only once its own held deliveries fill the room.
- Acknowledging: one task beside the receiving one acknowledges finished deliveries in
  batches (half the capacity, or what finished within `ACK_LINGER_SECONDS`): across keys in
  any order, within a key in delivery order. Where the broker's acknowledgement is cumulative
  (Kafka offsets, the memory bus's group offset), the adapter commits only up to the first
  delivery not yet acknowledged, so an acknowledgement never overtakes an earlier delivery
  still in a handler (bus/base.py).
- A handler that returns False was halted while it waited (a retry abandoned): its delivery
  and the rest of its lane stay unacknowledged.
- Sharing a handler call (`handle_many`, at most `max_batch` deliveries): when more keys are
  waiting than handlers are idle, a handler takes the first delivery of several waiting keys
  at once (never two of one key), which the runner handles in one transaction: far cheaper
  per event than one each. Those keys then wait for each other (a slow one holds up at most
  the others of its call), as they would have waited for a free handler anyway. For each
  delivery `handle_many` says finished (True), halted (False) or "again, alone" (None: the
  call failed and nothing of it was recorded): that delivery goes back to its key's turn
  and is then handled by itself.
- Stopping (`stop` set) or a failure (receive, a handler or ack raising): no handler starts
  after that; those in flight finish; what finished is acknowledged; then `run` returns, or
  raises the first failure. What was received and not finished comes again (at least once),
  before anything later of its key.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from haven.events.bus.base import Delivery, Subscription
from haven.events.signals import nap

# How long finished deliveries wait to be acknowledged together.
ACK_LINGER_SECONDS = 0.25

# Handles one delivery; False when halted before finishing (the delivery stays unacknowledged).
# The event is the flow's halt: set on stop or failure, a handler waiting to retry leaves.
Handle = Callable[[Delivery, asyncio.Event], Awaitable[bool]]
# Handles deliveries of different keys together: per delivery True (finished), False (halted)
# or None (not handled: again, by itself).
HandleMany = Callable[[Sequence[Delivery], asyncio.Event], Awaitable[Sequence[bool | None]]]


class Lanes:
    """Receives, handles per key and acknowledges one subscription's deliveries until halted."""

    def __init__(
        self,
        subscription: Subscription,
        handle: Handle,
        *,
        concurrency: int,
        capacity: int,
        poll_seconds: float,
        handle_many: HandleMany | None = None,
        max_batch: int = 1,
    ) -> None:
        self._subscription = subscription
        self._handle = handle
        self._handle_many = handle_many
        self._max_batch = max(1, max_batch) if handle_many is not None else 1
        self._alone: set[int] = set()  # id() of deliveries to handle by themselves
        self._concurrency = max(1, concurrency)
        self._capacity = max(1, capacity, self._concurrency)
        self._poll_seconds = poll_seconds
        self._lanes: dict[str, deque[Delivery]] = {}  # per key: held deliveries, oldest first
        self._ready: asyncio.Queue[str | None] = asyncio.Queue()  # keys waiting for a handler
        self._held = 0
        self._finished: list[Delivery] = []  # to acknowledge
        self._room = asyncio.Event()  # a delivery finished: room to receive
        self._to_ack = asyncio.Event()  # a delivery finished: something to acknowledge
        self._ack_now = asyncio.Event()  # enough finished to acknowledge without lingering
        self._ack_batch = max(1, self._capacity // 2)
        self._halt = asyncio.Event()
        self._drained = asyncio.Event()  # every handler has returned: the acknowledger's last round
        self._failure: Exception | None = None
        self._running = 0
        # For logs and tests.
        self.acknowledged = 0
        self.busiest = 0  # the most handlers that ran at once

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set or something fails; then drain (see the module's docstring)."""
        tasks = [asyncio.create_task(self._halt_on(stop))]
        workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]
        acknowledger = asyncio.create_task(self._acknowledge())
        tasks += [*workers, acknowledger]
        try:
            try:
                await self._receive_all()
            except Exception as exc:
                self._fail(exc)
            self._halt.set()
            for _ in workers:
                self._ready.put_nowait(None)
            await asyncio.gather(*workers)
            self._drained.set()
            self._to_ack.set()
            await acknowledger
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._failure is not None:
            raise self._failure

    async def _halt_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._halt.set()

    def _fail(self, exc: Exception) -> None:
        if self._failure is None:
            self._failure = exc
        self._halt.set()

    async def _receive_all(self) -> None:
        while not self._halt.is_set():
            room = self._capacity - self._held
            # Receive in big batches (a receive can be a round trip or a query), unless a
            # handler is idle for want of work: then whatever there is room for.
            starved = self._running < self._concurrency and self._ready.empty()
            if room <= 0 or (room < self._capacity // 2 and not starved):
                self._room.clear()
                await nap(self._room, self._halt, self._poll_seconds)
                continue
            deliveries = await self._receive(room)
            if self._halt.is_set():
                return  # not handled, not acknowledged: they come again
            for delivery in deliveries:
                self._add(delivery)

    async def _receive(self, room: int) -> Sequence[Delivery]:
        """The next deliveries, or none when halted first (the wait is abandoned: whatever the
        bus had handed over unacknowledged comes again)."""
        receiving = asyncio.ensure_future(
            self._subscription.receive(max_messages=room, timeout=self._poll_seconds)
        )
        halting = asyncio.ensure_future(self._halt.wait())
        try:
            await asyncio.wait({receiving, halting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halting.cancel()
            if not receiving.done():
                receiving.cancel()
                await asyncio.wait({receiving})
        if receiving.cancelled():
            return []
        return receiving.result()

    def _add(self, delivery: Delivery) -> None:
        self._held += 1
        key = delivery.message.key
        lane = self._lanes.get(key)
        if lane is None:
            self._lanes[key] = deque([delivery])
            self._ready.put_nowait(key)
        else:
            lane.append(delivery)  # its handler puts the key back in turn

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            if key is None or self._halt.is_set():
                return
            keys = self._more_keys([key])
            deliveries = [self._lanes[each][0] for each in keys]
            self._running += 1
            self.busiest = max(self.busiest, self._running)
            try:
                if len(deliveries) == 1:
                    results: Sequence[bool | None] = [await self._handle(deliveries[0], self._halt)]
                else:
                    assert self._handle_many is not None
                    results = await self._handle_many(deliveries, self._halt)
            except Exception as exc:
                self._fail(exc)
                return
            finally:
                self._running -= 1
            halted = False
            for each, delivery, result in zip(keys, deliveries, results, strict=True):
                if result is None:
                    self._alone.add(id(delivery))
                    self._ready.put_nowait(each)  # its turn again, by itself
                elif result:
                    self._finish(each, delivery)
                else:
                    halted = True  # it and the rest of its lane stay unacknowledged
            if halted:
                return

    def _more_keys(self, keys: list[str]) -> list[str]:
        """Add waiting keys to `keys` while more keys wait than other handlers are idle."""
        if self._max_batch == 1 or id(self._lanes[keys[0]][0]) in self._alone:
            return keys
        idle = self._concurrency - self._running - 1
        while len(keys) < self._max_batch and self._ready.qsize() > idle:
            key = self._ready.get_nowait()
            if key is None or id(self._lanes[key][0]) in self._alone:
                self._ready.put_nowait(key)  # a halt's marker, or one to handle by itself
                break
            keys.append(key)
        return keys

    def _finish(self, key: str, delivery: Delivery) -> None:
        self._alone.discard(id(delivery))
        lane = self._lanes[key]
        lane.popleft()
        self._held -= 1
        self._finished.append(delivery)
        self._to_ack.set()
        if len(self._finished) >= self._ack_batch:
            self._ack_now.set()
        self._room.set()
        if lane:
            self._ready.put_nowait(key)  # behind the keys already waiting
        else:
            del self._lanes[key]

    async def _acknowledge(self) -> None:
        while True:
            await self._to_ack.wait()
            # Let more finish: one acknowledgement for many (on the memory bus each is a
            # write transaction, which on SQLite waits for the handlers' write lock; on
            # Kafka a commit round trip).
            await nap(self._ack_now, self._drained, ACK_LINGER_SECONDS)
            self._to_ack.clear()
            while self._finished:
                batch, self._finished = self._finished, []
                try:
                    await self._subscription.ack(batch)
                except Exception as exc:
                    self._fail(exc)  # not acknowledged: they come again
                    return
                self.acknowledged += len(batch)
            if self._drained.is_set():
                return
