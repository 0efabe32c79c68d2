"""Message buses behind one interface (base.py); `open_bus(url)` picks one by URL scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from haven.events.bus.base import Bus, BusError, Delivery, Message, Subscription

if TYPE_CHECKING:
    from haven.db.session import Database

__all__ = ["Bus", "BusError", "Delivery", "Message", "Subscription", "open_bus"]


def open_bus(url: str, *, database: Database | None = None, poll_seconds: float = 1.0) -> Bus:
    """The bus for `url` (settings.bus_url). Connects lazily, on first use.

    `kafka://host:9092[,host:9092][?topic=…&partitions=…]`, `nats://host:4222[?stream=…]`,
    `redis://host:6379/0[?prefix=…&partitions=…&maxlen=…&lease=…]`; each adapter's module
    documents its options. `memory://` (the default; bus/memory.py) needs the `database`: its
    log is the events table, its subscriptions poll every `poll_seconds` without a wake-up.
    """
    scheme = urlsplit(url).scheme
    if scheme == "kafka":
        from haven.events.bus.kafka import KafkaBus

        return KafkaBus(url)
    if scheme == "nats":
        from haven.events.bus.nats import NatsBus

        return NatsBus(url)
    if scheme in ("redis", "rediss"):
        from haven.events.bus.redis import RedisBus

        return RedisBus(url)
    if scheme == "memory":
        if database is None:
            raise NotImplementedError(
                "memory:// is the relay's bus over the events table: pass the database"
            )
        from haven.events.bus.memory import MemoryBus

        return MemoryBus(database, poll_seconds=poll_seconds)
    raise ValueError(f"unknown bus URL scheme {scheme!r} (memory://, kafka://, nats://, redis://)")
