"""Changes that reach a task through something else still write the task's own event.

Each case: the task's representation after the indirect change equals what folding its
history gives, and the history's last event names the change.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import insert, select

from haven.core.ids import new_id
from haven.db.session import Database
from haven.tasks.models import Task, TaskTag
from tests.factories import Account, add_member, make_task, make_workspace
from tests.ledger import fold_history, stored_task, task_history
from tests.support import event_types
from tests.support import statements as support_statements


async def _show(client: httpx.AsyncClient, who: Account, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/tasks/{task_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def _last_event_and_fold(
    client: httpx.AsyncClient, who: Account, task_id: str
) -> dict[str, Any]:
    """The task's last event, after checking that its history folds to the task."""
    history = await task_history(client, who.headers, task_id)
    folded, problems = fold_history(history)
    assert problems == []
    shown = (await client.get(f"/tasks/{task_id}", headers=who.headers)).json()
    if shown.get("status") == 404:  # in the trash: the trash list shows it
        trash = await client.get(
            "/tasks", params={"deleted": "true", "limit": "200"}, headers=who.headers
        )
        shown = next(t for t in trash.json()["items"] if t["id"] == task_id)
    assert folded == stored_task(shown)
    last: dict[str, Any] = history[-1]
    return last


async def test_renaming_a_tag_updates_every_task_that_carries_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await make_task(client, alice, tags=["errand", "home"])
    second = await make_task(client, alice, tags=["errand"])
    tags = (await client.get("/tags", headers=alice.headers)).json()["items"]
    errand = next(tag for tag in tags if tag["name"] == "errand")

    renamed = await client.patch(
        f"/tags/{errand['id']}", json={"name": "chores"}, headers=alice.headers
    )

    assert renamed.status_code == 200, renamed.text
    for task, tags_after in ((first, ["chores", "home"]), (second, ["chores"])):
        last = await _last_event_and_fold(client, alice, task["id"])
        assert last["type"] == "haven.task.updated"
        assert last["data"]["changes"] == {"tags": [task["tags"], tags_after]}
        assert last["haven_version"] == task["version"] + 1
        assert (await _show(client, alice, task["id"]))["tags"] == tags_after


async def test_deleting_a_tag_updates_every_task_that_carried_it_even_in_the_trash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    live = await make_task(client, alice, tags=["errand", "home"])
    trashed = await make_task(client, alice, tags=["errand"])
    assert (
        await client.delete(f"/tasks/{trashed['id']}", headers=alice.headers)
    ).status_code == 204
    tags = (await client.get("/tags", headers=alice.headers)).json()["items"]
    errand = next(tag for tag in tags if tag["name"] == "errand")

    deleted = await client.delete(f"/tags/{errand['id']}", headers=alice.headers)

    assert deleted.status_code == 204
    last = await _last_event_and_fold(client, alice, live["id"])
    assert last["type"] == "haven.task.updated"
    assert last["data"]["changes"] == {"tags": [["errand", "home"], ["home"]]}
    last = await _last_event_and_fold(client, alice, trashed["id"])
    assert last["data"]["changes"] == {"tags": [["errand"], []]}


