"""Subtasks at any depth, dependencies in long chains: every walk is set-based (1.16)."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, insert, select

from haven.core.ids import new_id
from haven.db.registry import metadata
from haven.db.session import Database
from haven.tasks.bulk import BATCH_SIZE
from tests.factories import Account

DEPTH = 1_500


@pytest.fixture(autouse=True)
async def _flatten_before_cleanup(database: Database) -> AsyncIterator[None]:
    """Unlink parents before the tables are emptied: SQLite follows ON DELETE CASCADE
    as nested triggers, and refuses more than 1,000 levels."""
    yield
    async with database.engine.begin() as connection:
        await connection.execute(metadata.tables["tasks"].update().values(parent_id=None))


async def _insert_chain(
    database: Database, owner: Account, *, depth: int = DEPTH, **root: Any
) -> list[str]:
    """`depth` tasks, each the only subtask of the one before; ids from the root down.

    Written in one statement: through the API this would take a minute.
    """
    ids = [new_id() for _ in range(depth)]
    rows = [
        {
            "id": task_id,
            "workspace_id": uuid.UUID(owner.workspace_id),
            "parent_id": ids[level - 1] if level else None,
            "title": f"level {level}",
            "timezone": "UTC",
            "created_by": uuid.UUID(owner.id),
            **(root if level == 0 else {}),
        }
        for level, task_id in enumerate(ids)
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(metadata.tables["tasks"]), rows)
    return [str(task_id) for task_id in ids]


async def test_a_deep_tree_goes_to_the_trash_and_comes_back_whole(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    ids = await _insert_chain(database, alice)
    root, leaf = ids[0], ids[-1]
    deleted = await client.delete(f"/tasks/{root}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/tasks/{leaf}", headers=alice.headers)).status_code == 404
    restored = await client.post(f"/tasks/{root}/restore", headers=alice.headers)
    assert restored.status_code == 200, restored.text
    assert (await client.get(f"/tasks/{leaf}", headers=alice.headers)).status_code == 200
    trash = await client.get("/tasks", params={"deleted": "true"}, headers=alice.headers)
    assert trash.json()["items"] == []
    history = (await client.get(f"/tasks/{leaf}/history", headers=alice.headers)).json()
    assert [event["type"] for event in history["items"]][-2:] == [
        "haven.task.deleted",
        "haven.task.restored",
    ]


async def test_a_subtask_added_while_the_tree_is_read_goes_to_the_trash_too(
    client: httpx.AsyncClient,
    database: Database,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subtask whose creation commits after the walk read the tree's ids (its request
    locked the parent first) must not stay live under a deleted parent."""
    from haven.tasks import repository

    ids = await _insert_chain(database, alice, depth=20)
    late = new_id()
    walk = repository.descendant_ids
    calls = 0

    async def walk_then_a_subtask_arrives(session: Any, task_id: uuid.UUID) -> list[uuid.UUID]:
        nonlocal calls
        calls += 1
        found = await walk(session, task_id)
        if calls == 1:
            row = {
                "id": late,
                "workspace_id": uuid.UUID(alice.workspace_id),
                "parent_id": uuid.UUID(ids[10]),
                "title": "added meanwhile",
                "timezone": "UTC",
                "created_by": uuid.UUID(alice.id),
            }
            await session.execute(insert(metadata.tables["tasks"]), [row])
        return found

    monkeypatch.setattr(repository, "descendant_ids", walk_then_a_subtask_arrives)
    deleted = await client.delete(f"/tasks/{ids[0]}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/tasks/{late}", headers=alice.headers)).status_code == 404
    history = (await client.get(f"/tasks/{late}/history", headers=alice.headers)).json()
    assert [event["type"] for event in history["items"]] == ["haven.task.deleted"]
    restored = await client.post(f"/tasks/{ids[0]}/restore", headers=alice.headers)
    assert restored.status_code == 200, restored.text
    assert (await client.get(f"/tasks/{late}", headers=alice.headers)).status_code == 200


