"""Migration 0008 seals the stored webhook secrets, and its downgrade opens them again."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from haven.db.migrate import downgrade, upgrade
from haven.db.registry import metadata
from haven.webhooks import signing
from tests.databases import backend, postgres_url, run_admin

KEY = "the-servers-secret-key-for-this-migration-test"
ENDPOINTS = metadata.tables["webhook_endpoints"]


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the suite's kind (not the shared, migrated one)."""
    if backend() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"haven_migration_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url(name)
    finally:
        asyncio.run(run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _endpoint(workspace_id: uuid.UUID, *, previous: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "workspace_id": workspace_id,
        "url": "https://hooks.example/in",
        "event_types": ["*"],
        "description": "",
        "enabled": True,
        "disabled_reason": None,
        "secret": signing.new_secret(),
        "previous_secret": previous,
        "previous_secret_expires_at": None if previous is None else now + timedelta(hours=1),
        "failing_since": None,
        "failed_attempts": 0,
        "created_by": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


async def _write_plain_webhooks(url: str) -> list[dict[str, Any]]:
    """Two webhooks as 0007 stored them: plain whsec_ secrets, one mid-rotation."""
    workspace_id = uuid.uuid4()
    now = datetime.now(UTC)
    rows = [
        _endpoint(workspace_id, previous=signing.new_secret()),
        _endpoint(workspace_id, previous=None),
    ]
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(metadata.tables["workspaces"]),
            [
                {
                    "id": workspace_id,
                    "name": "Ops",
                    "is_personal": False,
                    "created_by": None,
                    "deleted_at": None,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            ],
        )
        await connection.execute(insert(ENDPOINTS), rows)
    await engine.dispose()
    return rows


async def _stored(url: str) -> dict[uuid.UUID, tuple[str, str | None]]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        result = await connection.execute(
            select(ENDPOINTS.c.id, ENDPOINTS.c.secret, ENDPOINTS.c.previous_secret)
        )
        stored = {row[0]: (row[1], row[2]) for row in result.all()}
    await engine.dispose()
    return stored


def test_the_upgrade_seals_every_secret_and_the_downgrade_opens_them(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    upgrade(url, "0007")
    rows = asyncio.run(_write_plain_webhooks(url))

    upgrade(url, "0008", secret_key=KEY)

    keys = signing.signing_secrets(KEY)
    sealed = asyncio.run(_stored(url))
    for row in rows:
        secret, previous = sealed[row["id"]]
        assert not secret.startswith("whsec_")
        assert len(secret) <= 100  # the column keeps its type
        assert keys.open(secret, endpoint_id=row["id"]) == row["secret"]
        if row["previous_secret"] is None:
            assert previous is None
        else:
            assert previous is not None
            assert keys.open(previous, endpoint_id=row["id"]) == row["previous_secret"]
    with pytest.raises(signing.SecretUnreadable):
        signing.signing_secrets("another-key").open(secret, endpoint_id=rows[-1]["id"])

    downgrade(url, "0007", secret_key=KEY)

    assert asyncio.run(_stored(url)) == {
        row["id"]: (row["secret"], row["previous_secret"]) for row in rows
    }


def test_the_upgrade_refuses_to_guess_a_key_when_there_are_secrets_to_seal(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAVEN_SECRET_KEY", raising=False)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "no-key-here"))
    upgrade(empty_database_url, "0007")
    asyncio.run(_write_plain_webhooks(empty_database_url))

    with pytest.raises(RuntimeError, match="HAVEN_SECRET_KEY"):
        upgrade(empty_database_url, "0008")

    assert not (tmp_path / "no-key-here" / "secret_key").exists()
    assert all(s.startswith("whsec_") for s, _ in asyncio.run(_stored(empty_database_url)).values())


def test_an_empty_database_migrates_without_a_key(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAVEN_SECRET_KEY", raising=False)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path))
    upgrade(empty_database_url)
    downgrade(empty_database_url, "0007")
