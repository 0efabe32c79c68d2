"""The one small interface every message bus adapter implements (issue: event pipeline).

The relay publishes each committed event once it has its `haven_position`; consumer runners
receive them through a named consumer group and acknowledge each after its effect is
recorded. Delivery is at least once: a message not acknowledged (a crash, a lost connection,
a consumer that did not finish) is delivered again, to this group member or another one.
Consumers make that harmless by recording `(consumer, event id)` (events/consumers.py).

Order: messages with the same `key` (the workspace id) are delivered to a group in the order
they were published. While a member holds unacknowledged deliveries of a key, no other member
of the group receives later messages of that key: each adapter gives a share of the keys
(a partition; on NATS all of them) to one member at a time. A member's own deliveries of one
key come in order, over successive `receive` calls too, so a runner that finishes (and
acknowledges) each key's deliveries in delivery order keeps per-entity order, while it
handles other keys concurrently (events/lanes.py). Messages of different keys may interleave
and may be spread over group members. After a member leaves or dies, its unacknowledged
deliveries come again, before any later message of the same key.

Where order can still break (documented per adapter): a member that is alive but cut off
from the broker longer than the adapter's lease or session timeout loses its share while it
may still be processing; its late effects are then duplicates, which consumers drop by id.

Adapters: `memory://` (the events table itself is the log; nothing to run), `kafka://`,
`nats://` (JetStream), `redis://` (Streams). `open_bus(url)` picks one by the URL's scheme.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# A message larger than this is refused before anything of its batch is sent: every broker
# here accepts it with its default limits (Kafka's message.max.bytes, NATS max_payload).
MAX_BODY_BYTES = 900 * 1024


class BusError(Exception):
    """The bus could not do what was asked (broker unreachable, refused, timed out)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One event on the wire: a CloudEvents 1.0 structured JSON body plus routing fields."""

    id: str  # the CloudEvents id (the event's id): consumers deduplicate on it
    key: str  # the partition key: the workspace id, or "" for events outside a workspace
    type: str  # the CloudEvents type, e.g. "haven.task.completed" (headers, subjects)
    position: int  # haven_position: gap-free, increasing in publication order
    body: bytes  # the CloudEvents JSON


class Delivery(Protocol):
    """A received message, to acknowledge once its effect is recorded."""

    @property
    def message(self) -> Message: ...

    @property
    def attempt(self) -> int:
        """1 on first delivery; more when the broker knows it delivered this message before.

        NATS and Redis count deliveries; Kafka does not, so its adapter always says 1.
        """
        ...


class Subscription(Protocol):
    """One member of a consumer group.

    One task receives at a time and one task acknowledges at a time; the two may overlap (a
    runner acknowledges what its handlers finished while it waits for more).
    """

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[Delivery]:  # noqa: ASYNC109
        # (ASYNC109: `timeout` is the broker long-poll handed to the driver, not a cancel.)
        """Up to `max_messages` deliveries, waiting at most `timeout` seconds for the first.

        Returns an empty sequence when nothing came in time (never raises for that). The
        first call joins the group, which can take longer than `timeout` on Kafka (a group
        rebalance). Raises `BusError` when the broker stays unreachable; a later call
        reconnects.
        """
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge these deliveries: the group will not see them again.

        A key's deliveries are acknowledged in delivery order; those of different keys in
        any order. Where the broker's acknowledgement is cumulative (Kafka's offsets, the
        memory bus's group offset) the adapter commits only up to the first delivery not yet
        acknowledged, so acknowledging a later delivery never gives up an earlier one that
        is still being handled; NATS and Redis acknowledge each message by itself.
        Acknowledging a delivery whose share already moved to another member is harmless
        (it is delivered there again; consumers deduplicate).
        """
        ...

    async def close(self) -> None:
        """Leave the group; unacknowledged deliveries go to other members (or the next start)."""
        ...


class Bus(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish in order; return only when the broker has durably accepted every message.

        All or error: it returns only when every message is accepted, or raises `BusError`.
        A batch with a message over `MAX_BODY_BYTES` raises before any of it is sent. Other
        failures may leave part of the batch published; the relay then publishes the same
        messages again (a message may so reach the broker twice: consumers deduplicate by
        id; NATS drops the copy itself within its duplicate window).
        """
        ...

    def subscribe(self, group: str) -> Subscription:
        """Join the consumer group `group` (created if missing), from its last acknowledgement.

        A group new to the bus starts at the oldest message the bus still holds. Nothing
        touches the network until the subscription's first `receive`.
        """
        ...

    async def close(self) -> None:
        """Close the bus's connections; its subscriptions must be closed first."""
        ...


def check_batch(messages: Sequence[Message]) -> None:
    """Refuse a batch that a broker would refuse part-way through."""
    for message in messages:
        if len(message.body) > MAX_BODY_BYTES:
            raise BusError(
                f"event {message.id} is {len(message.body)} bytes; the bus takes at most "
                f"{MAX_BODY_BYTES}"
            )


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for `key` (the same in every process and Python version)."""
    return zlib.crc32(key.encode()) % partitions
