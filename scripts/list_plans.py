"""What a page of GET /tasks costs in a big workspace: ms per page and rows read, per case.

Seeds (once) a PostgreSQL database with one 250k-task workspace (its member also has a
10-task personal workspace) and, beside it, a user whose only workspace holds one task;
then runs the task-list statement of haven.tasks.repository for each sort (both
directions), each filter, a deep page (resumed from a cursor) and `q=` with a common and a
rare word, and prints per case: the median ms per page (the statement as the API runs it,
on one connection, no HTTP), the execution time and the rows read from `tasks` by
EXPLAIN (ANALYZE, BUFFERS), and the shared buffers touched.

Usage:
  .venv/bin/python scripts/list_plans.py [--url postgresql+asyncpg://...] [--tasks 250000]
      [--repeat 15] [--only SUBSTRING] [--plan CASE] [--generic]

The database is created (and migrated to head) when missing and seeded when empty; run it
again after a migration to compare. --plan prints the whole plan of one case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from haven.db.migrate import upgrade
from haven.tags import service as tags_service
from haven.tasks import repository as repo
from haven.tasks.lists import (
    SortKey,
    TaskFilters,
    cursor_values,
    decode_cursor_values,
    parse_sort,
)
from haven.workspaces.access import visible_workspace_ids

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/haven_list_plans"
LIMIT = 51  # the API fetches one more than the page of 50

BIG_USER = uuid.UUID("00000000-0000-4000-8000-00000000b001")
SMALL_USER = uuid.UUID("00000000-0000-4000-8000-00000000b002")
RARE_USER = uuid.UUID("00000000-0000-4000-8000-00000000b003")
BIG_WS = uuid.UUID("00000000-0000-4000-8000-00000000c001")
PERSONAL_WS = uuid.UUID("00000000-0000-4000-8000-00000000c002")
SMALL_WS = uuid.UUID("00000000-0000-4000-8000-00000000c003")
COMMON_PROJECT = uuid.UUID("00000000-0000-4000-8000-00000000d001")
RARE_PROJECT = uuid.UUID("00000000-0000-4000-8000-00000000d002")
COMMON_TAG = uuid.UUID("00000000-0000-4000-8000-00000000e001")
RARE_TAG = uuid.UUID("00000000-0000-4000-8000-00000000e002")

SEED = """
INSERT INTO users (id, email, name, password_hash, timezone, is_active, is_superuser, digest,
                   created_at, updated_at, version)
VALUES (:big_user, 'big@example.com', 'Big', NULL, 'UTC', true, false, '{}', now(), now(), 1),
       (:small_user, 'small@example.com', 'Small', NULL, 'UTC', true, false, '{}', now(), now(), 1),
       (:rare_user, 'rare@example.com', 'Rare', NULL, 'UTC', true, false, '{}', now(), now(), 1);
INSERT INTO workspaces (id, name, is_personal, created_by, created_at, updated_at, version)
VALUES (:big_ws, 'Big', false, :big_user, now(), now(), 1),
       (:personal_ws, 'Personal', true, :big_user, now(), now(), 1),
       (:small_ws, 'Small', true, :small_user, now(), now(), 1);
INSERT INTO memberships (workspace_id, user_id, role, created_at, updated_at)
VALUES (:big_ws, :big_user, 'owner', now(), now()),
       (:personal_ws, :big_user, 'owner', now(), now()),
       (:big_ws, :rare_user, 'member', now(), now()),
       (:small_ws, :small_user, 'owner', now(), now());
INSERT INTO projects (id, workspace_id, name, description, archived, created_at, updated_at,
                      version)
VALUES (:common_project, :big_ws, 'Common', '', false, now(), now(), 1),
       (:rare_project, :big_ws, 'Rare', '', false, now(), now(), 1);
INSERT INTO tags (id, workspace_id, name, name_key, created_at, updated_at, version)
VALUES (:common_tag, :big_ws, 'Work', 'work', now(), now(), 1),
       (:rare_tag, :big_ws, 'Rare', 'rare', now(), now(), 1);
"""

# i runs 1..n; the columns are spread so that each filter has a common and a rare value.
SEED_TASKS = """
INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority, progress,
                   due_at, due_is_date, start_at, start_is_date, timezone, assignee_id,
                   tag_names, depends_on, occurrence_number, deleted_at, created_by,
                   created_at, updated_at, version)
