"""A connection pool that serves waiting requests in the order they arrived.

SQLAlchemy's asyncio pool keeps idle connections in an `asyncio.Queue`. When a connection
comes back while requests wait, the queue wakes the first waiter, but the connection stays in
the queue until that waiter runs; a request arriving in between takes it without waiting
(`get_nowait`), and the waiter, finding the queue empty, queues again at the back of the
line. Under load some requests lose that race over and over: a saturated server answered
most requests in ~100 ms and its slowest percent in ~500 ms (docs/benchmarks.md, issue 11).

`FairQueue` hands a returned connection straight to the longest waiting request instead,
and takes a newcomer's request from the idle connections only when nobody is waiting: first
come, first served, so the wait for a connection is bounded by the queue ahead of a request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import suppress
from typing import TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

_T = TypeVar("_T")


class FairQueue(QueueCommon[_T]):
    """First come, first served: a put goes to the oldest live waiter, else to the idle items.

    Invariant: idle items and live waiters never coexist (a put with a live waiter hands the
    item over; a get with an idle item takes it), so `get_nowait` never jumps the line.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._items: deque[_T] = deque()
        self._waiters: deque[asyncio.Future[_T]] = deque()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: _T) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that gave up (timeout, cancel) is skipped
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._items.append(item)

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        # The pool only ever returns what it took out, so a put never has to wait for room.
        self.put_nowait(item)

    def get_nowait(self) -> _T:
        if not self._items:
            raise Empty()
        return self._items.pop() if self.use_lifo else self._items.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        if self._items or not block:
            return self.get_nowait()
        try:
            return await_(self._wait(timeout))
        except TimeoutError as exc:
            raise Empty() from exc

    async def _wait(self, patience: float | None) -> _T:
        waiter: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(patience):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection just as it gave up (timed out, or its request was
                # cancelled): pass the connection on instead of losing it.
                self.put_nowait(waiter.result())
            else:
                waiter.cancel()
                with suppress(ValueError):
                    self._waiters.remove(waiter)
            raise


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool with a first-come, first-served wait (`FairQueue`)."""

    _queue_class = FairQueue[ConnectionPoolEntry]
