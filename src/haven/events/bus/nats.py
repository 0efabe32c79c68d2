"""NATS JetStream adapter: one stream, a durable pull consumer per group, a lease per group.

URL: `nats://host:4222?stream=HAVEN_EVENTS&prefix=haven&ack_wait=30&lease=50&max_age=604800`
(`&max_ack_pending=1000&publish_timeout=10` too).

- The stream (created if missing) holds the subjects `<prefix>.>`; a message goes to
  `<prefix>.<workspace id or _>.<type without its "haven." prefix>`, e.g.
  `haven.0193….task.completed`. Headers: `Nats-Msg-Id` (the event id: JetStream drops a
  second publish of it within the stream's duplicate window, 2 minutes), `ce_id`,
  `ce_type`, `haven_key`, `haven_position`. Retention: `max_age` seconds (default 7 days).
- Each group is a durable pull consumer (explicit acks, delivery from the first message for
  a new group, `ack_wait` seconds before an unacknowledged message is delivered again,
  at most 1,000 unacknowledged at once). `attempt` is JetStream's delivery count.

Order: JetStream hands the messages of a consumer shared by several pullers to whichever
pull request is waiting, so two members could hold consecutive messages of one key at
once. JetStream (2.9, as installed here) cannot split a consumer by a hash of the key, so
only one member of a group pulls at a time: it holds the group's lease, a key in the KV
bucket `<stream>_LEASES` whose entries expire after `lease` seconds and which a background
task renews every third of that. The other members wait and take over when the holder
closes (it first naks what it holds, so that comes again at once and before anything
newer) or dies (its lease expires). For a dead holder, anything it held is delivered again
before anything newer only if `ack_wait` has passed by the time the lease expires: the
lease runs out at least two thirds of `lease` after the holder's last pull, so keep
`lease` > 1.5 * `ack_wait` (the defaults: 30 s and 50 s). That timing does not hold across
a server restart (the server counts ack_wait again from its start) nor for deliveries a
holder lost in flight, so a new holder that finds unacknowledged deliveries in the group
fetches nothing for `ack_wait` first (a takeover can so take `ack_wait` longer). A runner
must acknowledge within `ack_wait`, or its messages come again (to it) while it still works
on them, so the member tells the server it is still at work: every third of `ack_wait` it
sends "in progress" (`+WPI`, which starts the message's ack_wait again) for each delivery it
has held that long unacknowledged, while it holds the lease: one waiting in a runner's lane
behind a slow key is not delivered a second time meanwhile. A member that lost the lease (or
died) stops, so what it held comes again to the new holder once ack_wait runs out.
The group's throughput is one member's; the other members are hot standbys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from haven.events.bus.base import BusError, Message, check_batch

_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
_CONNECT_TIMEOUT = 10.0
log = logging.getLogger(__name__)


async def _log_error(error: Exception) -> None:
    log.info("nats connection: %r", error)


def _token(value: str) -> str:
    """A subject token or durable name: no dots, wildcards or spaces."""
    return _TOKEN_UNSAFE.sub("_", value) or "_"


@dataclass(frozen=True, slots=True)
class NatsDelivery:
    message: Message
    attempt: int
    raw: Msg


class NatsBus:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.servers = f"nats://{parts.netloc}"
        self.stream = options.get("stream", "HAVEN_EVENTS")
        self.prefix = options.get("prefix", "haven")
        self.ack_wait = float(options.get("ack_wait", "30"))
        self.lease = float(options.get("lease", "50"))
        self.max_age = float(options.get("max_age", str(7 * 24 * 3600)))
        self.max_ack_pending = int(options.get("max_ack_pending", "1000"))
        self.publish_timeout = float(options.get("publish_timeout", "10"))
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._lock = asyncio.Lock()

    def subject(self, message: Message) -> str:
        kind = message.type.removeprefix("haven.")
        kind_tokens = ".".join(_token(part) for part in kind.split("."))
        return f"{self.prefix}.{_token(message.key)}.{kind_tokens}"

    async def connected(self) -> tuple[NatsClient, JetStreamContext, KeyValue]:
        async with self._lock:
            if self._nc is None or self._js is None or self._kv is None:
                try:
                    # Reconnects forever once connected (the first connect would too: bound it).
                    async with asyncio.timeout(_CONNECT_TIMEOUT):
                        nc = await nats.connect(
                            self.servers,
                            connect_timeout=2,
                            reconnect_time_wait=0.2,
                            max_reconnect_attempts=-1,
                            allow_reconnect=True,
                            error_cb=_log_error,
                        )
                    js = nc.jetstream(timeout=self.publish_timeout)
                    await self._ensure_stream(js)
                    kv = await self._lease_bucket(js)
                except (NatsError, OSError, TimeoutError) as error:
                    raise BusError(f"nats connect failed: {error}") from error
                self._nc, self._js, self._kv = nc, js, kv
            return self._nc, self._js, self._kv

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[f"{self.prefix}.>"],
                    storage=StorageType.FILE,
                    max_age=self.max_age,
                    duplicate_window=120,
                )
            )

    async def _lease_bucket(self, js: JetStreamContext) -> KeyValue:
        bucket = f"{self.stream}_LEASES"
        try:
            return await js.key_value(bucket)
        except (NotFoundError, NatsError):
            return await js.create_key_value(
                KeyValueConfig(bucket=bucket, ttl=self.lease, storage=StorageType.FILE)
            )

    async def publish(self, messages: Sequence[Message]) -> None:
        check_batch(messages)
        if not messages:
            return
        _, js, _ = await self.connected()
        try:
            # Written in order on one connection, so the stream stores them in this order.
            acks = [
                await js.publish_async(
                    self.subject(message),
                    message.body,
                    headers={
                        "Nats-Msg-Id": message.id,
                        "ce_id": message.id,
                        "ce_type": message.type,
                        "haven_key": message.key,
                        "haven_position": str(message.position),
                    },
                )
                for message in messages
            ]
            async with asyncio.timeout(self.publish_timeout):
                await asyncio.gather(*acks)
        except (NatsError, OSError, TimeoutError) as error:
            raise BusError(f"nats publish failed: {error!r}") from error

    def subscribe(self, group: str) -> NatsSubscription:
        return NatsSubscription(self, group)

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(NatsError, OSError):
                await self._nc.close()
        self._nc = self._js = self._kv = None


class NatsSubscription:
    def __init__(self, bus: NatsBus, group: str) -> None:
        self.bus = bus
        self.group = group
        self.durable = _token(group)
        self.member = uuid.uuid4().hex
        self._sub: JetStreamContext.PullSubscription | None = None
        self._revision: int | None = None  # the lease entry this member wrote, while it holds it
        self._renewed_at = 0.0
        self._renewer: asyncio.Task[None] | None = None
        self._unacked: dict[str, NatsDelivery] = {}
        # When each held delivery last had its ack_wait started (received, or +WPI sent).
        self._touched: dict[str, float] = {}
        self._keeper: asyncio.Task[None] | None = None
        self._closed = False
        # Until then this new holder fetches nothing: a former holder's unacknowledged
        # deliveries must come again first (see _take_over).
        self._former_due = 0.0

    async def _subscription(self) -> JetStreamContext.PullSubscription:
        if self._sub is None:
            _, js, _ = await self.bus.connected()
            config = ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.bus.ack_wait,
                max_ack_pending=self.bus.max_ack_pending,
                filter_subject=f"{self.bus.prefix}.>",
            )
            self._sub = await js.pull_subscribe(
                f"{self.bus.prefix}.>", durable=self.durable, stream=self.bus.stream, config=config
            )
        return self._sub

    async def _hold_lease(self) -> bool:
        """True when this member holds the group's lease (taking it if it is free).

        A holder whose last renewal is older than half the lease (cut off from the server
        for a while, or a starved event loop) renews before it pulls again, so it does not
        pull beside a member that took the lease meanwhile.
        """
        if self._revision is not None:
            if time.monotonic() - self._renewed_at > self.bus.lease / 2:
                await self._renew()
            return self._revision is not None
        _, _, kv = await self.bus.connected()
        try:
            self._revision = await kv.create(self.durable, self.member.encode())
        except KeyWrongLastSequenceError:
            return False
        self._renewed_at = time.monotonic()
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._keep_lease())
        await self._take_over()
        return True

    async def _take_over(self) -> None:
        """A new holder waits `ack_wait` before its first fetch when the group has deliveries
        that nobody acknowledged: JetStream hands them out again only once their ack_wait has
        run (counted again from a server's restart), and serves newer messages first until
        then, which would put a key's later events before its earlier ones. A former holder
        that closed cleanly gave its deliveries back (nak: served first), but one that lost
        a fetch in flight (a cut connection, a restarted server) could not; from outside
        the two look the same, so the wait is taken whenever something is outstanding.
        """
        _, js, _ = await self.bus.connected()
        info = await js.consumer_info(self.bus.stream, self.durable)
        if info.num_ack_pending:
            self._former_due = time.monotonic() + self.bus.ack_wait * 1.1 + 0.1

    async def _renew(self) -> None:
        if self._revision is None:
            return
        _, _, kv = await self.bus.connected()
        try:
            self._revision = await kv.update(
                self.durable, self.member.encode(), last=self._revision
            )
        except KeyWrongLastSequenceError:
            self._revision = None  # expired and taken: another member pulls now
            return
        self._renewed_at = time.monotonic()

    async def _keep_lease(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.bus.lease / 3)
            with contextlib.suppress(NatsError, OSError, BusError):
                await self._renew()  # a failure is retried next round: the lease outlives it

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[NatsDelivery]:  # noqa: ASYNC109
        # (ASYNC109: `timeout` is the broker long-poll handed to the driver, not a cancel.)
        if self._closed:
            raise BusError("subscription is closed")
        deadline = time.monotonic() + timeout
        try:
            sub = await self._subscription()
            while not await self._hold_lease():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                # A standby: the lease frees when the holder closes, or `lease` after it died.
                await asyncio.sleep(min(remaining, max(0.1, self.bus.lease / 10)))
            if time.monotonic() < self._former_due:
                await asyncio.sleep(max(0.0, min(deadline, self._former_due) - time.monotonic()))
                if time.monotonic() < self._former_due:
                    return []
            remaining = max(0.001, deadline - time.monotonic())
            try:
                msgs = await sub.fetch(batch=max_messages, timeout=remaining)
            except (NatsTimeoutError, TimeoutError):
                return []
        except (NatsError, OSError) as error:
            raise BusError(f"nats receive failed: {error!r}") from error
        deliveries = [self._delivery(msg) for msg in msgs]
        now = time.monotonic()
        for delivery in deliveries:
            self._unacked[delivery.message.id] = delivery
            self._touched[delivery.message.id] = now
        if deliveries and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_in_progress())
        return deliveries

    async def _keep_in_progress(self) -> None:
        """Until closed: "in progress" for each delivery held unacknowledged for a third of
        ack_wait since it came or since the last one, while this member holds the lease."""
        interval = max(0.05, self.bus.ack_wait / 3)
        while not self._closed:
            await asyncio.sleep(interval / 2)
            if self._revision is None:
                continue  # not the holder (any more): let the server give them to the next
            now = time.monotonic()
            due = [
                delivery
                for message_id, delivery in list(self._unacked.items())
                if now - self._touched.get(message_id, now) >= interval
            ]
            with contextlib.suppress(NatsError, OSError):  # the next round tries again
                for delivery in due:
                    if delivery.message.id in self._unacked:
                        await delivery.raw.in_progress()
                        self._touched[delivery.message.id] = now

    @staticmethod
    def _delivery(msg: Msg) -> NatsDelivery:
        headers = msg.headers or {}
        message = Message(
            id=headers["ce_id"],
            key=headers.get("haven_key", ""),
            type=headers["ce_type"],
            position=int(headers["haven_position"]),
            body=msg.data,
        )
        return NatsDelivery(message, msg.metadata.num_delivered, msg)

    async def ack(self, deliveries: Sequence[Any]) -> None:
        if not deliveries:
            return
        try:
            for delivery in deliveries:
                assert isinstance(delivery, NatsDelivery)
                await delivery.raw.ack()
                self._unacked.pop(delivery.message.id, None)
                self._touched.pop(delivery.message.id, None)
            nc, _, _ = await self.bus.connected()
            await nc.flush(timeout=5)
        except (NatsError, OSError, TimeoutError) as error:
            raise BusError(f"nats ack failed: {error!r}") from error

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in (self._renewer, self._keeper):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(NatsError, OSError, BusError, TimeoutError):
            # Give back what this member holds, oldest first, so the next holder gets it first.
            held = sorted(self._unacked.values(), key=lambda d: d.raw.metadata.sequence.stream)
            for delivery in held:
                await delivery.raw.nak()
            self._unacked.clear()
            self._touched.clear()
            nc, _, kv = await self.bus.connected()
            await nc.flush(timeout=5)
            if self._revision is not None:
                await kv.delete(self.durable, last=self._revision)
            if self._sub is not None:
                await self._sub.unsubscribe()
        self._revision = None
