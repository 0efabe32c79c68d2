"""Migration 0013 adds the VAPID key table and a device's Web Push keys; its downgrade
takes them away again, keeping the devices."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from haven.db.migrate import downgrade, upgrade
from tests.databases import backend, postgres_url, run_admin


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the suite's kind (not the shared, migrated one)."""
    if backend() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'push.db'}"
        return
    name = f"haven_push_migration_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url(name)
    finally:
        asyncio.run(run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _schema(url: str) -> tuple[set[str], set[str], int]:
    """The tables, the devices' columns, and how many devices there are."""
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        columns = await connection.run_sync(
            lambda c: {column["name"] for column in inspect(c).get_columns("devices")}
        )
        devices = (await connection.execute(text("SELECT count(*) FROM devices"))).scalar_one()
    await engine.dispose()
    return tables, columns, int(devices)


USERS = sa.table(
    "users",
    *(sa.column(name, sa.Uuid()) for name in ("id",)),
    *(sa.column(name, sa.String()) for name in ("email", "name", "password_hash", "timezone")),
    *(sa.column(name, sa.Boolean()) for name in ("is_active", "is_superuser")),
    sa.column("digest", sa.JSON()),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")),
    sa.column("version", sa.Integer()),
)
DEVICES = sa.table(
    "devices",
    *(sa.column(name, sa.Uuid()) for name in ("id", "user_id")),
    *(
        sa.column(name, sa.String())
        for name in ("name", "platform", "push_token", "push_token_hash")
    ),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "last_seen_at")),
)


async def _a_device(url: str) -> None:
    engine = create_async_engine(url)
    user_id, now = uuid.uuid4(), datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(USERS).values(
                id=user_id,
                email="a@example.com",
                name="",
                password_hash=None,
                timezone="UTC",
                is_active=True,
                is_superuser=False,
                digest={},
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        await connection.execute(
            sa.insert(DEVICES).values(
                id=uuid.uuid4(),
                user_id=user_id,
                name="",
                platform="android",
                push_token="fcm",
                push_token_hash="h",
                created_at=now,
                last_seen_at=now,
            )
        )
    await engine.dispose()


def test_the_upgrade_and_the_downgrade(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0009")
    asyncio.run(_a_device(url))

    upgrade(url, "0013")
    tables, columns, devices = asyncio.run(_schema(url))
    assert "push_keys" in tables
    assert {"web_push_p256dh", "web_push_auth"} <= columns
    assert devices == 1

    downgrade(url, "0009")
    tables, columns, devices = asyncio.run(_schema(url))
    assert "push_keys" not in tables
    assert not {"web_push_p256dh", "web_push_auth"} & columns
    assert devices == 1
