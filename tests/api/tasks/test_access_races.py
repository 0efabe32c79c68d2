"""A write and a change of its author's role that meet: the write is allowed by the role its
author has when the write takes its locks, and that role holds until the write commits.

Driven step by step on PostgreSQL: a second client of the database holds rows locked in
open transactions, the API's request waits on them (seen in pg_stat_activity, not guessed
with sleeps), and the second client commits while it waits.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

from haven.workspaces.access import AccessHint, access_hints
from tests.factories import Account, add_member, make_task, make_workspace, register

ON_POSTGRES = os.environ.get("HAVEN_TEST_DATABASE") == "postgres"  # as conftest decides
# Row locks and pg_stat_activity are PostgreSQL's; SQLite runs one write transaction at a
# time (BEGIN IMMEDIATE), so a role change cannot commit inside another write there.
pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL row locks")

WAIT_LIMIT = 10.0  # seconds; only a failing test waits this long


@pytest.fixture
async def other_client(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Another client of the test database, with connections of its own."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@dataclass
class Held:
    """An open transaction of the other client, holding its locks until `commit`."""

    transaction: AsyncTransaction
    pid: int

    async def commit(self) -> None:
        await self.transaction.commit()


@asynccontextmanager
async def open_transaction(engine: AsyncEngine, sql: str, **values: Any) -> AsyncIterator[Held]:
    """A transaction that ran `sql`, holding its locks until the caller commits it; rolled
    back if the block leaves it open."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text(sql), values)
        try:
            yield Held(transaction, await _pid(connection))
        finally:
            if transaction.is_active:
                await transaction.rollback()


