"""db.driver.transaction: a transaction run on asyncpg itself commits what its block wrote,
rolls back what a failed block wrote, and never hands the pool a connection still inside a
transaction (PostgreSQL only: the driver is asyncpg)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from haven.db import driver
from haven.db.session import Database


@pytest.fixture
async def scratch(database: Database) -> AsyncIterator[str]:
    """A table of this test's own (PostgreSQL only: the driver is asyncpg)."""
    if database.engine.dialect.driver != "asyncpg":
        pytest.skip("db.driver.transaction runs on asyncpg")
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    async with database.engine.begin() as connection:
        await connection.execute(text(f"CREATE TABLE {name} (n integer)"))
    yield name
    async with database.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE {name}"))


async def rows(database: Database, table: str) -> list[int]:
    async with database.engine.connect() as connection:
        return list((await connection.execute(text(f"SELECT n FROM {table} ORDER BY n"))).scalars())


async def outside_a_transaction(database: Database) -> bool:
    """Whether the pool's next connection is outside any transaction (asyncpg knows from the
    server's ReadyForQuery status)."""
    async with database.engine.connect() as connection:
        raw: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        return not raw.is_in_transaction()


async def test_a_block_that_ends_commits_and_its_first_statement_rides_with_the_begin(
    database: Database, scratch: str
) -> None:
    async with driver.transaction(
        database.engine, first=f"INSERT INTO {scratch} VALUES (1)"
    ) as connection:
        assert connection.is_in_transaction()
        await connection.execute(f"INSERT INTO {scratch} VALUES (2)")
    assert await rows(database, scratch) == [1, 2]
    assert await outside_a_transaction(database)


async def test_a_block_that_raises_rolls_back_and_the_error_goes_on(
    database: Database, scratch: str
) -> None:
    async def fails() -> None:
        async with driver.transaction(database.engine) as connection:
            await connection.execute(f"INSERT INTO {scratch} VALUES (1)")
            raise LookupError("the caller's own failure")

    with pytest.raises(LookupError):
        await fails()
    assert await rows(database, scratch) == []
    assert await outside_a_transaction(database)


async def test_a_failed_statement_rolls_the_transaction_back(
    database: Database, scratch: str
) -> None:
    async def fails() -> None:
        async with driver.transaction(database.engine) as connection:
            await connection.execute(f"INSERT INTO {scratch} VALUES (1)")
            await connection.execute("SELECT 1 / 0")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await fails()
    assert await rows(database, scratch) == []
    assert await outside_a_transaction(database)


async def test_a_block_cancelled_mid_statement_drops_its_connection(
    database: Database, scratch: str
) -> None:
    """Cancelled while the server still runs a statement, the connection's state is unknown:
    it is invalidated, not pooled, and what the block wrote is not committed."""
    entered = asyncio.Event()
    seen: list[asyncpg.Connection] = []

    async def sleeper() -> None:
        async with driver.transaction(database.engine) as connection:
            seen.append(connection)
            await connection.execute(f"INSERT INTO {scratch} VALUES (1)")
            entered.set()
            await connection.execute("SELECT pg_sleep(30)")

    running = asyncio.create_task(sleeper())
    await asyncio.wait_for(entered.wait(), 10)
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert seen[0].is_closed()
    assert await rows(database, scratch) == []
    assert await outside_a_transaction(database)


async def test_only_asyncpg_is_accepted() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        with pytest.raises(ValueError, match="asyncpg"):
            async with driver.transaction(engine):
                pass  # pragma: no cover - refused before it is entered
    finally:
        await engine.dispose()
