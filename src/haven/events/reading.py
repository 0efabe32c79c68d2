"""Sessions for the pipeline's reads: autocommit, so a read takes no write lock on SQLite."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from haven.db.session import Database


def read_session(database: Database) -> AsyncSession:
    engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    return AsyncSession(bind=engine, expire_on_commit=False)
