"""The request owns the transaction: writes commit after the handler, reads use autocommit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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
    """A session on an autocommit connection: no BEGIN/COMMIT round trips for reads."""
    database = get_database(request)
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=autocommit, expire_on_commit=False) as session:
            yield session


def _is_lock_timeout(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
