"""Consumers: handlers that receive every published event of the types they asked for.

A consumer is a name, an event-type filter and `async handler(session, envelope)`, where
`envelope` is the CloudEvents JSON object (EVENTS.md) and `session` is a session in the
transaction that records the event as processed. Register one with `registry.register(...)`
(or the `@consumer(...)` decorator) in a module listed in CONSUMER_MODULES or the setting
`consumer_modules`; the worker runs one runner per consumer, subscribed to the bus as the
consumer group named after the consumer.

The contract a consumer signs:

- Exactly once in effect, for the database: the runner writes `(consumer, event id)` to
  `processed_events` in the same transaction as the handler's own writes, and skips an event
  whose mark is there. A delivered-again event (the bus delivers at least once) has no
  second effect; a handler that fails leaves neither its writes nor the mark.
- External effects (an e-mail, a webhook call, a remote write) cannot join that transaction:
  a handler must make them idempotent itself, keyed by the event id (an idempotency key, a
  delivery row written first, a remote upsert), because after a crash between the effect
  and the commit the event is handled again.
- Order: a runner handles the deliveries of one bus key (the workspace id) one at a time, in
  delivery order (per entity, the order the events were committed), and those of different
  keys concurrently, at most `consumer_concurrency` handlers at once (events/lanes.py). It
  acknowledges each delivery after handling it; on a bus whose acknowledgement is cumulative
  (Kafka, memory) the commit never passes an earlier delivery still being handled. While one
  event is being retried, the later events of its key wait; other keys go on. A handler must
  so expect to run beside itself, for events of other workspaces (in other transactions).
- Sharing a transaction (PostgreSQL): when more workspaces have events waiting than handlers
  are idle, the runner handles the first waiting event of up to `SHARED_BATCH` workspaces in
  one transaction, one after the other, each with its own mark: one BEGIN and COMMIT for all
  (a probe: ~2.5x less CPU per event, in Python and in PostgreSQL). Should one of them
  raise, the transaction is rolled back, nothing of it stays, and each event is handled
  again by itself (the one that raised counts that as its first attempt): a handler may so
  run a second time for an event whose first run was undone, as after a crash.
- Failure: a handler that raises is retried with exponential backoff and full jitter
  (`consumer_retry_base_seconds`, `consumer_retry_max_seconds`), at most
  `consumer_max_attempts` times in all; then the event goes to `dead_letters` (the envelope,
  the error, the attempts, the first and last failure) and the consumer goes on with the
  next event. The database being unreachable (OSError, OperationalError, InterfaceError) is
  no fault of the event: the runner backs off and receives again from the last
  acknowledgement, without counting attempts. A dead-lettered event is out of its entity's
  order from then on: replaying it (`haven events dlq replay`) handles it after the later
  ones.
- Shutdown: a runner told to stop finishes the handlers in flight, starts no other,
  acknowledges what it has handled, and leaves; a retry that is waiting is abandoned and
  deliveries received but not started are left (they come again at the next start,
  unacknowledged). The database being away stops the runner the same way before it backs
  off.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.base import Bus, Delivery, Message, Subscription
from haven.events.lanes import Lanes
from haven.events.models import DeadLetter
from haven.events.outbox import to_message
from haven.events.reading import read_session
from haven.events.relay import Backoff
from haven.events.signals import nap

log = logging.getLogger(__name__)

# The CloudEvents JSON object, as decoded from the bus.
Envelope = Mapping[str, Any]
Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

# Modules that register Haven's own consumers (imported by the worker and the CLI).
CONSUMER_MODULES: Final[tuple[str, ...]] = ()
# Failures of the database itself, not of a handler: never a reason to dead-letter an event.
UNAVAILABLE: Final = (OSError, OperationalError, InterfaceError)
# The longest error text kept with a dead letter.
ERROR_CHARS: Final = 4000
# At most this many events (of as many workspaces) share one transaction.
SHARED_BATCH: Final = 10


@dataclass(frozen=True, slots=True)
class _Failed:
    """A handler's failure in a shared transaction: the event's first attempt."""

    error: Exception
    at: Any


class _SharedFailure(Exception):
    def __init__(self, message: Message, error: Exception) -> None:
        super().__init__(str(error))
        self.message = message
        self.error = error


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    handler: Handler
    # Event types handled: exact ("haven.task.completed") or a prefix ("haven.task.*");
    # empty means every type.
    types: frozenset[str] = frozenset()

    def wants(self, event_type: str) -> bool:
        if not self.types:
            return True
        return any(
            event_type.startswith(pattern[:-1]) if pattern.endswith(".*") else event_type == pattern
            for pattern in self.types
        )


class ConsumerRegistry:
    def __init__(self) -> None:
        self._consumers: dict[str, Consumer] = {}

    def register(self, consumer: Consumer) -> Consumer:
        if not 0 < len(consumer.name) <= 100:
            raise ValueError("a consumer name has 1 to 100 characters")
        if self._consumers.get(consumer.name, consumer) is not consumer:
            raise ValueError(f"a consumer named {consumer.name!r} is already registered")
        self._consumers[consumer.name] = consumer
        return consumer

    def unregister(self, name: str) -> None:
        self._consumers.pop(name, None)

    def get(self, name: str) -> Consumer | None:
        return self._consumers.get(name)

    def all(self) -> list[Consumer]:
        return sorted(self._consumers.values(), key=lambda consumer: consumer.name)


registry: Final = ConsumerRegistry()


def consumer(name: str, *, types: Iterable[str] = ()) -> Callable[[Handler], Handler]:
    """Register the decorated handler in the default registry."""

    def register(handler: Handler) -> Handler:
        registry.register(Consumer(name=name, handler=handler, types=frozenset(types)))
        return handler

    return register


def load_consumers(extra_modules: Iterable[str] = ()) -> list[Consumer]:
    """Haven's own consumers and those of the modules named; every registered consumer."""
    for builtin in _builtin_consumers():
        if registry.get(builtin.name) is None:
            registry.register(builtin)
    for module in (*CONSUMER_MODULES, *extra_modules):
        importlib.import_module(module)
    return registry.all()


