"""A plain create is one statement on PostgreSQL, and answers exactly as the long way does.

After a caller's first create, Haven remembers the workspace and the caller's zone it found
(`workspaces.access.access_hints`) and writes the next plain create as one statement that
checks the caller's access itself. What another process changes meanwhile (a role, an
account, a zone, the workspace) must still decide the answer: the statement writes nothing
and the create goes the long way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select, text

from haven.accounts.principal import Principal
from haven.db.session import Database
from haven.events.models import Event
from haven.tasks import service
from haven.tasks.models import Task
from haven.tasks.schemas import TaskCreate
from tests.factories import Account, make_task, make_workspace
from tests.support import event_types, statements

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def postgres_only(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("data-modifying CTEs are PostgreSQL's; SQLite always goes the long way")


@contextmanager
def round_trips(database: Database) -> Iterator[list[str]]:
    """The first word of each statement sent meanwhile (`tests.support.statements`)."""
    with statements(database) as sent:
        words: list[str] = []
        yield words
    words.extend(statement.split()[0].upper() for statement in sent)


async def _as_another_process(database: Database, statement: str, **values: object) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text(statement), values)


async def _count(database: Database, model: type[Task] | type[Event]) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_plain_create_after_the_first_is_one_statement(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    await make_task(client, alice, title="first: the long way")
    with round_trips(database) as sent:
        task = await make_task(client, alice, title="second", priority="high", due="2030-01-02")
    assert sent == ["WITH"], sent
    shown = (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()
    assert shown == task
    assert shown["due"] == "2030-01-02"
    assert shown["priority"] == "high"
    assert await event_types(database, subject_prefix=f"tasks/{task['id']}") == [
        "haven.task.created"
    ]


async def test_what_the_one_statement_cannot_do_goes_the_long_way(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    await make_task(client, alice)
    with round_trips(database) as sent:
        tagged = await make_task(client, alice, tags=["home"])
    assert "BEGIN" in sent
    assert tagged["tags"] == ["home"]


async def test_a_role_lowered_elsewhere_refuses_the_next_create(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    team = await make_workspace(client, alice)
    added = await client.post(
        f"/workspaces/{team}/members",
        json={"email": bob.email, "role": "member"},
        headers=alice.headers,
    )
    assert added.status_code == 201
    await make_task(client, bob, workspace_id=team)
    tasks, events = await _count(database, Task), await _count(database, Event)
    await _as_another_process(
        database,
        "UPDATE memberships SET role = 'viewer' WHERE user_id = :u AND workspace_id = :w",
        u=uuid.UUID(bob.id),
        w=uuid.UUID(team),
    )
    refused = await client.post(
        "/tasks", json={"title": "no", "workspace_id": team}, headers=bob.headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await _count(database, Task), await _count(database, Event)) == (tasks, events)


async def test_a_member_removed_elsewhere_gets_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    team = await make_workspace(client, alice)
    await client.post(
        f"/workspaces/{team}/members",
        json={"email": bob.email, "role": "member"},
        headers=alice.headers,
    )
    await make_task(client, bob, workspace_id=team)
    await _as_another_process(
        database,
        "DELETE FROM memberships WHERE user_id = :u AND workspace_id = :w",
        u=uuid.UUID(bob.id),
        w=uuid.UUID(team),
    )
    gone = await client.post(
        "/tasks", json={"title": "no", "workspace_id": team}, headers=bob.headers
    )
    assert gone.status_code == 404, gone.text


async def test_an_account_deactivated_elsewhere_cannot_create(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    await make_task(client, alice)
    tasks = await _count(database, Task)
    await _as_another_process(
        database, "UPDATE users SET is_active = false WHERE id = :u", u=uuid.UUID(alice.id)
    )
    refused = await client.post("/tasks", json={"title": "no"}, headers=alice.headers)
    assert refused.status_code == 401, refused.text
    assert await _count(database, Task) == tasks


async def test_a_zone_changed_elsewhere_is_the_next_tasks_zone(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    first = await make_task(client, alice)
    await _as_another_process(
        database, "UPDATE users SET timezone = 'Asia/Tokyo' WHERE id = :u", u=uuid.UUID(alice.id)
    )
    second = await make_task(client, alice, due="2030-01-02")
    assert first["timezone"] != "Asia/Tokyo"
    assert second["timezone"] == "Asia/Tokyo"
    assert second["due"] == "2030-01-02"


async def test_a_workspace_deleted_elsewhere_gets_not_found(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    team = await make_workspace(client, alice)
    await make_task(client, alice, workspace_id=team)
    await _as_another_process(
        database, "UPDATE workspaces SET deleted_at = now() WHERE id = :w", w=uuid.UUID(team)
    )
    gone = await client.post(
        "/tasks", json={"title": "no", "workspace_id": team}, headers=alice.headers
    )
    assert gone.status_code == 404, gone.text


async def test_a_retried_create_answers_the_first_and_writes_once(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    await make_task(client, alice)
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "title": "once"}
    first = await client.post("/tasks", json=body, headers=alice.headers)
    again = await client.post("/tasks", json={**body, "title": "twice"}, headers=alice.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await event_types(database, subject_prefix=f"tasks/{chosen}") == ["haven.task.created"]
    await make_task(client, bob)  # bob has a hint too; another's id is still not his to take
    taken = await client.post("/tasks", json=body, headers=bob.headers)
    assert taken.status_code in (404, 409), taken.text


async def test_a_create_in_a_longer_transaction_rolls_back_with_it(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """Only the caller knows a create is its whole write: others stay in their transaction."""
    await make_task(client, alice, title="first: the caller's workspace is remembered")
    before = await _count(database, Task)
    principal = Principal(user_id=uuid.UUID(alice.id), method="jwt")
    for first_statement in (False, True):
        async with database.sessions() as session:
            transaction = await session.begin()
            if first_statement:
                await session.execute(text("SELECT 1"))
            _, created = await service.create_task(
                session, principal=principal, data=TaskCreate(title="undone")
            )
            assert created
            await transaction.rollback()
        assert await _count(database, Task) == before, f"first statement: {first_statement}"
    with round_trips(database) as sent:
        async with database.sessions() as session, session.begin():
            await service.create_task(
                session, principal=principal, data=TaskCreate(title="kept"), whole_write=True
            )
    assert sent == ["WITH"], sent
    assert await _count(database, Task) == before + 1
