"""Webhooks in a workspace export: no secrets leave, and an import sends nothing."""

from __future__ import annotations

import uuid

import httpx
import orjson
from sqlalchemy import insert, select, text

from haven.db.registry import metadata
from haven.db.session import Database
from haven.events.models import Event
from haven.portability import export_workspace, import_workspace
from haven.webhooks import signing
from haven.webhooks.delivery import DeliveryPolicy, deliver_due_once
from haven.webhooks.models import WebhookEndpoint
from tests.factories import Account
from tests.support import TEST_SECRET_KEY
from tests.webhook_support import Receiver, create_webhook, verify_independently


def _last(receiver: Receiver) -> tuple[dict[str, str], bytes]:
    got = receiver.received[-1]
    return got.headers, got.body


async def test_a_workspace_export_carries_webhooks_without_secrets_and_imports_them_disabled(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    webhook = await create_webhook(client, alice, receiver.url, description="CI")
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database, policy)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)  # pending

    async with database.sessions() as session, session.begin():
        sealed = await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.id == uuid.UUID(webhook["id"]))
        )
        document = await export_workspace(session, workspace_id=uuid.UUID(alice.workspace_id))
    raw = orjson.dumps(document)
    assert b"whsec_" not in raw
    # Not even sealed: the other server could not open it, and a backup should not carry it.
    assert sealed is not None
    assert sealed.encode() not in raw
    assert not {"secret", "previous_secret"} & set(orjson.loads(raw)["webhooks"][0])
    loaded = orjson.loads(raw)
    [exported] = loaded["webhooks"]
    assert exported["url"] == receiver.url
    assert exported["description"] == "CI"
    assert sorted(d["status"] for d in loaded["webhook_deliveries"]) == ["pending", "succeeded"]

    users = metadata.tables["users"]
    async with database.engine.begin() as connection:
        saved = [
            dict(row)
            for row in (
                await connection.execute(select(users).where(users.c.email == alice.email))
            ).mappings()
        ]
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
        if connection.dialect.name == "sqlite":
            await connection.execute(text("DELETE FROM tasks_fts"))
        await connection.execute(insert(users), saved)
    async with database.sessions() as session, session.begin():
        report = await import_workspace(session, document=loaded, secret_key=TEST_SECRET_KEY)
    assert report.counts["webhooks"] == 1
    async with database.sessions() as session:
        created = (
            await session.scalars(select(Event).where(Event.type == "haven.webhook.created"))
        ).all()
    imported = [event for event in created if event.actor == "system/import"]
    assert [event.subject for event in imported] == [f"webhooks/{webhook['id']}"]
    assert imported[0].data["webhook"]["enabled"] is False
    assert "whsec_" not in str(imported[0].data)
    assert any("webhook" in warning for warning in report.warnings)

    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    assert read["enabled"] is False
    assert "rotate the secret" in read["disabled_reason"]
    async with database.sessions() as session:
        fresh = await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.id == uuid.UUID(webhook["id"]))
        )
    # A fresh secret, sealed under this server's key (the importer's), bound to the webhook.
    assert fresh is not None
    assert fresh != sealed
    opened = signing.signing_secrets(TEST_SECRET_KEY).open(
        fresh, endpoint_id=uuid.UUID(webhook["id"])
    )
    assert opened != webhook["secret"]
    assert await deliver_due_once(database, policy) == 0
    log = (await client.get(f"/webhooks/{webhook['id']}/deliveries", headers=alice.headers)).json()
    assert sorted(d["status"] for d in log["items"]) == ["failed", "succeeded"]
    assert len(receiver.received) == 1

    # The way back: rotate (the owner gets a secret for the receiver), enable, deliver.
    rotated = await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)
    assert rotated.status_code == 200, rotated.text
    enabled = await client.patch(
        f"/webhooks/{webhook['id']}", json={"enabled": True}, headers=alice.headers
    )
    assert enabled.status_code == 200, enabled.text
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert await deliver_due_once(database, policy) == 1
    assert verify_independently(rotated.json()["secret"], *_last(receiver))