SELECT gen_random_uuid(), CAST(:ws AS uuid),
       CASE WHEN :big AND i % 5 < 2 THEN CAST(:common_project AS uuid)
            WHEN :big AND i % 12500 = 3 THEN CAST(:rare_project AS uuid) END,
       'task ' || i || CASE WHEN i % 2 = 0 THEN ' alpha' ELSE ' beta' END
                    || CASE WHEN i % 50000 = 11 THEN ' zebra' ELSE '' END,
       CASE WHEN i % 3 = 0 THEN 'some longer description of task ' || i ELSE '' END,
       CASE WHEN i % 100 = 7 THEN 'blocked' WHEN i % 10 < 7 THEN 'todo'
            WHEN i % 10 < 9 THEN 'in_progress' ELSE 'done' END,
       i % 5, (i * 7) % 101,
       CASE WHEN i % 10 < 3 THEN NULL
            ELSE timestamptz '2026-01-01 00:00+00' + ((i * 7919) % 400000) * interval '1 minute'
       END,
       false,
       CASE WHEN i % 10 < 6 THEN NULL
            ELSE timestamptz '2025-06-01 00:00+00' + ((i * 104729) % 500000) * interval '1 minute'
       END,
       false, 'UTC',
       CASE WHEN i % 10 < 3 THEN CAST(:big_user AS uuid)
            WHEN i % 25000 = 5 THEN CAST(:rare_user AS uuid) END,
       '[]', '[]', 1,
       CASE WHEN i % 100 = 50 THEN now() END,
       CAST(:big_user AS uuid),
       timestamptz '2024-01-01 00:00+00' + i * interval '1 second',
       timestamptz '2024-01-01 00:00+00' + ((i * 15485863) % 31000000) * interval '1 second',
       1
FROM generate_series(CAST(1 AS bigint), :n) AS i;
"""

SEED_TAGS = """
INSERT INTO task_tags (task_id, tag_id)
SELECT id, CASE WHEN (('x' || substr(md5(id::text), 1, 8))::bit(32)::int) % 25000 = 0
                THEN CAST(:rare_tag AS uuid) ELSE CAST(:common_tag AS uuid) END
FROM tasks
WHERE workspace_id = CAST(:big_ws AS uuid)
  AND (((('x' || substr(md5(id::text), 1, 8))::bit(32)::int) % 2 = 0)
       OR (('x' || substr(md5(id::text), 1, 8))::bit(32)::int) % 25000 = 0);
"""


# A hundred more tags of about 200 tasks each, as a workspace has: the planner's guess of
# a tag's tasks (it cannot know which tag) is the average over the tags.
OTHER_TAGS = """
INSERT INTO tags (id, workspace_id, name, name_key, created_at, updated_at, version)
SELECT gen_random_uuid(), CAST(:big_ws AS uuid), 'other' || n, 'other' || n, now(), now(), 1
FROM generate_series(1, 100) AS n
"""
OTHER_TAG_TASKS = """
INSERT INTO task_tags (task_id, tag_id)
SELECT t.id, g.id
FROM tasks AS t
JOIN tags AS g ON g.workspace_id = t.workspace_id
 AND g.name_key = 'other' || (1 + abs(hashtext(t.id::text)) % 100)
WHERE t.workspace_id = CAST(:big_ws AS uuid) AND abs(hashtext(t.id::text)) % 25 = 3
"""


@dataclass
class Case:
    name: str
    viewer: uuid.UUID
    filters: TaskFilters = field(default_factory=TaskFilters)
    sort: str | None = None
    deep: bool = False  # resume after the 5,000th row (a cursor taken from a first pass)


def cases() -> list[Case]:
    found: list[Case] = []
    for name in ("created_at", "updated_at", "priority", "progress", "due", "start", "title"):
        for prefix in ("", "-"):
            found.append(Case(f"sort {prefix}{name}", BIG_USER, sort=prefix + name))
    found += [
        Case("deep page created_at", BIG_USER, deep=True),
        Case("deep page -due", BIG_USER, sort="-due", deep=True),
        Case("deep page title", BIG_USER, sort="title", deep=True),
        Case("deep page -priority", BIG_USER, sort="-priority", deep=True),
        Case("sort due,-priority", BIG_USER, sort="due,-priority"),
        Case("sort -priority,due", BIG_USER, sort="-priority,due"),
        Case("workspace filter", BIG_USER, TaskFilters(workspace_id=BIG_WS)),
        Case("status todo (70%)", BIG_USER, TaskFilters(statuses=("todo",))),
        Case("status blocked (1%)", BIG_USER, TaskFilters(statuses=("blocked",))),
        Case("status todo+blocked", BIG_USER, TaskFilters(statuses=("todo", "blocked"))),
        Case("status blocked+done (11%)", BIG_USER, TaskFilters(statuses=("blocked", "done"))),
        Case("priority urgent", BIG_USER, TaskFilters(priorities=(4,))),
        Case("project common (40%)", BIG_USER, TaskFilters(project_id=COMMON_PROJECT)),
        Case("project rare (20)", BIG_USER, TaskFilters(project_id=RARE_PROJECT)),
        Case(
            "project rare, sort -due",
            BIG_USER,
            TaskFilters(project_id=RARE_PROJECT),
            sort="-due",
        ),
        Case("assignee common (30%)", BIG_USER, TaskFilters(assignee_id=BIG_USER)),
        Case("assignee rare (10)", BIG_USER, TaskFilters(assignee_id=RARE_USER)),
        Case("tag common (50%)", BIG_USER, TaskFilters(tag="work")),
        Case("tag rare (~10)", BIG_USER, TaskFilters(tag="rare")),
        Case(
            "due window (1 day)",
            BIG_USER,
            TaskFilters(due_before=_at(2026, 3, 2), due_after=_at(2026, 3, 1)),
        ),
        Case("due before far", BIG_USER, TaskFilters(due_before=_at(2027, 1, 1))),
        Case("top-level only", BIG_USER, TaskFilters(top_level_only=True)),
        Case("q common (alpha, 50%)", BIG_USER, TaskFilters(q="alpha")),
        Case("q rare (zebra, 5)", BIG_USER, TaskFilters(q="zebra")),
        Case("q common, sort -due", BIG_USER, TaskFilters(q="alpha"), sort="-due"),
        Case("small workspace beside", SMALL_USER),
        Case("small workspace, -due", SMALL_USER, sort="-due"),
        Case("trash", BIG_USER, TaskFilters(deleted=True)),
    ]
    return found


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


class Capture:
    """Keeps the last statement (and its driver parameters) the engine sent."""

    def __init__(self, engine: Engine) -> None:
        self.statement = ""
        self.params: Any = ()
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        self.statement, self.params = statement, params

    async def explain(self, connection: AsyncConnection) -> dict[str, Any]:
        sql = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + self.statement
        result = await connection.exec_driver_sql(sql, tuple(self.params))
        value = result.scalar_one()
        (plan,) = json.loads(value) if isinstance(value, str) else value
        return dict(plan)


def rows_read(plan: dict[str, Any], table: str = "tasks") -> int:
    """Rows the plan's scans of `table` produced or threw away, over all their loops."""
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


