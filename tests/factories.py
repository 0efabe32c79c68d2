"""Test data, made through the real API: small typed async factories every test shares.

Each factory asserts that the API accepted the request (with the answer's text when it did
not), so a test states only what it is about. Tests import them from here, never from
another test module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A registered user as a test sees it."""

    email: str
    password: str
    token: str
    refresh_token: str
    user: dict[str, Any]
    workspace_id: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.user["id"])


@dataclass
class Team:
    """A shared workspace with one account in every role."""

    id: str
    by_role: dict[str, Account]

    def headers(self, role: str) -> dict[str, str]:
        return self.by_role[role].headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, *, email: str | None = None, timezone: str = "UTC"
) -> Account:
    """A new user (a fresh email unless given), signed in, with their personal workspace."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "name": email.split("@")[0],
            "timezone": timezone,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["access_token"]
    headers = bearer(token)
    workspaces = (await client.get("/workspaces", headers=headers)).json()["items"]
    personal = next(w for w in workspaces if w["is_personal"])
    return Account(
        email=email,
        password=PASSWORD,
        token=token,
        refresh_token=body["refresh_token"],
        user=body["user"],
        workspace_id=personal["id"],
        headers=headers,
    )


async def make_workspace(client: httpx.AsyncClient, owner: Account, name: str = "Team") -> str:
    """A shared workspace owned by `owner`; its id."""
    response = await client.post("/workspaces", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_member(
    client: httpx.AsyncClient, by: Account, workspace_id: str, member: Account, role: str
) -> httpx.Response:
    """`by` adds `member` with `role`; the answer, for tests about who may do that."""
    return await client.post(
        f"/workspaces/{workspace_id}/members",
        json={"email": member.email, "role": role},
        headers=by.headers,
    )


async def make_team(client: httpx.AsyncClient, owner: Account) -> Team:
    """A shared workspace of `owner` with a new admin, member and viewer."""
    workspace_id = await make_workspace(client, owner)
    by_role = {"owner": owner}
    for role in ("admin", "member", "viewer"):
        account = await register(client, email=f"{role}@example.com")
        response = await add_member(client, owner, workspace_id, account, role)
        assert response.status_code == 201, response.text
        by_role[role] = account
    return Team(id=workspace_id, by_role=by_role)


async def make_api_key(
    client: httpx.AsyncClient, account: Account, *, scopes: list[str], name: str = "script"
) -> dict[str, Any]:
    """An API key of `account` with these scopes; the answer (with the secret, shown once)."""
    response = await client.post(
        "/api-keys", json={"name": name, "scopes": scopes}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_task(client: httpx.AsyncClient, owner: Account, **fields: object) -> dict[str, Any]:
    """A task created by `owner` (in their personal workspace unless fields say otherwise)."""
    body = {"title": "Write the report", **fields}
    response = await client.post("/tasks", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task
