"""open_bus picks the adapter by the URL's scheme; settings carry the URL (HAVEN_BUS_URL)."""

from __future__ import annotations

import pytest

from haven.events.bus import open_bus
from haven.events.bus.kafka import KafkaBus
from haven.events.bus.nats import NatsBus
from haven.events.bus.redis import RedisBus
from haven.settings import Settings


def test_open_bus_picks_the_adapter_by_scheme() -> None:
    kafka = open_bus("kafka://broker-1:9092,broker-2:9092?topic=events&partitions=6")
    assert isinstance(kafka, KafkaBus)
    assert (kafka.bootstrap, kafka.topic, kafka.partitions) == (
        "broker-1:9092,broker-2:9092",
        "events",
        6,
    )
    nats = open_bus("nats://127.0.0.1:4222?stream=S&prefix=p")
    assert isinstance(nats, NatsBus)
    assert (nats.stream, nats.prefix, nats.ack_wait, nats.lease) == ("S", "p", 30.0, 50.0)
    redis = open_bus("redis://127.0.0.1:6379/2?partitions=16&maxlen=5000")
    assert isinstance(redis, RedisBus)
    assert (redis.prefix, redis.partitions, redis.maxlen) == ("haven:events", 16, 5000)


def test_open_bus_refuses_what_it_does_not_open() -> None:
    with pytest.raises(NotImplementedError, match="relay"):
        open_bus("memory://")
    with pytest.raises(ValueError, match="amqp"):
        open_bus("amqp://guest@127.0.0.1")
    with pytest.raises(ValueError, match="bad redis bus options"):
        open_bus("redis://127.0.0.1:6379/0?partitions=0")


def test_nats_subjects_follow_events_md() -> None:
    from haven.events.bus.base import Message

    bus = NatsBus("nats://127.0.0.1:4222")
    ws = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    assert bus.subject(Message("i", ws, "haven.task.completed", 1, b"")) == (
        f"haven.{ws}.task.completed"
    )
    assert bus.subject(Message("i", "", "haven.user.created", 1, b"")) == "haven._.user.created"
    assert bus.subject(Message("i", "a.b*c", "haven.x y", 1, b"")) == "haven.a_b_c.x_y"


def test_bus_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().bus_url == "memory://"
    monkeypatch.setenv("HAVEN_BUS_URL", "kafka://127.0.0.1:9092")
    assert Settings().bus_url == "kafka://127.0.0.1:9092"
