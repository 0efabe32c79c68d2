"""The Alembic migrations build exactly the schema the models describe, on either database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from haven.db.migrate import include_object
from haven.db.registry import metadata


async def test_migrated_schema_equals_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert differences == []
    assert {"users", "workspaces", "tasks", "events", "alembic_version"} <= tables
