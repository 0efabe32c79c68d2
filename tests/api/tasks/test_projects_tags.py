"""Projects and tags."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx
import pytest

from haven.db.session import Database
from haven.projects import ordering
from haven.tasks import bulk
from tests.factories import Account, make_task
from tests.support import event_types


async def test_project_lifecycle(client: httpx.AsyncClient, alice: Account) -> None:
    created = await client.post(
        "/projects", json={"name": "Garden", "color": "#00aa00"}, headers=alice.headers
    )
    assert created.status_code == 201
    project = created.json()
    assert project["workspace_id"] == alice.workspace_id
    task = await make_task(client, alice, project_id=project["id"])
    renamed = await client.patch(
        f"/projects/{project['id']}",
        json={"name": "Garden 2027"},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert renamed.status_code == 200
    assert renamed.json()["version"] == 2
    stale = await client.patch(
        f"/projects/{project['id']}",
        json={"name": "x"},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    archived = await client.patch(
        f"/projects/{project['id']}", json={"archived": True}, headers=alice.headers
    )
    assert archived.json()["archived"] is True
    assert (await client.get("/projects", headers=alice.headers)).json()["items"] == []
    listed = await client.get("/projects?include_archived=true", headers=alice.headers)
    assert len(listed.json()["items"]) == 1
    assert (
        await client.delete(f"/projects/{project['id']}", headers=alice.headers)
    ).status_code == 204
    assert (
        await client.get(f"/projects/{project['id']}", headers=alice.headers)
    ).status_code == 404
    assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 404
    trash = (await client.get("/tasks?deleted=true", headers=alice.headers)).json()["items"]
    assert [t["id"] for t in trash] == [task["id"]]


async def test_projects_paginate(client: httpx.AsyncClient, alice: Account) -> None:
    for i in range(5):
        await client.post("/projects", json={"name": f"p{i}"}, headers=alice.headers)
    names: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/projects", params=params, headers=alice.headers)).json()
        names += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == [f"p{i}" for i in range(5)]


async def test_tags_are_unique_per_workspace_and_renames_reach_tasks(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, tags=["Errands"])
    tags = (await client.get("/tags", headers=alice.headers)).json()["items"]
    assert [t["name"] for t in tags] == ["Errands"]
    duplicate = await client.post("/tags", json={"name": "errands"}, headers=alice.headers)
    assert duplicate.status_code == 409
    tag_id = tags[0]["id"]
    renamed = await client.patch(f"/tags/{tag_id}", json={"name": "Chores"}, headers=alice.headers)
    assert renamed.status_code == 200
    assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()["tags"] == [
        "Chores"
    ]
    by_tag = await client.get("/tasks?tag=chores", headers=alice.headers)
    assert len(by_tag.json()["items"]) == 1
    assert (await client.delete(f"/tags/{tag_id}", headers=alice.headers)).status_code == 204
    assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()["tags"] == []
    created = await client.post("/tags", json={"name": "  new   tag "}, headers=alice.headers)
    assert created.json()["name"] == "new tag"


async def test_deleting_a_project_trashes_the_subtasks_of_its_tasks(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A subtask outside the project (no project of its own) goes with its parent."""
    project = (await client.post("/projects", json={"name": "Move"}, headers=alice.headers)).json()
    parent = await make_task(client, alice, project_id=project["id"])
    child = await make_task(client, alice, parent_id=parent["id"])
    grandchild = await make_task(client, alice, parent_id=child["id"])
    assert child["project_id"] is None

    deleted = await client.delete(f"/projects/{project['id']}", headers=alice.headers)

    assert deleted.status_code == 204
    for task in (parent, child, grandchild):
        assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 404
    restored = await client.post(f"/tasks/{parent['id']}/restore", headers=alice.headers)
    assert restored.status_code == 200
    for task in (child, grandchild):
        assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 200


async def test_a_task_restored_from_a_deleted_project_comes_back_without_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A deleted project cannot be restored, so its tasks come back out of it (with their
    subtasks) instead of live in a project that answers 404."""
    project = (await client.post("/projects", json={"name": "Old"}, headers=alice.headers)).json()
    task = await make_task(client, alice, project_id=project["id"])
    child = await make_task(client, alice, parent_id=task["id"], project_id=project["id"])
    await client.delete(f"/projects/{project['id']}", headers=alice.headers)

    restored = await client.post(f"/tasks/{task['id']}/restore", headers=alice.headers)

    assert restored.status_code == 200
    assert restored.json()["project_id"] is None
    child_now = (await client.get(f"/tasks/{child['id']}", headers=alice.headers)).json()
    assert child_now["project_id"] is None
    listed = await client.get("/tasks", params={"project_id": project["id"]}, headers=alice.headers)
    assert listed.json()["items"] == []


async def test_a_project_larger_than_one_batch_trashes_every_subtask(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks are trashed a batch at a time; a subtask whose parent went in an earlier batch
    (and that is in no project itself) must still be found."""
    monkeypatch.setattr(bulk, "BATCH_SIZE", 1)
    project = (await client.post("/projects", json={"name": "Big"}, headers=alice.headers)).json()
    parents = [await make_task(client, alice, project_id=project["id"]) for _ in range(2)]
    children = [await make_task(client, alice, parent_id=parent["id"]) for parent in parents]

    assert (
        await client.delete(f"/projects/{project['id']}", headers=alice.headers)
    ).status_code == 204

    for task in (*parents, *children):
        assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 404