async def waiting_backends(watch: AsyncConnection) -> dict[int, list[int]]:
    """The backends of this database waiting for a lock: pid -> the pids they wait for."""
    rows = await watch.execute(
        text(
            "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )
    return {pid: list(blockers) for pid, blockers in rows.all()}


async def until_waiting(
    watch: AsyncConnection, request: asyncio.Task[httpx.Response], *, besides: set[int]
) -> tuple[int, list[int]]:
    """Once the request's backend waits for a lock: (its pid, the pids it waits for)."""
    deadline = asyncio.get_running_loop().time() + WAIT_LIMIT
    while asyncio.get_running_loop().time() < deadline:
        if request.done():
            response = request.result()
            pytest.fail(f"the request did not wait: {response.status_code} {response.text}")
        waiting = {
            pid: blockers
            for pid, blockers in (await waiting_backends(watch)).items()
            if pid not in besides
        }
        if waiting:
            assert len(waiting) == 1, waiting
            return next(iter(waiting.items()))
        await asyncio.sleep(0.01)
    pytest.fail("the request never waited for a lock")


@dataclass
class Scene:
    client: httpx.AsyncClient
    owner: Account
    member: Account
    team: str
    task: str
    project: str


@pytest.fixture
async def scene(client: httpx.AsyncClient, alice: Account) -> Scene:
    """Alice's team, where `member` is a member; a task and a project of the team."""
    member = await register(client)
    team = await make_workspace(client, alice)
    assert (await add_member(client, alice, team, member, "member")).status_code == 201
    task = await make_task(client, alice, workspace_id=team)
    project = await client.post(
        "/projects", json={"name": "P", "workspace_id": team}, headers=alice.headers
    )
    assert project.status_code == 201, project.text
    return Scene(client, alice, member, team, task["id"], project.json()["id"])


Write = Callable[[Scene], Coroutine[Any, Any, httpx.Response]]


def _patch_task(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    return s.client.patch(f"/tasks/{s.task}", json={"title": "new"}, headers=s.member.headers)


def _complete_task(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    return s.client.post(f"/tasks/{s.task}/complete", headers=s.member.headers)


def _delete_task(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    return s.client.delete(f"/tasks/{s.task}", headers=s.member.headers)


def _start_timer(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    return s.client.post(f"/tasks/{s.task}/timer/start", headers=s.member.headers)


def _create_task(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    body = {"title": "new", "workspace_id": s.team}
    return s.client.post("/tasks", json=body, headers=s.member.headers)


async def _create_task_in_one_statement(s: Scene) -> httpx.Response:
    """The create as one statement (PostgreSQL), as after the member's first create there."""
    me = (await s.client.get("/me", headers=s.member.headers)).json()
    hint = AccessHint(workspace_id=uuid.UUID(s.team), timezone=me["timezone"])
    access_hints.remember(uuid.UUID(s.member.id), uuid.UUID(s.team), hint)
    return await _create_task(s)


def _create_subtask(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    body = {"title": "new", "parent_id": s.task}
    return s.client.post("/tasks", json=body, headers=s.member.headers)


def _patch_project(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    body = {"name": "new"}
    return s.client.patch(f"/projects/{s.project}", json=body, headers=s.member.headers)


def _create_tag(s: Scene) -> Coroutine[Any, Any, httpx.Response]:
    body = {"name": "new", "workspace_id": s.team}
    return s.client.post("/tags", json=body, headers=s.member.headers)


# Writes to the task itself also wait for its row, held by another transaction, as in the
# report that found the race (issue 11).
TASK_WRITES: list[Write] = [_patch_task, _complete_task, _delete_task, _start_timer]
WRITES: list[Write] = [
    *TASK_WRITES,
    _create_task,
    _create_task_in_one_statement,
    _create_subtask,
    _patch_project,
    _create_tag,
]

DEMOTE = "UPDATE memberships SET role = 'viewer' WHERE workspace_id = :team AND user_id = :member"
REMOVE = "DELETE FROM memberships WHERE workspace_id = :team AND user_id = :member"
HOLD_TASK = "SELECT id FROM tasks WHERE id = :task FOR UPDATE"


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.__name__.strip("_"))
@pytest.mark.parametrize(
    ("change", "refusal"), [(DEMOTE, 403), (REMOVE, 404)], ids=["demoted", "removed"]
)
async def test_a_write_waiting_while_its_authors_role_is_taken_away_is_refused(
    scene: Scene, other_client: AsyncEngine, write: Write, change: str, refusal: int
) -> None:
    """The member is demoted to viewer (403) or removed (404) by a transaction that commits
    while the write waits; the task row is held by a third one meanwhile. Before issue 11
    was fixed the write read the role as of before its wait, and went through."""
    ids = {"team": scene.team, "member": scene.member.id, "task": scene.task}
    hold_task = HOLD_TASK if write in TASK_WRITES else "SELECT 1"
    async with (
        other_client.connect() as watch,
        open_transaction(other_client, hold_task, **ids) as task_holder,
        open_transaction(other_client, change, **ids) as role_change,
    ):
        await watch.execution_options(isolation_level="AUTOCOMMIT")
        besides = {await _pid(watch)}
        request = asyncio.create_task(write(scene))
        await until_waiting(watch, request, besides=besides)
        await role_change.commit()
        await task_holder.commit()
        response = await asyncio.wait_for(request, WAIT_LIMIT)
    assert response.status_code == refusal, response.text
    task = await scene.client.get(f"/tasks/{scene.task}", headers=scene.owner.headers)
    assert task.json()["title"] == "Write the report"
    assert task.json()["status"] == "todo"
    made = await scene.client.get(
        "/tasks", params={"workspace_id": scene.team}, headers=scene.owner.headers
    )
    assert [item["id"] for item in made.json()["items"]] == [scene.task]


@pytest.mark.parametrize(
    ("method", "path", "body", "done"),
    [
        ("PATCH", "/workspaces/{team}/members/{member}", {"role": "viewer"}, 200),
        ("DELETE", "/workspaces/{team}/members/{member}", None, 204),
    ],
    ids=["demotion", "removal"],
)
async def test_a_role_change_waits_for_its_members_write_in_flight(
    scene: Scene,
    other_client: AsyncEngine,
    method: str,
    path: str,
    body: dict[str, str] | None,
    done: int,
) -> None:
    """The member's PATCH waits for the task's row; the owner's demotion (or removal) of
    that member, made meanwhile, waits for the PATCH: the PATCH lands as the member's, then
    the role changes. Before issue 11 was fixed the demotion went first, and the PATCH
    still landed as the member's."""
    ids = {"team": scene.team, "member": scene.member.id, "task": scene.task}
    async with (
        other_client.connect() as watch,
        open_transaction(other_client, HOLD_TASK, **ids) as task_holder,
    ):
        await watch.execution_options(isolation_level="AUTOCOMMIT")
        besides = {await _pid(watch)}
        patch = asyncio.create_task(_patch_task(scene))
        patch_pid, _ = await until_waiting(watch, patch, besides=besides)
        change = asyncio.create_task(
            scene.client.request(method, path.format(**ids), json=body, headers=scene.owner.headers)
        )
        _, blockers = await until_waiting(watch, change, besides=besides | {patch_pid})
        assert blockers == [patch_pid]
        await task_holder.commit()
        patched = await asyncio.wait_for(patch, WAIT_LIMIT)
        changed = await asyncio.wait_for(change, WAIT_LIMIT)
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "new"
    assert changed.status_code == done, changed.text
    again = await _patch_task(scene)
    assert again.status_code == (403 if method == "PATCH" else 404), again.text


async def test_a_restore_waiting_while_the_workspace_is_deleted_is_refused(
    scene: Scene, other_client: AsyncEngine
) -> None:
    """A workspace's deletion trashes its live tasks, locking each; a restore from the trash
    meets it at the workspace's row instead: here it waits for the deletion, then finds
    the workspace gone (404), and no task of the deleted workspace comes back to life.

    A demotion of the restorer is held open too: the restore waits for the workspace first,
    in the order workspace and member changes lock (workspace, then membership), so that
    it cannot deadlock with them."""
    client, member = scene.client, scene.member
    assert (await client.delete(f"/tasks/{scene.task}", headers=member.headers)).status_code == 204
    ids = {"team": scene.team, "member": member.id}
    deletion = "UPDATE workspaces SET deleted_at = now() WHERE id = :team"
    async with (
        other_client.connect() as watch,
        open_transaction(other_client, deletion, **ids) as deleting,
        open_transaction(other_client, DEMOTE, **ids) as demoting,
    ):
        await watch.execution_options(isolation_level="AUTOCOMMIT")
        besides = {await _pid(watch)}
        restore = asyncio.create_task(
            client.post(f"/tasks/{scene.task}/restore", headers=member.headers)
        )
        _, blockers = await until_waiting(watch, restore, besides=besides)
        assert blockers == [deleting.pid]
        await deleting.commit()
        await demoting.commit()
        restored = await asyncio.wait_for(restore, WAIT_LIMIT)
    assert restored.status_code == 404, restored.text
    async with other_client.connect() as connection:
        deleted_at = await connection.scalar(
            text("SELECT deleted_at FROM tasks WHERE id = :task"), {"task": scene.task}
        )
    assert deleted_at is not None


async def _pid(connection: AsyncConnection) -> int:
    pid: int = await connection.scalar(text("SELECT pg_backend_pid()"))
    return pid


async def test_a_subtask_created_while_its_author_is_removed_does_not_deadlock(
    scene: Scene, other_client: AsyncEngine
) -> None:
    """A member's removal deletes the membership, then unassigns their tasks. A subtask
    created meanwhile under one of those tasks holds the membership before it locks the
    parent, in the same order: it waits for the removal and then finds the parent gone to
    it (404). In the other order the two would deadlock, and one of them fail."""
    client, member = scene.client, scene.member
    assigned = await client.patch(
        f"/tasks/{scene.task}", json={"assignee_id": member.id}, headers=scene.owner.headers
    )
    assert assigned.status_code == 200, assigned.text
    ids = {"team": scene.team, "member": member.id, "task": scene.task}
    async with (
        other_client.connect() as watch,
        open_transaction(other_client, REMOVE, **ids) as removing,
    ):
        await watch.execution_options(isolation_level="AUTOCOMMIT")
        besides = {await _pid(watch), removing.pid}
        create = asyncio.create_task(_create_subtask(scene))
        _, blockers = await until_waiting(watch, create, besides=besides)
        assert blockers == [removing.pid]
        # The removal goes on to unassign the member's tasks: the parent is not locked yet.
        await removing.transaction.connection.execute(
            text("UPDATE tasks SET assignee_id = NULL WHERE assignee_id = :member"), ids
        )
        await removing.commit()
        created = await asyncio.wait_for(create, WAIT_LIMIT)
    assert created.status_code == 404, created.text
