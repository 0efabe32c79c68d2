"""/devices takes a browser's Web Push subscription: keys checked, endpoint checked, and the
notification sender finds it among the user's push targets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from haven.db.session import Database
from haven.notifications.push import PushSubscription
from tests.factories import Account
from tests.integration.push.conftest import subscribe_device, targets
from tests.integration.push.service import Browser, b64url, unb64url

ENDPOINT = "https://push.example.com/wpush/v2/abc123"


def _web(**changes: Any) -> dict[str, Any]:
    browser = Browser.create()
    subscription = browser.subscription(ENDPOINT)
    keys = {**subscription["keys"], **changes.pop("keys", {})}
    return {"platform": "web", "web_push": {**subscription, "keys": keys, **changes}}


def _not_on_the_curve() -> str:
    raw = bytearray(unb64url(Browser.create().p256dh))
    raw[-1] ^= 1  # x stays, y no longer satisfies the curve's equation
    return b64url(bytes(raw))


def _compressed() -> str:
    raw = unb64url(Browser.create().p256dh)
    return b64url(bytes([2 + raw[-1] % 2]) + raw[1:33])


@pytest.mark.parametrize(
    "payload",
    [
        _web(keys={"p256dh": "not base64!"}),
        _web(keys={"p256dh": _not_on_the_curve()}),
        _web(keys={"p256dh": _compressed()}),
        _web(keys={"p256dh": b64url(b"\x04" + b"\x00" * 63)}),
        _web(keys={"auth": b64url(b"\x01" * 15)}),
        _web(keys={"auth": b64url(b"\x01" * 17)}),
        _web(keys={"auth": ""}),
        _web(keys={"extra": "x"}),
        _web(endpoint="not a url"),
        _web(endpoint="ftp://push.example.com/x"),
        _web(endpoint="https://user:pw@push.example.com/x"),
        _web(endpoint="https://push.example.com/" + "x" * 2048),
        _web(expirationTime=None),
        {**_web(), "push_token": "fcm-token"},
        {"platform": "web", "web_push": {"endpoint": ENDPOINT}},
        {"platform": "web"},
    ],
)
async def test_a_malformed_subscription_is_a_422(
    payload: dict[str, Any], client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post("/devices", json=payload, headers=alice.headers)

    assert response.status_code == 422, response.text
    assert (await client.get("/devices", headers=alice.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://push.example.com/x", "https"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://[::1]/x", "loopback"),
        ("https://169.254.169.254/latest", "169.254.169.254, a private"),
    ],
)
async def test_an_inside_or_plain_http_endpoint_is_a_422(
    endpoint: str, why: str, client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post("/devices", json=_web(endpoint=endpoint), headers=alice.headers)

    assert response.status_code == 422, response.text
    assert why in response.text


async def test_a_subscription_registers_and_renews(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    first, renewed = Browser.create(), Browser.create()
    await client.post(
        "/devices", json={"platform": "android", "push_token": "fcm-1"}, headers=alice.headers
    )
    await subscribe_device(client, bob, Browser.create().subscription(ENDPOINT + "-bob"))

    created = await client.post(
        "/devices",
        json={"name": "Firefox", "platform": "web", "web_push": first.subscription(ENDPOINT)},
        headers=alice.headers,
    )
    again = await client.post(
        "/devices",
        json={"name": "Firefox 2", "platform": "web", "web_push": renewed.subscription(ENDPOINT)},
        headers=alice.headers,
    )

    assert created.status_code == 201, created.text
    assert set(created.json()) == {"id", "name", "platform", "created_at", "last_seen_at"}
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    assert await targets(database, alice) == [
        PushSubscription(
            device_id=uuid.UUID(created.json()["id"]),
            endpoint=ENDPOINT,
            p256dh=renewed.p256dh,
            auth=renewed.auth,
        )
    ]


async def test_padded_keys_are_stored_unpadded(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    browser = Browser.create()
    padded = {"p256dh": browser.p256dh + "=", "auth": browser.auth + "=="}

    response = await client.post(
        "/devices",
        json={"platform": "web", "web_push": {"endpoint": ENDPOINT, "keys": padded}},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    [target] = await targets(database, alice)
    assert (target.p256dh, target.auth) == (browser.p256dh, browser.auth)
