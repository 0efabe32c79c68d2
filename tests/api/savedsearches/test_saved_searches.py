"""Saved searches: private to their owner, checked like GET /tasks, versioned, with events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from haven.db.session import Database
from haven.savedsearches import service
from tests.factories import Account, add_member, make_task, make_workspace
from tests.support import event_types

SEARCH = {"name": "Paint jobs", "query": {"q": "paint", "status": ["todo", "in_progress"]}}


async def _save(
    client: httpx.AsyncClient, who: Account, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/saved-searches", json=body or SEARCH, headers=who.headers)
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def test_lifecycle_with_versions_and_events(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    saved = await _save(client, alice)
    assert saved["workspace_id"] == alice.workspace_id
    assert saved["user_id"] == alice.id
    assert saved["query"] == SEARCH["query"]
    path = f"/saved-searches/{saved['id']}"
    got = await client.get(path, headers=alice.headers)
    assert got.json() == saved
    assert got.headers["etag"] == '"1"'

    renamed = await client.patch(
        path, json={"name": "Painting"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["version"]) == ("Painting", 2)
    stale = await client.patch(
        path, json={"name": "x"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current"]["name"] == "Painting"
    requery = await client.patch(
        path, json={"query": {"tag": "home", "sort": "-priority"}}, headers=alice.headers
    )
    assert requery.json()["query"] == {"tag": "home", "sort": "-priority"}
    same = await client.patch(
        path, json={"query": {"tag": "home", "sort": "-priority"}}, headers=alice.headers
    )
    assert same.json()["version"] == 3  # nothing changed: no new version, no event

    listed = (await client.get("/saved-searches", headers=alice.headers)).json()
    assert [s["id"] for s in listed["items"]] == [saved["id"]]
    assert listed["next_cursor"] is None
    refused = await client.delete(path, headers={**alice.headers, "If-Match": '"2"'})
    assert refused.status_code == 412
    assert (await client.delete(path, headers=alice.headers)).status_code == 204
    assert (await client.get(path, headers=alice.headers)).status_code == 404

    assert await event_types(database, subject_prefix=f"saved-searches/{saved['id']}") == [
        "haven.saved_search.created",
        "haven.saved_search.updated",
        "haven.saved_search.updated",
        "haven.saved_search.deleted",
    ]


async def test_the_saved_query_finds_what_get_tasks_finds(
    client: httpx.AsyncClient, alice: Account
) -> None:
    paint = await make_task(client, alice, title="Paint the fence")
    await make_task(client, alice, title="Buy milk")
    saved = await _save(client, alice)

    found = await client.get(
        "/tasks",
        params={**saved["query"], "workspace_id": saved["workspace_id"]},
        headers=alice.headers,
    )
    assert [t["id"] for t in found.json()["items"]] == [paint["id"]]


async def test_a_client_id_makes_the_create_idempotent(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    body = {**SEARCH, "id": str(uuid.uuid4())}
    first = await client.post("/saved-searches", json=body, headers=alice.headers)
    again = await client.post("/saved-searches", json=body, headers=alice.headers)
    theirs = await client.post("/saved-searches", json=body, headers=bob.headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert theirs.status_code == 409
    assert len((await client.get("/saved-searches", headers=alice.headers)).json()["items"]) == 1


async def test_nobody_else_sees_a_saved_search(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    team = await make_workspace(client, alice)
    assert (await add_member(client, alice, team, bob, "admin")).status_code == 201
    mine = await _save(client, alice, {**SEARCH, "workspace_id": team})
    path = f"/saved-searches/{mine['id']}"

    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        response = await client.request(method, path, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/saved-searches", headers=bob.headers)).json()["items"] == []
    listed = await client.get(
        "/saved-searches", params={"workspace_id": alice.workspace_id}, headers=alice.headers
    )
    assert listed.json()["items"] == []  # it is in the team, not the personal workspace

    stranger = await client.post(
        "/saved-searches", json={**SEARCH, "workspace_id": bob.workspace_id}, headers=alice.headers
    )
    assert stranger.status_code == 404


async def test_leaving_or_deleting_the_workspace_takes_them_along(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    team = await make_workspace(client, alice)
    assert (await add_member(client, alice, team, bob, "member")).status_code == 201
    bobs = await _save(client, bob, {**SEARCH, "workspace_id": team})
    alices = await _save(client, alice, {**SEARCH, "workspace_id": team})

    left = await client.delete(f"/workspaces/{team}/members/{bob.id}", headers=bob.headers)
    assert left.status_code == 204, left.text
    deleted = await client.delete(f"/workspaces/{team}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text

    for who, saved in ((bob, bobs), (alice, alices)):
        path = f"/saved-searches/{saved['id']}"
        assert (await client.get(path, headers=who.headers)).status_code == 404
        types = await event_types(database, subject_prefix=f"saved-searches/{saved['id']}")
        assert types[-1] == "haven.saved_search.deleted"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "", "query": {}}, ["body", "name"]),
        ({"name": " \u200b ", "query": {}}, ["body", "name"]),
        ({"name": "x" * 101, "query": {}}, ["body", "name"]),
        ({"name": "x"}, ["body", "query"]),
        ({"name": "x", "query": {"colour": "red"}}, ["body", "query", "colour"]),
        ({"name": "x", "query": {"status": ["nope"]}}, ["body", "query", "status", 0]),
        ({"name": "x", "query": {"priority": "high"}}, ["body", "query", "priority"]),
        ({"name": "x", "query": {"project_id": "nope"}}, ["body", "query", "project_id"]),
        ({"name": "x", "query": {"due_before": "soon"}}, ["body", "query", "due_before"]),
        ({"name": "x", "query": {"due_after": "2026-12-01T10:00"}}, ["body", "query", "due_after"]),
        ({"name": "x", "query": {"sort": "colour"}}, ["body", "query", "sort"]),
        ({"name": "x", "query": {"q": "x" * 201}}, ["body", "query", "q"]),
        ({"name": "x", "query": {}, "workspace_id": "nope"}, ["body", "workspace_id"]),
    ],
)
async def test_bad_input_is_a_422_problem(
    client: httpx.AsyncClient, alice: Account, body: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/saved-searches", json=body, headers=alice.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]]


async def test_bad_patches_are_refused(client: httpx.AsyncClient, alice: Account) -> None:
    path = f"/saved-searches/{(await _save(client, alice))['id']}"
    for body, status in (
        ({"name": None}, 422),
        ({"query": None}, 422),
        ({"query": {"sort": "due,due"}}, 422),
        ({"user_id": str(uuid.uuid4())}, 422),
    ):
        response = await client.patch(path, json=body, headers=alice.headers)
        assert response.status_code == status, (body, response.text)
    bad_etag = await client.patch(
        path, json={"name": "y"}, headers={**alice.headers, "If-Match": "x"}
    )
    assert bad_etag.status_code in (412, 422)
    missing = await client.get(f"/saved-searches/{uuid.uuid4()}", headers=alice.headers)
    assert missing.status_code == 404
    assert (await client.get("/saved-searches/nope", headers=alice.headers)).status_code == 422


async def test_a_person_has_at_most_a_hundred(
    client: httpx.AsyncClient, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_PER_USER", 3)
    for _ in range(3):
        await _save(client, alice)

    refused = await client.post("/saved-searches", json=SEARCH, headers=alice.headers)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    await _save(client, bob)  # a cap per person
    assert service.MAX_PER_USER == 3


async def test_the_list_pages(client: httpx.AsyncClient, alice: Account) -> None:
    made = [(await _save(client, alice, {**SEARCH, "name": f"s{i}"}))["id"] for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/saved-searches", params=params, headers=alice.headers)).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = await client.get("/saved-searches", params={"cursor": "nope"}, headers=alice.headers)
    assert bad.status_code == 422


async def test_a_read_only_key_cannot_write(client: httpx.AsyncClient, alice: Account) -> None:
    key = await client.post(
        "/api-keys", json={"name": "ro", "scopes": ["tasks:read"]}, headers=alice.headers
    )
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    assert (await client.get("/saved-searches", headers=headers)).status_code == 200
    assert (await client.post("/saved-searches", json=SEARCH, headers=headers)).status_code == 403
    assert (await client.get("/saved-searches")).status_code == 401