def _builtin_consumers() -> list[Consumer]:
    from haven.notifications.consumers import NOTIFICATIONS_CONSUMER
    from haven.webhooks.consumers import WEBHOOK_CONSUMER

    webhooks = WEBHOOK_CONSUMER
    return [
        Consumer(name=webhooks.name, handler=webhooks.handler, types=webhooks.types),
        NOTIFICATIONS_CONSUMER,
    ]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    backoff: Backoff
    max_attempts: int

    @classmethod
    def of(cls, *, base_seconds: float, max_seconds: float, max_attempts: int) -> RetryPolicy:
        return cls(Backoff(base_seconds, max_seconds), max(1, max_attempts))


class Outcome(enum.Enum):
    HANDLED = "handled"  # the effect and the mark committed (now or before)
    SKIPPED = "skipped"  # not a type the consumer wants
    DEAD_LETTERED = "dead_lettered"
    STOPPED = "stopped"  # asked to stop while waiting to retry: not acknowledged


class ConsumerRunner:
    """Feeds one consumer from its consumer group, in order per key, once in effect per event."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        database: Database,
        bus: Bus | None,
        policy: RetryPolicy,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        concurrency: int = 1,
        shared_batch: int = 1,
    ) -> None:
        self.consumer = consumer
        self._database = database
        self._bus = bus
        self._policy = policy
        self._batch_size = max(1, batch_size)
        self._poll_seconds = poll_seconds
        self._concurrency = max(1, concurrency)
        self._shared_batch = max(1, shared_batch)
        self._failed_first: dict[str, _Failed] = {}  # by event id: failed in a shared one
        self.handled = 0  # counts for logs and tests
        self.dead_lettered = 0
        self.shared = 0  # events handled in a shared transaction
        self.shared_failed = 0  # shared transactions rolled back (their events went alone)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set: then finish the handlers in flight, ack, and leave."""
        if self._bus is None:
            raise RuntimeError("a runner without a bus can only be fed directly (deliver)")
        subscription = self._bus.subscribe(self.consumer.name)
        failures = 0
        try:
            while not stop.is_set():
                lanes = Lanes(
                    subscription,
                    self._handle_delivery,
                    concurrency=self._concurrency,
                    capacity=self._batch_size,
                    poll_seconds=self._poll_seconds,
                    handle_many=self._handle_deliveries,
                    max_batch=self._shared_batch,
                )
                try:
                    await lanes.run(stop)
                    continue  # stopped
                except Exception as exc:  # the bus or the database is away: wait, go on
                    failures = failures + 1 if lanes.acknowledged == 0 else 1
                    delay = self._policy.backoff.delay(failures)
                    log.warning(
                        "consumer %s: %s: %s; again in %.2f s",
                        self.consumer.name,
                        type(exc).__name__,
                        exc,
                        delay,
                    )
                # What was received and not acknowledged must come again: a new member of the
                # group starts from the last acknowledgement (this one may have read past it).
                await _close_quietly(subscription)
                await nap(asyncio.Event(), stop, delay)
                subscription = self._bus.subscribe(self.consumer.name)
        finally:
            await _close_quietly(subscription)

    async def _handle_delivery(self, delivery: Delivery, halt: asyncio.Event) -> bool:
        return await self.deliver(delivery.message, halt) is not Outcome.STOPPED

    async def _handle_deliveries(
        self, deliveries: Sequence[Delivery], halt: asyncio.Event
    ) -> list[bool | None]:
        """Deliveries of different keys in one transaction (the lanes' `handle_many`): all
        finished (True), or, when one failed, none recorded (None: each again, alone)."""
        wanted = [d.message for d in deliveries if self.consumer.wants(d.message.type)]
        if halt.is_set():
            return [False] * len(deliveries)
        again = [None if self.consumer.wants(d.message.type) else True for d in deliveries]
        try:
            await self._handle_together(wanted)
        except UNAVAILABLE:
            raise  # the database is away: the runner waits, as for one event
        except _SharedFailure as failure:
            self.shared_failed += 1
            log.info(
                "consumer %s: event %s failed in a shared transaction (%s); %d events again,"
                " one at a time",
                self.consumer.name,
                failure.message.id,
                failure.error,
                len(wanted),
            )
            if len(self._failed_first) >= 10_000:  # ones never delivered here again (moved)
                self._failed_first.clear()
            self._failed_first[failure.message.id] = _Failed(failure.error, utcnow())
            return again
        except Exception as exc:
            # The commit itself failed (a deferred check, a serialization failure): whose
            # fault is unknown, so no attempt is counted; alone, each finds out.
            self.shared_failed += 1
            log.info(
                "consumer %s: a shared transaction of %d events failed (%s); again, one at a time",
                self.consumer.name,
                len(wanted),
                exc,
            )
            return again
        self.handled += len(wanted)
        self.shared += len(wanted)
        return [True] * len(deliveries)

    async def _handle_together(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        async with self._database.sessions() as session, session.begin():
            # Every mark first, in one statement: an event already settled is skipped.
            claimed = await repository.claim_many(
                session,
                consumer=self.consumer.name,
                event_ids=[uuid.UUID(message.id) for message in messages],
                at=utcnow(),
            )
            for message in messages:
                if uuid.UUID(message.id) not in claimed:
                    continue
                envelope: dict[str, Any] = orjson.loads(message.body)
                try:
                    await self.consumer.handler(session, envelope)
                    await session.flush()  # its writes' errors are its own
                except UNAVAILABLE:
                    raise
                except Exception as exc:
                    raise _SharedFailure(message, exc) from exc

    async def deliver(self, message: Message, stop: asyncio.Event | None = None) -> Outcome:
        """Handle one message: skip, handle (with retries) or dead-letter it."""
        if not self.consumer.wants(message.type):
            return Outcome.SKIPPED
        envelope: dict[str, Any] = orjson.loads(message.body)
        event_id = uuid.UUID(message.id)
        attempt = 0
        first_failure = None
        error: Exception | None = None
        if (earlier := self._failed_first.pop(message.id, None)) is not None:
            attempt, first_failure, error = 1, earlier.at, earlier.error
        while True:
            if error is not None:
                if attempt >= self._policy.max_attempts:
                    assert first_failure is not None
                    await self._dead_letter(message, envelope, error, attempt, first_failure)
                    return Outcome.DEAD_LETTERED
                delay = self._policy.backoff.delay(attempt)
                log.warning(
                    "consumer %s: event %s failed (attempt %d of %d): %s; retrying in %.2f s",
                    self.consumer.name,
                    message.id,
                    attempt,
                    self._policy.max_attempts,
                    error,
                    delay,
                )
                if stop is not None:
                    await nap(asyncio.Event(), stop, delay)
                    if stop.is_set():
                        return Outcome.STOPPED
                else:
                    await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._handle(event_id, envelope)
            except UNAVAILABLE:
                raise  # the database is away, not the event at fault: the runner waits
            except Exception as exc:
                first_failure = first_failure or utcnow()
                error = exc
                continue
            self.handled += 1
            return Outcome.HANDLED

    async def _handle(self, event_id: uuid.UUID, envelope: Envelope) -> None:
        async with self._database.sessions() as session, session.begin():
            # The mark first: a concurrent second member of the group waits on it here
            # (PostgreSQL) and then skips, instead of running the handler alongside.
            if await repository.claim(
                session, consumer=self.consumer.name, event_id=event_id, at=utcnow()
            ):
                await self.consumer.handler(session, envelope)

    async def _dead_letter(
        self,
        message: Message,
        envelope: Envelope,
        exc: BaseException,
        attempts: int,
        first_failure: Any,
    ) -> None:
        log.error(
            "consumer %s: event %s dead-lettered after %d attempts: %s",
            self.consumer.name,
            message.id,
            attempts,
            exc,
        )
        async with self._database.sessions() as session, session.begin():
            await repository.save_dead_letter(
                session,
                DeadLetter(
                    consumer=self.consumer.name,
                    event_id=uuid.UUID(message.id),
                    position=message.position,
                    envelope=dict(envelope),
                    error=_error_text(exc),
                    attempts=attempts,
                    first_failed_at=first_failure,
                    last_failed_at=utcnow(),
                ),
            )
        self.dead_lettered += 1


async def _close_quietly(subscription: Subscription) -> None:
    try:
        await subscription.close()
    except Exception:
        log.debug("closing a subscription failed", exc_info=True)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


async def replay_dead_letter(
    database: Database, consumer: Consumer, *, event_id: uuid.UUID
) -> bool:
    """Run the handler on a dead letter again: on success the letter goes and the event is
    marked processed (one transaction); on failure the letter records the new attempt."""
    name = consumer.name
    try:
        async with database.sessions() as session, session.begin():
            letter = await repository.get_dead_letter(session, consumer=name, event_id=event_id)
            if letter is None:
                raise LookupError(f"no dead letter of event {event_id} for consumer {name!r}")
            envelope = dict(letter.envelope)
            await repository.delete_dead_letter(session, consumer=name, event_id=event_id)
            await repository.mark_processed(session, consumer=name, event_id=event_id, at=utcnow())
            await consumer.handler(session, envelope)
    except LookupError:
        raise
    except Exception as exc:
        async with database.sessions() as session, session.begin():
            letter = await repository.get_dead_letter(session, consumer=name, event_id=event_id)
            if letter is not None:
                letter.attempts += 1
                letter.error = _error_text(exc)
                letter.last_failed_at = utcnow()
        return False
    return True


async def replay_consumer(
    runner: ConsumerRunner, database: Database, *, from_position: int, batch_size: int = 500
) -> int:
    """Forget the consumer's marks and dead letters from `from_position` on, and feed it those
    events again, in order, through the runner (retries and dead letters as usual).

    The events replayed are those published when the replay starts; the count handled.
    """
    async with database.sessions() as session, session.begin():
        await repository.forget_processed_from(
            session, consumer=runner.consumer.name, position=from_position
        )
        until = await repository.last_position(session)
    after = from_position - 1
    handled = 0
    while after < until:
        async with read_session(database) as session:
            events = await repository.published_events(
                session, after=after, until=until, limit=batch_size
            )
        if not events:
            break
        for event in events:
            if await runner.deliver(to_message(event)) is Outcome.HANDLED:
                handled += 1
        after = events[-1].position or after
    return handled


def runners_for(
    consumers: Sequence[Consumer],
    *,
    database: Database,
    bus: Bus,
    policy: RetryPolicy,
    batch_size: int,
    poll_seconds: float,
    concurrency: int = 1,
    shared_batch: int = 1,
) -> list[ConsumerRunner]:
    return [
        ConsumerRunner(
            item,
            database=database,
            bus=bus,
            policy=policy,
            batch_size=batch_size,
            poll_seconds=poll_seconds,
            concurrency=concurrency,
            shared_batch=shared_batch,
        )
        for item in consumers
    ]
