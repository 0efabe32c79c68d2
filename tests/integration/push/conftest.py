"""Fixtures of the Web Push tests: a local push service, Haven's VAPID keys, a client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from haven.accounts import devices
from haven.db.session import Database
from haven.notifications.push import PushSubscription, new_push_client
from haven.notifications.push_keys import VapidKeys, load_vapid_keys
from haven.settings import Settings
from tests.factories import Account
from tests.integration.push.service import PushService, start
from tests.webhook_support import free_port

SUBJECT = "mailto:ops@example.com"


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService(port=free_port())
    runner = await start(service)
    yield service
    await runner.cleanup()


@pytest.fixture
def allow_private(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let /devices take the local push service's http://127.0.0.1 endpoints."""
    monkeypatch.setattr(settings, "push_allow_private_targets", True)


@pytest.fixture
async def vapid(database: Database, settings: Settings) -> VapidKeys:
    return await load_vapid_keys(
        database, secret_key=settings.resolved_secret_key(), subject=SUBJECT
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with new_push_client(timeout_seconds=5.0) as client:
        yield client


async def subscribe_device(
    client: httpx.AsyncClient, owner: Account, subscription: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {"name": "Firefox", "platform": "web", "web_push": subscription, **fields}
    response = await client.post("/devices", json=body, headers=owner.headers)
    assert response.status_code in (200, 201), response.text
    device: dict[str, Any] = response.json()
    return device


async def targets(database: Database, owner: Account) -> list[PushSubscription]:
    async with database.sessions() as session:
        return await devices.push_targets(session, uuid.UUID(owner.user["id"]))
