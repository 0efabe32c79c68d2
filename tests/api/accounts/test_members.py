"""Members: who may see, add, re-role and remove whom; a workspace always keeps an owner."""

from __future__ import annotations

import httpx
import pytest

from haven.core.pagination import encode_cursor
from haven.db.session import Database
from tests.factories import Account, Team, add_member, make_team, make_workspace, register
from tests.support import event_types, fullwidth


@pytest.fixture
async def team(client: httpx.AsyncClient, alice: Account) -> Team:
    return await make_team(client, alice)


def _members(team: Team) -> str:
    return f"/workspaces/{team.id}/members"


async def test_every_member_lists_the_members(client: httpx.AsyncClient, team: Team) -> None:
    for role in ("owner", "admin", "member", "viewer"):
        response = await client.get(_members(team), headers=team.headers(role))
        assert response.status_code == 200, role
        body = response.json()
        assert body["next_cursor"] is None
        assert [(m["email"], m["role"]) for m in body["items"]] == [
            ("alice@example.com", "owner"),
            ("admin@example.com", "admin"),
            ("member@example.com", "member"),
            ("viewer@example.com", "viewer"),
        ]
        assert set(body["items"][0]) == {"user_id", "email", "name", "role", "joined_at"}


async def test_a_non_member_cannot_see_or_touch_members(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    member_id = team.by_role["member"].id

    assert (await client.get(_members(team), headers=bob.headers)).status_code == 404
    added = await add_member(client, bob, team.id, bob, "viewer")
    assert added.status_code == 404
    changed = await client.patch(
        f"{_members(team)}/{member_id}", json={"role": "viewer"}, headers=bob.headers
    )
    assert changed.status_code == 404
    removed = await client.delete(f"{_members(team)}/{member_id}", headers=bob.headers)
    assert removed.status_code == 404


async def test_admins_add_members_and_members_cannot(
    client: httpx.AsyncClient, team: Team, bob: Account, database: Database
) -> None:
    for role in ("member", "viewer"):
        response = await add_member(client, team.by_role[role], team.id, bob, "viewer")
        assert response.status_code == 403, role

    response = await add_member(client, team.by_role["admin"], team.id, bob, "member")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user_id"] == bob.id
    assert body["email"] == "bob@example.com"
    assert body["role"] == "member"
    workspace = await client.get(f"/workspaces/{team.id}", headers=bob.headers)
    assert workspace.json()["role"] == "member"
    assert (
        await event_types(database, subject_prefix=f"workspaces/{team.id}/members/{bob.id}")
    ) == ["haven.member.added"]


async def test_only_an_owner_adds_an_owner(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    by_admin = await add_member(client, team.by_role["admin"], team.id, bob, "owner")
    by_owner = await add_member(client, team.by_role["owner"], team.id, bob, "owner")

    assert by_admin.status_code == 403
    assert by_owner.status_code == 201
    assert by_owner.json()["role"] == "owner"


async def test_adding_an_unknown_email_or_an_existing_member_fails(
    client: httpx.AsyncClient, team: Team
) -> None:
    unknown = await client.post(
        _members(team),
        json={"email": "stranger@example.com", "role": "member"},
        headers=team.headers("owner"),
    )
    twice = await add_member(
        client, team.by_role["owner"], team.id, team.by_role["viewer"], "admin"
    )

    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no Haven user with that email"
    assert twice.status_code == 409


async def test_a_member_is_found_by_any_spelling_of_their_email(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    workspace_id = await make_workspace(client, alice)

    response = await client.post(
        f"/workspaces/{workspace_id}/members",
        json={"email": "\u00a0" + fullwidth("BOB") + "@Example.com ", "role": "member"},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == bob.id
    assert response.json()["email"] == "bob@example.com"


async def test_add_validates_the_payload(client: httpx.AsyncClient, team: Team) -> None:
    for payload in (
        {"email": "bob@example.com"},
        {"email": "bob@example.com", "role": "superuser"},
        {"email": "not an email", "role": "member"},
        {"email": "bob@example.com", "role": "member", "note": "hi"},
    ):
        response = await client.post(_members(team), json=payload, headers=team.headers("owner"))
        assert response.status_code == 422, payload


async def test_admins_change_roles_below_owner(
    client: httpx.AsyncClient, team: Team, database: Database
) -> None:
    member = team.by_role["member"]
    path = f"{_members(team)}/{member.id}"

    by_viewer = await client.patch(path, json={"role": "admin"}, headers=team.headers("viewer"))
    by_member = await client.patch(path, json={"role": "admin"}, headers=team.headers("member"))
    by_admin = await client.patch(path, json={"role": "admin"}, headers=team.headers("admin"))

    assert by_viewer.status_code == 403
    assert by_member.status_code == 403
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["role"] == "admin"
    assert by_admin.json()["email"] == member.email
    assert (await client.get(f"/workspaces/{team.id}", headers=member.headers)).json()[
        "role"
    ] == "admin"
    assert "haven.member.role_changed" in await event_types(database, subject_prefix=path[1:])


async def test_only_an_owner_grants_or_takes_away_owner(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    await add_member(client, team.by_role["owner"], team.id, bob, "owner")
    member_path = f"{_members(team)}/{team.by_role['member'].id}"
    bob_path = f"{_members(team)}/{bob.id}"

    grant_by_admin = await client.patch(
        member_path, json={"role": "owner"}, headers=team.headers("admin")
    )
    demote_by_admin = await client.patch(
        bob_path, json={"role": "member"}, headers=team.headers("admin")
    )
    demote_by_owner = await client.patch(
        bob_path, json={"role": "admin"}, headers=team.headers("owner")
    )

    assert grant_by_admin.status_code == 403
    assert demote_by_admin.status_code == 403
    assert demote_by_owner.status_code == 200
    assert demote_by_owner.json()["role"] == "admin"


async def test_the_last_owner_cannot_be_demoted(client: httpx.AsyncClient, team: Team) -> None:
    own_path = f"{_members(team)}/{team.by_role['owner'].id}"

    response = await client.patch(own_path, json={"role": "admin"}, headers=team.headers("owner"))

    assert response.status_code == 409
    owners = [
        m
        for m in (await client.get(_members(team), headers=team.headers("owner"))).json()["items"]
        if m["role"] == "owner"
    ]
    assert len(owners) == 1
    same_role = await client.patch(own_path, json={"role": "owner"}, headers=team.headers("owner"))
    assert same_role.status_code == 200


async def test_an_owner_can_hand_over_and_step_down(client: httpx.AsyncClient, team: Team) -> None:
    admin = team.by_role["admin"]
    await client.patch(
        f"{_members(team)}/{admin.id}", json={"role": "owner"}, headers=team.headers("owner")
    )

    step_down = await client.patch(
        f"{_members(team)}/{team.by_role['owner'].id}",
        json={"role": "member"},
        headers=team.headers("owner"),
    )

    assert step_down.status_code == 200
    assert step_down.json()["role"] == "member"


async def test_changing_an_unknown_member_is_404(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    response = await client.patch(
        f"{_members(team)}/{bob.id}", json={"role": "viewer"}, headers=team.headers("owner")
    )

    assert response.status_code == 404


async def test_admins_remove_members(
    client: httpx.AsyncClient, team: Team, database: Database
) -> None:
    viewer = team.by_role["viewer"]
    path = f"{_members(team)}/{viewer.id}"
    assert (await client.delete(path, headers=team.headers("member"))).status_code == 403

    response = await client.delete(path, headers=team.headers("admin"))

    assert response.status_code == 204
    assert (await client.get(f"/workspaces/{team.id}", headers=viewer.headers)).status_code == 404
    assert (await client.delete(path, headers=team.headers("admin"))).status_code == 404
    assert (await event_types(database, subject_prefix=path[1:]))[-1] == "haven.member.removed"


async def test_anyone_may_leave(client: httpx.AsyncClient, team: Team) -> None:
    viewer = team.by_role["viewer"]

    response = await client.delete(f"{_members(team)}/{viewer.id}", headers=viewer.headers)

    assert response.status_code == 204
    listed = (await client.get("/workspaces", headers=viewer.headers)).json()["items"]
    assert team.id not in [w["id"] for w in listed]


async def test_owners_are_removed_only_by_owners_and_never_the_last(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    owner = team.by_role["owner"]
    last = await client.delete(f"{_members(team)}/{owner.id}", headers=owner.headers)
    assert last.status_code == 409

    await add_member(client, owner, team.id, bob, "owner")
    by_admin = await client.delete(f"{_members(team)}/{bob.id}", headers=team.headers("admin"))
    assert by_admin.status_code == 403
    leaves = await client.delete(f"{_members(team)}/{owner.id}", headers=owner.headers)
    assert leaves.status_code == 204
    final = await client.delete(f"{_members(team)}/{bob.id}", headers=bob.headers)
    assert final.status_code == 409


async def test_a_personal_workspace_keeps_its_owner(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.delete(
        f"/workspaces/{alice.workspace_id}/members/{alice.id}", headers=alice.headers
    )

    assert response.status_code == 409


async def test_members_of_one_workspace_cannot_reach_another(
    client: httpx.AsyncClient, team: Team, bob: Account
) -> None:
    bobs_team = await make_workspace(client, bob, "Bob's team")
    admin = team.by_role["admin"]

    sneak_in = await add_member(client, admin, bobs_team, admin, "owner")
    peek = await client.get(f"/workspaces/{bobs_team}/members", headers=admin.headers)
    kick = await client.delete(f"/workspaces/{bobs_team}/members/{bob.id}", headers=admin.headers)

    assert sneak_in.status_code == peek.status_code == kick.status_code == 404


async def test_the_member_list_pages_by_cursor(client: httpx.AsyncClient, alice: Account) -> None:
    workspace_id = await make_workspace(client, alice)
    for index in range(4):
        account = await register(client, email=f"m{index}@example.com")
        await add_member(client, alice, workspace_id, account, "viewer")

    emails: list[str] = []
    cursor: str | None = None
    while True:
        query = f"/workspaces/{workspace_id}/members?limit=2" + (
            f"&cursor={cursor}" if cursor else ""
        )
        response = await client.get(query, headers=alice.headers)
        assert response.status_code == 200, response.text
        emails += [m["email"] for m in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert emails == ["alice@example.com"] + [f"m{i}@example.com" for i in range(4)]
    for cursor in ("abc", encode_cursor("members", ["2026-01-01T00:00:00", alice.id])):
        bad = await client.get(
            f"/workspaces/{workspace_id}/members?cursor={cursor}", headers=alice.headers
        )
        assert bad.status_code == 422, cursor


async def test_the_person_of_a_personal_workspace_stays_its_owner(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """Alice shares her personal workspace with Bob as a co-owner: neither of them can take
    her out of it or make her less than owner, or she would be left with no personal
    workspace (and every create without a workspace_id would be a 404)."""
    personal = f"/workspaces/{alice.workspace_id}/members"
    assert (await add_member(client, alice, alice.workspace_id, bob, "owner")).status_code == 201

    demoted = await client.patch(
        f"{personal}/{alice.id}", json={"role": "admin"}, headers=bob.headers
    )
    removed = await client.delete(f"{personal}/{alice.id}", headers=bob.headers)
    left = await client.delete(f"{personal}/{alice.id}", headers=alice.headers)

    assert [demoted.status_code, removed.status_code, left.status_code] == [409, 409, 409]
    created = await client.post("/tasks", json={"title": "still mine"}, headers=alice.headers)
    assert created.status_code == 201
    assert created.json()["workspace_id"] == alice.workspace_id
    # Bob, a guest there, may still be demoted and leave.
    guest = await client.patch(
        f"{personal}/{bob.id}", json={"role": "member"}, headers=alice.headers
    )
    assert guest.status_code == 200
    assert (await client.delete(f"{personal}/{bob.id}", headers=bob.headers)).status_code == 204
