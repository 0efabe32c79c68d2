"""Workspace export and import: a lossless round trip, and clean refusals."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select, text

from haven.core.errors import NotFound
from haven.db.registry import metadata
from haven.db.session import Database
from haven.portability import (
    FORMAT,
    FORMAT_VERSION,
    IMPORT_ACTOR,
    InvalidExport,
    WorkspaceExists,
    export_workspace,
    import_workspace,
    parse_export,
    registered_sections,
)
from tests.factories import Account, register
from tests.ledger import Fold, Viewer, events_since, read_world
from tests.support import TEST_SECRET_KEY

Document = dict[str, Any]


async def post(
    client: httpx.AsyncClient, who: Account, path: str, body: Any = None, status: int = 201
) -> Any:
    response = await client.post(path, json=body, headers=who.headers)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def build_workspace(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> dict[str, str]:
    """Alice's workspace with a bit of everything; bob is a member. Returns a few task ids."""
    ws = alice.workspace_id
    await post(client, alice, f"/workspaces/{ws}/members", {"email": bob.email, "role": "member"})
    home = await post(client, alice, "/projects", {"name": "Home", "color": "#112233"})
    work = await post(client, alice, "/projects", {"name": "Work", "description": "day job"})
    archived = await client.patch(
        f"/projects/{work['id']}", json={"archived": True}, headers=alice.headers
    )
    assert archived.status_code == 200, archived.text
    await post(client, alice, "/tags", {"name": "Reading", "color": "#abcdef"})

    # Created before its parent, then moved under it: ids alone do not give parents first.
    child = await post(client, alice, "/tasks", {"title": "Buy paint"})
    paint = await post(
        client,
        alice,
        "/tasks",
        {
            "title": "Paint the fence",
            "project_id": home["id"],
            "priority": "high",
            "due": "2026-12-01",
            "tags": ["home", "Errands"],
            "estimate_minutes": 90,
            "assignee_id": bob.id,
            "reminders": [{"offset_minutes": 60}],
        },
    )
    moved = await client.patch(
        f"/tasks/{child['id']}", json={"parent_id": paint["id"]}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    await post(client, alice, "/tasks", {"title": "Brushes", "parent_id": child["id"]})
    report = await post(
        client,
        alice,
        "/tasks",
        {
            "title": "Write the report",
            "project_id": work["id"],
            "due": "2026-12-03T15:30:00+01:00",
            "start": "2026-12-01T09:00:00Z",
            "description": "quarterly numbers",
            "reminders": [{"at": "2026-12-03T08:00:00Z"}],
        },
    )
    await post(client, alice, f"/tasks/{report['id']}/dependencies", {"depends_on_id": paint["id"]})
    weekly = await post(
        client,
        alice,
        "/tasks",
        {
            "title": "Water plants",
            "due": "2026-11-30T08:00:00Z",
            "tags": ["home"],
            "recurrence": {"rule": "FREQ=WEEKLY;BYDAY=MO"},
            "reminders": [{"offset_minutes": 15}],
        },
    )
    await post(client, alice, "/tasks", {"title": "balcony", "parent_id": weekly["id"]})
    await post(client, alice, f"/tasks/{weekly['id']}/complete?cascade=true", status=200)
    await post(
        client, alice, "/tasks", {"title": "Stretch", "recurrence": {"text": "every! 3 days"}}
    )
    await post(
        client, alice, "/tasks", {"title": "Team sync", "recurrence": {"text": "every 2nd monday"}}
    )
    trashed = await post(client, alice, "/tasks", {"title": "Old idea", "tags": ["someday"]})
    deleted = await client.delete(f"/tasks/{trashed['id']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    await post(client, alice, f"/tasks/{report['id']}/timer/start")
    await post(client, alice, f"/tasks/{report['id']}/timer/stop", {"note": "first draft"}, 200)
    await post(client, bob, f"/tasks/{paint['id']}/timer/start")  # still running
    return {"paint": paint["id"], "child": child["id"], "report": report["id"]}


async def export(database: Database, workspace_id: str | uuid.UUID) -> Document:
    async with database.sessions() as session, session.begin():
        document = await export_workspace(session, workspace_id=uuid.UUID(str(workspace_id)))
    # Through real JSON: the document must be plain data.
    loaded: Document = orjson.loads(orjson.dumps(document))
    return loaded


async def import_(database: Database, document: Any, owner_email: str | None = None) -> Any:
    async with database.sessions() as session, session.begin():
        return await import_workspace(
            session, document=document, owner_email=owner_email, secret_key=TEST_SECRET_KEY
        )


async def wipe(database: Database, *, keep_users: list[str]) -> None:
    """Empty every table as the test cleanup does, then put back the named users, same ids."""
    users = metadata.tables["users"]
    async with database.engine.begin() as connection:
        saved = [
            dict(row)
            for row in (
                await connection.execute(select(users).where(users.c.email.in_(keep_users)))
            ).mappings()
        ]
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
        if connection.dialect.name == "sqlite":
            await connection.execute(text("DELETE FROM tasks_fts"))
        if saved:
            await connection.execute(insert(users), saved)


async def count(database: Database, table_name: str) -> int:
    table = metadata.tables[table_name]
    async with database.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


def rehome(document: Document) -> str:
    """Give the document's workspace (and every row in it) a new id; returns that id."""
    other = str(uuid.uuid4())
    for section in ("memberships", "projects", "tags", "tasks", "events"):
        for row in document[section]:
            row["workspace_id"] = other
    document["workspace"]["id"] = other
    return other


def without_timestamp(document: Document) -> Document:
    return {key: value for key, value in document.items() if key != "exported_at"}


async def test_round_trip_is_lossless(
    client: httpx.AsyncClient, database: Database, alice: Account, bob: Account
) -> None:
    ids = await build_workspace(client, alice, bob)
    before = await export(database, alice.workspace_id)

    assert before["format"] == FORMAT
    assert before["version"] == FORMAT_VERSION
    assert {m["user_email"]: m["role"] for m in before["memberships"]} == {
        alice.email: "owner",
        bob.email: "member",
    }
    tasks = {t["title"]: t for t in before["tasks"]}
    assert tasks["Old idea"]["deleted_at"] is not None
    assert tasks["Paint the fence"]["tag_names"] == ["home", "Errands"]
    assert tasks["Write the report"]["depends_on"] == [ids["paint"]]
    assert tasks["Stretch"]["recurrence_mode"] == "completion"
    occurrences = sorted(
        t["occurrence_number"] for t in before["tasks"] if t["title"] == "Water plants"
    )
    assert occurrences == [1, 2]
    assert [t["id"] for t in before["tasks"]] == sorted(t["id"] for t in before["tasks"])
    assert len(before["time_logs"]) == 2
    assert len(before["task_tags"]) >= 4
    assert before["dependencies"][0]["depends_on_id"] == ids["paint"]
    assert len(before["reminders"]) == 4  # paint, report, weekly and its next occurrence
    assert all(e["workspace_id"] == alice.workspace_id for e in before["events"])
    assert "position" not in before["events"][0]
    assert before["tasks"][0]["created_at"].endswith("Z")

    await wipe(database, keep_users=[alice.email, bob.email])
    assert await count(database, "tasks") == 0
    report = await import_(database, before)
    assert report.warnings == []
    assert report.counts["tasks"] == len(before["tasks"])
    assert report.counts["events"] == len(before["events"])

    after = await export(database, alice.workspace_id)
    # The history comes back as it was; after it, the import's own `*.created` events.
    history = len(before["events"])
    assert after["events"][:history] == before["events"]
    assert {event["actor"] for event in after["events"][history:]} == {IMPORT_ACTOR}
    assert without_timestamp({**after, "events": before["events"]}) == without_timestamp(before)

    # The imported workspace works through the API as before (tokens are stateless).
    got = await client.get(f"/tasks/{ids['child']}", headers=alice.headers)
    assert got.status_code == 200, got.text
    assert got.json()["parent_id"] == ids["paint"]
    found = await client.get("/tasks", params={"q": "fence"}, headers=alice.headers)
    assert [t["id"] for t in found.json()["items"]] == [ids["paint"]]
    history = await client.get(f"/tasks/{ids['report']}/history", headers=alice.headers)
    assert history.status_code == 200
    assert len(history.json()["items"]) >= 3


async def test_every_imported_object_has_its_creation_event_parents_first(
    client: httpx.AsyncClient, database: Database, alice: Account, bob: Account
) -> None:
    await build_workspace(client, alice, bob)
    document = await export(database, alice.workspace_id)
    await wipe(database, keep_users=[alice.email, bob.email])
    since = datetime.now(UTC)

    await import_(database, document)

    made = await events_since(database.engine, since=since, seen=set())
    assert made, "the import wrote no events"
    assert {event.workspace_id for event in made} == {alice.workspace_id}
    expected = {
        ("haven.workspace.created", f"workspaces/{alice.workspace_id}"),
        *(
            ("haven.member.added", f"workspaces/{alice.workspace_id}/members/{m['user_id']}")
            for m in document["memberships"]
        ),
        *(("haven.project.created", f"projects/{p['id']}") for p in document["projects"]),
        *(("haven.tag.created", f"tags/{t['id']}") for t in document["tags"]),
        *(("haven.task.created", f"tasks/{t['id']}") for t in document["tasks"]),
    }
    births = [(event.type, event.subject) for event in made if event.type in dict(expected)]
    assert sorted(births) == sorted(expected)  # each exactly once
    reminders = [event.data["reminder"]["id"] for event in made if event.kind == "reminder"]
    assert sorted(reminders) == sorted(r["id"] for r in document["reminders"])
    logs = [event.data["time_log"]["id"] for event in made if event.type == "haven.timer.started"]
    assert sorted(logs) == sorted(log["id"] for log in document["time_logs"])

    # In replay order, nothing comes before what it belongs to.
    position = {(event.type, event.subject): n for n, event in enumerate(made)}
    first_task = min(
        position[("haven.task.created", f"tasks/{t['id']}")] for t in document["tasks"]
    )
    assert position[("haven.workspace.created", f"workspaces/{alice.workspace_id}")] == 0
    assert max(position[key] for key in expected if key[0] != "haven.task.created") < first_task
    for task in document["tasks"]:
        if task["parent_id"] is not None:
            parent = position[("haven.task.created", f"tasks/{task['parent_id']}")]
            assert parent < position[("haven.task.created", f"tasks/{task['id']}")]
    task_created = {
        event.subject: n for n, event in enumerate(made) if event.type.endswith("task.created")
    }
    for n, event in enumerate(made):
        if event.kind in ("reminder", "timer"):
            assert task_created[event.subject] < n

    # Folded, the import's events alone give back every object as the API shows it.
    fold = Fold()
    problems = [problem for event in made for problem in fold.apply(event)]
    viewers = [
        Viewer(name=account.email, user_id=account.id, headers=account.headers)
        for account in (alice, bob)
    ]
    world, _ = await read_world(client, viewers, reminder_tasks=[], timer_tasks=[])
    assert {key[0] for key in world} >= {"workspace", "project", "tag", "task"}
    assert problems + fold.disagreements(world) == []


async def test_import_matches_users_by_email_and_skips_missing_ones(
    client: httpx.AsyncClient, database: Database, alice: Account, bob: Account
) -> None:
    ids = await build_workspace(client, alice, bob)
    document = await export(database, alice.workspace_id)
    await wipe(database, keep_users=[alice.email])
    carol = await register(client, email="carol@example.com")

    report = await import_(database, document, owner_email="CAROL@example.com")

    assert any(bob.email in warning for warning in report.warnings)
    assert report.counts["time_logs"] == 1  # bob's running timer went with him
    after = await export(database, alice.workspace_id)
    assert {m["user_email"]: m["role"] for m in after["memberships"]} == {
        alice.email: "owner",
        carol.email: "owner",
    }
    paint = next(t for t in after["tasks"] if t["id"] == ids["paint"])
    assert paint["assignee_id"] is None
    assert paint["created_by"] == alice.id
    got = await client.get(f"/tasks/{ids['paint']}", headers=carol.headers)
    assert got.status_code == 200, got.text


async def test_import_into_a_user_with_a_personal_workspace_makes_it_shared(
    client: httpx.AsyncClient, database: Database, alice: Account, bob: Account
) -> None:
    await build_workspace(client, alice, bob)
    document = await export(database, alice.workspace_id)
    new_workspace = rehome(document)
    await wipe(database, keep_users=[])
    again = await register(client, email=alice.email)  # a fresh account, its own workspace

    report = await import_(database, document)

    assert any("personal workspace" in warning for warning in report.warnings)
    workspaces = (await client.get("/workspaces", headers=again.headers)).json()["items"]
    assert [w["is_personal"] for w in workspaces if w["id"] == new_workspace] == [False]
    assert [w["id"] for w in workspaces if w["is_personal"]] == [again.workspace_id]


async def test_import_of_an_existing_workspace_fails_and_writes_nothing(
    client: httpx.AsyncClient, database: Database, alice: Account, bob: Account
) -> None:
    await build_workspace(client, alice, bob)
    document = await export(database, alice.workspace_id)
    tasks_before, events_before = await count(database, "tasks"), await count(database, "events")

    with pytest.raises(WorkspaceExists, match="already exists"):
        await import_(database, document)

    # Same rows under another workspace id: the task ids still clash.
    moved = copy.deepcopy(document)
    rehome(moved)
    with pytest.raises(WorkspaceExists, match="ids already exist"):
        await import_(database, moved)

    assert await count(database, "tasks") == tasks_before
    assert await count(database, "events") == events_before
    assert await count(database, "workspaces") == 2


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(key: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        del document[key]

    return change


MALFORMED: dict[str, tuple[Callable[[Document], None], str]] = {
    "wrong format": (_set(("format",), "something-else"), "not a Haven workspace export"),
    "future version": (_set(("version",), 99), "version 99 is not supported"),
    "section missing": (_drop("tasks"), "'tasks' must be a list"),
    "newer section in an older version": (
        _set(("version",), 3),
        "'saved_searches' is not part of export format version 3",
    ),
    "version not a number": (_set(("version",), "2"), "is not supported"),
    "bad uuid": (_set(("tasks", 0, "id"), "not-a-uuid"), r"tasks\[0\]\.id"),
    "naive instant": (_set(("tasks", 0, "created_at"), "2026-01-01T10:00:00"), "no UTC offset"),
    "null title": (_set(("tasks", 0, "title"), None), "must not be null"),
    "wrong type": (_set(("tasks", 0, "priority"), "high"), "expected an integer"),
    "unknown field": (_set(("projects", 0, "colour"), "red"), "unknown field"),
    "dangling parent": (
        _set(("tasks", 0, "parent_id"), str(uuid.uuid4())),
        "is not in the document",
    ),
    "foreign row": (_set(("tags", 0, "workspace_id"), str(uuid.uuid4())), "another workspace"),
}


async def test_an_export_of_format_version_1_still_imports(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    """A backup written before webhooks existed (version 1, no webhook sections) imports
    as a workspace without webhooks."""
    await post(client, alice, "/tasks", {"title": "Paint", "tags": ["home"]})
    document = await export(database, alice.workspace_id)
    older = as_version(document, 1)
    await wipe(database, keep_users=[alice.email])

    report = await import_(database, older)

    assert report.counts["tasks"] == 1
    assert await count(database, "webhook_endpoints") == 0
    listed = await client.get("/tasks", headers=alice.headers)
    assert [task["title"] for task in listed.json()["items"]] == ["Paint"]


def as_version(document: dict[str, Any], version: int) -> dict[str, Any]:
    """The document as an older Haven wrote it: without the sections and columns added
    after `version`."""
    older = {
        key: copy.deepcopy(value)
        for key, value in document.items()
        if all(section.key != key or section.since <= version for section in registered_sections())
    }
    older["version"] = version
    for section in registered_sections():
        for name, since in section.column_since.items():
            for row in older.get(section.key, []):
                if since > version:
                    del row[name]
    return older


async def test_an_export_of_format_version_2_orders_its_projects_by_creation(
    client: httpx.AsyncClient, database: Database, alice: Account
) -> None:
    """Projects had no position before version 3: they import in the order they were made."""
    for name in ("First", "Second", "Third"):
        await post(client, alice, "/projects", {"name": name})
    document = await export(database, alice.workspace_id)
    older = as_version(document, 2)
    await wipe(database, keep_users=[alice.email])

    await import_(database, older)

    listed = await client.get("/projects", headers=alice.headers)
    assert [p["name"] for p in listed.json()["items"]] == ["First", "Second", "Third"]
    with_position = copy.deepcopy(older)
    with_position["projects"][0]["position"] = 1
    await wipe(database, keep_users=[alice.email])
    with pytest.raises(InvalidExport, match="unknown field"):
        await import_(database, with_position)


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_documents_are_refused_cleanly(
    client: httpx.AsyncClient, database: Database, alice: Account, case: str
) -> None:
    project = await post(client, alice, "/projects", {"name": "Home"})
    await post(
        client, alice, "/tasks", {"title": "Paint", "project_id": project["id"], "tags": ["x"]}
    )
    document = await export(database, alice.workspace_id)
    await wipe(database, keep_users=[alice.email])
    change, message = MALFORMED[case]
    broken = copy.deepcopy(document)
    change(broken)

    with pytest.raises(InvalidExport, match=message):
        await import_(database, broken)

    assert await count(database, "workspaces") == 0
    assert await count(database, "tasks") == 0


@pytest.mark.parametrize("value", [None, [], "text", {"format": FORMAT}])
def test_documents_that_are_not_exports_are_refused(value: Any) -> None:
    with pytest.raises(InvalidExport):
        parse_export(value)


def test_a_parent_cycle_is_refused() -> None:
    first, second, workspace = (str(uuid.uuid4()) for _ in range(3))
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": "2026-01-01T00:00:00Z",
        "workspace": {
            "id": workspace,
            "name": "w",
            "is_personal": False,
            "created_by": None,
            "deleted_at": None,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "version": 1,
        },
        "users": [],
        **{section.key: [] for section in registered_sections() if not section.root},
        "tasks": [_task(first, workspace, parent=second), _task(second, workspace, parent=first)],
    }
    with pytest.raises(InvalidExport, match="its own ancestor"):
        parse_export(document)


def _task(task_id: str, workspace_id: str, *, parent: str) -> dict[str, Any]:
    row: dict[str, Any] = {column.name: None for column in metadata.tables["tasks"].columns}
    row.update(
        id=task_id,
        workspace_id=workspace_id,
        parent_id=parent,
        title="t",
        description="",
        status="todo",
        priority=0,
        progress=0,
        due_is_date=False,
        start_is_date=False,
        timezone="UTC",
        tag_names=[],
        depends_on=[],
        occurrence_number=1,
        version=1,
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    return row


async def test_export_of_an_unknown_workspace_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound):
        await export(database, uuid.uuid4())
