"""The request owns the transaction: writes commit after the handler, reads use autocommit."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

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


CommitCheck = Callable[[AsyncSession], Awaitable[None]]
"""A check a request's write transaction makes before it commits; raising rolls it back."""


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed when the handler returns, else rolled back.

    Before committing it runs the request's commit checks (`check_before_commit`), in the
    transaction: what they refuse is never committed. They outrank the handler's own error
    too (a caller they refuse learns nothing else), so after one they run on their own.
    """
    database = get_database(request)
    try:
        async with database.sessions() as session:
            try:
                async with session.begin():
                    yield session
                    await _run_commit_checks(request, session)
            except Exception as exc:
                if getattr(request.state, "commit_checks", None) and not isinstance(
                    exc, OperationalError
                ):
                    async with session.begin():
                        await _run_commit_checks(request, session)
                raise
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise ServiceUnavailable("the database is busy; retry shortly") from exc
        raise


async def _run_commit_checks(request: Request, session: AsyncSession) -> None:
    checks: list[CommitCheck] | None = getattr(request.state, "commit_checks", None)
    for check in checks or ():
        await check(session)


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on an autocommit connection: no BEGIN/COMMIT round trips for reads.

    It takes its connection from the pool at its first statement, not before: authentication
    may need a connection of its own first, and a request must never hold one connection
    while it waits for a second (with as many such requests as the pool has connections,
    each would wait for the pool's timeout).
    """
    async with AsyncSession(bind=autocommit_engine(request.app), expire_on_commit=False) as s:
        yield s


def writes_in_transaction(request: Request) -> bool:
    """Whether the request's route takes a `WriteSession`, which runs its commit checks."""
    route: Any = request.scope.get("route")
    if route is None:
        return False
    found: bool | None = getattr(route, _TAKES_WRITE_SESSION, None)
    if found is None:
        found = _takes_write_session(route)
        setattr(route, _TAKES_WRITE_SESSION, found)  # the route's dependencies never change
    return found


def check_before_commit(request: Request, check: CommitCheck) -> None:
    """Have the request's write transaction run `check` before it commits.

    Only for a request that `writes_in_transaction`: nothing else runs the checks.
    """
    checks: list[CommitCheck] | None = getattr(request.state, "commit_checks", None)
    if checks is None:
        checks = request.state.commit_checks = []
    checks.append(check)


_TAKES_WRITE_SESSION = "_haven_takes_write_session"


def _takes_write_session(route: Any) -> bool:
    dependant = getattr(route, "dependant", None)
    pending = [dependant] if dependant is not None else []
    while pending:  # the dependency tree of one route: finite, and walked once
        current = pending.pop()
        if current.call is write_session:
            return True
        pending.extend(current.dependencies)
    return False


def autocommit_engine(app: FastAPI) -> AsyncEngine:
    """The database's engine in autocommit mode (same pool), made once per app."""
    database: Database = app.state.database
    return _autocommit_twin(database.engine)


_AUTOCOMMIT_TWINS: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def _autocommit_twin(engine: AsyncEngine) -> AsyncEngine:
    twin = _AUTOCOMMIT_TWINS.get(engine)
    if twin is None:
        twin = _AUTOCOMMIT_TWINS[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return twin


@asynccontextmanager
async def statement_alone(session: AsyncSession) -> AsyncIterator[AsyncConnection]:
    """A connection of `session`'s engine outside its transaction, in autocommit: for a write
    that is one statement, which then commits by itself, without BEGIN and COMMIT round trips.

    Only before the session's first statement: it holds no connection yet, so the request
    never waits for a second connection while holding one (see `read_session`), and nothing
    already written in the session's transaction could be rolled back while this stays. Only
    for a write that is its caller's whole write (for the same reason).
    """
    bind = session.bind
    if not isinstance(bind, AsyncEngine):
        raise TypeError("statement_alone needs a session bound to an engine")
    if holds_connection(session):
        raise RuntimeError(
            "statement_alone after the session's first statement: the write would commit"
            " outside its transaction"
        )
    async with _autocommit_twin(bind).connect() as connection:
        yield connection


def holds_connection(session: AsyncSession) -> bool:
    """Whether `session`'s transaction has run a statement (and so holds a connection)."""
    transaction = session.sync_session.get_transaction()
    return transaction is not None and bool(transaction.connections)


def _is_lock_timeout(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
