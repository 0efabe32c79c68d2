"""Devices: one row per push token, per user, never shown to anyone else."""

from __future__ import annotations

import uuid

import httpx

from haven.db.session import Database
from tests.factories import Account
from tests.support import event_types

PHONE = {"name": "Pixel", "platform": "android", "push_token": "fcm-token-1"}


async def test_register_list_and_remove_a_device(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    created = await client.post("/devices", json=PHONE, headers=alice.headers)

    assert created.status_code == 201, created.text
    device = created.json()
    assert set(device) == {"id", "name", "platform", "created_at", "last_seen_at"}
    assert device["platform"] == "android"
    listed = (await client.get("/devices", headers=alice.headers)).json()
    assert listed == {"items": [device], "next_cursor": None}

    removed = await client.delete(f"/devices/{device['id']}", headers=alice.headers)

    assert removed.status_code == 204
    assert (await client.get("/devices", headers=alice.headers)).json()["items"] == []
    assert await event_types(database, subject_prefix="devices/") == [
        "haven.device.registered",
        "haven.device.removed",
    ]


async def test_registering_a_token_again_updates_the_device(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await client.post("/devices", json=PHONE, headers=alice.headers)

    again = await client.post("/devices", json={**PHONE, "name": "Pixel 8"}, headers=alice.headers)

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["name"] == "Pixel 8"
    assert len((await client.get("/devices", headers=alice.headers)).json()["items"]) == 1


async def test_a_token_registered_by_another_account_moves_there(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await client.post("/devices", json=PHONE, headers=alice.headers)

    bobs = await client.post("/devices", json=PHONE, headers=bob.headers)

    assert bobs.status_code == 201
    assert (await client.get("/devices", headers=alice.headers)).json()["items"] == []
    assert len((await client.get("/devices", headers=bob.headers)).json()["items"]) == 1


async def test_another_users_device_is_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    device = (await client.post("/devices", json=PHONE, headers=alice.headers)).json()

    assert (await client.delete(f"/devices/{device['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get("/devices", headers=bob.headers)).json()["items"] == []
    unknown = await client.delete(f"/devices/{uuid.uuid4()}", headers=alice.headers)
    assert unknown.status_code == 404


async def test_register_validates_the_payload(client: httpx.AsyncClient, alice: Account) -> None:
    for payload in (
        {"platform": "symbian", "push_token": "t"},
        {"platform": "ios", "push_token": ""},
        {"platform": "ios", "push_token": "t" * 4097},
        {"platform": "ios"},
        {"platform": "ios", "push_token": "t", "user_id": str(uuid.uuid4())},
    ):
        response = await client.post("/devices", json=payload, headers=alice.headers)
        assert response.status_code == 422, payload


async def test_the_list_pages_by_cursor(client: httpx.AsyncClient, alice: Account) -> None:
    for index in range(3):
        payload = {"platform": "web", "push_token": f"token-{index}"}
        await client.post("/devices", json=payload, headers=alice.headers)

    first = (await client.get("/devices?limit=2", headers=alice.headers)).json()
    second = (
        await client.get(f"/devices?limit=2&cursor={first['next_cursor']}", headers=alice.headers)
    ).json()

    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
