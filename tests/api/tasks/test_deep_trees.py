"""Subtasks at any depth, dependencies in long chains: every walk is set-based (1.16)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from haven.core.ids import new_id
from haven.db.registry import metadata
from haven.db.session import Database
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
