"""The relay: numbers committed events (`haven_position`) and publishes them on the bus.

One active relay per deployment. On PostgreSQL it holds a session-level advisory lock on a
dedicated connection (events/leases.py; the others stand by and take over when it is lost);
on SQLite the one process that owns the file relays.

Each batch is one transaction:

1. take a transaction-level advisory lock (PostgreSQL), so even a relay that lost its lease
   without noticing cannot number events concurrently with the new holder;
2. in one statement (one snapshot: `repository.unpublished_batch`), read the oldest
   committed events without a position (the partial index ix_events_unpublished), any
   unpublished earlier versions of the same subjects whose ids sort later (one probe of the
   partial index ix_events_unpublished_subject per subject, migration 0009): ids are
   UUIDv7, but clocks of different processes may disagree, while an entity's versions are
   committed strictly in order (row locks); and the last position given. Plain rows, no
   ORM objects; `data` stays the stored JSON text and goes into the body as it is;
3. order the batch: by id, except that each subject's events take that subject's slots in
   entity-version order;
4. give them positions last + 1, last + 2, ... (gap-free, increasing), one UPDATE for the
   batch (on PostgreSQL with the NOTIFY for change-feed readers in the same statement);
5. publish them, in that order, through the Bus (while step 4's UPDATE runs: a batch costs
   the longer of the two round trips; on SQLite see below). Behind a full batch (a
   backlog), the next batch is read and numbered in the same transaction while the broker
   works: it sees this batch's positions, so it starts after them;
6. once the broker accepted all of them, commit (with a NOTIFY on PostgreSQL, a signal
   in-process: the memory bus's wake-up).

On PostgreSQL the transaction runs on asyncpg itself (db.driver.transaction): the BEGIN and
step 1 go in one round trip, and a batch is four (BEGIN with the lock, the read, the UPDATE,
the COMMIT) with none of SQLAlchemy's per-statement CPU: the relay runs one transaction per
wake-up, so at a few hundred commits a second that CPU is most of what it spends.

A batch read ahead in step 5 is used by the next transaction only if, once that one holds
the lock, the last position is still the one the batch was numbered after: then nobody
numbered events in between, and every event it holds is still unpublished, its earlier
versions either published or in it. Otherwise (this batch did not commit, or another relay
numbered events meanwhile) it is dropped and the batch read afresh. Events committed after
it was read simply wait for a later batch, as they would after any read.

On SQLite a transaction holds the database's only write lock, so steps 2-4 are reads outside
any transaction, the publish comes next, and a short transaction then writes the positions
(checking that the last position has not moved): a broker that is slow or down never holds
the application's writers back (`_relay_once_sqlite`).

A failed publish (or anything else) rolls the transaction back: no position is consumed,
and the batch is tried again after an exponential backoff with full jitter. A crash after
publishing and before committing publishes the batch again later, possibly at other
positions: delivery is at least once and consumers deduplicate by event id.

Why a reader paging by position misses nothing: a position is given only to committed
events, by one transaction at a time, each above every position committed before it. An
event whose transaction commits late gets a position when the relay sees it, after those
already given: a reader that has read up to N finds it above N.

Wake-ups: PostgreSQL NOTIFY on channel `haven_events` (a statement-level trigger on
events, migration 0007: sent at commit, identical ones folded into one per transaction),
the in-process signal `events_committed` (SQLite, and same-process writers on PostgreSQL),
and a poll every `relay_poll_seconds` as the fallback. Idle, the relay sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from haven.db import driver
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.base import Bus, Message
from haven.events.leases import Lease, lock_key
from haven.events.outbox import to_message_with_stored_data
from haven.events.reading import read_session
from haven.events.signals import events_committed, nap, positions_assigned

log = logging.getLogger(__name__)

LEASE_NAME = "relay"
# Serialises relay transactions (a second key: the lease's own lock is held by a session).
BATCH_LOCK_KEY = lock_key("relay-batch")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(n-1)))."""

    base_seconds: float
    max_seconds: float

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** min(failures - 1, 62))
        return (rng or random).uniform(0.0, ceiling)


