"""The connection pool serves waiting requests first come, first served (db/pool.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty

from haven.db.pool import FairAsyncQueuePool, FairQueue
from haven.db.session import Database


async def _get(queue: FairQueue[str], patience: float | None = None) -> str:
    # The pool calls `get` from inside SQLAlchemy's greenlet, as here.
    return await greenlet_spawn(queue.get, True, patience)


async def _until_waiting(queue: FairQueue[str], count: int) -> None:
    for _ in range(100):
        if len(queue._waiters) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{count} waiters never queued")


async def test_a_returned_item_goes_to_the_waiter_not_to_a_newcomer() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    waiting = asyncio.create_task(_get(queue))
    await _until_waiting(queue, 1)

    queue.put("connection", block=False)
    # The waiter has not run yet; a request arriving now must not take its connection.
    with pytest.raises(Empty):
        queue.get_nowait()

    assert await waiting == "connection"
    assert queue.qsize() == 0


async def test_waiters_are_served_in_arrival_order() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=5)
    served: list[int] = []

    async def request(number: int) -> None:
        await _get(queue)
        served.append(number)

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(request(number)))
        await _until_waiting(queue, number + 1)
    for number in range(5):
        queue.put(f"connection {number}", block=False)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)

    assert served == [0, 1, 2, 3, 4]


async def test_a_wait_that_times_out_leaves_the_line() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)

    with pytest.raises(Empty):
        await _get(queue, patience=0.01)

    queue.put("connection", block=False)
    assert queue.qsize() == 1  # not handed to the waiter that gave up
    assert await _get(queue) == "connection"


async def test_a_request_cancelled_as_it_is_served_passes_the_item_on() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    first = asyncio.create_task(_get(queue))
    await _until_waiting(queue, 1)
    second = asyncio.create_task(_get(queue))
    await _until_waiting(queue, 2)

    queue.put("connection", block=False)  # handed to `first`, which has not run yet
    first.cancel()

    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "connection"
    assert queue.qsize() == 0


async def test_a_request_cancelled_while_waiting_is_skipped() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    first = asyncio.create_task(_get(queue))
    await _until_waiting(queue, 1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    queue.put("connection", block=False)
    assert queue.qsize() == 1


async def test_the_engine_pool_serves_requests_in_arrival_order(
    database: Database,
) -> None:
    url = database.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        pytest.skip("an in-memory SQLite database has no pool to share (NullPool)")
    engine = create_async_engine(url, poolclass=FairAsyncQueuePool, pool_size=2, max_overflow=0)
    order: list[int] = []

    async def request(number: int) -> None:
        async with engine.connect() as connection:
            order.append(number)
            await connection.execute(text("SELECT 1"))

    try:
        # Both connections open first: a request that opens one is not waiting in line.
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
        # Requests keep arriving while earlier ones wait: a pool that lets a newcomer take a
        # connection just returned for a waiter served the first waiters last (SQLAlchemy's
        # own asyncio pool: displaced by up to 195 places of 200 here).
        requests = []
        for number in range(200):
            requests.append(asyncio.create_task(request(number)))
            await asyncio.sleep(0)
        await asyncio.gather(*requests)

        assert sorted(order) == list(range(200))
        # With two connections a request can swap places with its neighbours, no more.
        assert max(abs(position - number) for position, number in enumerate(order)) <= 2
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool API
    finally:
        await engine.dispose()
