"""Which database the suite runs on, and making throwaway PostgreSQL databases.

``HAVEN_TEST_DATABASE=postgres`` runs the suite against PostgreSQL
(``HAVEN_TEST_POSTGRES_URL``, default the local server); anything else uses SQLite files.
"""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "HAVEN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def backend() -> str:
    return "postgres" if os.environ.get("HAVEN_TEST_DATABASE") == "postgres" else "sqlite"


async def run_admin(statement: str) -> None:
    """One statement on the PostgreSQL server's admin database (CREATE/DROP DATABASE)."""
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


def postgres_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
