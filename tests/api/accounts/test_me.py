"""The caller's profile: read, change, ETags, and changing the password."""

from __future__ import annotations

import httpx

from haven.db.session import Database
from tests.factories import Account
from tests.support import event_types


async def test_me_shows_the_profile_with_an_etag(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.get("/me", headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": alice.id,
        "email": "alice@example.com",
        "name": "alice",
        "timezone": "Europe/Berlin",
        "digest_enabled": True,
        "digest_time": "07:00",
        "created_at": alice.user["created_at"],
        "version": 1,
    }
    assert response.headers["etag"] == '"1"'


async def test_patch_me_changes_name_timezone_and_digest(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.patch(
        "/me",
        json={"name": "Alice A.", "timezone": "Asia/Tokyo", "digest_enabled": False},
        headers=alice.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Alice A."
    assert body["timezone"] == "Asia/Tokyo"
    assert (body["digest_enabled"], body["digest_time"]) == (False, "07:00")
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'

    digest_time = await client.patch("/me", json={"digest_time": "06:30"}, headers=alice.headers)
    assert digest_time.json()["digest_time"] == "06:30"
    again = await client.get("/me", headers=alice.headers)
    assert again.json()["timezone"] == "Asia/Tokyo"
    assert await event_types(database, subject_prefix=f"users/{alice.id}") == [
        "haven.user.registered",
        "haven.user.updated",
        "haven.user.updated",
    ]


async def test_patch_me_without_a_change_changes_nothing(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.patch("/me", json={"name": "alice"}, headers=alice.headers)

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert "haven.user.updated" not in await event_types(database)


async def test_patch_me_validates_the_payload(client: httpx.AsyncClient, alice: Account) -> None:
    cases = [
        {"timezone": "Europe/Atlantis"},
        {"timezone": None},
        {"name": None},
        {"digest_time": "24:00"},
        {"digest_time": "7:00"},
        {"digest_time": "07:60"},
        {"digest_time": "07:00:00"},
        {"digest_time": None},
        {"digest_enabled": None},
        {"digest": {"enabled": True}},
        {"email": "new@example.com"},
        {"current_password": alice.password},
        {"new_password": "a brand new password"},
        {"current_password": alice.password, "new_password": "short"},
    ]
    for payload in cases:
        response = await client.patch("/me", json=payload, headers=alice.headers)
        assert response.status_code == 422, payload
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/me", headers=alice.headers)).json()["version"] == 1


async def test_patch_me_honours_if_match(client: httpx.AsyncClient, alice: Account) -> None:
    await client.patch("/me", json={"name": "First"}, headers=alice.headers)

    stale = await client.patch(
        "/me", json={"name": "Second"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current"]["name"] == "First"
    assert stale.json()["current"]["version"] == 2

    fresh = await client.patch(
        "/me", json={"name": "Second"}, headers={**alice.headers, "If-Match": '"2"'}
    )
    assert fresh.status_code == 200
    assert fresh.json()["name"] == "Second"


async def test_changing_the_password_needs_the_current_one(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.patch(
        "/me",
        json={"current_password": "not my password", "new_password": "a brand new password"},
        headers=alice.headers,
    )

    assert response.status_code == 403
    login = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert login.status_code == 200


async def test_changing_the_password_signs_out_every_session(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.patch(
        "/me",
        json={"current_password": alice.password, "new_password": "a brand new password"},
        headers=alice.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    old = await client.post("/auth/login", json={"email": alice.email, "password": alice.password})
    assert old.status_code == 401
    new = await client.post(
        "/auth/login", json={"email": alice.email, "password": "a brand new password"}
    )
    assert new.status_code == 200
    refresh = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401


async def test_me_needs_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/me")).status_code == 401
    assert (await client.patch("/me", json={"name": "x"})).status_code == 401
