"""The raw baseline Haven is measured against: Starlette + an asyncpg pool + orjson.

It serves the two endpoints of the load benchmark with hand-written SQL against Haven's own
schema, one database round trip per request, and answers with the same JSON as Haven:

- ``GET /api/v1/tasks?limit=N``: the caller's tasks (through their workspace memberships),
  ordered by ``created_at, id``, as ``{"items": [...], "next_cursor": ...}``.
- ``POST /api/v1/tasks``: one task in the caller's personal workspace plus its
  ``haven.task.created`` events row, in one statement (so one implicit transaction).

The bearer token is an access JWT, checked with PyJWT exactly as Haven checks it.
Only what the benchmark sends is supported on POST (title, description, status, priority,
progress). Run by benchmarks/api_load/ (servers.py) as::

    uvicorn raw_baseline:create_app --factory --app-dir benchmarks --loop uvloop --http httptools

with RAW_DATABASE_URL (a plain ``postgresql://`` DSN) and HAVEN_SECRET_KEY in the environment.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
import uuid6
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

JWT_ALGORITHM = "HS256"
ACCESS_AUDIENCE = "haven-api"
POOL_SIZE = 20  # Haven's default db_pool_size (a fixed pool, no overflow)
PRIORITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}
PRIORITY_NAME = {rank: name for name, rank in PRIORITY_RANK.items()}
STATUSES = frozenset({"todo", "in_progress", "blocked", "done", "cancelled"})

LIST_SQL = """
SELECT t.id, t.workspace_id, t.project_id, t.parent_id, t.title, t.description, t.status,
       t.priority, t.progress, t.due_at, t.due_is_date, t.start_at, t.start_is_date,
       t.timezone, t.tag_names, t.depends_on, t.assignee_id, t.estimate_minutes,
       t.recurrence_rule, t.recurrence_mode, t.recurrence_text, t.series_id,
       t.occurrence_number, t.completed_at, t.deleted_at, t.created_by, t.created_at,
       t.updated_at, t.version
FROM tasks AS t
WHERE t.workspace_id IN (
        SELECT m.workspace_id
        FROM memberships AS m JOIN workspaces AS w ON w.id = m.workspace_id
        WHERE m.user_id = $1 AND w.deleted_at IS NULL)
  AND t.deleted_at IS NULL
ORDER BY t.created_at, t.id
LIMIT $2
"""

# One statement: find the personal workspace (and the user's zone), insert the task, insert
# its event. Data-modifying CTEs always run to completion, all in one implicit transaction.
CREATE_SQL = """
WITH ws AS (
    SELECT w.id AS workspace_id, u.timezone
    FROM memberships AS m
    JOIN workspaces AS w ON w.id = m.workspace_id
    JOIN users AS u ON u.id = m.user_id
    WHERE m.user_id = $1 AND w.is_personal AND w.created_by = $1
      AND w.deleted_at IS NULL AND m.role <> 'viewer'
    LIMIT 1
), t AS (
    INSERT INTO tasks (id, workspace_id, title, description, status, priority, progress,
                       due_is_date, start_is_date, timezone, tag_names, depends_on,
                       occurrence_number, completed_at, completed_by, created_by, version,
                       created_at, updated_at)
    SELECT $2, ws.workspace_id, $3, $4, $5, $6, $7, false, false, ws.timezone,
           '[]'::jsonb, '[]'::jsonb, 1, $8, $9, $1, 1, $10, $10
    FROM ws
    RETURNING workspace_id, timezone
), e AS (
    INSERT INTO events (id, type, source, subject, workspace_id, actor, entity_version,
                        time, data)
    SELECT $11, 'haven.task.created', '/workspaces/' || t.workspace_id::text,
           'tasks/' || $2::text, t.workspace_id, 'users/' || $1::text, 1, $10,
           jsonb_build_object('task', $12::jsonb || jsonb_build_object(
               'workspace_id', t.workspace_id::text, 'timezone', t.timezone))
    FROM t
)
SELECT workspace_id, timezone FROM t
"""


# --- JSON -----------------------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _due(instant: datetime | None, is_date: bool, zone: str) -> str | None:
    if instant is None:
        return None
    if is_date:
        return instant.astimezone(ZoneInfo(zone)).date().isoformat()
    return _instant(instant)


def _opt(value: Any) -> str | None:
    return str(value) if value is not None else None


def task_json(row: Any) -> dict[str, Any]:
    """A task row as Haven's API shows it (the shape of haven.tasks.schemas.TaskOut)."""
    recurrence = None
    if row["recurrence_rule"]:
        recurrence = {
            "rule": row["recurrence_rule"],
            "mode": row["recurrence_mode"] or "due",
            "text": row["recurrence_text"],
        }
    zone = row["timezone"]
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "project_id": _opt(row["project_id"]),
        "parent_id": _opt(row["parent_id"]),
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": PRIORITY_NAME.get(row["priority"], "none"),
        "progress": row["progress"],
        "due": _due(row["due_at"], row["due_is_date"], zone),
        "start": _due(row["start_at"], row["start_is_date"], zone),
        "timezone": zone,
        "tags": row["tag_names"] or [],
        "depends_on": row["depends_on"] or [],
        "assignee_id": _opt(row["assignee_id"]),
        "estimate_minutes": row["estimate_minutes"],
        "recurrence": recurrence,
        "series_id": _opt(row["series_id"]),
        "occurrence_number": row["occurrence_number"],
        "completed_at": _instant(row["completed_at"]),
        "deleted_at": _instant(row["deleted_at"]),
        "created_by": _opt(row["created_by"]),
        "created_at": _instant(row["created_at"]),
        "updated_at": _instant(row["updated_at"]),
        "version": row["version"],
    }


