"""A deactivated or deleted account stops working at once, whichever credential it uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, event, update

from haven.accounts import users
from haven.accounts.active_users import ACTIVE_USER_TTL, active_users
from haven.accounts.models import User
from haven.db.session import Database
from haven.tasks.models import Task
from tests.factories import Account, bearer, make_api_key, make_task
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


async def test_every_task_write_of_a_deactivated_user_is_refused_before_anything_else(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """The users row is read in the write's own transaction: the refusal is a 401 whatever the
    write (a change, a completion, a missing task or workspace) and nothing is committed."""
    task = await make_task(client, alice, title="kept")
    assert (await client.get("/tasks", headers=alice.headers)).status_code == 200

    await _deactivate_behind_the_apps_back(database, alice.id)

    writes = [
        ("PATCH", f"/tasks/{task['id']}", {"title": "changed"}),
        ("POST", f"/tasks/{task['id']}/complete", None),
        ("PATCH", f"/tasks/{uuid.uuid4()}", {"title": "no such task"}),
        ("POST", "/tasks", {"title": "nowhere", "workspace_id": str(uuid.uuid4())}),
        ("DELETE", f"/tasks/{task['id']}", None),
    ]
    for method, path, body in writes:
        answer = await client.request(method, path, json=body, headers=alice.headers)
        assert answer.status_code == 401, (method, path, answer.text)
    async with database.sessions() as session:
        stored = await session.get(Task, uuid.UUID(task["id"]))
        assert stored is not None
        assert (stored.title, stored.status, stored.deleted_at) == ("kept", "todo", None)


async def test_a_write_with_an_access_token_takes_one_connection(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """The account is looked up on the write's own connection, not on a second one."""
    checkouts: list[object] = []

    def count(*args: object) -> None:
        checkouts.append(args)

    active_users.reset()
    event.listen(database.engine.sync_engine.pool, "checkout", count)
    try:
        created = await client.post("/tasks", json={"title": "one"}, headers=alice.headers)
        changed = await client.patch(
            f"/tasks/{created.json()['id']}", json={"title": "two"}, headers=alice.headers
        )
    finally:
        event.remove(database.engine.sync_engine.pool, "checkout", count)

    assert (created.status_code, changed.status_code) == (201, 200)
    assert len(checkouts) == 2
