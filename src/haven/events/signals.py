"""In-process wake-ups: "events were committed", "positions were assigned".

A signal carries no data; it only shortens a wait that a poll would end anyway, so a missed
ring costs latency, never an event. Any thread may ring (SQLAlchemy's commit hooks run
wherever the commit does); each listener is an asyncio.Event on its own loop, set through
that loop, so a ring between a listener's read and its wait is remembered, not lost.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for loop, wake in listeners:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

    def add(self, wake: asyncio.Event) -> None:
        """Set `wake` (on the running loop) on every ring, until `remove(wake)`."""
        with self._lock:
            self._listeners.add((asyncio.get_running_loop(), wake))

    def remove(self, wake: asyncio.Event) -> None:
        with self._lock:
            self._listeners = {entry for entry in self._listeners if entry[1] is not wake}

    @contextmanager
    def listen(self, wake: asyncio.Event | None = None) -> Iterator[asyncio.Event]:
        """Set `wake` (or a new event) on every ring while the block runs."""
        wake = wake or asyncio.Event()
        self.add(wake)
        try:
            yield wake
        finally:
            self.remove(wake)


# Rung after a transaction that recorded events commits (the relay's in-process wake-up).
events_committed: Final = Signal("events_committed")
# Rung after the relay committed new positions (the memory bus's and `events tail`'s).
positions_assigned: Final = Signal("positions_assigned")

# Set on a session by events.outbox when it records events.
WROTE_EVENTS: Final = "haven.wrote_events"


@event.listens_for(Session, "after_commit")
def _ring_after_commit(session: Session) -> None:
    if session.info.pop(WROTE_EVENTS, False):
        events_committed.ring()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(WROTE_EVENTS, None)


async def nap(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Wait until `wake` or `stop` is set, or `seconds` pass; then clear `wake`."""
    if not wake.is_set() and not stop.is_set() and seconds > 0:
        waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
    wake.clear()
