"""The throwaway PostgreSQL database: create it, seed it with COPY, mint tokens, drop it."""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.api_load.options import DB_PREFIX, SECRET_KEY


def dsn_for(admin_dsn: str, database: str) -> str:
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{database}"


async def admin_execute(dsn: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def drop_stale_databases(admin_dsn: str) -> list[str]:
    """Drop haven_bench_<pid>_* databases whose run (pid) is gone, e.g. after a SIGKILL."""
    import asyncpg

    connection = await asyncpg.connect(admin_dsn)
    dropped = []
    try:
        rows = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", DB_PREFIX + "%"
        )
        for row in rows:
            match = re.fullmatch(DB_PREFIX + r"(\d+)_[0-9a-f]+", row["datname"])
            if match is None or _pid_alive(int(match.group(1))):
                continue
            await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
            dropped.append(row["datname"])
    finally:
        await connection.close()
    return dropped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# fmt: off
USER_COLUMNS = (
    "id", "email", "name", "password_hash", "timezone", "is_active", "is_superuser", "digest",
    "version", "created_at", "updated_at",
)
WORKSPACE_COLUMNS = (
    "id", "name", "is_personal", "created_by", "deleted_at", "version", "created_at",
    "updated_at",
)
MEMBERSHIP_COLUMNS = (
    "workspace_id", "user_id", "role", "created_at", "updated_at",
)
TAG_COLUMNS = (
    "id", "workspace_id", "name", "name_key", "color", "version", "created_at", "updated_at",
)
TASK_COLUMNS = (
    "id", "workspace_id", "project_id", "parent_id", "title", "description", "status",
    "priority", "progress", "due_at", "due_is_date", "start_at", "start_is_date", "timezone",
    "assignee_id", "estimate_minutes", "tag_names", "depends_on", "recurrence_rule",
    "recurrence_mode", "recurrence_text", "series_id", "series_start", "occurrence_number",
    "previous_id", "completed_at", "completed_by", "deleted_at", "created_by", "version",
    "created_at", "updated_at",
)
TASK_TAG_COLUMNS = (
    "task_id", "tag_id",
)
ZONES = (
    "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney",
)
TAGS = (
    "work", "home", "errands", "reading", "health",
)
WORDS = (
    "call", "plan", "review", "write", "draft", "send", "fix", "clean", "book", "pay", "order",
    "read", "renew", "check", "update", "prepare", "schedule", "email", "the", "a", "report",
    "invoice", "meeting", "groceries", "dentist", "car", "garden", "taxes", "slides", "budget",
    "notes", "backup", "flight", "library", "kitchen", "roof", "insurance", "passport", "team",
    "client",
)
# fmt: on
STATUS_WEIGHTS = (("todo", 55), ("in_progress", 15), ("blocked", 5), ("done", 20), ("cancelled", 5))


COMMON_WORD = "report"  # one of WORDS: in about a third of the tasks
RARE_WORD = "zeppelin"  # in none of WORDS: only in the tasks given it on purpose


@dataclass
class SeedResult:
    user_ids: list[uuid.UUID]
    tasks: int
    seconds: float
    # (index into user_ids, task id): open, not recurring tasks a PATCH may edit.
    editable: list[tuple[int, uuid.UUID]] = field(default_factory=list)
    # (index into user_ids, task id): open recurring tasks, each completed at most once.
    completable: list[tuple[int, uuid.UUID]] = field(default_factory=list)
    # How many tasks hold COMMON_WORD / RARE_WORD in their title or description.
    common_word_tasks: int = 0
    rare_word_tasks: int = 0


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


@dataclass
class SeedPlan:
    users: int
    tasks_per_user: int
    completable_per_user: int = 0  # open recurring tasks, newest of all (after GET's page)
    rare_every: int = 0  # every this many tasks has RARE_WORD in its title (0: none)
    label: str = "bench"  # e-mail local part prefix


