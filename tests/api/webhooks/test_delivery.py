"""Deliveries: signed, retried on the schedule, logged, and never sent inside.

The receivers are real HTTP servers on loopback ports; time moves by Haven's clock (the
schedule's minutes and hours are steps of a frozen clock, never sleeps).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select

from haven.db.session import Database
from haven.events.models import Event
from haven.settings import Settings
from haven.webhooks import repository
from haven.webhooks.delivery import DeliveryPolicy, deliver_due_once, run_deliveries
from tests.factories import Account, make_task
from tests.support import advance, freeze_clock
from tests.webhook_support import (
    Receiver,
    create_webhook,
    deliveries,
    free_port,
    queue_events,
    start_receiver,
    verify_independently,
)


async def test_a_delivery_is_a_signed_cloudevent(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    webhook = await create_webhook(client, alice, receiver.url, event_types=["haven.task.*"])
    task = await make_task(client, alice, title="Ship it")
    [envelope] = await queue_events(database, types=("haven.task.created",))

    assert await deliver_due_once(database, policy) == 1

    [got] = receiver.received
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["webhook-id"] == envelope["id"]
    assert headers["content-type"] == "application/json"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert verify_independently(webhook["secret"], got.headers, got.body)
    assert not verify_independently(webhook["secret"], got.headers, got.body + b" ")
    payload = orjson.loads(got.body)
    assert payload["type"] == "haven.task.created"
    assert payload["specversion"] == "1.0"
    assert payload["haven_position"] == 1
    assert payload["data"]["task"]["id"] == task["id"]
    assert payload == orjson.loads(orjson.dumps(envelope))

    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
    assert logged["event_id"] == envelope["id"]
    assert logged["next_attempt_at"] is None
    [attempt] = logged["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    assert attempt["latency_ms"] >= 0
    assert attempt["error"] is None


async def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(
    client: httpx.AsyncClient, alice: Account, receiver: Receiver, policy: DeliveryPolicy
) -> None:
    webhook = await create_webhook(client, alice, receiver.url)
    rotated = await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)
    new_secret = rotated.json()["secret"]
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database_of(client), policy)
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], new_secret):
        assert verify_independently(secret, during.headers, during.body)

    now = freeze_clock(datetime.now(UTC) + timedelta(hours=24, seconds=1))
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database_of(client), policy)
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify_independently(new_secret, after.headers, after.body)
    assert not verify_independently(webhook["secret"], after.headers, after.body)
    assert int(after.headers["webhook-timestamp"]) == int(now[0].timestamp())


def database_of(client: httpx.AsyncClient) -> Database:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    database: Database = transport.app.state.database  # type: ignore[attr-defined]  # an ASGI app, typed without .state
    return database


async def test_a_receiver_that_fails_three_times_then_accepts_gets_one_delivery_of_four_attempts(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url, event_types=["haven.task.created"])
    await make_task(client, alice)
    receiver.answer(500, 502, 503)
    await queue_events(database)

    # Immediately, then 5 s, 5 min and 30 min after each failure: never before it is due.
    assert await deliver_due_once(database, policy) == 1
    for wait in (5, 300, 1800):
        advance(now, seconds=wait - 1)
        assert await deliver_due_once(database, policy) == 0
        advance(now, seconds=1)
        assert await deliver_due_once(database, policy) == 1

    assert await deliver_due_once(database, policy) == 0
    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
    assert [a["status_code"] for a in logged["attempts"]] == [500, 502, 503, 200]
    assert [a["number"] for a in logged["attempts"]] == [1, 2, 3, 4]
    assert logged["attempts"][0]["error"] == "HTTP 500"
    assert logged["attempts"][0]["response_excerpt"] == "status 500"
    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    assert read["failing_since"] is None  # the success ended the failure streak
    assert read["version"] == 1  # delivery health moves no ETag


async def test_a_429_is_retried_no_sooner_than_its_retry_after(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url)
    receiver.answer((429, {"Retry-After": "120"}, b"slow down"))
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert await deliver_due_once(database, policy) == 1

    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "pending"
    assert logged["next_attempt_at"] == "2026-11-28T12:02:00Z"  # not the schedule's 5 s
    advance(now, seconds=119)
    assert await deliver_due_once(database, policy) == 0
    advance(now, seconds=1)
    assert await deliver_due_once(database, policy) == 1
    [logged] = await deliveries(client, alice, webhook["id"])
    assert [a["status_code"] for a in logged["attempts"]] == [429, 200]

    # A Retry-After beyond the limit waits only as long as the limit.
    limited = replace(policy, max_retry_after_seconds=600)
    receiver.answer((429, {"Retry-After": "99999"}, b""))
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert await deliver_due_once(database, limited) == 1
    newest = (await deliveries(client, alice, webhook["id"]))[0]
    assert newest["next_attempt_at"] == "2026-11-28T12:12:00Z"


@pytest.mark.parametrize(
    ("status", "retried"),
    [(400, False), (401, False), (404, False), (410, False), (408, True), (409, True), (301, True)],
)
async def test_which_answers_are_retried(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
    status: int,
    retried: bool,
) -> None:
    freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url)
    receiver.answer((status, {"Location": "http://127.0.0.1:1/elsewhere"}, b"no"))
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database, policy)
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == ("pending" if retried else "failed")
    assert logged["attempts"][0]["status_code"] == status
    assert len(receiver.received) == 1  # a redirect is not followed


async def test_a_receiver_that_is_down_is_retried_after_a_restart_and_a_lost_claim(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    policy: DeliveryPolicy,
) -> None:
    now = freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    down = Receiver(port=free_port())
    webhook = await create_webhook(client, alice, down.url)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    assert await deliver_due_once(database, policy) == 1  # connection refused
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "pending"
    assert logged["attempts"][0]["status_code"] is None
    assert "could not connect" in logged["attempts"][0]["error"]

    # The process stops here. Everything about the delivery is in the database: a new one
    # (fresh policy, fresh HTTP client) picks it up when it is due, the receiver now up.
    runner = await start_receiver(down)
    try:
        advance(now, seconds=5)
        # A worker claims it and dies before sending: the lease keeps others off until it
        # runs out, and then the delivery is due again.
        async with database.sessions() as session, session.begin():
            claimed = await repository.claim_due(
                session,
                now=now[0],
                limit=10,
                lease_until=now[0] + timedelta(seconds=60),
                token=uuid.uuid4(),
            )
            assert len(claimed) == 1
        restarted = DeliveryPolicy(keys=policy.keys, allow_private_targets=True)
        assert await deliver_due_once(database, restarted) == 0
        advance(now, seconds=60)
        assert await deliver_due_once(database, restarted) == 1
    finally:
        await runner.cleanup()
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
    assert [a["status_code"] for a in logged["attempts"]] == [None, 200]
    assert len(down.received) == 1


async def test_an_event_handled_twice_is_queued_once_per_matching_endpoint(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    wants_tasks = await create_webhook(
        client, alice, "https://93.184.216.34/a", event_types=["haven.task.*"]
    )
    wants_projects = await create_webhook(
        client, alice, "https://93.184.216.34/b", event_types=["haven.project.created"]
    )
    paused = await create_webhook(client, alice, "https://93.184.216.34/c", enabled=False)
    bobs = await create_webhook(client, bob, "https://93.184.216.34/d")
    await make_task(client, alice)

    await queue_events(database, types=("haven.task.created",))
    await queue_events(database, types=("haven.task.created",))  # the relay re-delivers

    assert len(await deliveries(client, alice, wants_tasks["id"])) == 1
    assert await deliveries(client, alice, wants_projects["id"]) == []
    assert await deliveries(client, alice, paused["id"]) == []
    assert await deliveries(client, bob, bobs["id"]) == []
    # Account events (no workspace) reach no webhook.
    await queue_events(database, types=("haven.user.registered",))
    assert len(await deliveries(client, alice, wants_tasks["id"])) == 1


async def test_an_address_that_resolves_inside_at_delivery_time_is_refused(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    # Saved while it resolved outside (or before it resolved at all); now it rebinds.
    rebinding = await create_webhook(client, alice, f"http://rebind.example:{receiver.port}/")
    by_name = await create_webhook(client, alice, f"http://localhost:{receiver.port}/")
    for webhook in (rebinding, by_name):
        await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    async def rebinds_to_loopback(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"] if host == "rebind.example" else ["127.0.0.1"]

    strict = replace(policy, allow_private_targets=False)
    assert await deliver_due_once(database, strict, resolver=rebinds_to_loopback) == 2
    assert receiver.received == []
    for webhook in (rebinding, by_name):
        [logged] = await deliveries(client, alice, webhook["id"])
        assert logged["status"] == "failed"
        assert "target refused" in logged["attempts"][0]["error"]
        assert "127.0.0.1" in logged["attempts"][0]["error"]


async def test_the_log_keeps_one_kilobyte_of_the_answer_and_times_out_slow_receivers(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    freeze_clock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url)
    receiver.answer((200, {}, "é".encode() * 3000))
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database, policy)
    [logged] = await deliveries(client, alice, webhook["id"])
    assert len(logged["attempts"][0]["response_excerpt"].encode()) <= 1024 + 3

    receiver.delay = 1.0
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database, replace(policy, timeout_seconds=0.2))
    newest = (await deliveries(client, alice, webhook["id"]))[0]
    assert newest["status"] == "pending"
    assert newest["attempts"][0]["error"].startswith("timed out")


async def test_an_endpoint_failing_for_five_days_is_disabled_with_an_event(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    now = freeze_clock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    webhook = await create_webhook(client, alice, receiver.url)
    observer = await create_webhook(
        client, alice, "https://93.184.216.34/ops", event_types=["haven.webhook.delivery_failed"]
    )
    receiver.answer(*[500] * 40)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)

    # Eight attempts over about 32.5 hours, then the delivery fails for good; no disabling
    # yet, although more than ten attempts do not come from one delivery alone.
    for _ in range(8):
        assert await deliver_due_once(database, policy) == 1
        advance(now, hours=10)
    [first] = await deliveries(client, alice, webhook["id"])
    assert first["status"] == "failed"
    assert len(first["attempts"]) == 8
    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    assert read["enabled"] is True
    assert read["failing_since"] == "2026-11-01T12:00:00Z"

    # Days later it still fails: five days after the first failure, with ten attempts, it
    # is disabled, its pending deliveries are given up, and the event says so.
    advance(now, days=4)
    for _ in range(2):
        await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert await deliver_due_once(database, replace(policy, batch_size=1)) == 1
    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    assert read["enabled"] is True  # 9 attempts: not yet
    assert await deliver_due_once(database, replace(policy, batch_size=1)) == 1
    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    assert read["enabled"] is False
    assert "disabled by Haven" in read["disabled_reason"]
    statuses = [d["status"] for d in await deliveries(client, alice, webhook["id"])]
    assert statuses == ["failed"] * 4
    assert await deliver_due_once(database, policy) == 0

    async with database.sessions() as session:
        [notice] = (
            await session.scalars(
                select(Event).where(Event.type == "haven.webhook.delivery_failed")
            )
        ).all()
    assert notice.subject == f"webhooks/{webhook['id']}"
    assert notice.actor == "system/webhooks"
    assert notice.data["changes"]["enabled"] == [True, False]
    assert notice.data["failed_attempts"] == 10
    await queue_events(database, types=("haven.webhook.delivery_failed",))
    assert len(await deliveries(client, alice, observer["id"])) == 1  # others hear of it
    assert len(await deliveries(client, alice, webhook["id"])) == 4  # not the endpoint itself

    # Enabled again by a person: the count starts afresh.
    enabled = await client.patch(
        f"/webhooks/{webhook['id']}", json={"enabled": True}, headers=alice.headers
    )
    assert enabled.json()["failing_since"] is None
    assert enabled.json()["disabled_reason"] is None


async def test_the_worker_loop_delivers_until_stopped(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    settings: Settings,
) -> None:
    webhook = await create_webhook(client, alice, receiver.url)
    stop = asyncio.Event()
    loop_settings = settings.model_copy(
        update={"webhook_allow_private_targets": True, "webhook_poll_seconds": 0.05}
    )
    worker = asyncio.create_task(run_deliveries(database, loop_settings, stop))
    try:
        await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
    assert len(receiver.received) == 1
    assert orjson.loads(receiver.received[0].body)["type"] == "haven.webhook.test"


async def test_two_workers_never_send_one_delivery_twice(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    webhook = await create_webhook(client, alice, receiver.url)
    for _ in range(12):
        await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    small = replace(policy, batch_size=5)
    rounds = await asyncio.gather(*(deliver_due_once(database, small) for _ in range(4)))
    assert sum(rounds) == 12
    assert len(receiver.received) == 12
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 12
    logged = await deliveries(client, alice, webhook["id"])
    assert [len(d["attempts"]) for d in logged] == [1] * 12


async def test_the_standard_webhooks_reference_library_verifies_deliveries(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    """What a receiver would run: the spec's own Python package (a pinned test dependency)."""
    standardwebhooks = pytest.importorskip("standardwebhooks")
    webhook = await create_webhook(client, alice, receiver.url)
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    rotated = (await client.post(f"/webhooks/{webhook['id']}/secret", headers=alice.headers)).json()
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    await deliver_due_once(database, policy)

    assert len(receiver.received) == 2
    # Both were sent after the rotation, within its overlap: either secret verifies them.
    for got in receiver.received:
        for secret in (webhook["secret"], rotated["secret"]):
            payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
            assert payload["type"] == "haven.webhook.test"
            assert payload["subject"] == f"webhooks/{webhook['id']}"
    tampered = receiver.received[0].body.replace(b"haven.webhook.test", b"haven.webhook.tesT")
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(webhook["secret"]).verify(tampered, receiver.received[0].headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing_secret_of_nobody()).verify(
            receiver.received[0].body, receiver.received[0].headers
        )


def signing_secret_of_nobody() -> str:
    return "whsec_" + base64.b64encode(b"x" * 32).decode()


async def test_a_named_host_is_reached_at_its_checked_address_under_its_own_name(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    receiver: Receiver,
    policy: DeliveryPolicy,
) -> None:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    webhook = await create_webhook(client, alice, f"http://hooks.example:{receiver.port}/in?x=1")
    await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert await deliver_due_once(database, policy, resolver=resolver) == 1
    assert asked == ["hooks.example"]
    [got] = receiver.received
    assert got.headers["Host"] == f"hooks.example:{receiver.port}"
    [logged] = await deliveries(client, alice, webhook["id"])
    assert logged["status"] == "succeeded"