# --- the order of projects (projects/ordering.py) -----------------------------------------


async def _project(client: httpx.AsyncClient, who: Account, name: str, **fields: object) -> Any:
    response = await client.post("/projects", json={"name": name, **fields}, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _names(client: httpx.AsyncClient, who: Account, **params: str) -> list[str]:
    response = await client.get("/projects", params={"limit": 200, **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


async def _move(
    client: httpx.AsyncClient, who: Account, project: Any, after: Any | None, **headers: str
) -> httpx.Response:
    return await client.patch(
        f"/projects/{project['id']}",
        json={"after_id": after["id"] if after else None},
        headers={**who.headers, **headers},
    )


async def test_new_projects_go_last_and_a_move_writes_one_project(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    a, b, c = [await _project(client, alice, name) for name in "abc"]
    assert a["position"] < b["position"] < c["position"]

    moved = await _move(client, alice, c, a, **{"If-Match": '"1"'})

    assert moved.status_code == 200, moved.text
    assert a["position"] < moved.json()["position"] < b["position"]
    assert await _names(client, alice) == ["a", "c", "b"]
    assert (await _move(client, alice, b, None)).status_code == 200
    assert await _names(client, alice) == ["b", "a", "c"]
    assert (await _project(client, alice, "d"))["name"] == "d"
    assert await _names(client, alice) == ["b", "a", "c", "d"]
    # One event per move, of the moved project only.
    assert await event_types(database, subject_prefix=f"projects/{c['id']}") == [
        "haven.project.created",
        "haven.project.updated",
    ]
    assert await event_types(database, subject_prefix=f"projects/{a['id']}") == [
        "haven.project.created"
    ]
    stale = await _move(client, alice, c, None, **{"If-Match": '"1"'})
    assert stale.status_code == 412


async def test_a_used_up_gap_renumbers_the_list_with_an_event_each(
    client: httpx.AsyncClient, alice: Account, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ordering, "GAP", 8)  # a gap used up in three halvings, not sixteen
    a, b, c, d = [await _project(client, alice, name) for name in "abcd"]
    assert [p["position"] for p in (a, b, c, d)] == [8, 16, 24, 32]

    # Each move into the spot after a halves the gap there, until none is left.
    for mover in (d, c, d, c):
        assert (await _move(client, alice, mover, a)).status_code == 200

    assert await _names(client, alice) == ["a", "c", "d", "b"]
    listed = (await client.get("/projects", headers=alice.headers)).json()["items"]
    assert [p["position"] for p in listed] == [8, 16, 24, 32]  # renumbered, GAP apart
    # b was only ever moved by the renumbering: its event says so.
    assert await event_types(database, subject_prefix=f"projects/{b['id']}") == [
        "haven.project.created",
        "haven.project.updated",
    ]


@pytest.mark.parametrize("which", ["itself", "elsewhere", "deleted", "unknown", "not an id"])
async def test_a_move_after_what_is_not_a_neighbour_is_a_422(
    client: httpx.AsyncClient, alice: Account, bob: Account, which: str
) -> None:
    mine = await _project(client, alice, "mine")
    gone = await _project(client, alice, "gone")
    await client.delete(f"/projects/{gone['id']}", headers=alice.headers)
    target = {
        "itself": mine["id"],
        "elsewhere": (await _project(client, bob, "theirs"))["id"],
        "deleted": gone["id"],
        "unknown": str(uuid.uuid4()),
        "not an id": "nope",
    }[which]

    response = await client.patch(
        f"/projects/{mine['id']}", json={"after_id": target}, headers=alice.headers
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", "after_id"]


async def test_another_workspaces_project_cannot_be_moved(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    theirs = await _project(client, bob, "theirs")
    response = await _move(client, alice, theirs, None)
    assert response.status_code == 404


async def test_the_order_pages_by_position(client: httpx.AsyncClient, alice: Account) -> None:
    made = [await _project(client, alice, f"p{i}") for i in range(5)]
    await _move(client, alice, made[4], None)
    names: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/projects", params=params, headers=alice.headers)).json()
        names += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["p4", "p0", "p1", "p2", "p3"]


async def test_concurrent_moves_keep_a_total_order_without_duplicates(
    app: Any, alice: Account
) -> None:
    """Many people dragging at once (separate connections): every move lands, each project
    once, no two at one position, whatever order the moves took turns in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as setup:
        projects = [await _project(setup, alice, f"p{i}") for i in range(6)]

    async def move(project: Any, after: Any | None) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as one:
            return (await _move(one, alice, project, after)).status_code

    rng = random.Random(7)
    moves = []
    for _ in range(24):
        mover, after = rng.sample(projects, 2)
        moves.append(move(mover, after if rng.random() < 0.8 else None))
    statuses = await asyncio.gather(*moves)

    assert set(statuses) == {200}
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as check:
        listed = (await check.get("/projects", headers=alice.headers)).json()["items"]
    assert sorted(p["id"] for p in listed) == sorted(p["id"] for p in projects)
    positions = [p["position"] for p in listed]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