def build_rows(
    plan: SeedPlan, rng: random.Random
) -> tuple[dict[str, list[tuple[Any, ...]]], SeedResult]:
    """Every row to COPY, in Haven's schema (times are aware UTC datetimes), and what it holds."""
    from haven.core.ids import new_id

    users, tasks_per_user = plan.users, plan.tasks_per_user
    result = SeedResult(user_ids=[], tasks=0, seconds=0.0)
    now = datetime.now(UTC).replace(microsecond=0)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for index in range(users):
        user_id = new_id()
        workspace_id = new_id()
        zone = ZONES[index % len(ZONES)]
        joined = now - timedelta(days=400, seconds=rng.randint(0, 86_400 * 30))
        rows["users"].append(
            (
                user_id,
                f"{plan.label}{index}@example.test",
                f"Bench User {index}",
                None,
                zone,
                True,
                False,
                json.dumps({"enabled": index % 3 == 0, "hour": 7}),
                1,
                joined,
                joined,
            )
        )
        rows["workspaces"].append(
            (workspace_id, "Personal", True, user_id, None, 1, joined, joined)
        )
        rows["memberships"].append((workspace_id, user_id, "owner", joined, joined))
        tag_ids = {}
        for tag in TAGS:
            tag_ids[tag] = new_id()
            rows["tags"].append((tag_ids[tag], workspace_id, tag, tag, None, 1, joined, joined))
        tz = ZoneInfo(zone)
        for number in range(tasks_per_user):
            task_id = new_id()
            created = now - timedelta(seconds=rng.randint(3_600, 365 * 86_400))
            created = created.replace(microsecond=rng.randint(0, 999_999))
            updated = created + timedelta(seconds=rng.randint(0, 86_400 * 5))
            status = rng.choices(statuses, weights)[0]
            due_at = start_at = None
            due_is_date = start_is_date = False
            roll = rng.random()
            if roll < 0.25:  # an all-day due: local midnight of that day
                day = (created + timedelta(days=rng.randint(-10, 60))).astimezone(tz).date()
                due_at = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
                due_is_date = True
            elif roll < 0.6:
                due_at = created + timedelta(hours=rng.randint(1, 24 * 60))
            if due_at is not None and rng.random() < 0.15:
                start_at = due_at - timedelta(days=rng.randint(1, 7))
            recurring = due_at is not None and rng.random() < 0.05
            tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3)))
            for tag in tags:
                rows["task_tags"].append((task_id, tag_ids[tag]))
            done = status == "done"
            title = _words(rng, 2, 7).capitalize()
            description = _words(rng, 0, 25)
            if plan.rare_every and number % plan.rare_every == 0:
                title += " " + RARE_WORD
                result.rare_word_tasks += 1
            if COMMON_WORD in f"{title} {description}".split():
                result.common_word_tasks += 1
            deleted = rng.random() < 0.02
            if status in ("todo", "in_progress") and not recurring and not deleted:
                result.editable.append((index, task_id))
            rows["tasks"].append(
                (
                    task_id,
                    workspace_id,
                    None,
                    None,
                    title,
                    description,
                    status,
                    rng.choice((0, 0, 0, 1, 2, 3, 4)),
                    100 if done else (rng.randrange(0, 100, 10) if status == "in_progress" else 0),
                    due_at,
                    due_is_date,
                    start_at,
                    start_is_date,
                    zone,
                    user_id if rng.random() < 0.3 else None,
                    rng.choice((None, None, 15, 30, 60, 120)),
                    json.dumps(tags),
                    "[]",
                    "FREQ=WEEKLY;BYDAY=MO" if recurring else None,
                    "due" if recurring else None,
                    None,
                    task_id if recurring else None,
                    due_at if recurring else None,
                    1,
                    None,
                    updated if done else None,
                    user_id if done else None,
                    updated if deleted else None,
                    user_id,
                    1,
                    created,
                    updated,
                )
            )
        for number in range(plan.completable_per_user):
            task_id = new_id()
            created = now - timedelta(seconds=number)
            local = (now + timedelta(days=1)).astimezone(tz)
            due_at = local.replace(hour=9, minute=0, second=0).astimezone(UTC)
            result.completable.append((index, task_id))
            rows["tasks"].append(
                (
                    task_id, workspace_id, None, None, f"Daily check {number}", "", "todo", 0, 0,
                    due_at, False, None, False, zone, None, None, "[]", "[]", "FREQ=DAILY", "due",
                    None, task_id, due_at, 1, None, None, None, None, user_id, 1, created, created,
                )
            )  # fmt: skip
        result.user_ids.append(user_id)
    result.tasks = len(rows["tasks"])
    return rows, result


async def seed_database(dsn: str, plan: SeedPlan, seed: int) -> SeedResult:
    """COPY the plan's rows into the (migrated) database, then VACUUM ANALYZE."""
    import asyncpg

    started = time.perf_counter()
    rows, result = build_rows(plan, random.Random(seed))
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            for table, columns in (
                ("users", USER_COLUMNS),
                ("workspaces", WORKSPACE_COLUMNS),
                ("memberships", MEMBERSHIP_COLUMNS),
                ("tags", TAG_COLUMNS),
                ("tasks", TASK_COLUMNS),
                ("task_tags", TASK_TAG_COLUMNS),
            ):
                await connection.copy_records_to_table(table, records=rows[table], columns=columns)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    result.seconds = time.perf_counter() - started
    return result


def mint_tokens(user_ids: Sequence[uuid.UUID], path: Path) -> list[str]:
    """An access token per user, also written to `path` one per line (a credentials file)."""
    from haven.core.security import issue_access_token

    tokens = [
        issue_access_token(user_id=user_id, secret=SECRET_KEY, ttl=timedelta(hours=12))[0]
        for user_id in user_ids
    ]
    path.write_text("\n".join(tokens) + "\n")
    return tokens


def write_targets(
    tokens: Sequence[str], targets: Sequence[tuple[int, uuid.UUID]], path: Path
) -> int:
    """A credentials file of `TOKEN TASK_ID` lines: each task with its owner's token."""
    path.write_text("".join(f"{tokens[user]} {task_id}\n" for user, task_id in targets))
    return len(targets)


async def postgres_version(dsn: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return f"PostgreSQL {version.split()[0]}"
