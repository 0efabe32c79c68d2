"""A deactivated or deleted account stops working at once, whichever credential it uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, update

from haven.accounts import users
from haven.accounts.active_users import ACTIVE_USER_TTL
from haven.accounts.models import User
from haven.db.session import Database
from tests.factories import Account, bearer, make_api_key
from tests.support import advance, event_types, freeze_clock

# What the defect report tried with a deactivated user's token, and a few reads.
REQUESTS = [
    ("POST", "/workspaces", {"name": "still here?"}),
    ("POST", "/tasks", {"title": "still here?"}),
    ("GET", "/tasks", None),
    ("GET", "/workspaces", None),
    ("GET", "/me", None),
]


async def _statuses(client: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    return [
        (await client.request(method, path, json=body, headers=headers)).status_code
        for method, path, body in REQUESTS
    ]


async def _deactivate_behind_the_apps_back(database: Database, user_id: str) -> None:
    """As another process would (a second API replica, an operator's SQL)."""
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == uuid.UUID(user_id)).values(is_active=False)
        )


async def test_a_deactivated_users_access_token_is_refused(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    now = freeze_clock(datetime.now(UTC))
    assert (await client.get("/workspaces", headers=alice.headers)).status_code == 200

    await _deactivate_behind_the_apps_back(database, alice.id)
    advance(now, seconds=ACTIVE_USER_TTL.total_seconds())

    assert await _statuses(client, alice.headers) == [401] * len(REQUESTS)


async def test_a_deleted_users_access_token_is_refused(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    now = freeze_clock(datetime.now(UTC))
    async with database.sessions() as session, session.begin():
        await session.execute(delete(User).where(User.id == uuid.UUID(alice.id)))
    advance(now, seconds=ACTIVE_USER_TTL.total_seconds())

    assert await _statuses(client, alice.headers) == [401] * len(REQUESTS)


async def test_deactivating_through_the_service_bites_on_the_next_request(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    key = await make_api_key(client, alice, scopes=["tasks:write", "workspaces:write"])
    assert (await client.get("/workspaces", headers=alice.headers)).status_code == 200

    async with database.sessions() as session, session.begin():
        await users.deactivate_user(session, user_id=uuid.UUID(alice.id), actor="system/support")

    assert await _statuses(client, alice.headers) == [401] * len(REQUESTS)
    assert await _statuses(client, bearer(key["key"])) == [401] * len(REQUESTS)
    refreshed = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert refreshed.status_code == 401
    login = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert login.status_code == 401
    assert (await event_types(database, subject_prefix=f"users/{alice.id}"))[-1] == (
        "haven.user.deactivated"
    )


@pytest.mark.parametrize("scopes", [["tasks:write"], ["workspaces:write"]])
async def test_a_deactivated_users_api_key_cannot_write(
    client: httpx.AsyncClient, alice: Account, database: Database, scopes: list[str]
) -> None:
    key = await make_api_key(client, alice, scopes=scopes)

    await _deactivate_behind_the_apps_back(database, alice.id)

    assert await _statuses(client, bearer(key["key"])) == [401] * len(REQUESTS)


async def test_deactivating_one_account_leaves_the_others_alone(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    async with database.sessions() as session, session.begin():
        await users.deactivate_user(session, user_id=uuid.UUID(alice.id), actor="system/support")

    response = await client.post("/tasks", json={"title": "mine"}, headers=bob.headers)

    assert response.status_code == 201


async def test_a_write_is_refused_the_moment_the_account_is_deactivated_elsewhere(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """No grace period for writes, even while this process still remembers the user active."""
    freeze_clock(datetime.now(UTC))
    assert (await client.get("/tasks", headers=alice.headers)).status_code == 200

    await _deactivate_behind_the_apps_back(database, alice.id)

    for method, path, body in REQUESTS:
        if method != "GET":
            answer = await client.request(method, path, json=body, headers=alice.headers)
            assert answer.status_code == 401, (method, path)
