"""Closing a Kafka subscription while the broker is unreachable (no broker needed here)."""

from __future__ import annotations

import asyncio

import pytest

from haven.events.bus.kafka import KafkaBus, KafkaSubscription


class _StopCutShort:
    """aiokafka's consumer with the broker gone: stop() raises its own tasks' CancelledError."""

    def __init__(self, stopped: asyncio.Event | None = None) -> None:
        self.stopped = stopped

    def assignment(self) -> set[object]:
        return set()

    async def stop(self) -> None:
        if self.stopped is not None:
            self.stopped.set()
            await asyncio.sleep(3600)  # until cancelled from outside
        raise asyncio.CancelledError


def _subscription(consumer: _StopCutShort) -> KafkaSubscription:
    subscription = KafkaSubscription(KafkaBus("kafka://127.0.0.1:1"), "group")
    subscription._consumer = consumer  # type: ignore[assignment]  # a stand-in for aiokafka's
    return subscription


async def test_aiokafkas_own_cancellation_does_not_end_the_caller() -> None:
    subscription = _subscription(_StopCutShort())
    await subscription.close()  # returns: the runner goes on and subscribes again
    assert subscription._consumer is None


async def test_a_cancellation_of_the_caller_still_cancels_it() -> None:
    stopped = asyncio.Event()
    subscription = _subscription(_StopCutShort(stopped))
    closing = asyncio.create_task(subscription.close())
    await stopped.wait()
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
