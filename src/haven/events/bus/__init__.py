"""Message buses: `open_bus(url)` picks the adapter by the URL's scheme (events/bus/base.py).

This branch knows `memory://` only; the Kafka, NATS JetStream and Redis Streams adapters
plug in here by scheme.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from haven.db.session import Database
from haven.events.bus.base import Bus, Delivery, Message, Subscription

__all__ = ["Bus", "Delivery", "Message", "Subscription", "open_bus"]


def open_bus(url: str, *, database: Database, poll_seconds: float = 1.0) -> Bus:
    """The bus at `url`. `memory://` needs the database: its log is the events table."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from haven.events.bus.memory import MemoryBus

        return MemoryBus(database, poll_seconds=poll_seconds)
    raise ValueError(f"unsupported bus URL {url!r}: this version knows memory://")
