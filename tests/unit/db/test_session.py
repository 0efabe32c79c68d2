"""A write alone (its own autocommit statement) only where it cannot escape a transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from haven.db.session import Database, holds_connection, statement_alone


async def test_a_write_alone_is_refused_once_the_transaction_has_begun(database: Database) -> None:
    async with database.sessions() as session, session.begin():
        assert not holds_connection(session)
        await session.execute(text("SELECT 1"))
        assert holds_connection(session)
        with pytest.raises(RuntimeError, match="outside its transaction"):
            async with statement_alone(session):
                pass  # pragma: no cover - refused before it is entered


async def test_a_write_alone_runs_before_the_sessions_first_statement(database: Database) -> None:
    async with database.sessions() as session, session.begin():
        async with statement_alone(session) as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        assert not holds_connection(session)
