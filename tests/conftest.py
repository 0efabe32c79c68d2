"""Shared fixtures: a migrated database (SQLite or PostgreSQL), the app, clients, accounts.

``HAVEN_TEST_DATABASE=postgres`` runs the suite against a throwaway PostgreSQL database
(``HAVEN_TEST_POSTGRES_URL``, default the local server); anything else uses a temporary
SQLite file. Every test starts from empty tables: API tests drive real request-owned
transactions (and concurrent writers), so the tables are cleared after each test rather
than rolled back.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from haven.accounts.active_users import active_users
from haven.app import create_app
from haven.core import clock
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.migrate import upgrade
from haven.db.registry import metadata
from haven.db.session import Database
from haven.settings import Settings
from haven.workspaces.access import access_hints
from tests.databases import backend, postgres_url, run_admin
from tests.factories import Account, register
from tests.support import TEST_SECRET_KEY


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend() == "sqlite":
        path = tmp_path_factory.mktemp("db") / "haven-test.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"haven_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_admin(f'CREATE DATABASE "{name}"'))
    url = postgres_url(name)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key=TEST_SECRET_KEY,
        log_level="WARNING",
        login_failures_per_account=5,
        login_failures_per_ip=1000,
        # Cheap argon2: otherwise sign-ups and sign-ins spend the suite's time hashing.
        password_hash_cost="minimal",
        # The event pipeline's tests run the relay and consumers themselves, when they want.
        serve_worker=False,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    engine = create_engine(settings)
    db = Database(engine=engine, sessions=create_sessionmaker(engine))
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    uses_database = "database" in request.fixturenames
    database: Database | None = request.getfixturevalue("database") if uses_database else None
    app: FastAPI | None = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    clock.set_clock(None)
    if database is None:
        return
    async with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
        if connection.dialect.name == "sqlite":
            await connection.execute(text("DELETE FROM tasks_fts"))
    limiter = getattr(app.state, "login_limiter", None) if app is not None else None
    if limiter is not None:
        limiter.reset()
    active_users.reset()
    access_hints.reset()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await register(client, email="alice@example.com", timezone="Europe/Berlin")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await register(client, email="bob@example.com", timezone="America/New_York")


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
