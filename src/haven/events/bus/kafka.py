"""Kafka adapter (aiokafka): one topic, keyed by workspace id, a consumer group per group.

URL: `kafka://host:9092[,host2:9092]?topic=haven.events&partitions=12`.

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
  one held, so a crash never skips an unacknowledged record.

Order: Kafka gives each partition to one member of a group at a time. When a rebalance
moves a partition while its old member still works on records of it, the new member gets
them again from the committed offset; the old member's late acknowledgements are ignored.
`attempt` is always 1: Kafka does not count deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
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


class KafkaBus:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.bootstrap = parts.netloc
        self.topic = options.get("topic", "haven.events")
        self.partitions = int(options.get("partitions", "12"))
        self.session_timeout_ms = int(float(options.get("session_timeout", "10")) * 1000)
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


class _Forget(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drops what a member tracks of partitions taken from it."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for partition in revoked:
            self.subscription.held.pop(partition, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class KafkaSubscription:
    def __init__(self, bus: KafkaBus, group: str) -> None:
        self.bus = bus
        self.group = group
        self._consumer: AIOKafkaConsumer | None = None
        # Per partition: offsets delivered and not yet committed, oldest first, and which
        # of them are acknowledged.
        self.held: dict[TopicPartition, tuple[deque[int], set[int]]] = {}
        self._closed = False

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
                request_timeout_ms=15_000,
            )
            consumer.subscribe([self.bus.topic], listener=_Forget(self))
            try:
                await consumer.start()
            except KafkaError as error:
                await consumer.stop()
                raise BusError(f"kafka consumer failed: {error!r}") from error
            self._consumer = consumer
        return self._consumer

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[KafkaDelivery]:  # noqa: ASYNC109
        if self._closed:
            raise BusError("subscription is closed")
        consumer = await self._started()
        try:
            batches = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=max_messages
            )
        except KafkaError as error:
            raise BusError(f"kafka receive failed: {error!r}") from error
        deliveries: list[KafkaDelivery] = []
        for partition, records in batches.items():
            offsets, _ = self.held.setdefault(partition, (deque(), set()))
            for record in records:
                headers = {name: value.decode() for name, value in record.headers}
                message = Message(
                    id=headers["ce_id"],
                    key=(record.key or b"").decode(),
                    type=headers["ce_type"],
                    position=int(headers["haven_position"]),
                    body=record.value or b"",
                )
                offsets.append(record.offset)
                deliveries.append(KafkaDelivery(message, 1, partition, record.offset))
        return deliveries

    async def ack(self, deliveries: Sequence[Any]) -> None:
        if self._consumer is None or not deliveries:
            return
        touched: set[TopicPartition] = set()
        for delivery in deliveries:
            assert isinstance(delivery, KafkaDelivery)
            held = self.held.get(delivery.partition)
            if held is not None and held[0] and delivery.offset >= held[0][0]:
                held[1].add(delivery.offset)
                touched.add(delivery.partition)
        commit: dict[TopicPartition, int] = {}
        for partition in touched:
            offsets, acked = self.held[partition]
            while offsets and offsets[0] in acked:
                acked.discard(offsets[0])
                commit[partition] = offsets.popleft() + 1
        assigned = self._consumer.assignment()
        commit = {tp: offset for tp, offset in commit.items() if tp in assigned}
        if not commit:
            return
        try:
            await self._consumer.commit(commit)
        except KafkaError as error:
            # A rebalance took the partition: its new member starts from the last commit.
            log.info("kafka commit skipped: %r", error)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._consumer is not None:
            with contextlib.suppress(KafkaError):
                await self._consumer.stop()
            self._consumer = None
        self.held.clear()
