"""The request owns the transaction: writes commit after the handler, reads use autocommit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from haven.core.errors import ServiceUnavailable


@dataclass(slots=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed when the handler returns, else rolled back."""
    database = get_database(request)
    try:
        async with database.sessions() as session, session.begin():
            yield session
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise ServiceUnavailable("the database is busy; retry shortly") from exc
        raise


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on an autocommit connection: no BEGIN/COMMIT round trips for reads.

    It takes its connection from the pool at its first statement, not before: authentication
    may need a connection of its own first, and a request must never hold one connection
    while it waits for a second (with as many such requests as the pool has connections,
    each would wait for the pool's timeout).
    """
    async with AsyncSession(bind=autocommit_engine(request.app), expire_on_commit=False) as s:
        yield s


def autocommit_engine(app: FastAPI) -> AsyncEngine:
    """The database's engine in autocommit mode (same pool), made once per app."""
    engine: AsyncEngine | None = getattr(app.state, "autocommit_engine", None)
    if engine is None:
        database: Database = app.state.database
        engine = app.state.autocommit_engine = database.engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
    return engine


def _is_lock_timeout(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
