"""Deliveries over https:// to a real local TLS receiver, with certificates verified.

Each test makes a throwaway CA and a server certificate for `hooks.example`; a resolver
sends that name to 127.0.0.1, so the request goes to the checked address while TLS (SNI
and the host-name check) uses the name, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from haven.db.session import Database
from haven.settings import Settings
from haven.webhooks.delivery import DeliveryPolicy, deliver_due_once
from tests.factories import Account
from tests.support import advance, freeze_clock
from tests.webhook_support import (
    Receiver,
    ThrowawayCA,
    create_webhook,
    deliveries,
    free_port,
    start_receiver,
    verify_independently,
)

HOST = "hooks.example"


async def to_loopback(host: str, port: int) -> list[str]:
    assert host == HOST
    return ["127.0.0.1"]


@dataclass
class TlsReceiver:
    receiver: Receiver
    ca: ThrowawayCA

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.receiver.port}/hooks/haven"


async def _serve(tmp_path: Path, *, certified_for: str) -> AsyncIterator[TlsReceiver]:
    ca = ThrowawayCA.create(tmp_path)
    receiver = Receiver(port=free_port())
    runner = await start_receiver(receiver, tls=ca.server_context(tmp_path, hostname=certified_for))
    yield TlsReceiver(receiver=receiver, ca=ca)
    await runner.cleanup()


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[TlsReceiver]:
    async for served in _serve(tmp_path, certified_for=HOST):
        yield served


@pytest.fixture
async def misnamed_receiver(tmp_path: Path) -> AsyncIterator[TlsReceiver]:
    """A certificate from the trusted CA, but for another name."""
    async for served in _serve(tmp_path, certified_for="other.example"):
        yield served


def trusting(settings: Settings, policy: DeliveryPolicy, ca: ThrowawayCA) -> DeliveryPolicy:
    """The policy `haven worker` builds with HAVEN_WEBHOOK_CA_BUNDLE set to the CA's file."""
    configured = settings.model_copy(
        update={"webhook_ca_bundle": ca.pem_path, "webhook_allow_private_targets": True}
    )
    built = DeliveryPolicy.from_settings(configured)
    assert built.ca_bundle == str(ca.pem_path)
    return replace(built, timeout_seconds=policy.timeout_seconds)


async def test_a_delivery_over_https_reaches_a_receiver_whose_certificate_chains_to_the_ca(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    policy: DeliveryPolicy,
    tls_receiver: TlsReceiver,
) -> None:
    webhook = await create_webhook(client, alice, tls_receiver.url)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    trusted = trusting(settings, policy, tls_receiver.ca)
    assert await deliver_due_once(database, trusted, resolver=to_loopback) == 1

    [got] = tls_receiver.receiver.received
    assert got.headers["Host"] == f"{HOST}:{tls_receiver.receiver.port}"
    assert verify_independently(webhook["secret"], got.headers, got.body)
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
    assert logged["attempts"][0]["status_code"] == 200


async def test_an_untrusted_certificate_fails_the_attempt_and_it_is_retried(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    policy: DeliveryPolicy,
    tls_receiver: TlsReceiver,
) -> None:
    """Verification is on by default: the public CAs do not know the throwaway one."""
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, tls_receiver.url)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    assert policy.ca_bundle is None
    assert await deliver_due_once(database, policy, resolver=to_loopback) == 1

    assert tls_receiver.receiver.received == []
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "pending"
    assert logged["next_attempt_at"] is not None
    [attempt] = logged["attempts"]
    assert attempt["status_code"] is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt["error"]

    # Once the operator trusts the CA, the scheduled retry gets through.
    advance(now, seconds=5)
    trusted = trusting(settings, policy, tls_receiver.ca)
    assert await deliver_due_once(database, trusted, resolver=to_loopback) == 1
    assert len(tls_receiver.receiver.received) == 1
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
    assert len(logged["attempts"]) == 2


async def test_a_trusted_certificate_for_another_name_fails_the_attempt(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    policy: DeliveryPolicy,
    misnamed_receiver: TlsReceiver,
) -> None:
    webhook = await create_webhook(client, alice, misnamed_receiver.url)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    trusted = trusting(settings, policy, misnamed_receiver.ca)
    assert await deliver_due_once(database, trusted, resolver=to_loopback) == 1

    assert misnamed_receiver.receiver.received == []
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in logged["last_error"]
    assert "hostname" in logged["last_error"].lower()
