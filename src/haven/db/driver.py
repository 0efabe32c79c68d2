"""Reads that every request makes, and the relay's transaction, run on the driver itself.

SQLAlchemy builds and compiles them, once; asyncpg runs them. For a page of rows,
SQLAlchemy's DBAPI layer and result rows cost about as much CPU again as the driver
(measured on a page of 50 tasks: 0.35 ms through it, 0.18 ms on asyncpg), and the API
process's CPU is what bounds its throughput. `fetch_all` skips that layer only where it would
change nothing: on asyncpg, outside a transaction (an autocommit read: the driver's
connection is in no transaction SQLAlchemy has yet to begin), for a statement whose
parameters and columns need no conversion by their SQLAlchemy types. Anything else goes
through SQLAlchemy, and so does a statement the driver failed: SQLAlchemy runs it again and
decides what the error means (the pool's invalidation, the API's 503).

`transaction` hands a pooled connection's asyncpg connection over for a whole transaction
that its caller runs on the driver (the relay's batch, many times a second: SQLAlchemy's
session costs about as much CPU again as the driver for each of its statements, and BEGIN a
round trip of its own).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement, Dialect, Insert, Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler

from haven.db.engine import in_autocommit

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    sql: str
    names: tuple[str, ...]  # the bind parameters, in the order of $1, $2, ...
    fixed: Mapping[str, Any]  # the values the statement itself holds (a literal, a limit)
    # SQLAlchemy's own conversion of a parameter's value for the driver (an instant to UTC,
    # a JSON value to its text), by position; None where there is none.
    processors: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = [values[name] if name in values else self.fixed[name] for name in self.names]
        return [
            value if process is None else process(value)
            for value, process in zip(arguments, self.processors, strict=True)
        ]


def for_driver(statement: ClauseElement, dialect: Dialect) -> _DriverStatement:
    """The statement compiled once for the driver; for a statement of the caller's own
    whose parameters and columns need no conversion (else a ValueError)."""
    prepared = _for_driver(statement, dialect)
    if prepared is None:
        raise ValueError("the statement needs SQLAlchemy's conversions")
    return prepared


@functools.lru_cache(maxsize=256)
def _for_driver(statement: ClauseElement, dialect: Dialect) -> _DriverStatement | None:
    """The statement as the driver takes it, or None if it needs SQLAlchemy's conversions."""
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        return None
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None  # rendered anew for each execution's values
    if any(
        column.type._cached_result_processor(dialect, None) is not None
        for column in compiled._result_columns
    ):
        return None
    names = tuple(compiled.positiontup)
    if any(name not in compiled.binds for name in names):
        return None
    fixed = {
        name: bind.value
        for name, bind in ((name, compiled.binds[name]) for name in names)
        if not bind.required and bind.callable is None
    }
    processors: list[Callable[[Any], Any] | None] = []
    for name in names:
        process = compiled._bind_processors.get(name)
        if process is not None and not callable(process):
            return None  # a tuple's processors, one per element
        processors.append(process)
    return _DriverStatement(
        sql=compiled.string, names=names, fixed=fixed, processors=tuple(processors)
    )


async def fetch_all(
    connection: AsyncConnection, statement: Select[Any] | Insert, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """All rows of a select (or what a statement's RETURNING gives), as sequences of column
    values (by position)."""
    if (
        connection.dialect.driver == "asyncpg"
        and connection.sync_connection is not None
        and in_autocommit(connection.sync_connection)
    ):
        prepared = _for_driver(statement, connection.dialect)
        if prepared is not None:
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            try:
                rows: list[asyncpg.Record] = await driver.fetch(
                    prepared.sql, *prepared.arguments(values)
                )
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, KeyError):
                pass  # through SQLAlchemy below, which translates the error
            else:
                return rows
    result = await connection.execute(statement, values)
    through_sqlalchemy: Sequence[Sequence[Any]] = result.all()
    return through_sqlalchemy


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, first: str = "") -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection's asyncpg connection inside a transaction that this commits when
    the block ends (and rolls back when it raises). `first`, a statement without parameters,
    goes with the BEGIN in one round trip (the simple query protocol takes several at once).

    SQLAlchemy keeps the connection in autocommit (it begins nothing of its own), so the pool
    gets it back outside any transaction: rolled back here, or, when that fails or the block
    was cancelled mid-statement (the driver's state is then unknown), invalidated.
    """
    if engine.dialect.driver != "asyncpg":
        raise ValueError("db.driver.transaction runs on asyncpg")
    async with engine.connect() as pooled:
        await pooled.execution_options(isolation_level="AUTOCOMMIT")
        driver: asyncpg.Connection = (await pooled.get_raw_connection()).driver_connection
        try:
            await driver.execute(f"BEGIN; {first}" if first else "BEGIN")
            yield driver
        except Exception:
            try:
                await driver.execute("ROLLBACK")
            except Exception as exc:  # whatever state the driver is in, the pool must not get it
                log.warning("rollback on the driver failed (%r); dropping the connection", exc)
                await pooled.invalidate()
            raise
        except BaseException:
            await pooled.invalidate()  # cancelled: a statement may still be in flight
            raise
        else:
            try:
                await driver.execute("COMMIT")
            except BaseException:
                await pooled.invalidate()
                raise