async def test_restore_brings_back_only_what_was_deleted_together(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    ids = await _insert_chain(database, alice, depth=6)
    # A subtask trashed on its own earlier stays in the trash, with everything below it.
    assert (await client.delete(f"/tasks/{ids[3]}", headers=alice.headers)).status_code == 204
    assert (await client.delete(f"/tasks/{ids[0]}", headers=alice.headers)).status_code == 204
    assert (await client.post(f"/tasks/{ids[0]}/restore", headers=alice.headers)).status_code == 200
    live = [(await client.get(f"/tasks/{i}", headers=alice.headers)).status_code for i in ids]
    assert live == [200, 200, 200, 404, 404, 404]


async def test_completing_a_deep_tree_completes_every_level(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    ids = await _insert_chain(database, alice)
    refused = await client.post(f"/tasks/{ids[0]}/complete", headers=alice.headers)
    assert refused.status_code == 409
    done = await client.post(
        f"/tasks/{ids[0]}/complete", params={"cascade": "true"}, headers=alice.headers
    )
    assert done.status_code == 200, done.text
    leaf = (await client.get(f"/tasks/{ids[-1]}", headers=alice.headers)).json()
    assert (leaf["status"], leaf["progress"], leaf["version"]) == ("done", 100, 2)


async def test_the_next_occurrence_copies_a_deep_tree(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    ids = await _insert_chain(database, alice, depth=DEPTH)
    made_recurring = await client.patch(
        f"/tasks/{ids[0]}",
        json={"due": "2026-12-01", "recurrence": {"rule": "FREQ=WEEKLY"}},
        headers=alice.headers,
    )
    assert made_recurring.status_code == 200, made_recurring.text
    done = await client.post(
        f"/tasks/{ids[0]}/complete", params={"cascade": "true"}, headers=alice.headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["next"]["status"] == "todo"
    tasks = metadata.tables["tasks"]
    async with database.engine.connect() as connection:
        open_copies = await connection.scalar(
            select(func.count()).where(tasks.c.status == "todo", tasks.c.deleted_at.is_(None))
        )
        done_count = await connection.scalar(select(func.count()).where(tasks.c.status == "done"))
    assert (open_copies, done_count) == (DEPTH, DEPTH)


async def test_closing_a_cycle_over_a_long_chain_of_dependencies_is_409(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    ids = await _insert_chain(database, alice)
    # Flatten the tree: 1,500 top-level tasks, each depending on the next.
    async with database.engine.begin() as connection:
        tasks = metadata.tables["tasks"]
        await connection.execute(tasks.update().values(parent_id=None))
        await connection.execute(
            insert(metadata.tables["task_dependencies"]),
            [
                {
                    "task_id": uuid.UUID(ids[n]),
                    "depends_on_id": uuid.UUID(ids[n + 1]),
                    "created_at": datetime.now(UTC),
                }
                for n in range(len(ids) - 1)
            ],
        )
    cycle = await client.post(
        f"/tasks/{ids[-1]}/dependencies", json={"depends_on_id": ids[0]}, headers=alice.headers
    )
    assert cycle.status_code == 409, cycle.text
    fine = await client.post(
        f"/tasks/{ids[0]}/dependencies", json={"depends_on_id": ids[-1]}, headers=alice.headers
    )
    assert fine.status_code == 201, fine.text


async def _insert_wide(database: Database, owner: Account, *, width: int) -> list[str]:
    """A root with `width` subtasks directly under it; ids, the root first."""
    root, *children = [new_id() for _ in range(width + 1)]
    rows = [
        {
            "id": task_id,
            "workspace_id": uuid.UUID(owner.workspace_id),
            "parent_id": root if task_id != root else None,
            "title": "subtask" if task_id != root else "root",
            "timezone": "UTC",
            "created_by": uuid.UUID(owner.id),
        }
        for task_id in (root, *children)
    ]
    async with database.engine.begin() as connection:
        await connection.execute(insert(metadata.tables["tasks"]), rows)
    return [str(task_id) for task_id in (root, *children)]


@asynccontextmanager
async def _statements(database: Database) -> AsyncIterator[list[int]]:
    """Count the SQL statements sent while the block runs (an executemany counts once)."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def _statements_per_operation(
    client: httpx.AsyncClient, database: Database, alice: Account, root: str
) -> list[int]:
    counts = []
    for method, path, params in (
        ("DELETE", f"/tasks/{root}", {}),
        ("POST", f"/tasks/{root}/restore", {}),
        ("POST", f"/tasks/{root}/complete", {"cascade": "true"}),
    ):
        async with _statements(database) as sent:
            response = await client.request(method, path, params=params, headers=alice.headers)
        assert response.is_success, response.text
        counts.append(sent[0])
    return counts


@pytest.mark.parametrize("shape", ["chain", "wide"])
async def test_subtree_writes_cost_statements_per_batch_not_per_task(
    client: httpx.AsyncClient, database: Database, alice: Account, shape: str
) -> None:
    """Trashing, restoring and cascade-completing 1,200 subtasks sends as many statements
    as 12 do, plus a few for each extra batch of BATCH_SIZE tasks: never one per task."""
    sizes = (12, 1_200)
    counts = []
    for size in sizes:
        if shape == "chain":
            ids = await _insert_chain(database, alice, depth=size + 1)
        else:
            ids = await _insert_wide(database, alice, width=size)
        counts.append(await _statements_per_operation(client, database, alice, ids[0]))
        tasks = metadata.tables["tasks"]
        async with database.engine.connect() as connection:
            done = await connection.scalar(
                select(func.count()).where(
                    tasks.c.id.in_([uuid.UUID(i) for i in ids]),
                    tasks.c.status == "done",
                    tasks.c.deleted_at.is_(None),
                    tasks.c.version == 4,  # trashed, restored, completed
                )
            )
        assert done == size + 1
    small, large = counts
    extra_batches = math.ceil(sizes[1] / BATCH_SIZE) - math.ceil(sizes[0] / BATCH_SIZE)
    # A batch is read and locked in one statement, written in one, its events in one.
    for operation, few, many in zip(("delete", "restore", "complete"), small, large, strict=True):
        assert many <= few + 3 * extra_batches, f"{operation}: {few} statements, then {many}"