async def test_deleting_a_project_trashes_its_tasks_and_their_subtasks(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Defect 1.5: the subtasks of a deleted project's tasks stayed live."""
    project = (
        await client.post("/projects", json={"name": "Garden"}, headers=alice.headers)
    ).json()
    parent = await make_task(client, alice, project_id=project["id"])
    child = await make_task(client, alice, parent_id=parent["id"])
    grandchild = await make_task(client, alice, parent_id=child["id"])
    elsewhere = await make_task(client, alice)

    deleted = await client.delete(f"/projects/{project['id']}", headers=alice.headers)

    assert deleted.status_code == 204
    for task in (parent, child, grandchild):
        assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 404
    for task in (parent, child, grandchild):
        last = await _last_event_and_fold(client, alice, task["id"])
        assert last["type"] == "haven.task.deleted"
        assert list(last["data"]["changes"]) == ["deleted_at"]
    assert (await client.get(f"/tasks/{elsewhere['id']}", headers=alice.headers)).status_code == 200

    restored = await client.post(f"/tasks/{parent['id']}/restore", headers=alice.headers)
    assert restored.status_code == 200, restored.text
    for task in (parent, child, grandchild):
        assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 200
        last = await _last_event_and_fold(client, alice, task["id"])
        assert last["type"] == "haven.task.restored"


async def test_completing_with_cascade_completes_each_subtask_with_its_changes(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice)
    child = await make_task(client, alice, parent_id=parent["id"], progress=30)

    done = await client.post(
        f"/tasks/{parent['id']}/complete", params={"cascade": "true"}, headers=alice.headers
    )

    assert done.status_code == 200, done.text
    last = await _last_event_and_fold(client, alice, child["id"])
    assert last["type"] == "haven.task.completed"
    changes = last["data"]["changes"]
    assert changes["status"] == ["todo", "done"]
    assert changes["progress"] == [30, 100]
    assert changes["completed_at"][0] is None


async def test_a_series_rolls_over_with_created_events_for_the_occurrence_and_its_subtasks(
    client: httpx.AsyncClient, alice: Account
) -> None:
    series = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    await make_task(client, alice, parent_id=series["id"], title="Buy seeds")

    done = await client.post(
        f"/tasks/{series['id']}/complete", params={"cascade": "true"}, headers=alice.headers
    )

    assert done.status_code == 200, done.text
    following = done.json()["next"]
    created = (await task_history(client, alice.headers, following["id"]))[0]
    assert created["type"] == "haven.task.created"
    assert created["data"]["previous_id"] == series["id"]
    subtasks = await client.get(f"/tasks/{following['id']}/subtasks", headers=alice.headers)
    copy = subtasks.json()["items"][0]
    history = await task_history(client, alice.headers, copy["id"])
    assert [item["type"] for item in history] == ["haven.task.created"]
    assert (await _last_event_and_fold(client, alice, series["id"]))["data"]["next_id"] == (
        following["id"]
    )


async def test_a_tag_on_many_tasks_is_renamed_in_a_bounded_number_of_statements(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """Set-based: the statements grow with batches of tasks, not with tasks."""
    one = await make_task(client, alice, tags=["errand"])
    await _copy_task_with_its_tags(database, one["id"], copies=1_199)
    tag = (await client.get("/tags", headers=alice.headers)).json()["items"][0]

    with support_statements(database) as statements:
        renamed = await client.patch(
            f"/tags/{tag['id']}", json={"name": "chores"}, headers=alice.headers
        )

    assert renamed.status_code == 200, renamed.text
    # 1,200 tasks are 3 batches of 500: read, rewrite and their events for each; plus the
    # request's own handful (auth, the tag, its event). One statement per task would be 1,200+.
    assert len(statements) < 40
    updated = await client.get(
        "/tasks", params={"tag": "chores", "limit": "200"}, headers=alice.headers
    )
    assert len(updated.json()["items"]) == 200
    assert all(
        task["tags"] == ["chores"] and task["version"] == 2 for task in updated.json()["items"]
    )


async def _copy_task_with_its_tags(database: Database, task_id: str, *, copies: int) -> None:
    """Many tasks like one, written straight to the tables (the API would take minutes)."""
    async with database.sessions() as session, session.begin():
        task = await session.get(Task, uuid.UUID(task_id))
        assert task is not None
        tag_ids = list(
            await session.scalars(select(TaskTag.tag_id).where(TaskTag.task_id == task.id))
        )
        columns = {c.key: getattr(task, c.key) for c in Task.__table__.columns}
        rows = [{**columns, "id": new_id()} for _ in range(copies)]
        await session.execute(insert(Task), rows)
        links = [{"task_id": row["id"], "tag_id": tag_id} for row in rows for tag_id in tag_ids]
        await session.execute(insert(TaskTag), links)


async def test_removing_a_member_unassigns_their_tasks_in_that_workspace_only(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    team = await make_workspace(client, alice)
    assert (await add_member(client, alice, team, bob, "member")).status_code == 201
    theirs = await make_task(client, alice, workspace_id=team, assignee_id=bob.id)
    at_home = await make_task(client, bob, assignee_id=bob.id)

    removed = await client.delete(f"/workspaces/{team}/members/{bob.id}", headers=alice.headers)

    assert removed.status_code == 204
    assert (await _show(client, alice, theirs["id"]))["assignee_id"] is None
    last = await _last_event_and_fold(client, alice, theirs["id"])
    assert last["type"] == "haven.task.updated"
    assert last["data"]["changes"] == {"assignee_id": [bob.id, None]}
    assert (await _show(client, bob, at_home["id"]))["assignee_id"] == bob.id


async def test_deleting_a_workspace_deletes_its_tasks_projects_tags_and_webhooks_with_events(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    team = await make_workspace(client, alice)
    project = await client.post(
        "/projects", json={"name": "Launch", "workspace_id": team}, headers=alice.headers
    )
    task = await make_task(client, alice, workspace_id=team, tags=["ops"])
    subtask = await make_task(client, alice, parent_id=task["id"])
    tag = (await client.get("/tags", params={"workspace_id": team}, headers=alice.headers)).json()
    webhook = await client.post(
        "/webhooks",
        json={"url": "https://93.184.216.34/in", "workspace_id": team},
        headers=alice.headers,
    )
    assert webhook.status_code == 201, webhook.text

    deleted = await client.delete(f"/workspaces/{team}", headers=alice.headers)

    assert deleted.status_code == 204
    for subject, last in (
        (f"tasks/{task['id']}", "haven.task.deleted"),
        (f"tasks/{subtask['id']}", "haven.task.deleted"),
        (f"projects/{project.json()['id']}", "haven.project.deleted"),
        (f"tags/{tag['items'][0]['id']}", "haven.tag.deleted"),
        (f"webhooks/{webhook.json()['id']}", "haven.webhook.updated"),  # disabled
    ):
        assert (await event_types(database, subject_prefix=subject))[-1] == last
    assert (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).status_code == 404
