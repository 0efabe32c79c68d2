"""`memory://`: the default bus, with no broker: the events table itself is the log.

Publishing is the relay's numbering: once the relay's transaction commits, the events are
in the log at their positions (so a crash loses nothing: what is not committed is published
again), and the relay's commit wakes the readers (a NOTIFY `haven_positions` on PostgreSQL,
the in-process signal `positions_assigned`), with a poll as the fallback. `publish` itself
has nothing left to do.

A subscription of group G reads the events with a position above G's offset (the
`consumer_offsets` table), in position order; acknowledging moves the offset forward. A new
group starts at the beginning of the log. One member of a group is active at a time: on
PostgreSQL it holds the group's advisory lock (events/leases.py) and the others stand by;
on SQLite the one process reads. Unacknowledged deliveries are delivered again to the next
member (or the next start), from the committed offset.

Acknowledging is cumulative here (an offset), so the subscription moves the offset only over
the longest run of acknowledged deliveries from the oldest one it holds: acknowledging a
later delivery while an earlier one is still being handled (another key) moves nothing yet.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.base import Delivery, Message
from haven.events.leases import Lease
from haven.events.outbox import to_message_with_stored_data
from haven.events.reading import read_session
from haven.events.signals import nap, positions_assigned


@dataclass(frozen=True, slots=True)
class MemoryDelivery:
    message: Message
    attempt: int = 1


class MemoryBus:
    def __init__(self, database: Database, *, poll_seconds: float = 1.0) -> None:
        self._database = database
        self._poll_seconds = poll_seconds

    async def publish(self, messages: Sequence[Message]) -> None:
        """Nothing to send: the relay's committed positions are the publication."""

    def subscribe(self, group: str) -> MemorySubscription:
        return MemorySubscription(self._database, group, poll_seconds=self._poll_seconds)

    async def close(self) -> None:
        """Nothing held: subscriptions release their own leases."""


class MemorySubscription:
    def __init__(self, database: Database, group: str, *, poll_seconds: float) -> None:
        self._database = database
        self._group = group
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._lease = Lease(
            database.engine, f"group:{group}", channels=("haven_positions",), wake=self._wake
        )
        self._cursor: int | None = None  # the last position delivered to this member
        # Positions delivered and not yet under the offset, oldest first; those acknowledged.
        self._delivered: deque[int] = deque()
        self._acked: set[int] = set()
        positions_assigned.add(self._wake)

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[Delivery]:  # noqa: ASYNC109
        # (ASYNC109: `timeout` is the broker long-poll handed to the driver, not a cancel.)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        never = asyncio.Event()
        while True:
            if await self._lease.hold():
                self._wake.clear()
                deliveries = await self._read(max_messages)
                if deliveries:
                    return deliveries
            else:
                # Another member may move the offset meanwhile: read again from it, and let
                # late acknowledgements of what this member held move nothing.
                self._cursor = None
                self._delivered.clear()
                self._acked.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await nap(self._wake, never, min(remaining, self._poll_seconds))

    async def _read(self, max_messages: int) -> list[Delivery]:
        async with read_session(self._database) as session:
            if self._cursor is None:
                self._cursor = await repository.group_offset(session, group=self._group)
            rows = await repository.published_rows(
                session, after=self._cursor, limit=max(1, max_messages)
            )
        if rows:
            self._cursor = rows[-1][1]
        deliveries: list[Delivery] = [
            MemoryDelivery(to_message_with_stored_data(event, position=position))
            for event, position in rows
        ]
        self._delivered.extend(delivery.message.position for delivery in deliveries)
        return deliveries

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            if self._delivered and delivery.message.position >= self._delivered[0]:
                self._acked.add(delivery.message.position)
        position = None
        while self._delivered and self._delivered[0] in self._acked:
            self._acked.discard(self._delivered[0])
            position = self._delivered.popleft()
        if position is None:
            return
        async with self._database.sessions() as session, session.begin():
            await repository.advance_group_offset(
                session, group=self._group, position=position, at=utcnow()
            )

    async def close(self) -> None:
        positions_assigned.remove(self._wake)
        await self._lease.release()
