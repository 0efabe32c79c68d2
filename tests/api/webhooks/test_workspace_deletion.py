"""Deleting a workspace stops its webhooks: disabled, each with its event, nothing sent after."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from haven.core.http import dump_json
from haven.db.session import Database
from haven.events.models import Event
from haven.webhooks.delivery import DeliveryPolicy, deliver_due_once
from haven.webhooks.models import WebhookDelivery, WebhookEndpoint
from haven.webhooks.schemas import webhook_to_dict
from tests.factories import Account, make_task, make_workspace
from tests.support import advance, freeze_clock
from tests.webhook_support import Receiver, create_webhook, queue_events


async def _last_event(database: Database, webhook_id: str) -> Event:
    async with database.sessions() as session:
        events = (
            await session.scalars(
                select(Event)
                .where(Event.subject == f"webhooks/{webhook_id}")
                .order_by(Event.time, Event.id)
            )
        ).all()
    return events[-1]


async def _stored(database: Database, webhook_id: str) -> WebhookEndpoint:
    async with database.sessions() as session:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(webhook_id))
    assert endpoint is not None
    return endpoint


async def _deliveries(database: Database, webhook_id: str) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = (
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == uuid.UUID(webhook_id))
            )
        ).all()
    return [{"status": row.status, "last_error": row.last_error} for row in rows]


async def test_deleting_a_workspace_disables_its_webhooks_and_sends_nothing_queued(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    team = await make_workspace(client, alice)
    live = await create_webhook(client, alice, receiver.url, workspace_id=team)
    paused = await create_webhook(client, alice, receiver.url, workspace_id=team)
    at_home = await create_webhook(client, alice, receiver.url, event_types=["haven.task.*"])
    await make_task(client, alice, workspace_id=team, title="Queued before the deletion")
    await queue_events(database)
    # Paused by a person with deliveries queued: they wait, pending, while it is off.
    await client.patch(f"/webhooks/{paused['id']}", json={"enabled": False}, headers=alice.headers)
    assert [d["status"] for d in await _deliveries(database, paused["id"])].count("pending") > 0
    receiver.answer(503)  # the first attempt fails: a retry is scheduled
    assert await deliver_due_once(database, policy) > 0
    sent_before = len(receiver.received)
    assert [d["status"] for d in await _deliveries(database, live["id"])].count("pending") > 0
    paused_events = len(
        [e for e in await _all_events(database) if e.subject == f"webhooks/{paused['id']}"]
    )

    deleted = await client.delete(f"/workspaces/{team}", headers=alice.headers)

    assert deleted.status_code == 204
    endpoint = await _stored(database, live["id"])
    assert endpoint.enabled is False
    assert "workspace was deleted" in (endpoint.disabled_reason or "")
    last = await _last_event(database, live["id"])
    assert last.type == "haven.webhook.updated"
    assert last.actor == f"users/{alice.id}"
    assert last.data["changes"]["enabled"] == [True, False]
    assert last.data["webhook"] == orjson.loads(dump_json(webhook_to_dict(endpoint)))
    assert last.entity_version == endpoint.version
    # A webhook a person had paused has nothing to change: no event, but nothing pending.
    assert (
        len([e for e in await _all_events(database) if e.subject == f"webhooks/{paused['id']}"])
        == paused_events
    )
    for webhook in (live, paused):
        for delivery in await _deliveries(database, webhook["id"]):
            assert delivery["status"] != "pending"
    assert any(
        d["last_error"] == "not sent: the workspace was deleted"
        for d in await _deliveries(database, live["id"])
    )

    # What the deletion itself recorded reaches the consumer later: none of it is queued
    # for the team's webhooks, and the retry that was due never goes.
    await queue_events(database)
    advance(now, hours=24)
    await deliver_due_once(database, policy)
    for webhook in (live, paused):
        assert [d["status"] for d in await _deliveries(database, webhook["id"])].count(
            "pending"
        ) == 0
    assert len(receiver.received) == sent_before
    assert (
        await client.patch(f"/webhooks/{live['id']}", json={"enabled": True}, headers=alice.headers)
    ).status_code == 404

    # The personal workspace's webhook is untouched and still delivers.
    assert (await _stored(database, at_home["id"])).enabled is True
    await make_task(client, alice, title="At home")
    await queue_events(database)
    assert await deliver_due_once(database, policy) >= 1
    assert len(receiver.received) > sent_before


async def _all_events(database: Database) -> list[Event]:
    async with database.sessions() as session:
        return list((await session.scalars(select(Event))).all())