class _Versioned(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def subject(self) -> str: ...
    @property
    def entity_version(self) -> int | None: ...


E = TypeVar("E", bound=_Versioned)


def publication_order(events: Sequence[E]) -> list[E]:
    """Id order, but each subject's events in entity-version order within its slots.

    A subject with an event without a version keeps id order (nothing to order it by).
    """
    by_id = sorted(events, key=lambda event: event.id)
    slots: dict[str, list[int]] = defaultdict(list)
    for index, event in enumerate(by_id):
        slots[event.subject].append(index)
    ordered = list(by_id)
    for indices in slots.values():
        if len(indices) < 2:
            continue
        group = [by_id[index] for index in indices]
        if any(event.entity_version is None for event in group):
            continue
        group.sort(key=lambda event: (event.entity_version or 0, event.id))
        for index, event in zip(indices, group, strict=True):
            ordered[index] = event
    return ordered


@dataclass(frozen=True, slots=True)
class _Batch:
    """Events in publication order and their messages, numbered from `after + 1` on."""

    events: list[repository.Unpublished]
    messages: list[Message]
    after: int

    @property
    def positions(self) -> list[tuple[uuid.UUID, int]]:
        return [
            (event.id, message.position)
            for event, message in zip(self.events, self.messages, strict=True)
        ]


class Relay:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._database = database
        self._bus = bus
        self._batch_size = max(1, batch_size)
        self._poll_seconds = poll_seconds
        self._backoff = backoff or Backoff(base_seconds=0.2, max_seconds=30.0)
        # The next batch, read and numbered while the last one was being published
        # (PostgreSQL, behind a full batch); valid while the last position is its `after`.
        self._ahead: _Batch | None = None
        self.published = 0  # events published since start (a count for logs and tests)

    async def relay_once(self) -> int:
        """Number and publish one batch; the count published (0: nothing was waiting)."""
        if self._database.engine.dialect.name == "sqlite":
            return await self._relay_once_sqlite()
        ahead, self._ahead = self._ahead, None
        engine = self._database.engine
        async with driver.transaction(
            engine, first=repository.relay_lock(BATCH_LOCK_KEY)
        ) as connection:
            if (
                ahead is not None
                and await repository.last_position_on_driver(connection) == ahead.after
            ):
                batch = ahead  # nobody numbered events since it was read: it still holds
            else:
                batch = await self._next_batch_on_driver(connection)
            if not batch.messages:
                return 0
            # The broker and the database work at the same time: the batch costs the longer
            # of the two round trips, not their sum. Nothing commits before the broker has
            # accepted every message, and a failed numbering waits for the publish to end
            # (a batch published and not committed is published again: at least once).
            publishing = asyncio.ensure_future(self._bus.publish(batch.messages))
            try:
                await repository.assign_positions_on_driver(connection, batch.positions)
                if len(batch.events) >= self._batch_size:
                    # A backlog: read and number the next batch while the broker works. In
                    # this transaction it sees this batch's positions, so it starts after
                    # them; it is used only if this one commits and nobody numbers events
                    # in between (the last position is then still its `after`).
                    ahead = await self._next_batch_on_driver(connection)
                else:
                    ahead = None
            except BaseException:
                await asyncio.gather(publishing, return_exceptions=True)
                raise
            await publishing
        self._ahead = ahead if ahead is not None and ahead.messages else None
        positions_assigned.ring()
        self.published += len(batch.messages)
        return len(batch.messages)

    async def _relay_once_sqlite(self) -> int:
        """SQLite: read and number the batch without a lock, publish, then write the positions.

        Every SQLite transaction holds the database's one write lock from its start (BEGIN
        IMMEDIATE), so publishing inside it would stop every writer of the application for
        as long as a publish can take: while the broker is down, each attempt until the bus
        gives up (seconds), past the writers' busy timeout. The relay is the only writer of
        positions (one process owns the file), so the numbering read before the publish
        still holds when the positions are written, which this checks: had another relay
        (one that lost its lease without noticing) numbered events meanwhile, this one
        writes nothing and returns 0; what it published goes again at the positions the
        other one gives (consumers drop the copies by id).
        """
        async with read_session(self._database) as session:
            batch = await self._next_batch(session)
        if not batch.messages:
            return 0
        await self._bus.publish(batch.messages)
        async with self._database.sessions() as session, session.begin():
            if await repository.last_position(session) != batch.after:
                log.info(
                    "relay: another relay numbered events first; %d copies", len(batch.messages)
                )
                return 0
            await repository.assign_positions(session, batch.positions)
        positions_assigned.ring()
        self.published += len(batch.messages)
        return len(batch.messages)

    async def _next_batch(self, session: AsyncSession) -> _Batch:
        """The oldest unpublished events (and their subjects' earlier versions) in
        publication order, as messages numbered from the last position on."""
        events, last = await repository.unpublished_batch(session, limit=self._batch_size)
        return self._numbered(events, last)

    async def _next_batch_on_driver(self, connection: asyncpg.Connection) -> _Batch:
        """`_next_batch` in the relay's transaction on the driver (PostgreSQL)."""
        events, last = await repository.unpublished_batch_on_driver(
            connection, self._database.engine.dialect, limit=self._batch_size
        )
        return self._numbered(events, last)

    @staticmethod
    def _numbered(events: list[repository.Unpublished], last: int) -> _Batch:
        ordered = publication_order(events)
        messages = [
            to_message_with_stored_data(event, position=last + offset)
            for offset, event in enumerate(ordered, start=1)
        ]
        return _Batch(ordered, messages, after=last)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; the batch in hand is finished (committed) first."""
        engine = self._database.engine
        with events_committed.listen() as wake:
            lease = Lease(engine, LEASE_NAME, channels=("haven_events",), wake=wake)
            failures = 0
            try:
                while not stop.is_set():
                    if not await lease.hold():
                        await nap(wake, stop, self._poll_seconds)
                        continue
                    wake.clear()
                    try:
                        count = await self.relay_once()
                    except Exception as exc:
                        failures += 1
                        delay = self._backoff.delay(failures)
                        log.warning(
                            "relay: batch failed (%s: %s); attempt %d, retrying in %.2f s",
                            type(exc).__name__,
                            exc,
                            failures,
                            delay,
                        )
                        await nap(asyncio.Event(), stop, delay)
                        continue
                    failures = 0
                    if count < self._batch_size:
                        await nap(wake, stop, self._poll_seconds)
            finally:
                await lease.release()
