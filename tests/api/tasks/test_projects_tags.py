"""Projects and tags."""

from __future__ import annotations

import httpx
import pytest

from haven.tasks import bulk
from tests.factories import Account, make_task


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
