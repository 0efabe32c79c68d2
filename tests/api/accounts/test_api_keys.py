"""API keys: created once with their secret, scoped, revocable, never managing keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from haven.accounts.authz import Scope
from haven.accounts.models import ApiKey, User
from haven.db.session import Database
from tests.factories import Account, bearer, make_api_key
from tests.support import advance, event_types, freeze_clock

READ_ONLY = ["account:read", "workspaces:read", "tasks:read"]


async def test_create_shows_the_key_once(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.post(
        "/api-keys",
        json={"name": "home automation", "scopes": ["tasks:write", "account:read"]},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {
        "id",
        "name",
        "scopes",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "key",
    }
    assert created["scopes"] == ["tasks:write", "account:read"]
    assert created["key"].startswith(f"hvn_{created['prefix']}_")
    assert len(created["prefix"]) == 12
    assert created["last_used_at"] is None
    assert created["expires_at"] is None

    listed = (await client.get("/api-keys", headers=alice.headers)).json()
    assert listed["next_cursor"] is None
    assert [k["id"] for k in listed["items"]] == [created["id"]]
    assert "key" not in listed["items"][0]
    async with database.sessions() as session:
        stored = await session.get(ApiKey, uuid.UUID(created["id"]))
    assert stored is not None
    assert created["key"] not in stored.secret_hash
    assert "haven.api_key.created" in await event_types(database)


async def test_a_read_only_key_reads_but_cannot_write(
    client: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)
    headers = bearer(key["key"])

    assert (await client.get("/me", headers=headers)).status_code == 200
    assert (await client.get("/workspaces", headers=headers)).status_code == 200
    workspace = await client.get(f"/workspaces/{alice.workspace_id}", headers=headers)
    assert workspace.status_code == 200
    members = await client.get(f"/workspaces/{alice.workspace_id}/members", headers=headers)
    assert members.status_code == 200

    assert (await client.patch("/me", json={"name": "x"}, headers=headers)).status_code == 403
    created = await client.post("/workspaces", json={"name": "Nope"}, headers=headers)
    assert created.status_code == 403
    renamed = await client.patch(
        f"/workspaces/{alice.workspace_id}", json={"name": "Nope"}, headers=headers
    )
    assert renamed.status_code == 403
    device = {"platform": "web", "push_token": "token"}
    assert (await client.post("/devices", json=device, headers=headers)).status_code == 403


async def test_a_key_without_account_read_cannot_see_the_profile(
    client: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_api_key(client, alice, scopes=["tasks:read"])

    response = await client.get("/me", headers=bearer(key["key"]))

    assert response.status_code == 403
    assert "account:read" in response.json()["detail"]


async def test_a_writing_key_writes_but_cannot_change_the_password(
    client: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_api_key(client, alice, scopes=["account:read", "account:write"])
    headers = bearer(key["key"])

    renamed = await client.patch("/me", json={"name": "Via key"}, headers=headers)
    assert renamed.status_code == 200
    password = await client.patch(
        "/me",
        json={"current_password": alice.password, "new_password": "stolen key password"},
        headers=headers,
    )
    assert password.status_code == 403


async def test_an_api_key_cannot_manage_api_keys(client: httpx.AsyncClient, alice: Account) -> None:
    key = await make_api_key(client, alice, scopes=[scope.value for scope in Scope])
    headers = bearer(key["key"])

    assert (await client.get("/api-keys", headers=headers)).status_code == 403
    mint = await client.post(
        "/api-keys", json={"name": "more", "scopes": ["tasks:read"]}, headers=headers
    )
    assert mint.status_code == 403
    assert (await client.delete(f"/api-keys/{key['id']}", headers=headers)).status_code == 403


async def test_revoked_keys_stop_working(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)

    response = await client.delete(f"/api-keys/{key['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert (await client.get("/me", headers=bearer(key["key"]))).status_code == 401
    assert (await client.get("/api-keys", headers=alice.headers)).json()["items"] == []
    again = await client.delete(f"/api-keys/{key['id']}", headers=alice.headers)
    assert again.status_code == 404
    assert "haven.api_key.revoked" in await event_types(database)


async def test_another_users_key_is_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)

    assert (await client.delete(f"/api-keys/{key['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api-keys", headers=bob.headers)).json()["items"] == []
    unknown = await client.delete(f"/api-keys/{uuid.uuid4()}", headers=alice.headers)
    assert unknown.status_code == 404
    assert (await client.get("/me", headers=bearer(key["key"]))).status_code == 200


async def test_a_key_acts_only_as_its_user(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)

    me = await client.get("/me", headers=bearer(key["key"]))
    bobs = await client.get(f"/workspaces/{bob.workspace_id}", headers=bearer(key["key"]))

    assert me.json()["id"] == alice.id
    assert bobs.status_code == 404


async def test_malformed_and_forged_keys_are_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)
    forged = f"hvn_{key['prefix']}_{'A' * 43}"

    for token in ("hvn_", "hvn_short_secret", f"hvn_{key['prefix']}", forged, key["key"] + "x"):
        response = await client.get("/me", headers=bearer(token))
        assert response.status_code == 401, token


async def test_create_validates_name_scopes_and_expiry(
    client: httpx.AsyncClient, alice: Account
) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases = [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["tasks:delete-everything"]},
        {"name": "", "scopes": ["tasks:read"]},
        {"name": "x" * 201, "scopes": ["tasks:read"]},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": past},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": "2030-01-01T00:00:00"},
        {"name": "x", "scopes": ["tasks:read"], "owner": "bob"},
        {"scopes": ["tasks:read"]},
    ]
    for payload in cases:
        response = await client.post("/api-keys", json=payload, headers=alice.headers)
        assert response.status_code == 422, payload


async def test_a_key_expires(client: httpx.AsyncClient, alice: Account) -> None:
    expires_at = datetime.now(UTC) + timedelta(days=1)
    response = await client.post(
        "/api-keys",
        json={"name": "temp", "scopes": READ_ONLY, "expires_at": expires_at.isoformat()},
        headers=alice.headers,
    )
    assert response.status_code == 201
    token = response.json()["key"]
    assert (await client.get("/me", headers=bearer(token))).status_code == 200

    now = freeze_clock(datetime.now(UTC))
    advance(now, days=2)

    assert (await client.get("/me", headers=bearer(token))).status_code == 401


async def test_last_use_is_recorded_at_most_every_five_minutes(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)
    headers = bearer(key["key"])
    now = freeze_clock(datetime.now(UTC))

    async def last_used() -> datetime | None:
        async with database.sessions() as session:
            used: datetime | None = await session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.id == uuid.UUID(key["id"]))
            )
            return used

    await client.get("/me", headers=headers)
    first = await last_used()
    assert first is not None
    advance(now, minutes=1)
    await client.get("/me", headers=headers)
    assert await last_used() == first
    advance(now, minutes=5)
    await client.get("/me", headers=headers)
    later = await last_used()
    assert later is not None
    assert later > first


async def test_a_disabled_users_keys_stop_working(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    key = await make_api_key(client, alice, scopes=READ_ONLY)
    async with database.sessions() as session, session.begin():
        user = await session.get(User, uuid.UUID(alice.id))
        assert user is not None
        user.is_active = False

    assert (await client.get("/me", headers=bearer(key["key"]))).status_code == 401


async def test_listing_pages_by_cursor(client: httpx.AsyncClient, alice: Account) -> None:
    ids = [
        (await make_api_key(client, alice, scopes=READ_ONLY, name=f"k{i}"))["id"] for i in range(3)
    ]

    first = (await client.get("/api-keys?limit=2", headers=alice.headers)).json()
    assert [k["id"] for k in first["items"]] == ids[:2]
    assert first["next_cursor"]
    second = (
        await client.get(f"/api-keys?limit=2&cursor={first['next_cursor']}", headers=alice.headers)
    ).json()
    assert [k["id"] for k in second["items"]] == ids[2:]
    assert second["next_cursor"] is None

    assert (await client.get("/api-keys?limit=0", headers=alice.headers)).status_code == 422
    assert (await client.get("/api-keys?limit=201", headers=alice.headers)).status_code == 422
    bad = await client.get("/api-keys?cursor=not-a-cursor", headers=alice.headers)
    assert bad.status_code == 422
    other_list = (await client.get("/api-keys?limit=1", headers=alice.headers)).json()
    devices = await client.get(
        f"/devices?cursor={other_list['next_cursor']}", headers=alice.headers
    )
    assert devices.status_code == 422  # a cursor of one list is no good for another
