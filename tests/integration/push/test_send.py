"""send_push against a real local push service that checks what RFC 8030/8291/8292 ask."""

from __future__ import annotations

import email.utils
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from haven.accounts import devices
from haven.core.http import dump_json
from haven.db.session import Database
from haven.events.models import Event
from haven.notifications.push import (
    MAX_PAYLOAD_BYTES,
    PayloadTooLarge,
    PushOutcome,
    PushSubscription,
    new_push_client,
    send_push,
)
from haven.notifications.push_keys import VapidKeys
from haven.settings import Settings
from tests.factories import Account
from tests.integration.push.conftest import SUBJECT, subscribe_device, targets
from tests.integration.push.service import Browser, PushService, start
from tests.webhook_support import ThrowawayCA, free_port

PAYLOAD = {
    "title": "Water the plants",
    "body": "Due today at 18:00",
    "url": "/tasks/0190a1b2-0000-7000-8000-000000000001",
    "notification_id": "0190a1b2-0000-7000-8000-0000000000ff",
}
pytestmark = pytest.mark.usefixtures("allow_private")


async def _target(
    client: httpx.AsyncClient, owner: Account, database: Database, service: PushService
) -> PushSubscription:
    await subscribe_device(client, owner, service.subscribe(Browser.create()))
    [target] = await targets(database, owner)
    return target


async def _send(
    target: PushSubscription,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
    *,
    timeout_seconds: float = 10.0,
) -> PushOutcome:
    return await send_push(
        target,
        PAYLOAD,
        keys=vapid,
        ttl=3600,
        client=http,
        allow_private=True,
        timeout_seconds=timeout_seconds,
    )


async def test_a_push_reaches_the_browser_encrypted_and_signed(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)

    outcome = await send_push(
        target,
        PAYLOAD,
        keys=vapid,
        ttl=3600,
        urgency="high",
        topic="task-1",
        client=http,
        allow_private=True,
    )

    assert outcome == PushOutcome("sent", 201), push_service.refused
    [got] = push_service.received
    assert got.payload == PAYLOAD
    assert (got.headers["TTL"], got.headers["Urgency"], got.headers["Topic"]) == (
        "3600",
        "high",
        "task-1",
    )
    published = (await client.get("/push/vapid-public-key")).json()["public_key"]
    assert got.vapid_key == published
    assert got.claims["aud"] == push_service.origin
    assert got.claims["sub"] == SUBJECT
    assert 0 < got.claims["exp"] - time.time() <= 24 * 3600


