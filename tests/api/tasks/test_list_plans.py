"""A page of tasks reads about a page of rows, however many tasks the workspace holds.

PostgreSQL only: the plans are read with EXPLAIN (ANALYZE, FORMAT JSON) on a workspace of
20,000 tasks, for every sort (both directions, first page and a page deep in the list) and
every filter, common and rare, as custom plans (the values known to the planner). Rows
read counts what the scans of `tasks` returned or threw away. On SQLite: that each sort is
read through its index, with no sort step.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from haven.db.session import Database
from haven.tags import service as tags_service
from haven.tasks import repository as repo
from haven.tasks.lists import TaskFilters, cursor_values, decode_cursor_values, parse_sort
from haven.workspaces.access import visible_workspace_ids
from tests.factories import Account, make_task

ON_POSTGRES = os.environ.get("HAVEN_TEST_DATABASE") == "postgres"  # as conftest decides
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="reads PostgreSQL plans")
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="reads SQLite plans")

TASKS = 20_000
PAGE = 51  # the API fetches one more than its default page of 50
MOST_ROWS = 5 * PAGE + 20
SORTS = ["created_at", "updated_at", "priority", "progress", "due", "start", "title"]

# i runs 1..TASKS: each filter gets a common value and a rare one.
SEED_TASKS = """
INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority,
                   progress, due_at, due_is_date, start_at, start_is_date, timezone,
                   assignee_id, tag_names, depends_on, occurrence_number, deleted_at,
                   created_at, updated_at, version)
SELECT gen_random_uuid(), :workspace,
       CASE WHEN :big AND i % 5 < 2 THEN CAST(:common_project AS uuid)
            WHEN :big AND i % 2000 = 3 THEN CAST(:rare_project AS uuid) END,
       'task ' || i || CASE WHEN i % 2 = 0 THEN ' alpha' ELSE ' beta' END
                    || CASE WHEN i % 4000 = 11 THEN ' zebra' ELSE '' END,
       '',
       CASE WHEN i % 1000 = 7 THEN 'blocked' WHEN i % 10 < 7 THEN 'todo' ELSE 'done' END,
       i % 5, (i * 7) % 101,
       CASE WHEN i % 10 < 3 THEN NULL
            ELSE timestamptz '2026-01-01 00:00+00' + ((i * 7919) % 40000) * interval '1 hour'
       END,
       false,
       CASE WHEN i % 10 < 6 THEN NULL
            ELSE timestamptz '2025-06-01 00:00+00' + ((i * 104729) % 50000) * interval '1 hour'
       END,
       false, 'UTC',
       CASE WHEN i % 7 < 2 THEN CAST(:common_user AS uuid)
            WHEN i % 2500 = 5 THEN CAST(:rare_user AS uuid) END,
       '[]', '[]', 1,
       CASE WHEN i % 100 = 50 THEN now() END,
       timestamptz '2024-01-01 00:00+00' + i * interval '1 second',
       timestamptz '2024-01-01 00:00+00' + ((i * 15485863) % 31000000) * interval '1 second',
       1
FROM generate_series(CAST(1 AS bigint), :n) AS i
"""
SEED_TAGS = """
INSERT INTO tags (id, workspace_id, name, name_key, created_at, updated_at, version)
VALUES (:common_tag, :workspace, 'Work', 'work', now(), now(), 1),
       (:rare_tag, :workspace, 'Rare', 'rare', now(), now(), 1)
"""
TAG_TASKS = """
INSERT INTO task_tags (task_id, tag_id)
SELECT id, CASE WHEN n % 2000 = 1 THEN CAST(:rare_tag AS uuid) ELSE CAST(:common_tag AS uuid) END
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tasks
      WHERE workspace_id = :workspace) AS numbered
