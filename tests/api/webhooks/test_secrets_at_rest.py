"""Signing secrets are stored sealed under the server's key, and shown only when made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update

from haven.db.session import Database
from haven.events.models import Event
from haven.webhooks import signing
from haven.webhooks.delivery import DeliveryPolicy, deliver_due_once
from haven.webhooks.models import WebhookEndpoint
from tests.factories import Account
from tests.support import TEST_SECRET_KEY, freeze_clock
from tests.webhook_support import Receiver, create_webhook, deliveries, verify_independently

KEYS = signing.signing_secrets(TEST_SECRET_KEY)


async def _stored(database: Database, webhook_id: str) -> tuple[str, str | None]:
    async with database.sessions() as session:
        row = (
            await session.execute(
                select(WebhookEndpoint.secret, WebhookEndpoint.previous_secret).where(
                    WebhookEndpoint.id == uuid.UUID(webhook_id)
                )
            )
        ).one()
    return row[0], row[1]


async def test_the_database_holds_sealed_secrets_and_only_create_and_rotate_show_one(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    webhook = await create_webhook(client, alice, "https://93.184.216.34/in")
    webhook_id = uuid.UUID(webhook["id"])
    secret, previous = await _stored(database, webhook["id"])
    assert webhook["secret"].startswith("whsec_")
    assert webhook["secret"] not in secret
    assert previous is None
    assert KEYS.open(secret, endpoint_id=webhook_id) == webhook["secret"]

    rotated = await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)
    assert rotated.status_code == 200, rotated.text
    new_sealed, old_sealed = await _stored(database, webhook["id"])
    assert old_sealed == secret
    assert KEYS.open(new_sealed, endpoint_id=webhook_id) == rotated.json()["secret"]

    shown = [
        (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).text,
        (await client.get("/webhooks", headers=alice.headers)).text,
        (
            await client.patch(
                f"/webhooks/{webhook['id']}", json={"description": "x"}, headers=alice.headers
            )
        ).text,
    ]
    async with database.sessions() as session:
        events = (await session.scalars(select(Event.data))).all()
    for text in [*shown, *map(str, events)]:
        for value in (webhook["secret"], rotated.json()["secret"], secret, new_sealed):
            assert value not in text
        assert '"secret"' not in text


async def test_a_secret_sealed_under_another_key_fails_attempts_until_the_secret_is_rotated(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    """What an operator sees after changing HAVEN_SECRET_KEY: no crash, a retried failure
    that names the cause, and a rotation that mends it."""
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url)
    rotated_once = await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)
    assert rotated_once.status_code == 200
    other = signing.signing_secrets("the-key-this-server-had-before")
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(webhook["id"]))
            .values(secret=other.seal(signing.new_secret(), endpoint_id=uuid.UUID(webhook["id"])))
        )
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    assert await deliver_due_once(database, policy) == 1

    assert receiver.received == []
    [pending] = await deliveries(client, alice, webhook["id"])
    assert pending["status"] == "pending"
    assert "HAVEN_SECRET_KEY" in pending["last_error"]
    assert "rotate" in pending["last_error"]

    rotated = await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)
    assert rotated.status_code == 200, rotated.text
    # The unreadable secret cannot sign anything: it is not kept for an overlap.
    assert rotated.json()["previous_secret_expires_at"] is None
    assert (await _stored(database, webhook["id"]))[1] is None
    now[0] = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
    assert await deliver_due_once(database, policy) == 1
    [got] = receiver.received
    assert got.headers["webhook-signature"].count("v1,") == 1
    assert verify_independently(rotated.json()["secret"], got.headers, got.body)
