"""Tasks through the HTTP API: create, read, change, delete, restore, concurrency."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.factories import Account, make_task, make_workspace


async def test_create_task_with_every_field(client: httpx.AsyncClient, alice: Account) -> None:
    project = (await client.post("/projects", json={"name": "Home"}, headers=alice.headers)).json()
    response = await client.post(
        "/tasks",
        json={
            "title": "Pay rent",
            "description": "before the 1st",
            "project_id": project["id"],
            "status": "in_progress",
            "priority": "high",
            "progress": 40,
            "due": "2026-12-01",
            "start": "2026-11-28T09:00:00+01:00",
            "tags": ["money", "Home"],
            "assignee_id": alice.id,
            "estimate_minutes": 15,
            "reminders": [{"offset_minutes": 60}],
        },
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert response.headers["etag"] == '"1"'
    assert task["title"] == "Pay rent"
    assert task["workspace_id"] == alice.workspace_id
    assert task["project_id"] == project["id"]
    assert task["status"] == "in_progress"
    assert task["priority"] == "high"
    assert task["progress"] == 40
    assert task["due"] == "2026-12-01"
    assert task["start"] == "2026-11-28T08:00:00Z"
    assert task["timezone"] == "Europe/Berlin"
    assert task["tags"] == ["money", "Home"]
    assert task["assignee_id"] == alice.id
    assert task["estimate_minutes"] == 15
    assert task["version"] == 1

    fetched = await client.get(f"/tasks/{task['id']}", headers=alice.headers)
    assert fetched.status_code == 200
    assert fetched.json() == task
    reminders = (await client.get(f"/tasks/{task['id']}/reminders", headers=alice.headers)).json()
    # Due 2026-12-01 (all day, Berlin) = 2026-11-30T23:00Z; one hour before.
    assert reminders["items"][0]["fire_at"] == "2026-11-30T22:00:00Z"


async def test_client_chosen_id_makes_create_idempotent(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    task_id = str(uuid.uuid4())
    first = await client.post("/tasks", json={"id": task_id, "title": "x"}, headers=alice.headers)
    again = await client.post("/tasks", json={"id": task_id, "title": "x"}, headers=alice.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == task_id
    listed = (await client.get("/tasks", headers=alice.headers)).json()["items"]
    assert len(listed) == 1
    # Someone else cannot take (or learn about) the id.
    theirs = await client.post("/tasks", json={"id": task_id, "title": "y"}, headers=bob.headers)
    assert theirs.status_code == 409


async def test_patch_changes_only_sent_fields_and_records_changes(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, priority="low", tags=["a"])
    response = await client.patch(
        f"/tasks/{task['id']}",
        json={"title": "Write the final report", "tags": ["b", "c"], "due": None},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "Write the final report"
    assert updated["priority"] == "low"
    assert updated["tags"] == ["b", "c"]
    assert updated["version"] == 2
    assert response.headers["etag"] == '"2"'
    history = (await client.get(f"/tasks/{task['id']}/history", headers=alice.headers)).json()
    types = [event["type"] for event in history["items"]]
    assert types == ["haven.task.created", "haven.task.updated"]
    change = history["items"][1]
    assert change["data"]["changes"]["title"] == ["Write the report", "Write the final report"]
    assert change["haven_actor"] == f"users/{alice.id}"
    assert change["haven_version"] == 2
    assert change["specversion"] == "1.0"
    assert change["source"] == f"/workspaces/{alice.workspace_id}"


async def test_stale_if_match_answers_412_with_current_state(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice)
    await client.patch(f"/tasks/{task['id']}", json={"title": "v2"}, headers=alice.headers)
    stale = await client.patch(
        f"/tasks/{task['id']}",
        json={"title": "v3"},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current"]["title"] == "v2"
    assert stale.json()["current"]["version"] == 2


async def test_two_concurrent_writers_one_wins_other_gets_412(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice)
    headers = {**alice.headers, "If-Match": '"1"'}
    results = await asyncio.gather(
        client.patch(f"/tasks/{task['id']}", json={"title": "mine"}, headers=headers),
        client.patch(f"/tasks/{task['id']}", json={"title": "theirs"}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    final = (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()
    winner = next(r for r in results if r.status_code == 200).json()
    assert final["title"] == winner["title"]
    assert final["version"] == 2


async def test_soft_delete_and_restore_with_subtasks(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice, title="parent")
    child = await make_task(client, alice, title="child", parent_id=parent["id"])
    assert (await client.delete(f"/tasks/{parent['id']}", headers=alice.headers)).status_code == 204
    listed = (await client.get("/tasks", headers=alice.headers)).json()["items"]
    assert listed == []
    trash = (await client.get("/tasks?deleted=true", headers=alice.headers)).json()["items"]
    assert {t["id"] for t in trash} == {parent["id"], child["id"]}
    # In the trash a task is gone (404) for reads and changes, until it is restored.
    for method, path in [
        ("GET", f"/tasks/{parent['id']}"),
        ("PATCH", f"/tasks/{parent['id']}"),
        ("POST", f"/tasks/{child['id']}/complete"),
        ("GET", f"/tasks/{parent['id']}/subtasks"),
    ]:
        kwargs = {"json": {"title": "x"}} if method == "PATCH" else {}
        gone = await client.request(method, path, headers=alice.headers, **kwargs)
        assert gone.status_code == 404, (method, path)
    under_trash = await client.post(
        "/tasks", json={"title": "x", "parent_id": parent["id"]}, headers=alice.headers
    )
    assert under_trash.status_code == 404
    history = await client.get(f"/tasks/{parent['id']}/history", headers=alice.headers)
    assert history.json()["items"][-1]["type"] == "haven.task.deleted"
    again = await client.delete(f"/tasks/{parent['id']}", headers=alice.headers)
    assert again.status_code == 204
    restored = await client.post(f"/tasks/{parent['id']}/restore", headers=alice.headers)
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    listed = (await client.get("/tasks", headers=alice.headers)).json()["items"]
    assert {t["id"] for t in listed} == {parent["id"], child["id"]}


async def test_validation_errors_are_problem_json(
    client: httpx.AsyncClient, alice: Account
) -> None:
    cases = [
        {"title": ""},
        {"title": "x", "priority": "extreme"},
        {"title": "x", "progress": 101},
        {"title": "x", "due": "2026-11-24T10:00:00"},
        {"title": "x", "timezone": "Mars/Olympus"},
        {"title": "x", "unknown": 1},
        {"title": "x", "recurrence": {"rule": "FREQ=DAILY", "text": "every day"}},
        {"title": "x", "reminders": [{}]},
    ]
    for body in cases:
        response = await client.post("/tasks", json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 422
        assert problem["errors"]
        assert all("loc" in e and "msg" in e for e in problem["errors"])


async def test_http_hygiene(client: httpx.AsyncClient, alice: Account) -> None:
    missing = await client.get(f"/tasks/{uuid.uuid4()}", headers=alice.headers)
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("not-found")
    bad_id = await client.get("/tasks/not-a-uuid", headers=alice.headers)
    assert bad_id.status_code == 422
    assert (await client.put("/tasks", headers=alice.headers)).status_code == 405
    unauth = await client.get("/tasks")
    assert unauth.status_code == 401
    assert unauth.headers["content-type"] == "application/problem+json"
    not_json = await client.post(
        "/tasks", content=b"title=x", headers={**alice.headers, "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    huge = await client.post(
        "/tasks",
        content=b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    broken = await client.post(
        "/tasks",
        content=b"{not json",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert "x-request-id" in missing.headers


async def test_subtasks_and_completion_with_open_children(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice, title="trip")
    child = await make_task(client, alice, title="pack", parent_id=parent["id"])
    grandchild = await make_task(client, alice, title="socks", parent_id=child["id"])
    subtasks = (await client.get(f"/tasks/{parent['id']}/subtasks", headers=alice.headers)).json()
    assert [t["id"] for t in subtasks["items"]] == [child["id"]]
    blocked = await client.post(f"/tasks/{parent['id']}/complete", headers=alice.headers)
    assert blocked.status_code == 409
    done = await client.post(f"/tasks/{parent['id']}/complete?cascade=true", headers=alice.headers)
    assert done.status_code == 200
    assert done.json()["task"]["status"] == "done"
    assert done.json()["next"] is None
    for task_id in (child["id"], grandchild["id"]):
        got = (await client.get(f"/tasks/{task_id}", headers=alice.headers)).json()
        assert got["status"] == "done"
    reopened = await client.post(f"/tasks/{parent['id']}/reopen", headers=alice.headers)
    assert reopened.json()["status"] == "todo"
    assert reopened.json()["completed_at"] is None


async def test_moving_a_task_under_its_own_subtask_is_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice)
    child = await make_task(client, alice, parent_id=parent["id"])
    response = await client.patch(
        f"/tasks/{parent['id']}", json={"parent_id": child["id"]}, headers=alice.headers
    )
    assert response.status_code == 409


async def test_dependencies_and_cycles(client: httpx.AsyncClient, alice: Account) -> None:
    a, b, c = [await make_task(client, alice, title=t) for t in "abc"]
    ok = await client.post(
        f"/tasks/{a['id']}/dependencies", json={"depends_on_id": b["id"]}, headers=alice.headers
    )
    assert ok.status_code == 201
    assert ok.json()["depends_on"] == [b["id"]]
    await client.post(
        f"/tasks/{b['id']}/dependencies", json={"depends_on_id": c["id"]}, headers=alice.headers
    )
    cycle = await client.post(
        f"/tasks/{c['id']}/dependencies", json={"depends_on_id": a["id"]}, headers=alice.headers
    )
    assert cycle.status_code == 409
    itself = await client.post(
        f"/tasks/{a['id']}/dependencies", json={"depends_on_id": a["id"]}, headers=alice.headers
    )
    assert itself.status_code == 409
    removed = await client.delete(f"/tasks/{a['id']}/dependencies/{b['id']}", headers=alice.headers)
    assert removed.status_code == 204
    again = await client.delete(f"/tasks/{a['id']}/dependencies/{b['id']}", headers=alice.headers)
    assert again.status_code == 404
    assert (await client.get(f"/tasks/{a['id']}", headers=alice.headers)).json()["depends_on"] == []


async def test_one_running_timer_per_user(client: httpx.AsyncClient, alice: Account) -> None:
    first = await make_task(client, alice, title="first")
    second = await make_task(client, alice, title="second")
    started = await client.post(f"/tasks/{first['id']}/timer/start", headers=alice.headers)
    assert started.status_code == 201
    assert started.json()["stopped_at"] is None
    switched = await client.post(f"/tasks/{second['id']}/timer/start", headers=alice.headers)
    assert switched.status_code == 201
    first_logs = (await client.get(f"/tasks/{first['id']}/time-logs", headers=alice.headers)).json()
    assert first_logs["items"][0]["stopped_at"] is not None
    assert first_logs["items"][0]["duration_seconds"] >= 0
    not_running = await client.post(f"/tasks/{first['id']}/timer/stop", headers=alice.headers)
    assert not_running.status_code == 409
    stopped = await client.post(
        f"/tasks/{second['id']}/timer/stop", json={"note": "done"}, headers=alice.headers
    )
    assert stopped.status_code == 200
    assert stopped.json()["note"] == "done"


async def test_reminders_follow_the_due(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice, due="2026-12-01T10:00:00Z")
    offset = await client.post(
        f"/tasks/{task['id']}/reminders", json={"offset_minutes": 30}, headers=alice.headers
    )
    absolute = await client.post(
        f"/tasks/{task['id']}/reminders", json={"at": "2026-11-30T08:00:00Z"}, headers=alice.headers
    )
    assert offset.status_code == absolute.status_code == 201
    assert offset.json()["fire_at"] == "2026-12-01T09:30:00Z"
    await client.patch(
        f"/tasks/{task['id']}", json={"due": "2026-12-02T10:00:00Z"}, headers=alice.headers
    )
    reminders = (await client.get(f"/tasks/{task['id']}/reminders", headers=alice.headers)).json()
    fire = {r["id"]: r["fire_at"] for r in reminders["items"]}
    assert fire[offset.json()["id"]] == "2026-12-02T09:30:00Z"
    assert fire[absolute.json()["id"]] == "2026-11-30T08:00:00Z"
    deleted = await client.delete(
        f"/tasks/{task['id']}/reminders/{offset.json()['id']}", headers=alice.headers
    )
    assert deleted.status_code == 204


async def test_patch_status_done_completes_like_complete(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    done = await client.patch(
        f"/tasks/{task['id']}", json={"status": "done"}, headers=alice.headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    todo = (await client.get("/tasks?status=todo", headers=alice.headers)).json()["items"]
    assert [t["due"] for t in todo] == ["2026-12-02"]
    reopened = await client.patch(
        f"/tasks/{task['id']}", json={"status": "in_progress"}, headers=alice.headers
    )
    assert reopened.json()["completed_at"] is None
    types = [
        e["type"]
        for e in (await client.get(f"/tasks/{task['id']}/history", headers=alice.headers)).json()[
            "items"
        ]
    ]
    assert types == ["haven.task.created", "haven.task.completed", "haven.task.updated"]


async def test_a_patch_that_completes_and_renames_is_one_event_at_the_new_version(
    client: httpx.AsyncClient, alice: Account
) -> None:
    # One transaction moves the version once, so one change: a single task.completed event
    # carrying the new title too (it used to add a task.updated with the same version).
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    done = await client.patch(
        f"/tasks/{task['id']}",
        json={"status": "done", "title": "Renamed", "priority": "high"},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["version"], done.json()["title"]) == (2, "Renamed")
    history = (await client.get(f"/tasks/{task['id']}/history", headers=alice.headers)).json()
    items = history["items"]
    assert [(e["type"], e["haven_version"]) for e in items] == [
        ("haven.task.created", 1),
        ("haven.task.completed", 2),
    ]
    completed = items[1]["data"]
    assert completed["changes"]["title"] == [task["title"], "Renamed"]
    assert completed["changes"]["priority"] == [task["priority"], "high"]
    assert completed["changes"]["status"] == ["todo", "done"]
    # An event carries the task as stored: its derived subtask counts are not in it.
    shown = done.json()
    assert (shown.pop("subtask_count"), shown.pop("subtasks_done")) == (0, 0)
    assert completed["task"] == shown
    assert completed["next_id"] is not None


async def test_recurrence_can_be_set_and_cleared_by_patch(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01")
    set_ = await client.patch(
        f"/tasks/{task['id']}",
        json={"recurrence": {"text": "every weekday"}},
        headers=alice.headers,
    )
    assert set_.json()["recurrence"]["rule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert set_.json()["series_id"] == task["id"]
    bad = await client.patch(
        f"/tasks/{task['id']}",
        json={"recurrence": {"rule": "FREQ=SOMETIMES"}},
        headers=alice.headers,
    )
    assert bad.status_code == 422
    cleared = await client.patch(
        f"/tasks/{task['id']}", json={"recurrence": None}, headers=alice.headers
    )
    assert cleared.json()["recurrence"] is None
    result = (await client.post(f"/tasks/{task['id']}/complete", headers=alice.headers)).json()
    assert result["next"] is None


async def test_moving_between_projects_and_parents(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    home = (await client.post("/projects", json={"name": "home"}, headers=alice.headers)).json()
    elsewhere = (await client.post("/projects", json={"name": "b"}, headers=bob.headers)).json()
    task = await make_task(client, alice)
    parent = await make_task(client, alice, title="parent")
    moved = await client.patch(
        f"/tasks/{task['id']}",
        json={"project_id": home["id"], "parent_id": parent["id"]},
        headers=alice.headers,
    )
    assert moved.json()["project_id"] == home["id"]
    assert moved.json()["parent_id"] == parent["id"]
    # Someone else's project is not there for alice (404); one of hers elsewhere is a 422.
    foreign = await client.patch(
        f"/tasks/{task['id']}", json={"project_id": elsewhere["id"]}, headers=alice.headers
    )
    assert foreign.status_code == 404
    team = await make_workspace(client, alice)
    other = await client.post(
        "/projects", json={"name": "t", "workspace_id": team}, headers=alice.headers
    )
    across = await client.patch(
        f"/tasks/{task['id']}", json={"project_id": other.json()["id"]}, headers=alice.headers
    )
    assert across.status_code == 422
    top = await client.patch(
        f"/tasks/{task['id']}", json={"parent_id": None}, headers=alice.headers
    )
    assert top.json()["parent_id"] is None
    nulled = await client.patch(f"/tasks/{task['id']}", json={"title": None}, headers=alice.headers)
    assert nulled.status_code == 422


async def test_restoring_a_subtask_of_a_deleted_parent_is_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice)
    child = await make_task(client, alice, parent_id=parent["id"])
    await client.delete(f"/tasks/{parent['id']}", headers=alice.headers)
    refused = await client.post(f"/tasks/{child['id']}/restore", headers=alice.headers)
    assert refused.status_code == 409
    stale = await client.delete(
        f"/tasks/{parent['id']}", headers={**alice.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412


async def test_history_pages(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice)
    for i in range(4):
        await client.patch(f"/tasks/{task['id']}", json={"progress": i + 1}, headers=alice.headers)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(f"/tasks/{task['id']}/history", params=params, headers=alice.headers)
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = await client.get(
        f"/tasks/{task['id']}/history", params={"cursor": "abc"}, headers=alice.headers
    )
    assert bad.status_code == 422


async def test_many_concurrent_writers_all_succeed(
    client: httpx.AsyncClient, alice: Account
) -> None:
    results = await asyncio.gather(
        *(
            client.post(
                "/tasks", json={"title": f"burst {i}", "tags": ["burst"]}, headers=alice.headers
            )
            for i in range(25)
        )
    )
    assert [r.status_code for r in results] == [201] * 25
    listed = (await client.get("/tasks?tag=burst&limit=200", headers=alice.headers)).json()["items"]
    assert len(listed) == 25
    tags = (await client.get("/tags", headers=alice.headers)).json()["items"]
    assert [t["name"] for t in tags] == ["burst"]


async def test_subtasks_page(client: httpx.AsyncClient, alice: Account) -> None:
    parent = await make_task(client, alice, title="parent")
    made = [
        (await make_task(client, alice, title=f"s{i}", parent_id=parent["id"]))["id"]
        for i in range(5)
    ]
    await make_task(client, alice, title="grandchild", parent_id=made[0])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(
                f"/tasks/{parent['id']}/subtasks", params=params, headers=alice.headers
            )
        ).json()
        assert len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made


async def test_changing_the_zone_keeps_whole_day_dates(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", reminders=[{"offset_minutes": 60}])
    moved = await client.patch(
        f"/tasks/{task['id']}", json={"timezone": "America/New_York"}, headers=alice.headers
    )
    assert moved.json()["due"] == "2026-12-01"
    assert moved.json()["timezone"] == "America/New_York"
    reminders = (await client.get(f"/tasks/{task['id']}/reminders", headers=alice.headers)).json()
    # Midnight in New York (05:00Z), one hour before.
    assert reminders["items"][0]["fire_at"] == "2026-12-01T04:00:00Z"