WHERE n % 2 = 0 OR n % 2000 = 1
"""
SECOND_WORKSPACE = (
    """INSERT INTO workspaces (id, name, is_personal, created_at, updated_at, version)
    VALUES (:workspace, 'Second', false, now(), now(), 1)""",
    """INSERT INTO memberships (workspace_id, user_id, role, created_at, updated_at)
    VALUES (:workspace, :user, 'member', now(), now())""",
)
# A hundred more tags of about 200 tasks each, as a workspace has: the planner's guess of
# a tag's tasks (it cannot know which tag) is the average over the tags.
OTHER_TAGS = """
INSERT INTO tags (id, workspace_id, name, name_key, created_at, updated_at, version)
SELECT gen_random_uuid(), CAST(:workspace AS uuid), 'other' || n, 'other' || n, now(), now(), 1
FROM generate_series(1, 100) AS n
"""
OTHER_TAG_TASKS = """
INSERT INTO task_tags (task_id, tag_id)
SELECT t.id, g.id
FROM tasks AS t
JOIN tags AS g ON g.workspace_id = t.workspace_id
 AND g.name_key = 'other' || (1 + abs(hashtext(t.id::text)) % 100)
WHERE t.workspace_id = CAST(:workspace AS uuid) AND abs(hashtext(t.id::text)) % 25 = 3
"""
SEED_PROJECTS = """
INSERT INTO projects (id, workspace_id, name, description, archived, position, created_at,
                      updated_at, version)
VALUES (:common_project, :workspace, 'Common', '', false, 1024, now(), now(), 1),
       (:rare_project, :workspace, 'Rare', '', false, 2048, now(), now(), 1)