async def test_every_message_is_encrypted_afresh(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    """RFC 8291 §3.1: a new sender key (and salt) per message, so equal payloads differ."""
    target = await _target(client, alice, database, push_service)

    for _ in range(2):
        assert (await _send(target, vapid, http)).sent, push_service.refused

    first, second = (received.body for received in push_service.received)
    assert [r.payload for r in push_service.received] == [PAYLOAD, PAYLOAD]
    assert first[:16] != second[:16]  # the salt
    assert first[21:86] != second[21:86]  # the sender's public key
    assert first[86:] != second[86:]


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_removed_with_its_event(
    status: int,
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    push_service.answer(status)

    outcome = await _send(target, vapid, http)

    assert outcome.result == "gone"
    assert outcome.status_code == status
    async with database.sessions() as session, session.begin():
        assert await devices.remove_gone_subscription(session, target.device_id)
    assert (await client.get("/devices", headers=alice.headers)).json()["items"] == []
    assert await targets(database, alice) == []
    async with database.sessions() as session:
        removed = (
            await session.scalars(
                select(Event).where(
                    Event.subject == f"devices/{target.device_id}",
                    Event.type == "haven.device.removed",
                )
            )
        ).all()
    assert [event.actor for event in removed] == ["system/web-push"]
    async with database.sessions() as session, session.begin():
        assert not await devices.remove_gone_subscription(session, target.device_id)


async def test_a_busy_push_service_is_retried_after_what_it_asks(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    push_service.answer(429, {"Retry-After": "120"})
    push_service.answer(503, {"Retry-After": later})
    push_service.answer(500)

    throttled, unavailable, failing = [await _send(target, vapid, http) for _ in range(3)]

    assert (throttled.result, throttled.status_code, throttled.retry_after) == (
        "retryable",
        429,
        120.0,
    )
    assert unavailable.result == "retryable"
    assert unavailable.retry_after is not None
    assert 80 <= unavailable.retry_after <= 90
    assert (failing.result, failing.retry_after) == ("retryable", None)
    assert len(push_service.received) == 3


async def test_an_unreachable_or_slow_push_service_is_retried(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    push_service.delay = 2.0

    slow = await _send(target, vapid, http, timeout_seconds=0.5)
    nowhere = PushSubscription(
        target.device_id, f"http://127.0.0.1:{free_port()}/push/sub", target.p256dh, target.auth
    )
    refused = await _send(nowhere, vapid, http)

    assert (slow.result, slow.reason) == ("retryable", "the push service did not answer in time")
    assert refused.result == "retryable"
    assert refused.status_code is None


@pytest.mark.parametrize("status", [400, 403, 413])
async def test_a_refused_message_fails_for_good_with_the_reason(
    status: int,
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    push_service.answer(status)

    outcome = await _send(target, vapid, http)

    assert (outcome.result, outcome.status_code) == ("failed", status)
    assert outcome.reason is not None
    assert f"HTTP {status}" in outcome.reason


async def test_a_payload_over_4_kb_is_refused_before_sending(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    largest = {"body": "x" * (MAX_PAYLOAD_BYTES - len(dump_json({"body": ""})))}
    assert len(dump_json(largest)) == MAX_PAYLOAD_BYTES

    fits = await send_push(target, largest, keys=vapid, ttl=60, client=http, allow_private=True)
    with pytest.raises(PayloadTooLarge, match="at most 3993"):
        await send_push(
            target,
            {"body": largest["body"] + "x"},
            keys=vapid,
            ttl=60,
            client=http,
            allow_private=True,
        )

    assert fits.sent, push_service.refused
    assert [r.body_size for r in push_service.received] == [4096]


async def test_an_inside_address_is_refused_unless_allowed(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    push_service: PushService,
    vapid: VapidKeys,
    http: httpx.AsyncClient,
) -> None:
    target = await _target(client, alice, database, push_service)
    named = PushSubscription(target.device_id, "https://push.example/x", target.p256dh, target.auth)

    async def inside(host: str, port: int) -> list[str]:
        return ["10.20.30.40"]

    loopback = await send_push(target, PAYLOAD, keys=vapid, ttl=60, client=http)
    rebound = await send_push(named, PAYLOAD, keys=vapid, ttl=60, client=http, resolver=inside)

    assert loopback.result == "failed"
    assert "https" in (loopback.reason or "")
    assert rebound.result == "failed"
    assert "10.20.30.40, a private address" in (rebound.reason or "")
    assert push_service.received == []


async def test_an_https_push_service_is_reached_at_the_checked_address(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    vapid: VapidKeys,
    tmp_path: Path,
) -> None:
    """TLS to the resolved address, verified for the endpoint's name; `aud` is that name."""
    authority = ThrowawayCA.create(tmp_path)
    service = PushService(port=free_port(), scheme="https", host="push.test")
    runner = await start(
        service, ssl_context=authority.server_context(tmp_path, hostname="push.test")
    )
    browser = Browser.create()
    try:
        await subscribe_device(client, alice, service.subscribe(browser))
        [target] = await targets(database, alice)

        async def local(host: str, port: int) -> list[str]:
            assert host == "push.test"
            return ["127.0.0.1"]

        async with (
            new_push_client(timeout_seconds=5.0, ca_bundle=str(authority.pem_path)) as trusting,
            new_push_client(timeout_seconds=5.0) as public_cas_only,
        ):
            sent = await send_push(
                target,
                PAYLOAD,
                keys=vapid,
                ttl=60,
                client=trusting,
                allow_private=True,
                resolver=local,
            )
            untrusted = await send_push(
                target,
                PAYLOAD,
                keys=vapid,
                ttl=60,
                client=public_cas_only,
                allow_private=True,
                resolver=local,
            )
    finally:
        await runner.cleanup()

    assert sent.sent, service.refused
    assert service.received[0].claims["aud"] == f"https://push.test:{service.port}"
    assert untrusted.result == "retryable"
    assert len(service.received) == 1


async def test_an_origin_no_token_can_name_fails_without_sending(
    vapid: VapidKeys, http: httpx.AsyncClient, push_service: PushService
) -> None:
    """py_vapid signs only for scheme://name[:port]; an IPv6 literal is a failure, not a crash."""
    browser = Browser.create()
    target = PushSubscription(
        uuid.uuid4(), f"http://[::1]:{push_service.port}/push/sub", browser.p256dh, browser.auth
    )

    outcome = await send_push(target, PAYLOAD, keys=vapid, ttl=60, client=http, allow_private=True)

    assert outcome.result == "failed"
    assert "VAPID" in (outcome.reason or "")
    assert push_service.received == []


@pytest.mark.parametrize("subject", ["ops@example.com", "mailto:", "http://example.com", ""])
def test_the_subject_must_be_a_mailto_or_https_address(subject: str) -> None:
    with pytest.raises(ValidationError, match="push_subject"):
        Settings(push_subject=subject)


@pytest.mark.parametrize(
    "options",
    [
        {"ttl": -1},
        {"ttl": 29 * 24 * 3600},
        {"urgency": "urgent"},
        {"topic": "has space"},
        {"topic": "t" * 33},
    ],
)
async def test_options_out_of_range_are_the_callers_mistake(
    options: dict[str, object], vapid: VapidKeys, http: httpx.AsyncClient
) -> None:
    browser = Browser.create()
    target = PushSubscription(uuid.uuid4(), "https://push.example/x", browser.p256dh, browser.auth)
    arguments: dict[str, object] = {"ttl": 60, **options}

    with pytest.raises(ValueError, match=next(iter(options))):
        await send_push(target, PAYLOAD, keys=vapid, client=http, **arguments)  # type: ignore[arg-type]  # the options under test