def _cursor(kind: str, values: list[Any]) -> str:
    raw = orjson.dumps({"k": kind, "v": values})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status, media_type="application/json", headers=headers
    )


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json")


# --- auth -----------------------------------------------------------------------------


def _caller(request: Request) -> uuid.UUID | None:
    """The user id of a valid access JWT in the Authorization header (as Haven checks it)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token,
            request.app.state.secret,
            algorithms=[JWT_ALGORITHM],
            audience=ACCESS_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
            leeway=0,
        )
        if claims.get("typ") != "access":
            return None
        return uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError):
        return None


# --- endpoints ------------------------------------------------------------------------


async def tasks(request: Request) -> Response:
    user_id = _caller(request)
    if user_id is None:
        return _problem(401, "Unauthorized", "the access token is invalid or has expired")
    if request.method == "POST":
        return await _create_task(request, user_id)
    return await _list_tasks(request, user_id)


async def _list_tasks(request: Request, user_id: uuid.UUID) -> Response:
    raw_limit = request.query_params.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
        return _problem(422, "Unprocessable Content", "limit must be 1-200")
    limit = int(raw_limit)
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(LIST_SQL, user_id, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _cursor("tasks:", [last["created_at"].isoformat(), str(last["id"])])
    return _json({"items": [task_json(row) for row in rows], "next_cursor": next_cursor})


async def _create_task(request: Request, user_id: uuid.UUID) -> Response:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _problem(400, "Bad Request", "the body is not JSON")
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not 1 <= len(title) <= 500:
        return _problem(422, "Unprocessable Content", "title: 1-500 characters")
    description = data.get("description", "")
    status = data.get("status", "todo")
    priority = PRIORITY_RANK.get(data.get("priority", "none"))
    progress = data.get("progress", 0)
    if (
        not isinstance(description, str)
        or status not in STATUSES
        or priority is None
        or not isinstance(progress, int)
        or not 0 <= progress <= 100
    ):
        return _problem(422, "Unprocessable Content", "invalid field")

    now = datetime.now(UTC)
    task_id = uuid.UUID(int=uuid6.uuid7().int)
    completed_at = completed_by = None
    if status == "done":
        completed_at, completed_by, progress = now, user_id, 100
    task = {
        "id": str(task_id),
        "workspace_id": None,  # filled in from the database
        "project_id": None,
        "parent_id": None,
        "title": title,
        "description": description,
        "status": status,
        "priority": PRIORITY_NAME[priority],
        "progress": progress,
        "due": None,
        "start": None,
        "timezone": None,  # the user's profile zone, from the database
        "tags": [],
        "depends_on": [],
        "assignee_id": None,
        "estimate_minutes": None,
        "recurrence": None,
        "series_id": None,
        "occurrence_number": 1,
        "completed_at": _instant(completed_at),
        "deleted_at": None,
        "created_by": str(user_id),
        "created_at": _instant(now),
        "updated_at": _instant(now),
        "version": 1,
    }
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(
        CREATE_SQL,
        user_id,
        task_id,
        title,
        description,
        status,
        priority,
        progress,
        completed_at,
        completed_by,
        now,
        uuid.UUID(int=uuid6.uuid7().int),
        task,
    )
    if row is None:
        return _problem(404, "Not Found", "you have no personal workspace; pass workspace_id")
    task["workspace_id"] = str(row["workspace_id"])
    task["timezone"] = row["timezone"]
    return _json(task, status=201, headers={"ETag": '"1"'})


# --- application ----------------------------------------------------------------------


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
    )


def create_app() -> Starlette:
    dsn = os.environ["RAW_DATABASE_URL"]
    secret = os.environ["HAVEN_SECRET_KEY"]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, init=_init_connection
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(
        routes=[Route("/api/v1/tasks", tasks, methods=["GET", "POST"])], lifespan=lifespan
    )
    app.state.secret = secret
    return app
