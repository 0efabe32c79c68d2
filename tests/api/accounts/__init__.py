"""API tests of the accounts module, and the small factories they share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from haven.core import clock
from haven.db.session import Database
from haven.events.models import Event
from tests.conftest import Account, register


def fullwidth(text: str) -> str:
    """`text` in the fullwidth forms of its (printable ASCII) characters: "A" -> "\\uff21"."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_api_key(
    client: httpx.AsyncClient, account: Account, *, scopes: list[str], name: str = "script"
) -> dict[str, Any]:
    response = await client.post(
        "/api-keys", json={"name": name, "scopes": scopes}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_workspace(client: httpx.AsyncClient, owner: Account, name: str = "Team") -> str:
    response = await client.post("/workspaces", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_member(
    client: httpx.AsyncClient, by: Account, workspace_id: str, member: Account, role: str
) -> httpx.Response:
    return await client.post(
        f"/workspaces/{workspace_id}/members",
        json={"email": member.email, "role": role},
        headers=by.headers,
    )


@dataclass
class Team:
    """A shared workspace with one account in every role."""

    id: str
    by_role: dict[str, Account]

    def headers(self, role: str) -> dict[str, str]:
        return self.by_role[role].headers


async def make_team(client: httpx.AsyncClient, owner: Account) -> Team:
    workspace_id = await make_workspace(client, owner)
    by_role = {"owner": owner}
    for role in ("admin", "member", "viewer"):
        account = await register(client, email=f"{role}@example.com")
        response = await add_member(client, owner, workspace_id, account, role)
        assert response.status_code == 201, response.text
        by_role[role] = account
    return Team(id=workspace_id, by_role=by_role)


async def event_types(database: Database, *, subject_prefix: str = "") -> list[str]:
    """The types of the recorded events, oldest first, optionally for matching subjects."""
    async with database.sessions() as session:
        query = select(Event.type).order_by(Event.time, Event.id)
        if subject_prefix:
            query = query.where(Event.subject.startswith(subject_prefix))
        return list((await session.scalars(query)).all())


def freeze_clock(at: datetime) -> list[datetime]:
    """Freeze haven's clock at `at`; move it by changing the returned list's only element."""
    now = [at]
    clock.set_clock(lambda: now[0])
    return now


def advance(now: list[datetime], **delta: float) -> None:
    now[0] = now[0] + timedelta(**delta)
