"""The one small interface every message bus adapter implements (issue: event pipeline).

The relay publishes each committed event once it has its `haven_position`; consumer runners
receive them through a named consumer group and acknowledge each after its effect is
recorded. Delivery is at least once: a message not acknowledged (a crash, a lost connection,
a consumer that did not finish) is delivered again, to this group member or another one.
Consumers make that harmless by recording `(consumer, event id)` (events/consumers.py).

Order: messages with the same `key` (the workspace id) are delivered to a group in the order
they were published, and a group member receives a key's messages one batch at a time, so
acknowledging in delivery order keeps per-entity order. Messages of different keys may
interleave and may be spread over group members.

Adapters: `memory://` (the events table itself is the log; nothing to run), `kafka://`,
`nats://` (JetStream), `redis://` (Streams). `open_bus(url)` picks one by the URL's scheme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
        """1 on first delivery; more when the broker knows it delivered this message before."""
        ...


class Subscription(Protocol):
    """One member of a consumer group."""

    async def receive(self, *, max_messages: int, timeout: float) -> Sequence[Delivery]:
        """Up to `max_messages` deliveries, waiting at most `timeout` seconds for the first."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge these deliveries (in delivery order): the group will not see them again."""
        ...

    async def close(self) -> None:
        """Leave the group; unacknowledged deliveries go to other members (or the next start)."""
        ...


class Bus(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish in order; return only when the broker has durably accepted every message.

        Raises on failure; the relay then publishes the same messages again later (a message
        may so reach the broker twice: consumers deduplicate by id).
        """
        ...

    def subscribe(self, group: str) -> Subscription:
        """Join the consumer group `group` (created if missing), from its last acknowledgement.

        A group new to the bus starts at the oldest message the bus still holds.
        """
        ...

    async def close(self) -> None: ...
