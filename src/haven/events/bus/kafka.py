"""Kafka adapter (aiokafka): one topic, keyed by workspace id, a consumer group per group.

URL: `kafka://host:9092[,host2:9092]?topic=haven.events&partitions=12`
(`&session_timeout=10&handover=20` too, in seconds).

- The topic is created if missing with `partitions` partitions (default 12: room for a
  dozen worker replicas per group; Kafka cannot lower it later, only raise it). The key is
  the workspace id (`""` for events outside a workspace), so one key's messages share a
  partition and keep their order. Records carry the CloudEvents JSON as their value and
  the headers `ce_id`, `ce_type`, `ce_specversion` and `haven_position`.
- The producer waits for all in-sync replicas (acks=all), lingers 1 ms to batch (batches of
  up to 128 KiB per partition), and turns on idempotence when the broker grants a producer
  id (Tansu's memory storage does not; then it runs without, and a retried batch may be
  stored twice: consumers deduplicate).
  aiokafka keeps one batch per partition in flight, so retries do not reorder a key.
- Each group is a Kafka consumer group: auto offset reset `earliest` (a new group starts at
  the oldest retained record), no auto commit, `fetch_max_wait_ms=10` (the default 500 ms
  alone puts produce→consume p99 at ~256 ms, PERFORMANCE.md). `ack` commits, per
  partition, the offset after the longest run of acknowledged deliveries from the oldest
  one held, so a crash never skips an unacknowledged record, and acknowledging a later
  record while an earlier one of the partition is still being handled commits nothing yet.
  `ack` may run while `receive` waits (a runner acknowledges beside its receiving loop).

Order: Kafka gives each partition to one member of a group at a time. A rebalance (a member
joins or leaves; the eager protocol takes every partition from every member first) calls the
member's rebalance listener before it gives its partitions up: the member waits until
everything it received of them is acknowledged (the runner finishes what it holds, at most
`handover` seconds) and commits, so the next owner starts after it and gets nothing again.
The rebalance timeout the member announces is `handover` + 10 s, so the group waits for it.
Past `handover`, the rest goes over unacknowledged: the new member gets it again from the
committed offset while the old one may still be handling it, and the old member's late
acknowledgements are ignored (consumers drop the duplicates by id). The group's other members
stop consuming while a rebalance runs, so keep `handover` short: a handler that takes long
holds every member of the group, not only its own partition.
`attempt` is always 1: Kafka does not count deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from haven.events.bus.base import BusError, Message, check_batch

log = logging.getLogger(__name__)

_TOPIC_EXISTS = 36
_PUBLISH_TIMEOUT = 15.0
_MAX_BATCH_BYTES = 128 * 1024


@dataclass(frozen=True, slots=True)
class KafkaDelivery:
    message: Message
    attempt: int
    partition: TopicPartition
    offset: int
    assignment: int  # which of the member's assignments it came in (late acks of old ones drop)


@dataclass(slots=True)
class _Held:
    """What a member tracks of one partition it owns."""

    offsets: deque[int] = field(default_factory=deque)  # delivered, above the acked prefix
    acked: set[int] = field(default_factory=set)  # of those, acknowledged
    position: int | None = None  # the offset after the acknowledged prefix: to commit
    committed: int | None = None  # the last position the broker took


class KafkaBus:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.bootstrap = parts.netloc
        self.topic = options.get("topic", "haven.events")
        self.partitions = int(options.get("partitions", "12"))
        self.session_timeout_ms = int(float(options.get("session_timeout", "10")) * 1000)
        self.handover = float(options.get("handover", "20"))
        self._producer: AIOKafkaProducer | None = None
        self._topic_ready = False
        self._lock = asyncio.Lock()

    async def ensure_topic(self) -> None:
        if self._topic_ready:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)
        try:
            await admin.start()
            response = await admin.create_topics([NewTopic(self.topic, self.partitions, 1)])
            for _topic, code, *_ in response.topic_errors:
                if code not in (0, _TOPIC_EXISTS):
                    raise BusError(f"kafka could not create topic {self.topic}: error {code}")
        except KafkaError as error:
            raise BusError(f"kafka admin failed: {error!r}") from error
        finally:
            await admin.close()
        self._topic_ready = True

    async def _start_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is not None:
                return self._producer
            await self.ensure_topic()
            for idempotent in (True, False):
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=idempotent,
                    linger_ms=1,
                    # A relay batch (500 events of ~1-2 KB) in one produce request per
                    # partition, not one per 16 KB (aiokafka's default): fewer round trips.
                    max_batch_size=_MAX_BATCH_BYTES,
                    request_timeout_ms=10_000,
                )
                try:
                    await producer.start()
                except KafkaError as error:
                    await producer.stop()
                    if not idempotent:
                        raise BusError(f"kafka producer failed: {error!r}") from error
                    log.warning("kafka broker refused an idempotent producer (%r)", error)
                    continue
                self._producer = producer
                break
            assert self._producer is not None
            return self._producer

    async def publish(self, messages: Sequence[Message]) -> None:
        check_batch(messages)
        if not messages:
            return
        producer = await self._start_producer()
        try:
            sent = [
                await producer.send(
                    self.topic,
                    key=message.key.encode(),
                    value=message.body,
                    headers=[
                        ("ce_id", message.id.encode()),
                        ("ce_type", message.type.encode()),
                        ("ce_specversion", b"1.0"),
                        ("haven_position", str(message.position).encode()),
                    ],
                )
                for message in messages
            ]
            async with asyncio.timeout(_PUBLISH_TIMEOUT):
                await asyncio.gather(*sent)
        except (KafkaError, TimeoutError) as error:
            raise BusError(f"kafka publish failed: {error!r}") from error

    def subscribe(self, group: str) -> KafkaSubscription:
        return KafkaSubscription(self, group)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class _HandOver(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Finishes and commits what a member holds of partitions before they are taken from it."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.subscription.hand_over(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class KafkaSubscription:
    def __init__(self, bus: KafkaBus, group: str) -> None:
        self.bus = bus
        self.group = group
        self._consumer: AIOKafkaConsumer | None = None
        self.held: dict[TopicPartition, _Held] = {}
        self._assignment = 0  # bumped by every revocation
        self._acked = asyncio.Event()  # rung by ack and close: a hand-over looks again
        self._closed = False
        self.handovers: list[tuple[int, bool]] = []  # (deliveries awaited, all finished)

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            await self.bus.ensure_topic()
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bus.bootstrap,
                group_id=self.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=10,
                session_timeout_ms=self.bus.session_timeout_ms,
                heartbeat_interval_ms=max(100, self.bus.session_timeout_ms // 10),
                rebalance_timeout_ms=int((self.bus.handover + 10) * 1000),
                request_timeout_ms=15_000,
            )
            consumer.subscribe([self.bus.topic], listener=_HandOver(self))
            try:
                await consumer.start()
            except KafkaError as error:
                await consumer.stop()
                raise BusError(f"kafka consumer failed: {error!r}") from error
            self._consumer = consumer
        return self._consumer

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[KafkaDelivery]:  # noqa: ASYNC109
        # (ASYNC109: `timeout` is the broker long-poll handed to the driver, not a cancel.)
        if self._closed:
            raise BusError("subscription is closed")
        consumer = await self._started()
        try:
            batches = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=max_messages
            )
        except KafkaError as error:
            raise BusError(f"kafka receive failed: {error!r}") from error
        # No await from here on: aiokafka hands records over only between rebalances, so
        # they are in `held` before a hand-over can look.
        deliveries: list[KafkaDelivery] = []
        for partition, records in batches.items():
            held = self.held.setdefault(partition, _Held())
            for record in records:
                headers = {name: value.decode() for name, value in record.headers}
                message = Message(
                    id=headers["ce_id"],
                    key=(record.key or b"").decode(),
                    type=headers["ce_type"],
                    position=int(headers["haven_position"]),
                    body=record.value or b"",
                )
                held.offsets.append(record.offset)
                deliveries.append(
                    KafkaDelivery(message, 1, partition, record.offset, self._assignment)
                )
        return deliveries

    async def ack(self, deliveries: Sequence[Any]) -> None:
        if self._consumer is None or not deliveries:
            return
        touched: set[TopicPartition] = set()
        for delivery in deliveries:
            assert isinstance(delivery, KafkaDelivery)
            held = self.held.get(delivery.partition)
            if delivery.assignment != self._assignment or held is None or not held.offsets:
                continue  # its partition was handed over since: the new owner decides
            if delivery.offset >= held.offsets[0]:
                held.acked.add(delivery.offset)
                touched.add(delivery.partition)
        for partition in touched:
            held = self.held[partition]
            while held.offsets and held.offsets[0] in held.acked:
                held.acked.discard(held.offsets[0])
                held.position = held.offsets.popleft() + 1
        self._acked.set()
        await self._commit(touched)

    async def _commit(self, partitions: Iterable[TopicPartition]) -> None:
        """Commit the acknowledged prefix of these partitions (those not committed yet)."""
        if self._consumer is None:
            return
        assigned = self._consumer.assignment()
        offsets = {
            partition: held.position
            for partition in partitions
            if (held := self.held.get(partition)) is not None
            and held.position is not None
            and held.position != held.committed
            and partition in assigned
        }
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as error:
            # A rebalance took the partition: its new member starts from the last commit.
            log.info("kafka commit skipped: %r", error)
            return
        for partition, position in offsets.items():
            held = self.held.get(partition)
            if held is not None:
                held.committed = position

    async def hand_over(self, revoked: set[TopicPartition]) -> None:
        """Before `revoked` go: wait (at most `handover` seconds) until everything received of
        them is acknowledged, commit, and forget them."""
        revoked &= set(self.held)
        if not revoked:
            self._assignment += 1
            return
        awaited = self._unfinished(revoked)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.bus.handover
        finished = True
        while not self._closed:
            self._acked.clear()
            if not self._unfinished(revoked):
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                finished = False
                log.warning(
                    "kafka group %s: handing over partitions with deliveries unfinished "
                    "after %.1f s: they come again to the next owner",
                    self.group,
                    self.bus.handover,
                )
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._acked.wait()
        else:
            finished = not self._unfinished(revoked)
        await self._commit(revoked)
        for partition in revoked:
            self.held.pop(partition, None)
        self._assignment += 1  # acknowledgements of what was held now change nothing
        self.handovers.append((awaited, finished))

    def _unfinished(self, partitions: Iterable[TopicPartition]) -> int:
        """How many deliveries of these partitions are held above the acknowledged prefix."""
        return sum(len(held.offsets) for p in partitions if (held := self.held.get(p)) is not None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._acked.set()  # a hand-over waiting gives up: this member leaves
        if self._consumer is not None:
            with contextlib.suppress(KafkaError, BusError):
                await self._commit(list(self.held))
            try:
                await self._consumer.stop()
            except KafkaError:
                pass
            except asyncio.CancelledError:
                # With the broker unreachable, aiokafka's stop() raises the CancelledError of
                # its own background tasks. Only a cancellation of this task goes on: letting
                # aiokafka's through would end the consumer runner for good, silently.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                log.warning("kafka: stopping a consumer was cut short (broker unreachable?)")
            self._consumer = None
        self.held.clear()
