"""A task's subtask counts: derived on every read, one statement for a whole page.

`subtask_count` is how many live direct subtasks a task has (those in the trash left out,
grandchildren counted on their own parent), `subtasks_done` how many of them are closed
(done or cancelled). Lists count a page in one grouped read over the parent_id index;
single reads (GET, PATCH, complete, reopen, restore, a create's retry) count their task.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.ids import new_id
from haven.db import driver
from haven.db.session import Database
from haven.tasks import repository as repo
from haven.tasks.models import Task
from tests.factories import Account, add_member, make_task, make_workspace
from tests.support import statements


async def _counts(client: httpx.AsyncClient, who: Account, task_id: str) -> tuple[int, int]:
    response = await client.get(f"/tasks/{task_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    return shown["subtask_count"], shown["subtasks_done"]


async def _listed(
    client: httpx.AsyncClient, who: Account, **params: str
) -> dict[str, tuple[int, int]]:
    response = await client.get("/tasks", params={"limit": "200", **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    return {t["id"]: (t["subtask_count"], t["subtasks_done"]) for t in response.json()["items"]}


async def _close(client: httpx.AsyncClient, who: Account, task_id: str, status: str) -> None:
    response = await client.patch(f"/tasks/{task_id}", json={"status": status}, headers=who.headers)
    assert response.status_code == 200, response.text


async def test_counts_are_of_live_direct_subtasks_and_the_closed_among_them(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice, title="Move house")
    assert (parent["subtask_count"], parent["subtasks_done"]) == (0, 0)
    open_child = await make_task(client, alice, title="Pack", parent_id=parent["id"])
    done_child = await make_task(client, alice, title="Book van", parent_id=parent["id"])
    cancelled = await make_task(client, alice, title="Hire movers", parent_id=parent["id"])
    trashed = await make_task(client, alice, title="Sell sofa", parent_id=parent["id"])
    grandchild = await make_task(client, alice, title="Buy boxes", parent_id=open_child["id"])
    await _close(client, alice, done_child["id"], "done")
    await _close(client, alice, cancelled["id"], "cancelled")
    deleted = await client.delete(f"/tasks/{trashed['id']}", headers=alice.headers)
    assert deleted.status_code == 204

    expected = {
        parent["id"]: (3, 2),  # the trashed one and the grandchild are not counted
        open_child["id"]: (1, 0),
        grandchild["id"]: (0, 0),
        done_child["id"]: (0, 0),
    }
    listed = await _listed(client, alice)
    assert {task_id: listed[task_id] for task_id in expected} == expected
    top = await _listed(client, alice, parent_id="none")
    assert top == {parent["id"]: (3, 2)}
    for task_id, counts in expected.items():
        assert await _counts(client, alice, task_id) == counts
    # A subtask list counts its own subtasks too.
    below = await client.get(f"/tasks/{parent['id']}/subtasks", headers=alice.headers)
    shown = {t["id"]: (t["subtask_count"], t["subtasks_done"]) for t in below.json()["items"]}
    assert shown[open_child["id"]] == (1, 0)
    # The trash shows a trashed task's live subtasks: none (they went with it).
    in_trash = await _listed(client, alice, deleted="true")
    assert in_trash == {trashed["id"]: (0, 0)}


async def test_counts_follow_their_subtasks_and_every_single_read_shows_them(
    client: httpx.AsyncClient, alice: Account
) -> None:
    parent = await make_task(client, alice, title="Plan the trip")
    first = await make_task(client, alice, title="Flights", parent_id=parent["id"])
    second = await make_task(client, alice, title="Hotel", parent_id=parent["id"])
    assert await _counts(client, alice, parent["id"]) == (2, 0)

    completed = await client.post(f"/tasks/{first['id']}/complete", headers=alice.headers)
    assert completed.status_code == 200, completed.text
    assert await _counts(client, alice, parent["id"]) == (2, 1)
    reopened = await client.post(f"/tasks/{first['id']}/reopen", headers=alice.headers)
    assert reopened.status_code == 200, reopened.text
    assert await _counts(client, alice, parent["id"]) == (2, 0)

    # The parent's own writes answer with its counts.
    renamed = await client.patch(
        f"/tasks/{parent['id']}", json={"title": "Plan the summer trip"}, headers=alice.headers
    )
    assert (renamed.json()["subtask_count"], renamed.json()["subtasks_done"]) == (2, 0)
    retried = await client.post(
        "/tasks", json={"id": parent["id"], "title": "Plan the trip"}, headers=alice.headers
    )
    assert retried.status_code == 200, retried.text
    assert (retried.json()["subtask_count"], retried.json()["subtasks_done"]) == (2, 0)

    # Trashing a subtask takes it out of the count; restoring brings it back.
    gone = await client.delete(f"/tasks/{second['id']}", headers=alice.headers)
    assert gone.status_code == 204
    assert await _counts(client, alice, parent["id"]) == (1, 0)
    back = await client.post(f"/tasks/{second['id']}/restore", headers=alice.headers)
    assert back.status_code == 200, back.text
    assert await _counts(client, alice, parent["id"]) == (2, 0)

    # A subtask moved under another parent counts there.
    other = await make_task(client, alice, title="Pack")
    moved = await client.patch(
        f"/tasks/{second['id']}", json={"parent_id": other["id"]}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    assert await _counts(client, alice, parent["id"]) == (1, 0)
    assert await _counts(client, alice, other["id"]) == (1, 0)

    # Completing the parent with its subtasks: the answer counts them all closed.
    cascade = await client.post(
        f"/tasks/{parent['id']}/complete", params={"cascade": "true"}, headers=alice.headers
    )
    assert cascade.status_code == 200, cascade.text
    task = cascade.json()["task"]
    assert (task["subtask_count"], task["subtasks_done"]) == (1, 1)
    restored = await client.post(f"/tasks/{parent['id']}/reopen", headers=alice.headers)
    assert (restored.json()["subtask_count"], restored.json()["subtasks_done"]) == (1, 1)


async def test_a_completed_series_counts_the_subtasks_copied_to_its_next_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    weekly = await make_task(
        client, alice, title="Weekly review", due="2030-01-07", recurrence={"rule": "FREQ=WEEKLY"}
    )
    for title in ("Inbox zero", "Plan the week"):
        await make_task(client, alice, title=title, parent_id=weekly["id"])
    completed = await client.post(
        f"/tasks/{weekly['id']}/complete", params={"cascade": "true"}, headers=alice.headers
    )
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert (body["task"]["subtask_count"], body["task"]["subtasks_done"]) == (2, 2)
    assert (body["next"]["subtask_count"], body["next"]["subtasks_done"]) == (2, 0)
    assert await _counts(client, alice, body["next"]["id"]) == (2, 0)


async def test_counts_show_only_to_those_who_see_the_task(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    mine = await make_task(client, alice, title="Alice's")
    await make_task(client, alice, title="hers", parent_id=mine["id"])
    his = await make_task(client, bob, title="Bob's")
    await make_task(client, bob, title="his", parent_id=his["id"])
    await make_task(client, bob, title="his too", parent_id=his["id"])

    assert (await client.get(f"/tasks/{mine['id']}", headers=bob.headers)).status_code == 404
    assert await _listed(client, bob, parent_id="none") == {his["id"]: (2, 0)}
    assert await _listed(client, alice, parent_id="none") == {mine["id"]: (1, 0)}

    # In a shared workspace both members see the same counts.
    team = await make_workspace(client, alice)
    assert (await add_member(client, alice, team, bob, "viewer")).status_code == 201
    shared = await make_task(client, alice, title="Shared", workspace_id=team)
    await make_task(client, alice, title="part", parent_id=shared["id"])
    for who in (alice, bob):
        assert (await _listed(client, who, workspace_id=team))[shared["id"]] == (1, 0)
        assert await _counts(client, who, shared["id"]) == (1, 0)


async def _tasks_with_subtasks(
    database: Database, like: dict[str, Any], *, parents: int, children: int
) -> list[uuid.UUID]:
    """`parents` tasks like `like`, each with `children` subtasks (the first one done),
    written straight to the table (through the API this would take a minute)."""
    async with database.sessions() as session, session.begin():
        task = await session.get(Task, uuid.UUID(like["id"]))
        assert task is not None
        columns = {c.key: getattr(task, c.key) for c in Task.__table__.columns}
        top = [{**columns, "id": new_id()} for _ in range(parents)]
        below = [
            {
                **columns,
                "id": new_id(),
                "parent_id": row["id"],
                "status": "done" if index == 0 else "todo",
            }
            for row in top
            for index in range(children)
        ]
        await session.execute(insert(Task), top + below)
    return [row["id"] for row in top]


async def test_a_page_of_200_counts_its_subtasks_in_the_statements_of_a_page_of_one(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    one = await make_task(client, bob, title="Alone")
    await make_task(client, bob, title="below", parent_id=one["id"])
    like = await make_task(client, alice, title="One of many")
    await _tasks_with_subtasks(database, like, parents=199, children=3)
    query = {"parent_id": "none", "limit": "200"}

    for who in (alice, bob):  # warm: caches, compiled statements
        await client.get("/tasks", params=query, headers=who.headers)
    with statements(database) as small:
        page = await client.get("/tasks", params=query, headers=bob.headers)
    assert [t["subtask_count"] for t in page.json()["items"]] == [1]
    with statements(database) as big:
        page = await client.get("/tasks", params=query, headers=alice.headers)
    items = page.json()["items"]
    assert len(items) == 200
    counts = sorted((t["subtask_count"], t["subtasks_done"]) for t in items)
    assert counts == [(0, 0)] + [(3, 1)] * 199
    assert len(big) == len(small), (big, small)
    # The counts are one statement of their own, whatever the page (none for an empty one).
    assert sum("GROUP BY" in statement.upper() for statement in big) == 1
    with statements(database) as empty:
        page = await client.get("/tasks", params={"q": "nothing-matches"}, headers=bob.headers)
    assert page.json()["items"] == []
    assert not any("GROUP BY" in statement.upper() for statement in empty)


async def test_counting_a_page_reads_its_subtasks_by_the_parent_index(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """Among thousands of tasks, the counts of 200 read about their own subtasks only."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("reads PostgreSQL plans")
    like = await make_task(client, alice, title="One of many")
    parents = await _tasks_with_subtasks(database, like, parents=2000, children=2)
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE tasks"))
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    page = parents[:200]
    async with database.engine.connect() as connection:
        event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        try:
            counts = await repo.subtask_counts(AsyncSession(bind=connection), page)
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", record)
        assert counts == dict.fromkeys(page, (2, 1))
        ((statement, params),) = sent
        explained = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, tuple(params)
        )
        value = explained.scalar_one()
        (plan,) = json.loads(value) if isinstance(value, str) else value
        await connection.rollback()
    read = _rows_read(plan["Plan"])
    assert read <= 2 * 2 * len(page), f"{read} rows read for {len(page)} tasks' subtasks"


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the scans of `tasks` produced or threw away, over all their loops."""
    total, stack = 0, [plan]
    while stack:
        node = stack.pop()
        if node.get("Relation Name") == "tasks":
            produced = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            produced += node.get("Rows Removed by Index Recheck", 0)
            total += produced * node.get("Actual Loops", 1)
        stack.extend(node.get("Plans", []))
    return total


def test_the_count_of_a_page_runs_on_the_driver_as_the_page_does(database: Database) -> None:
    """One statement for every page (the ids as one array): compiled once, run by asyncpg."""
    dialect = database.engine.dialect
    if dialect.driver != "asyncpg":
        pytest.skip("only asyncpg reads go to the driver")
    assert driver._for_driver(repo._subtask_counts_statement(dialect.name), dialect) is not None