async def page(connection: AsyncConnection, case: Case, after: list[Any] | None) -> Any:
    session = AsyncSession(bind=connection)
    return await repo.list_tasks(
        session,
        viewer_id=case.viewer,
        workspace_ids_for=visible_workspace_ids,
        tag_is_named=tags_service.is_named,
        filters=case.filters,
        sort=parse_sort(case.sort),
        after=after,
        limit=LIMIT,
    )


async def deep_cursor(connection: AsyncConnection, case: Case, keys: list[SortKey]) -> list[Any]:
    """The cursor values after the 5,000th row of the case's list (by paging with 200s)."""
    after: list[Any] | None = None
    walker = Case(case.name, case.viewer, case.filters, case.sort)
    session = AsyncSession(bind=connection)
    for _ in range(25):
        rows = await repo.list_tasks(
            session,
            viewer_id=walker.viewer,
            workspace_ids_for=visible_workspace_ids,
            tag_is_named=tags_service.is_named,
            filters=walker.filters,
            sort=keys,
            after=after,
            limit=200,
        )
        after = decode_cursor_values(cursor_values(rows[-1], keys), keys)
    assert after is not None
    return after


async def seed(connection: AsyncConnection, n: int) -> None:
    ids = {
        "big_user": BIG_USER,
        "small_user": SMALL_USER,
        "rare_user": RARE_USER,
        "big_ws": BIG_WS,
        "personal_ws": PERSONAL_WS,
        "small_ws": SMALL_WS,
        "common_project": COMMON_PROJECT,
        "rare_project": RARE_PROJECT,
        "common_tag": COMMON_TAG,
        "rare_tag": RARE_TAG,
    }
    for statement in SEED.split(";"):
        if statement.strip():
            await connection.execute(text(statement), ids)
    for ws, count in ((BIG_WS, n), (PERSONAL_WS, 10), (SMALL_WS, 1)):
        await connection.execute(
            text(SEED_TASKS), {**ids, "ws": ws, "n": count, "big": ws == BIG_WS}
        )
    await connection.execute(text(SEED_TAGS), ids)
    await connection.execute(text(OTHER_TAGS), ids)
    await connection.execute(text(OTHER_TAG_TASKS), ids)


async def ensure_database(url: str, n: int) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM tasks"))
        if not count:
            started = time.perf_counter()
            await seed(connection, n)
            print(f"seeded {n} tasks in {time.perf_counter() - started:.1f} s")
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--tasks", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="")
    parser.add_argument("--plan", default="")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="time generic plans (plan_cache_mode=force_generic_plan), as a pool may reuse",
    )
    args = parser.parse_args()
    await ensure_database(args.url, args.tasks)
    engine = create_async_engine(args.url, pool_size=1, max_overflow=0)
    capture = Capture(engine.sync_engine)
    print(f"{'case':32} {'ms/page':>8} {'exec ms':>8} {'rows read':>10} {'buffers':>8}  items")
    async with engine.connect() as connection:
        if args.generic:
            await connection.execute(text("SET plan_cache_mode = force_generic_plan"))
            await connection.commit()
        for case in cases():
            if args.only and args.only not in case.name:
                continue
            keys = parse_sort(case.sort)
            after = await deep_cursor(connection, case, keys) if case.deep else None
            items = len(await page(connection, case, after))
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                await page(connection, case, after)
                timings.append((time.perf_counter() - started) * 1000)
            plan = await capture.explain(connection)
            top = plan["Plan"]
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
            print(
                f"{case.name:32} {statistics.median(timings):8.2f} "
                f"{plan['Execution Time']:8.2f} {rows_read(top):10d} {buffers:8d}  {items}"
            )
            if args.plan and args.plan == case.name:
                print(json.dumps(top, indent=1))
            await connection.rollback()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
