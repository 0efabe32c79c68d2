"""A reminder reaches each of the user's subscribed browsers through Web Push: through the
real worker's notifications consumer and sender, to a local push service that checks the
VAPID token and decrypts the message as a browser would."""

from __future__ import annotations

import httpx
import pytest

from haven.db.session import Database
from haven.settings import Settings
from tests.events.helpers import eventually, fast
from tests.factories import Account, make_task
from tests.integration.notifications.helpers import (
    deliveries,
    emit,
    mail_settings,
    notifying_worker,
    reminder_due,
)
from tests.integration.push.conftest import subscribe_device
from tests.integration.push.service import Browser, PushService

pytestmark = pytest.mark.usefixtures("allow_private")


async def test_a_reminder_is_pushed_to_each_subscribed_browser_once(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    push_service: PushService,
) -> None:
    laptop, phone = Browser.create(), Browser.create()
    await subscribe_device(client, alice, push_service.subscribe(laptop, "laptop"), name="Laptop")
    await subscribe_device(client, alice, push_service.subscribe(phone, "phone"), name="Phone")
    task = await make_task(client, alice, title="Call the dentist", due="2030-01-07T16:00:00Z")
    await emit(database, reminder_due(task, user_id=alice.id))

    async with notifying_worker(database, fast(mail_settings(settings, None))):

        async def both_pushed() -> bool:
            return len(push_service.received) == 2

        await eventually(both_pushed, within=30)
        pushed = await deliveries(database, "push")

        async def recorded() -> bool:
            return {d.status for d in await deliveries(database, "push")} == {"sent"}

        await eventually(recorded, within=30)

    assert len(pushed) == 2
    payloads = [received.payload for received in push_service.received]
    assert {p["title"] for p in payloads} == {"Call the dentist"}
    assert {p["url"] for p in payloads} == {f"/inbox?task={task['id']}"}
    assert all(r.headers.get("Urgency") == "high" for r in push_service.received)


async def test_a_subscription_the_push_service_calls_gone_is_removed(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    push_service: PushService,
) -> None:
    old = Browser.create()
    device = await subscribe_device(client, alice, push_service.subscribe(old, "old"))
    push_service.answer(410)
    task = await make_task(client, alice, title="Stale", due="2030-01-07T16:00:00Z")
    await emit(database, reminder_due(task, user_id=alice.id))

    async with notifying_worker(database, fast(mail_settings(settings, None))):

        async def failed() -> bool:
            return [d.status for d in await deliveries(database, "push")] == ["failed"]

        await eventually(failed, within=30)

    listed = (await client.get("/devices", headers=alice.headers)).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert device["id"] not in [d["id"] for d in items]
    [delivery] = await deliveries(database, "push")
    assert delivery.last_error is not None
    assert "gone" in delivery.last_error