"""


class Statements:
    """The statements the engine sends while `on`, with their driver parameters."""

    def __init__(self, database: Database) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.on = False
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._hook)
        self._engine = database.engine.sync_engine

    def _hook(self, conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if self.on:
            self.sent.append((statement, params))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._hook)

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        self.sent = []
        self.on = True
        try:
            yield self.sent
        finally:
            self.on = False


def rows_read(plan: dict[str, Any], table: str = "tasks") -> int:
    """Rows the scans of `table` produced or threw away, over all their loops."""
    total = 0
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Relation Name") == table:
            produced = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            produced += node.get("Rows Removed by Index Recheck", 0)
            total += produced * node.get("Actual Loops", 1)
        stack.extend(node.get("Plans", []))
    return total


async def explain(connection: AsyncConnection, statement: str, params: Any) -> dict[str, Any]:
    sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + statement
    value = (await connection.exec_driver_sql(sql, tuple(params))).scalar_one()
    (plan,) = json.loads(value) if isinstance(value, str) else value
    top: dict[str, Any] = plan["Plan"]
    return top


@pytest.fixture
async def big(client: httpx.AsyncClient, alice: Account, bob: Account, database: Database) -> Any:
    """alice's workspace with TASKS tasks (her tag, projects, bob assigned to a few).

    She is also in a second workspace of 10 tasks: each workspace she sees is read on its
    own, and the small one must not read through the big one's project, tag or assignee.
    """
    ids = {
        "workspace": uuid.UUID(alice.workspace_id),
        "common_user": uuid.UUID(alice.id),
        "rare_user": uuid.UUID(bob.id),
        "common_project": uuid.uuid4(),
        "rare_project": uuid.uuid4(),
        "common_tag": uuid.uuid4(),
        "rare_tag": uuid.uuid4(),
    }
    async with database.engine.begin() as connection:
        await connection.execute(text(SEED_PROJECTS), ids)
        await connection.execute(text(SEED_TASKS), {**ids, "n": TASKS, "big": True})
        other = {**ids, "workspace": uuid.uuid4(), "n": 10, "big": False}
        for statement in SECOND_WORKSPACE:
            await connection.execute(text(statement), {**other, "user": ids["common_user"]})
        await connection.execute(text(SEED_TASKS), other)
        await connection.execute(text(SEED_TAGS), ids)
        await connection.execute(text(TAG_TASKS), ids)
        await connection.execute(text(OTHER_TAGS), ids)
        await connection.execute(text(OTHER_TAG_TASKS), ids)
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))
    await make_task(client, bob, title="bob's only task")
    return ids


async def _list(
    connection: AsyncConnection,
    viewer: uuid.UUID,
    filters: TaskFilters,
    sort: str | None,
    after: list[Any] | None = None,
    limit: int = PAGE,
) -> Any:
    return await repo.list_tasks(
        AsyncSession(bind=connection),
        viewer_id=viewer,
        workspace_ids_for=visible_workspace_ids,
        tag_is_named=tags_service.is_named,
        filters=filters,
        sort=parse_sort(sort),
        after=after,
        limit=limit,
    )


@postgres_only
async def test_a_page_reads_about_a_page_of_rows(
    big: dict[str, uuid.UUID], alice: Account, bob: Account, database: Database
) -> None:
    alice_id = uuid.UUID(alice.id)
    day = datetime(2026, 6, 1, tzinfo=UTC)
    cases: list[tuple[str, uuid.UUID, TaskFilters, str | None, bool]] = []
    for field in SORTS:
        for order in (field, "-" + field):
            cases.append((f"sort {order}", alice_id, TaskFilters(), order, False))
            cases.append((f"sort {order}, deep", alice_id, TaskFilters(), order, True))
    filters = {
        "workspace": TaskFilters(workspace_id=big["workspace"]),
        "status common": TaskFilters(statuses=("todo",)),
        "status rare": TaskFilters(statuses=("blocked",)),
        "status rare and common": TaskFilters(statuses=("blocked", "todo")),
        "priority": TaskFilters(priorities=(4,)),
        "project common": TaskFilters(project_id=big["common_project"]),
        "project rare": TaskFilters(project_id=big["rare_project"]),
        "assignee common": TaskFilters(assignee_id=alice_id),
        "assignee rare": TaskFilters(assignee_id=uuid.UUID(bob.id)),
        "tag common": TaskFilters(tag="work"),
        "tag rare": TaskFilters(tag="rare"),
        "due before (most)": TaskFilters(due_before=datetime(2031, 1, 1, tzinfo=UTC)),
        "due in a day (few)": TaskFilters(due_after=day, due_before=day.replace(day=2)),
        "top-level": TaskFilters(top_level_only=True),
        "q common": TaskFilters(q="alpha"),
        "q rare": TaskFilters(q="zebra"),
        "q and tag": TaskFilters(q="alpha", tag="rare"),
    }
    for name, task_filters in filters.items():
        cases.append((name, alice_id, task_filters, None, False))
        cases.append((f"{name}, -due", alice_id, task_filters, "-due", False))
    cases.append(("small workspace beside", uuid.UUID(bob.id), TaskFilters(), None, False))
    cases.append(("small workspace, -due", uuid.UUID(bob.id), TaskFilters(), "-due", False))

    statements = Statements(database)
    failures: list[str] = []
    async with database.engine.connect() as connection:
        for name, viewer, task_filters, sort, deep in cases:
            after = None
            if deep:
                rows = await _list(connection, viewer, task_filters, sort, limit=5000)
                keys = parse_sort(sort)
                after = decode_cursor_values(cursor_values(rows[-1], keys), keys)
            with statements.recording() as sent:
                rows = await _list(connection, viewer, task_filters, sort, after)
            *probes, (statement, params) = sent
            plan = await explain(connection, statement, params)
            read = rows_read(plan)
            if read > MOST_ROWS:
                failures.append(f"{name}: {read} rows read for {len(rows)}")
            # A tag's or a search's probe reads up to RARE_MATCHES links (each task twice).
            for probe, probe_params in probes:
                probe_plan = await explain(connection, probe, probe_params)
                probe_read = rows_read(probe_plan) + rows_read(probe_plan, "task_tags")
                if probe_read > 4 * repo.RARE_MATCHES:
                    failures.append(f"{name}: its probe read {probe_read} rows")
            await connection.rollback()
    statements.close()
    assert failures == [], "\n".join(failures)


@postgres_only
async def test_rare_and_common_filters_list_the_same_tasks_as_the_whole_list(
    big: dict[str, uuid.UUID], alice: Account, database: Database
) -> None:
    """The rare-match path (read by id) answers what filtering the whole list answers."""
    alice_id = uuid.UUID(alice.id)
    async with database.engine.connect() as connection:
        for tag, q in (("rare", None), (None, "zebra"), ("rare", "alpha"), ("work", "zebra")):
            filters = TaskFilters(tag=tag, q=q)
            for sort in (None, "-due", "title"):
                rows = await _list(connection, alice_id, filters, sort, limit=200)
                expected = await connection.execute(
                    text(
                        "SELECT t.id FROM tasks t WHERE t.workspace_id = :w"
                        " AND t.deleted_at IS NULL"
                        " AND (CAST(:tag AS text) IS NULL OR EXISTS (SELECT 1 FROM task_tags tt"
                        "  JOIN tags g ON g.id = tt.tag_id"
                        "  WHERE tt.task_id = t.id AND g.name_key = :tag))"
                        " AND (CAST(:q AS text) IS NULL OR t.title LIKE '%' || :q || '%')"
                    ),
                    {"w": big["workspace"], "tag": tag, "q": q},
                )
                assert {row.id for row in rows} == set(expected.scalars()), (tag, q, sort)


@sqlite_only
async def test_sqlite_reads_a_workspace_in_the_order_of_the_sorts_index(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    """Each sort's index, whose expression must equal the query's (dates: a constant)."""
    for i in range(3):
        await make_task(client, alice, title=f"t{i}", due=None if i else "2026-12-01")
    statements = Statements(database)
    async with database.engine.connect() as connection:
        for field in SORTS:
            for sort in (field, "-" + field):
                rows = await _list(connection, uuid.UUID(alice.id), TaskFilters(), sort, limit=2)
                keys = parse_sort(sort)
                after = decode_cursor_values(cursor_values(rows[-1], keys), keys)
                for resume in (None, after):
                    with statements.recording() as sent:
                        await _list(connection, uuid.UUID(alice.id), TaskFilters(), sort, resume)
                    statement, params = sent[-1]
                    plan = await connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, params
                    )
                    steps = " | ".join(str(row[-1]) for row in plan)
                    index = "ix_tasks_live_" + field
                    if field in ("due", "start") and sort.startswith("-"):
                        index += "_desc"
                    assert f"USING INDEX {index} " in steps, (sort, steps)
                    assert "TEMP B-TREE" not in steps, (sort, steps)
    statements.close()


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_list_statements_stay_in_the_compiled_cache(dialect: str) -> None:
    """An uncacheable element (say, the empty-date constant) would recompile every page."""
    for sort in ("due", "-start,title", "-priority"):
        shape = repo._ListShape(
            workspace_ids_for=visible_workspace_ids,
            tag_is_named=tags_service.is_named,
            dialect=dialect,
            sort=tuple(parse_sort(sort)),
            deleted=False,
            with_after=True,
            workspace=False,
            project=True,
            statuses=True,
            priorities=True,
            assignee=True,
            parent=False,
            top_level_only=True,
            no_project=False,
            due_before=True,
            due_after=True,
            tag=True,
            search=True,
            rare=dialect == "postgresql",
        )
        assert repo._list_statement(shape)._generate_cache_key() is not None, sort


@postgres_only
async def test_pooled_connections_plan_each_execution_for_its_values(database: Database) -> None:
    """A generic plan cannot tell a rare project or word from a common one: under it, a
    page of a rare project read 500-850 ms in a 250k-task workspace. The engine asks
    PostgreSQL for custom plans on every connection it opens."""
    async with database.engine.connect() as connection:
        mode = await connection.scalar(text("SHOW plan_cache_mode"))
    assert mode == "force_custom_plan"
