"""db.driver: a read run on asyncpg itself answers exactly what SQLAlchemy would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import bindparam, column, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from haven.db import driver
from haven.db.base import UTCDateTime
from haven.db.session import Database
from haven.tasks.models import Task
from tests.factories import Account, make_task

TASKS = select(Task.id, Task.title, Task.due_at, Task.tag_names, Task.created_at).order_by(
    Task.created_at, Task.id
)


async def _both_ways(connection: AsyncConnection, statement: Any, values: dict[str, Any]) -> Any:
    through_sqlalchemy = [tuple(row) for row in (await connection.execute(statement, values))]
    fetched = [tuple(row) for row in await driver.fetch_all(connection, statement, values)]
    return fetched, through_sqlalchemy


async def test_a_read_answers_the_same_on_the_driver(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    for index in range(3):
        await make_task(client, alice, title=f"t{index}", due="2030-01-02", tags=["a", "b"])
    await make_task(client, alice, title="no due")
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        fetched, through_sqlalchemy = await _both_ways(connection, TASKS, {})
    assert fetched == through_sqlalchemy
    assert len(fetched) == 4
    assert fetched[0][3] == ["a", "b"]
    assert fetched[0][4].tzinfo is not None


def test_which_statements_go_to_the_driver(database: Database) -> None:
    dialect = database.engine.dialect
    if dialect.driver != "asyncpg":
        pytest.skip("only asyncpg reads go to the driver")
    assert driver._for_driver(TASKS, dialect) is not None
    # A parameter with a conversion (UTCDateTime's) gets it from its SQLAlchemy type.
    due_before = TASKS.where(Task.due_at < bindparam("before", type_=UTCDateTime()))
    assert driver._for_driver(due_before, dialect) is not None
    # An IN list is rendered anew for each execution's values.
    among = TASKS.where(Task.id.in_(bindparam("ids", expanding=True)))
    assert driver._for_driver(among, dialect) is None


async def test_a_read_in_a_transaction_stays_in_it(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """Inside a transaction the read goes through SQLAlchemy, which begins it first: the
    read sees what the transaction wrote."""
    await make_task(client, alice)
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE tasks SET title = 'in the transaction'"))
        rows = await driver.fetch_all(connection, TASKS, {})
        assert [row[1] for row in rows] == ["in the transaction"]
        await connection.rollback()


async def test_a_failed_read_fails_as_sqlalchemy_says(database: Database) -> None:
    missing = select(column("x")).select_from(table("no_such_table"))
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        with pytest.raises(DBAPIError):
            await driver.fetch_all(connection, missing, {})
        # The connection is still good for the next read.
        assert await driver.fetch_all(connection, select(bindparam("one", 1)), {"one": 1})


async def test_parameters_go_in_their_places(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    first = await make_task(client, alice, title="first")
    await make_task(client, alice, title="second")
    statement = TASKS.where(Task.id == bindparam("id"), Task.title == bindparam("title"))
    values = {"title": "first", "id": uuid.UUID(first["id"])}
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        fetched, through_sqlalchemy = await _both_ways(connection, statement, values)
    assert fetched == through_sqlalchemy
    assert [row[1] for row in fetched] == ["first"]
    assert fetched[0][4] <= datetime.now(UTC)


async def test_values_the_statement_holds_go_in_their_places(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    for title in ("a", "b", "c", "d"):
        await make_task(client, alice, title=title)
    statement = TASKS.where(Task.title != "b", Task.title != bindparam("not_this")).limit(2)
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        fetched, through_sqlalchemy = await _both_ways(connection, statement, {"not_this": "a"})
    assert fetched == through_sqlalchemy
    assert [row[1] for row in fetched] == ["c", "d"]


async def test_parameters_are_converted_by_their_types(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """An instant in another zone (UTCDateTime converts it) and a JSON value (JSON's type
    serialises it, a None as JSON null) reach the database as through SQLAlchemy."""
    await make_task(client, alice, title="early", due="2030-01-02T08:00:00Z")
    await make_task(client, alice, title="late", due="2030-01-02T10:00:00Z")
    tokyo = datetime(2030, 1, 2, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 09:00 UTC
    due_before = TASKS.where(Task.due_at < bindparam("before", type_=UTCDateTime()))
    same_tags = TASKS.where(Task.tag_names == bindparam("tags", type_=Task.tag_names.type))
    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        fetched, through_sqlalchemy = await _both_ways(connection, due_before, {"before": tokyo})
        assert fetched == through_sqlalchemy
        assert [row[1] for row in fetched] == ["early"]
        fetched, through_sqlalchemy = await _both_ways(connection, same_tags, {"tags": []})
        assert fetched == through_sqlalchemy
        assert len(fetched) == 2
