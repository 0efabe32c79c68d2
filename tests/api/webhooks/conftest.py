"""Webhook tests: an app that may send to loopback receivers, a receiver, and helpers.

The package's `app` allows private targets (HAVEN_WEBHOOK_ALLOW_PRIVATE_TARGETS=true), so
webhooks can point at the local receiver; `strict_client` talks to an app that does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings
from haven.webhooks import signing
from haven.webhooks.delivery import DeliveryPolicy
from tests.webhook_support import Receiver, serving_receiver


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> FastAPI:
    open_settings = settings.model_copy(update={"webhook_allow_private_targets": True})
    return create_app(open_settings, database=database)


@pytest.fixture(scope="session")
def strict_app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
async def strict_client(strict_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=strict_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield c


@pytest.fixture
def policy(settings: Settings) -> DeliveryPolicy:
    """The real schedule; tests move Haven's clock instead of waiting."""
    return DeliveryPolicy(
        keys=signing.signing_secrets(settings.secret_key),
        allow_private_targets=True,
        timeout_seconds=5.0,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver() as found:
        yield found
