"""Roles and isolation on every tasks endpoint."""

from __future__ import annotations

import uuid

import httpx

from tests.factories import Account, make_task, register


async def share(client: httpx.AsyncClient, owner: Account, other: Account, role: str) -> None:
    response = await client.post(
        f"/workspaces/{owner.workspace_id}/members",
        json={"email": other.email, "role": role},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text


async def test_another_workspace_is_invisible(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    task = await make_task(client, alice)
    project = (await client.post("/projects", json={"name": "x"}, headers=alice.headers)).json()
    tag = (await client.post("/tags", json={"name": "t"}, headers=alice.headers)).json()
    for method, path in [
        ("GET", f"/tasks/{task['id']}"),
        ("PATCH", f"/tasks/{task['id']}"),
        ("DELETE", f"/tasks/{task['id']}"),
        ("POST", f"/tasks/{task['id']}/complete"),
        ("POST", f"/tasks/{task['id']}/timer/start"),
        ("GET", f"/tasks/{task['id']}/history"),
        ("GET", f"/tasks/{task['id']}/subtasks"),
        ("GET", f"/tasks/{task['id']}/time-logs"),
        ("GET", f"/tasks/{task['id']}/reminders"),
        ("GET", f"/projects/{project['id']}"),
        ("PATCH", f"/projects/{project['id']}"),
        ("GET", f"/tags/{tag['id']}"),
        ("DELETE", f"/tags/{tag['id']}"),
    ]:
        kwargs = {"json": {}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=bob.headers, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.get("/tasks", headers=bob.headers)).json()["items"] == []
    assert (await client.get("/projects", headers=bob.headers)).json()["items"] == []
    into = await client.post(
        "/tasks", json={"title": "x", "project_id": project["id"]}, headers=bob.headers
    )
    assert into.status_code == 404
    sub = await client.post(
        "/tasks", json={"title": "x", "parent_id": task["id"]}, headers=bob.headers
    )
    assert sub.status_code == 404


async def test_viewer_reads_but_cannot_write(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await share(client, alice, bob, "viewer")
    task = await make_task(client, alice)
    assert (await client.get(f"/tasks/{task['id']}", headers=bob.headers)).status_code == 200
    assert len((await client.get("/tasks", headers=bob.headers)).json()["items"]) == 1
    for method, path, body in [
        ("PATCH", f"/tasks/{task['id']}", {"title": "x"}),
        ("POST", f"/tasks/{task['id']}/complete", None),
        ("DELETE", f"/tasks/{task['id']}", None),
        ("POST", "/tasks", {"title": "x", "workspace_id": alice.workspace_id}),
        ("POST", "/projects", {"name": "x", "workspace_id": alice.workspace_id}),
        ("POST", "/tags", {"name": "x", "workspace_id": alice.workspace_id}),
    ]:
        response = await client.request(method, path, json=body, headers=bob.headers)
        assert response.status_code == 403, (method, path, response.text)


async def test_member_writes_and_is_assignable(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await share(client, alice, bob, "member")
    created = await client.post(
        "/tasks",
        json={"title": "shared", "workspace_id": alice.workspace_id, "assignee_id": alice.id},
        headers=bob.headers,
    )
    assert created.status_code == 201, created.text
    mine = await client.get(f"/tasks?assignee_id={alice.id}", headers=alice.headers)
    assert [t["title"] for t in mine.json()["items"]] == ["shared"]
    stranger = await register(client)
    not_member = await client.patch(
        f"/tasks/{created.json()['id']}", json={"assignee_id": stranger.id}, headers=bob.headers
    )
    assert not_member.status_code == 422


async def test_read_only_api_key(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice)
    key = await client.post(
        "/api-keys", json={"name": "script", "scopes": ["tasks:read"]}, headers=alice.headers
    )
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    assert (await client.get("/tasks", headers=headers)).status_code == 200
    assert (await client.get(f"/tasks/{task['id']}", headers=headers)).status_code == 200
    denied = await client.post("/tasks", json={"title": "x"}, headers=headers)
    assert denied.status_code == 403
    denied = await client.patch(f"/tasks/{task['id']}", json={"title": "x"}, headers=headers)
    assert denied.status_code == 403


async def test_not_yours_and_not_there_get_the_same_answer(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """Whether an id exists in a workspace you are not in is never revealed (1.11)."""
    theirs = {
        "task": (await make_task(client, alice))["id"],
        "project": (
            await client.post("/projects", json={"name": "p"}, headers=alice.headers)
        ).json()["id"],
        "workspace": alice.workspace_id,
        "user": alice.id,
    }
    nowhere = {name: str(uuid.uuid4()) for name in theirs}
    mine = await make_task(client, bob)
    cases = [
        ("POST", "/tasks", lambda ids: {"title": "x", "project_id": ids["project"]}),
        ("POST", "/tasks", lambda ids: {"title": "x", "parent_id": ids["task"]}),
        ("POST", "/tasks", lambda ids: {"title": "x", "workspace_id": ids["workspace"]}),
        ("POST", "/tasks", lambda ids: {"title": "x", "assignee_id": ids["user"]}),
        ("PATCH", f"/tasks/{mine['id']}", lambda ids: {"project_id": ids["project"]}),
        ("PATCH", f"/tasks/{mine['id']}", lambda ids: {"parent_id": ids["task"]}),
        ("PATCH", f"/tasks/{mine['id']}", lambda ids: {"assignee_id": ids["user"]}),
        ("POST", f"/tasks/{mine['id']}/dependencies", lambda ids: {"depends_on_id": ids["task"]}),
        ("POST", "/projects", lambda ids: {"name": "x", "workspace_id": ids["workspace"]}),
        ("POST", "/tags", lambda ids: {"name": "x", "workspace_id": ids["workspace"]}),
    ]
    for method, path, body in cases:
        answers = []
        for ids in (theirs, nowhere):
            response = await client.request(method, path, json=body(ids), headers=bob.headers)
            answers.append((response.status_code, response.json()["detail"]))
        assert answers[0] == answers[1], (method, path, answers)
        assert answers[0][0] in (404, 422), (method, path, answers)


async def test_a_write_only_key_cannot_read_by_creating_an_existing_id(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A key without tasks:read gets no body back from a create that names an existing id."""
    key = await client.post(
        "/api-keys", json={"name": "inbox", "scopes": ["tasks:write"]}, headers=alice.headers
    )
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    secret = await make_task(client, alice, description="the safe code is 1234")
    project = (await client.post("/projects", json={"name": "p"}, headers=alice.headers)).json()
    for path, body in [
        ("/tasks", {"id": secret["id"], "title": "x"}),
        ("/projects", {"id": project["id"], "name": "x"}),
    ]:
        replay = await client.post(path, json=body, headers=headers)
        assert replay.status_code == 409, replay.text
        assert set(replay.json()) == {"type", "title", "status", "detail"}
        assert "1234" not in replay.text
        assert "ETag" not in replay.headers
    # Its own create, retried, is still safe: 409 says the id is taken, nothing more.
    task_id = str(uuid.uuid4())
    first = await client.post("/tasks", json={"id": task_id, "title": "x"}, headers=headers)
    assert first.status_code == 201
    again = await client.post("/tasks", json={"id": task_id, "title": "x"}, headers=headers)
    assert again.status_code == 409
    assert len((await client.get("/tasks", headers=alice.headers)).json()["items"]) == 2
