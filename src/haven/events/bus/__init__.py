"""Message buses behind one interface (base.py); `open_bus(url)` picks one by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from haven.events.bus.base import Bus, BusError, Delivery, Message, Subscription

__all__ = ["Bus", "BusError", "Delivery", "Message", "Subscription", "open_bus"]


def open_bus(url: str) -> Bus:
    """The bus for `url` (settings.bus_url). Connects lazily, on first use.

    `kafka://host:9092[,host:9092][?topic=…&partitions=…]`, `nats://host:4222[?stream=…]`,
    `redis://host:6379/0[?prefix=…&partitions=…&maxlen=…&lease=…]`; each adapter's module
    documents its options. `memory://` (the events table as the log) is wired by the relay.
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
        raise NotImplementedError("memory:// is the relay's in-process bus, not opened here")
    raise ValueError(f"unknown bus URL scheme {scheme!r} (kafka://, nats://, redis://)")
