"""Engines and sessions: SQLite (WAL, foreign keys, immediate write locks) or PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from haven.db.pool import FairAsyncQueuePool
from haven.settings import Settings


def in_autocommit(bind: Engine | Connection) -> bool:
    """Whether statements on `bind` run outside a transaction (a read session's engine)."""
    return bool(bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """One engine per process. On SQLite every transaction takes the write lock up front."""
    url = url or settings.effective_database_url
    if url.startswith("sqlite"):
        if ":memory:" not in url and "///" in url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            poolclass=NullPool if ":memory:" in url else FairAsyncQueuePool,
            json_serializer=_dump_json,
            json_deserializer=orjson.loads,
        )
        _configure_sqlite(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    # A fixed pool: overflow connections are closed on check-in, which churns backends.
    # Requests waiting for a connection are served in arrival order (db/pool.py).
    # Plans are made for each execution's values: a prepared list statement may otherwise
    # settle on a generic plan, which cannot tell a rare project, tag or word from a common
    # one and reads a whole big workspace (tests/api/tasks/test_list_plans.py).
    connect_args = (
        {"server_settings": {"plan_cache_mode": "force_custom_plan"}} if "asyncpg" in url else {}
    )
    return create_async_engine(
        url,
        connect_args=connect_args,
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
        poolclass=FairAsyncQueuePool,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_recycle=3600,
    )


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if in_autocommit(connection):
            return  # a read: one statement at a time, no transaction, no lock
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT
        # when another writer committed in between; taking the lock first makes it wait.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
