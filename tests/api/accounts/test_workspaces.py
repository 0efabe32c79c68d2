"""Workspaces: listing with roles, creating, renaming with ETags, deleting, isolation."""

from __future__ import annotations

import uuid

import httpx
import pytest

from haven.core.ids import new_id
from haven.db.session import Database
from tests.factories import Account, Team, add_member, make_team, make_workspace
from tests.support import event_types


@pytest.fixture
async def team(client: httpx.AsyncClient, alice: Account) -> Team:
    return await make_team(client, alice)


async def test_list_shows_the_callers_workspaces_with_their_role(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    shared = await make_workspace(client, alice, "Family")
    await add_member(client, alice, shared, bob, "viewer")

    alices = (await client.get("/workspaces", headers=alice.headers)).json()
    bobs = (await client.get("/workspaces", headers=bob.headers)).json()

    assert {(w["name"], w["role"]) for w in alices["items"]} == {
        ("alice's workspace", "owner"),
        ("Family", "owner"),
    }
    assert {(w["name"], w["role"]) for w in bobs["items"]} == {
        ("bob's workspace", "owner"),
        ("Family", "viewer"),
    }
    item = next(w for w in bobs["items"] if w["id"] == shared)
    assert set(item) == {"id", "name", "is_personal", "role", "created_at", "version"}
    assert item["is_personal"] is False
    assert alices["next_cursor"] is None


async def test_create_makes_the_caller_owner(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.post(
        "/workspaces", json={"name": "  Book club "}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Book club"
    assert body["role"] == "owner"
    assert body["version"] == 1
    assert body["is_personal"] is False
    assert response.headers["etag"] == '"1"'
    members = await client.get(f"/workspaces/{body['id']}/members", headers=alice.headers)
    assert [(m["user_id"], m["role"]) for m in members.json()["items"]] == [(alice.id, "owner")]
    assert await event_types(database, subject_prefix=f"workspaces/{body['id']}") == [
        "haven.workspace.created",
        "haven.member.added",
    ]


async def test_create_with_a_client_id_is_idempotent(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    workspace_id = str(new_id())
    payload = {"id": workspace_id, "name": "Retried"}

    first = await client.post("/workspaces", json=payload, headers=alice.headers)
    retry = await client.post("/workspaces", json=payload, headers=alice.headers)
    someone_else = await client.post("/workspaces", json=payload, headers=bob.headers)

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert first.json()["id"] == workspace_id
    names = [
        w["name"] for w in (await client.get("/workspaces", headers=alice.headers)).json()["items"]
    ]
    assert names.count("Retried") == 1
    assert someone_else.status_code == 409


async def test_create_validates_the_payload(client: httpx.AsyncClient, alice: Account) -> None:
    for payload in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": "a", "x": 1}):
        response = await client.post("/workspaces", json=payload, headers=alice.headers)
        assert response.status_code == 422, payload


async def test_every_member_can_read_a_workspace(client: httpx.AsyncClient, team: Team) -> None:
    for role in ("owner", "admin", "member", "viewer"):
        response = await client.get(f"/workspaces/{team.id}", headers=team.headers(role))
        assert response.status_code == 200, role
        assert response.json()["role"] == role
        assert response.headers["etag"] == '"1"'


async def test_a_non_member_gets_404_never_403(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    path = f"/workspaces/{team.id}"

    assert (await client.get(path, headers=bob.headers)).status_code == 404
    assert (await client.patch(path, json={"name": "x"}, headers=bob.headers)).status_code == 404
    assert (await client.delete(path, headers=bob.headers)).status_code == 404
    assert (await client.get(f"/workspaces/{uuid.uuid4()}", headers=bob.headers)).status_code == 404
    assert (await client.get("/workspaces/not-a-uuid", headers=bob.headers)).status_code == 422
    listed = (await client.get("/workspaces", headers=bob.headers)).json()["items"]
    assert team.id not in [w["id"] for w in listed]


async def test_admins_and_owners_rename_members_and_viewers_cannot(
    client: httpx.AsyncClient, team: Team, database: Database
) -> None:
    path = f"/workspaces/{team.id}"

    for role in ("member", "viewer"):
        response = await client.patch(path, json={"name": "No"}, headers=team.headers(role))
        assert response.status_code == 403, role
    by_admin = await client.patch(path, json={"name": "By admin"}, headers=team.headers("admin"))
    by_owner = await client.patch(path, json={"name": "By owner"}, headers=team.headers("owner"))

    assert by_admin.status_code == 200
    assert by_admin.json()["name"] == "By admin"
    assert by_admin.headers["etag"] == '"2"'
    assert by_owner.json()["version"] == 3
    assert (await client.get(path, headers=team.headers("viewer"))).json()["name"] == "By owner"
    assert (await event_types(database, subject_prefix=path[1:])).count(
        "haven.workspace.updated"
    ) == 2


async def test_rename_with_a_stale_if_match_is_412_with_the_current_workspace(
    client: httpx.AsyncClient, alice: Account
) -> None:
    workspace_id = await make_workspace(client, alice, "Original")
    path = f"/workspaces/{workspace_id}"
    first = await client.patch(
        path, json={"name": "First"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert first.status_code == 200

    stale = await client.patch(
        path, json={"name": "Second"}, headers={**alice.headers, "If-Match": '"1"'}
    )

    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current"]["name"] == "First"
    assert stale.json()["current"]["version"] == 2
    weak = await client.patch(
        path, json={"name": "Third"}, headers={**alice.headers, "If-Match": 'W/"2"'}
    )
    assert weak.status_code == 200
    any_version = await client.patch(
        path, json={"name": "Fourth"}, headers={**alice.headers, "If-Match": "*"}
    )
    assert any_version.status_code == 200
    assert any_version.json()["version"] == 4


async def test_rename_validates_the_payload(client: httpx.AsyncClient, alice: Account) -> None:
    path = f"/workspaces/{alice.workspace_id}"
    for payload in ({"name": ""}, {"name": None}, {"name": "x" * 201}, {"is_personal": False}):
        response = await client.patch(path, json=payload, headers=alice.headers)
        assert response.status_code == 422, payload


async def test_only_an_owner_deletes_and_the_workspace_is_gone(
    client: httpx.AsyncClient, team: Team, database: Database
) -> None:
    path = f"/workspaces/{team.id}"
    for role in ("admin", "member", "viewer"):
        assert (await client.delete(path, headers=team.headers(role))).status_code == 403

    response = await client.delete(path, headers=team.headers("owner"))

    assert response.status_code == 204
    for role in ("owner", "admin", "member", "viewer"):
        headers = team.headers(role)
        assert (await client.get(path, headers=headers)).status_code == 404
        listed = (await client.get("/workspaces", headers=headers)).json()["items"]
        assert team.id not in [w["id"] for w in listed]
    assert (await client.delete(path, headers=team.headers("owner"))).status_code == 404
    assert "haven.workspace.deleted" in await event_types(database, subject_prefix=path[1:])


async def test_a_personal_workspace_cannot_be_deleted(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.delete(f"/workspaces/{alice.workspace_id}", headers=alice.headers)

    assert response.status_code == 409
    assert (
        await client.get(f"/workspaces/{alice.workspace_id}", headers=alice.headers)
    ).status_code == 200


async def test_delete_honours_if_match(client: httpx.AsyncClient, alice: Account) -> None:
    workspace_id = await make_workspace(client, alice)
    await client.patch(f"/workspaces/{workspace_id}", json={"name": "v2"}, headers=alice.headers)

    stale = await client.delete(
        f"/workspaces/{workspace_id}", headers={**alice.headers, "If-Match": '"1"'}
    )
    fresh = await client.delete(
        f"/workspaces/{workspace_id}", headers={**alice.headers, "If-Match": '"2"'}
    )

    assert stale.status_code == 412
    assert stale.json()["current"]["version"] == 2
    assert fresh.status_code == 204


async def test_the_list_pages_by_cursor(client: httpx.AsyncClient, alice: Account) -> None:
    for name in ("A", "B", "C"):
        await make_workspace(client, alice, name)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "/workspaces?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(query, headers=alice.headers)).json()
        seen += [w["name"] for w in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 2
    assert seen == ["alice's workspace", "A", "B", "C"]
