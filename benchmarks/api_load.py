"""Load benchmark: Haven's task API against a raw Starlette + asyncpg baseline, in one run.

What it does (see docs/benchmarks.md for the method and the last full run's figures):

1. creates a throwaway PostgreSQL database, runs Haven's Alembic migrations on it and
   bulk-loads users, personal workspaces, memberships, tags and tasks with COPY;
2. mints an access JWT per user with Haven's own ``issue_access_token``;
3. starts Haven (``haven serve --no-migrate``, or uvicorn on ``haven.app:create_app`` while
   the CLI lacks it) and the raw baseline (benchmarks/raw_baseline.py), one uvicorn worker
   each, uvloop + httptools, and checks that both answer the same JSON;
4. saturates each server from a separate process (wrk with a Lua script, or this file's own
   asyncio HTTP/1.1 client when wrk is missing): GET /api/v1/tasks?limit=50 and
   POST /api/v1/tasks, a random user per request, interleaved rounds;
5. measures latency at a fixed offered rate (open loop, ~50% of Haven's saturated rate);
6. prints the results and writes docs/benchmarks.md; drops the database, stops every
   process it started (also on errors and Ctrl-C).

Usage: ``.venv/bin/python benchmarks/api_load.py [--quick] [--duration S] [--connections N]
[--users N] [--tasks-per-user N] [--profile DIR] ...``; ``--help`` lists every flag.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SECRET_KEY = "haven-benchmark-secret-key-0123456789-not-for-production"
DB_PREFIX = "haven_bench_"
GET_PATH = "/api/v1/tasks?limit=50"
POST_PATH = "/api/v1/tasks"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
BUSY_OTHER_CORES = 0.15  # CPU used by processes outside the benchmark: above this, say so
ENDPOINTS = ("GET", "POST")
ENDPOINT_LABEL = {"GET": "GET /api/v1/tasks?limit=50", "POST": "POST /api/v1/tasks"}
SERVERS = ("baseline", "haven")


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ======================================================================================
# Options
# ======================================================================================


@dataclass
class Options:
    duration: float
    connections: int
    users: int
    tasks_per_user: int
    rounds: int
    warmup: float
    rate_duration: float
    rate_fraction: float
    threads: int
    loadgen: str
    haven_cmd: str
    pg: str
    output: Path | None
    profile: Path | None
    quick: bool
    seed: int
    quiet_wait: float
    retries: int
    patience: float
    hold: float
    argv: list[str] = field(default_factory=list)


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        description="Haven vs raw Starlette+asyncpg: throughput and latency of the task API.",
    )
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--duration", type=float, help="seconds per saturation run (10)")
    parser.add_argument("--connections", type=int, help="concurrent connections (64)")
    parser.add_argument("--users", type=int, help="users, one personal workspace each (1000)")
    parser.add_argument("--tasks-per-user", type=int, help="tasks per user (100)")
    parser.add_argument("--rounds", type=int, help="saturation rounds, interleaved (3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each run (2)")
    parser.add_argument(
        "--rate-duration", type=float, help="seconds per fixed-rate latency run (20)"
    )
    parser.add_argument(
        "--rate-fraction",
        type=float,
        default=0.5,
        help="fixed offered rate as a fraction of Haven's saturated req/s (0.5)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="saturation load generator: wrk if installed, else the built-in asyncio client",
    )
    parser.add_argument(
        "--haven-cmd",
        choices=("auto", "serve", "uvicorn"),
        default="auto",
        help="how to start Haven: `haven serve --no-migrate` if available, else uvicorn",
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin DSN; the throwaway database is created next to it",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the report (default docs/benchmarks.md; none for --quick)",
    )
    parser.add_argument(
        "--no-output", action="store_true", help="print the results only, write no report"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also profile Haven under GET and POST load with py-spy, into this folder",
    )
    parser.add_argument("--seed", type=int, default=20261125, help="data generator seed")
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="measure nothing: seed, start both servers, print how to reach them, and keep"
        " them up this many seconds (or until Ctrl-C) for manual probing; then clean up",
    )
    parser.add_argument(
        "--retries",
        type=int,
        help="repeat a run disturbed by other work on the box up to this many times (2; 0 for"
        " --quick), keeping the least disturbed",
    )
    parser.add_argument(
        "--patience",
        type=float,
        help="seconds in all that waiting and repeating may add to a run (900; 0 for --quick)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each run, wait up to this many seconds for other work on the box to"
        " calm down (60; 0 for --quick)",
    )
    args = parser.parse_args(argv)

    quick = args.quick
    defaults: dict[str, Any] = {
        "duration": 3.0 if quick else 10.0,
        "connections": 64,
        "users": 100 if quick else 1000,
        "tasks_per_user": 100,
        "rounds": 1 if quick else 3,
        "warmup": 1.0 if quick else 2.0,
        "rate_duration": 5.0 if quick else 20.0,
        "quiet_wait": 0.0 if quick else 60.0,
        "retries": 0 if quick else 2,
        "patience": 0.0 if quick else 900.0,
    }
    values = {
        name: getattr(args, name) if getattr(args, name) is not None else default
        for name, default in defaults.items()
    }
    output: Path | None = args.output
    if output is None and not quick:
        output = REPO / "docs" / "benchmarks.md"
    if args.no_output:
        output = None
    options = Options(
        duration=float(values["duration"]),
        connections=int(values["connections"]),
        users=int(values["users"]),
        tasks_per_user=int(values["tasks_per_user"]),
        rounds=int(values["rounds"]),
        warmup=float(values["warmup"]),
        rate_duration=float(values["rate_duration"]),
        rate_fraction=args.rate_fraction,
        threads=args.threads,
        loadgen=args.loadgen,
        haven_cmd=args.haven_cmd,
        pg=args.pg,
        output=output,
        profile=args.profile,
        quick=quick,
        seed=args.seed,
        quiet_wait=float(values["quiet_wait"]),
        retries=int(values["retries"]),
        patience=float(values["patience"]),
        hold=args.hold,
        argv=list(argv),
    )
    bounds = [
        (options.duration, 0.5, 600, "--duration"),
        (options.connections, 1, 1024, "--connections"),
        (options.users, 1, 100_000, "--users"),
        (options.tasks_per_user, 1, 10_000, "--tasks-per-user"),
        (options.rounds, 1, 10, "--rounds"),
        (options.warmup, 0, 60, "--warmup"),
        (options.rate_duration, 0.5, 600, "--rate-duration"),
        (options.rate_fraction, 0.01, 1.0, "--rate-fraction"),
        (options.threads, 1, 64, "--threads"),
        (options.quiet_wait, 0, 600, "--quiet-wait"),
        (options.retries, 0, 10, "--retries"),
        (options.patience, 0, 7200, "--patience"),
        (options.hold, 0, 7200, "--hold"),
    ]
    for value, low, high, name in bounds:
        if not low <= value <= high:
            parser.error(f"{name} must be between {low} and {high}")
    return options


# ======================================================================================
# The database: create, migrate, seed, drop
# ======================================================================================


def dsn_for(admin_dsn: str, database: str) -> str:
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{database}"


async def _admin(dsn: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _drop_stale_databases(admin_dsn: str) -> list[str]:
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


@dataclass
class SeedResult:
    user_ids: list[uuid.UUID]
    tasks: int
    seconds: float


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def build_rows(
    users: int, tasks_per_user: int, rng: random.Random
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row to COPY, in Haven's schema. Times are aware UTC datetimes."""
    from haven.core.ids import new_id

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
                f"bench{index}@example.test",
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
        for _ in range(tasks_per_user):
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
            rows["tasks"].append(
                (
                    task_id,
                    workspace_id,
                    None,
                    None,
                    _words(rng, 2, 7).capitalize(),
                    _words(rng, 0, 25),
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
                    updated if rng.random() < 0.02 else None,
                    user_id,
                    1,
                    created,
                    updated,
                )
            )
    return rows


async def seed_database(dsn: str, users: int, tasks_per_user: int, seed: int) -> SeedResult:
    import asyncpg

    started = time.perf_counter()
    rows = build_rows(users, tasks_per_user, random.Random(seed))
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
    return SeedResult(
        user_ids=[row[0] for row in rows["users"]],
        tasks=len(rows["tasks"]),
        seconds=time.perf_counter() - started,
    )


def mint_tokens(user_ids: Sequence[uuid.UUID], path: Path) -> list[str]:
    from haven.core.security import issue_access_token

    tokens = [
        issue_access_token(user_id=user_id, secret=SECRET_KEY, ttl=timedelta(hours=12))[0]
        for user_id in user_ids
    ]
    path.write_text("\n".join(tokens) + "\n")
    return tokens


# ======================================================================================
# Servers
# ======================================================================================


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--workers", "1"]


def haven_serve_available() -> bool:
    haven = BIN / "haven"
    if not haven.exists():
        return False
    try:
        result = subprocess.run(
            [str(haven), "serve", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and "--no-migrate" in result.stdout


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def display_command(self) -> str:
        parts = [os.path.relpath(p, REPO) if p.startswith(str(REPO)) else p for p in self.command]
        return shlex.join(parts)

    def start(self, cwd: Path) -> None:
        log(f"starting {self.name}: {self.display_command}")
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: Ctrl-C reaches us, we stop it
            )

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 8.0), (signal.SIGTERM, 4.0), (signal.SIGKILL, 4.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def make_servers(options: Options, db_name: str, workdir: Path) -> tuple[Server, Server]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "RAW_"))}
    base_env.update({"PYTHONUNBUFFERED": "1", "HAVEN_SECRET_KEY": SECRET_KEY})
    pg_dsn = dsn_for(options.pg, db_name)

    raw_port = free_port()
    baseline = Server(
        name="baseline",
        command=[
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "raw_baseline:create_app",
            "--factory",
            "--app-dir",
            str(BENCH_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(raw_port),
            *UVICORN_FLAGS,
            "--log-level",
            "warning",
        ],
        env={**base_env, "RAW_DATABASE_URL": pg_dsn},
        port=raw_port,
        log_path=workdir / "baseline.log",
    )

    haven_port = free_port()
    use_serve = options.haven_cmd == "serve" or (
        options.haven_cmd == "auto" and haven_serve_available()
    )
    if use_serve:
        command = [
            str(BIN / "haven"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(haven_port),
            "--no-migrate",
        ]
    else:
        command = [
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "haven.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(haven_port),
            *UVICORN_FLAGS,
            "--log-level",
            "warning",
        ]
    haven = Server(
        name="haven",
        command=command,
        env={
            **base_env,
            "HAVEN_DATABASE_URL": "postgresql+asyncpg://" + pg_dsn.split("://", 1)[1],
            "HAVEN_LOG_LEVEL": "WARNING",
            "HAVEN_DATA_DIR": str(workdir / "haven-data"),
        },
        port=haven_port,
        log_path=workdir / "haven.log",
    )
    return baseline, haven


def http_call(
    port: int, method: str, path: str, token: str, body: bytes | None = None, timeout: float = 10
) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def wait_ready(server: Server, token: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            status, body, _ = http_call(server.port, "GET", GET_PATH, token, timeout=5)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                log(f"{server.name} is ready on port {server.port}")
                return
            last = f"HTTP {status}: {body[:300]!r}"
        time.sleep(0.25)
    raise RuntimeError(
        f"{server.name} not ready after {timeout:.0f}s ({last}):\n{server.log_tail()}"
    )


# ======================================================================================
# Sanity: both servers answer the same
# ======================================================================================


async def _events_for(dsn: str, task_ids: Sequence[str]) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT subject, count(*) AS n FROM events WHERE subject = ANY($1::text[]) "
            "GROUP BY subject",
            [f"tasks/{task_id}" for task_id in task_ids],
        )
    finally:
        await connection.close()
    return {row["subject"].split("/", 1)[1]: row["n"] for row in rows}


def compare_servers(baseline: Server, haven: Server, tokens: Sequence[str], dsn: str) -> list[str]:
    """Notes on how the two servers' answers differ (empty: the same JSON)."""
    notes: list[str] = []
    for token in (tokens[0], tokens[len(tokens) // 2]):
        answers = {}
        for server in (baseline, haven):
            status, body, _ = http_call(server.port, "GET", GET_PATH, token)
            answers[server.name] = (status, json.loads(body) if status == 200 else body)
        (b_status, b_body), (h_status, h_body) = answers["baseline"], answers["haven"]
        if b_status != h_status:
            notes.append(f"GET status differs: baseline {b_status}, haven {h_status}")
        elif b_body != h_body:
            b_items, h_items = b_body.get("items", []), h_body.get("items", [])
            fields = sorted(
                {
                    key
                    for b_item, h_item in zip(b_items, h_items, strict=False)
                    for key in set(b_item) | set(h_item)
                    if b_item.get(key) != h_item.get(key)
                }
            )
            notes.append(
                f"GET bodies differ ({len(b_items)} vs {len(h_items)} items; fields {fields}; "
                f"next_cursor equal: {b_body.get('next_cursor') == h_body.get('next_cursor')})"
            )
        else:
            size = len(json.dumps(b_body, separators=(",", ":")))
            if not any(note.startswith("GET body") for note in notes):
                notes.append(f"GET bodies identical ({len(b_body['items'])} items, ~{size} bytes)")
    created: dict[str, dict[str, Any]] = {}
    payload = json.dumps({"title": "sanity check", "priority": "high"}).encode()
    for server in (baseline, haven):
        status, body, headers = http_call(server.port, "POST", POST_PATH, tokens[1], payload)
        if status != 201:
            notes.append(f"POST on {server.name} answered {status}: {body[:200]!r}")
            continue
        created[server.name] = json.loads(body)
        if headers.get("etag") != '"1"':
            notes.append(f"POST on {server.name}: ETag {headers.get('etag')!r}, expected '\"1\"'")
    if len(created) == 2:
        volatile = {"id", "created_at", "updated_at"}
        b_task, h_task = created["baseline"], created["haven"]
        differing = sorted(
            key
            for key in set(b_task) | set(h_task)
            if key not in volatile and b_task.get(key) != h_task.get(key)
        )
        notes.append(
            "POST answers: same fields and values (besides id and times)"
            if not differing
            else f"POST answers differ in {differing}"
        )
        events = asyncio.run(_events_for(dsn, [b_task["id"], h_task["id"]]))
        notes.append(
            "POST wrote one events row per task on both servers"
            if events.get(b_task["id"]) == 1 and events.get(h_task["id"]) == 1
            else f"events rows per created task: {events}"
        )
    return notes


# ======================================================================================
# Load generation
# ======================================================================================


@dataclass
class LoadResult:
    server: str
    endpoint: str
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    errors: int
    offered_rps: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by whom

    @property
    def server_ms_per_request(self) -> float:
        if not self.requests or "server" not in self.cpu:
            return 0.0
        return self.cpu["server"] * self.cpu["seconds"] / self.requests * 1000

    @property
    def failures(self) -> int:
        return self.non2xx + self.errors


WRK_LUA = r"""
-- Random user per request; counts non-2xx; prints one JSON line when done.
local tokens = {}
local method = "GET"
local counter = 0
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  method = args[2] or "GET"
  math.randomseed(os.time() * 100 + (tid or 0))
  non2xx = 0
end

function request()
  local token = tokens[math.random(#tokens)]
  if method == "POST" then
    counter = counter + 1
    local body = '{"title":"bench task ' .. tid .. "-" .. counter ..
      '","description":"created by the load benchmark","priority":"medium"}'
    return wrk.format("POST", nil, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"non2xx":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, bad, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def run_wrk(
    server: Server,
    endpoint: str,
    options: Options,
    workdir: Path,
    duration: float,
    tokens_file: Path,
) -> LoadResult:
    script = workdir / "load.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    path = GET_PATH if endpoint == "GET" else POST_PATH
    command = [
        "wrk",
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{server.port}{path}",
        "--",
        str(tokens_file),
        endpoint,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    seconds = data["duration_us"] / 1e6
    socket_errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return LoadResult(
        server=server.name,
        endpoint=endpoint,
        tool="wrk",
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=data["non2xx"],
        errors=socket_errors,
        detail=data,
    )


def run_python_load(
    server: Server,
    endpoint: str,
    options: Options,
    duration: float,
    tokens_file: Path,
    rate: float | None = None,
) -> LoadResult:
    """The built-in asyncio client, in its own process (closed loop, or open loop at rate)."""
    spec = {
        "port": server.port,
        "method": endpoint,
        "path": GET_PATH if endpoint == "GET" else POST_PATH,
        "tokens": str(tokens_file),
        "connections": options.connections,
        "duration": duration,
        "rate": rate,
    }
    command = [sys.executable, str(Path(__file__).resolve()), "loadgen", json.dumps(spec)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed ({result.returncode}): {result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return LoadResult(
        server=server.name,
        endpoint=endpoint,
        tool="python-open-loop" if rate else "python",
        requests=data["completed"],
        seconds=data["seconds"],
        rps=data["rps"],
        p50_ms=data["p50_ms"],
        p90_ms=data["p90_ms"],
        p99_ms=data["p99_ms"],
        max_ms=data["max_ms"],
        non2xx=data["non2xx"],
        errors=data["errors"],
        offered_rps=rate,
        detail=data,
    )


# --- who used the CPU during a run (the box is shared: say so when it was busy) ----------

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    busy: int  # all CPUs, jiffies
    server: int  # the measured server process, jiffies
    postgres: int  # every postgres process, jiffies
    children: float  # finished child processes (the load generators), seconds


def _process_jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _postgres_jiffies() -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += _process_jiffies(int(entry.name))
    return total


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    except (OSError, IndexError, ValueError):
        busy = 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(
        at=time.perf_counter(),
        busy=busy,
        server=_process_jiffies(server_pid),
        postgres=_postgres_jiffies(),
        children=children.ru_utime + children.ru_stime,
    )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores used on average between two snapshots: server, PostgreSQL, client, the rest."""
    seconds = after.at - before.at
    if seconds <= 0:
        return {}
    server = (after.server - before.server) / CLK_TCK / seconds
    postgres = (after.postgres - before.postgres) / CLK_TCK / seconds
    client = (after.children - before.children) / seconds
    busy = (after.busy - before.busy) / CLK_TCK / seconds
    other = max(0.0, busy - server - postgres - client)
    return {
        "seconds": seconds,
        "server": server,
        "postgres": postgres,
        "client": client,
        "other": other,
        "busy": busy,
    }


def _busy_jiffies() -> int:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0
    return sum(values) - values[3] - values[4]


def wait_for_quiet(max_wait: float, threshold: float = BUSY_OTHER_CORES) -> float:
    """Wait (at most max_wait s) until the box is nearly idle; the cores busy at the end."""
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        before, started = _busy_jiffies(), time.perf_counter()
        time.sleep(1.0)
        busy = (_busy_jiffies() - before) / CLK_TCK / (time.perf_counter() - started)
        if busy <= threshold or time.monotonic() >= deadline:
            if announced:
                log(f"box busy at {busy:.2f} cores; going on" if busy > threshold else "box quiet")
            return busy
        if not announced:
            log(f"other work is using {busy:.2f} cores; waiting up to {max_wait:.0f} s")
            announced = True


# --- the built-in client (runs in the `loadgen` subprocess) ----------------------------


class _Connection:
    """One HTTP/1.1 keep-alive connection: write a request, read one response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def roundtrip(self, payload: bytes) -> int:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lower.find(b"\r\n", start + 2)
            await self.reader.readexactly(int(lower[start + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            self.close()
        return status


STALL_MS = 50.0


def stall_episodes(timeline: Sequence[tuple[float, float]]) -> list[float]:
    """Longest latency (ms) of each episode of requests slower than STALL_MS.

    Slow requests that fell due within STALL_MS of one another are one episode: many
    requests held up together mean the server stopped (a blocked event loop, a long GC
    pause), where unrelated slow requests would be separate episodes of one.
    """
    slow = sorted((due, latency) for due, latency in timeline if latency * 1000 > STALL_MS)
    episodes: list[float] = []
    last_due = None
    for due, latency in slow:
        if last_due is not None and (due - last_due) * 1000 <= STALL_MS:
            episodes[-1] = max(episodes[-1], latency * 1000)
        else:
            episodes.append(latency * 1000)
        last_due = due
    return [round(ms, 1) for ms in episodes]


def _percentile(ordered: Sequence[float], pct: float) -> float:
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    port: int = spec["port"]
    method: str = spec["method"]
    path: str = spec["path"]
    connections: int = spec["connections"]
    duration: float = spec["duration"]
    rate: float | None = spec["rate"]
    tokens: list[str] = spec["token_list"]
    host = f"127.0.0.1:{port}"
    get_requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {t}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        for t in tokens
    ]
    rng = random.Random()
    counter = 0

    def build() -> bytes:
        nonlocal counter
        if method == "GET":
            return rng.choice(get_requests)
        counter += 1
        body = (
            f'{{"title":"bench task {os.getpid()}-{counter}",'
            '"description":"created by the load benchmark","priority":"medium"}'
        ).encode()
        return (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {rng.choice(tokens)}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    pool = [_Connection(port) for _ in range(connections)]
    for connection in pool:
        try:
            await connection.open()
        except OSError as exc:
            errors[type(exc).__name__] += 1

    timeline: list[tuple[float, float]] = []  # open loop: (when due, latency)

    async def call(connection: _Connection, started: float) -> None:
        try:
            status = await connection.roundtrip(build())
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            errors[type(exc).__name__] += 1
            connection.close()
            await asyncio.sleep(0.01)
            return
        latency = time.perf_counter() - started
        latencies.append(latency)
        statuses[status] += 1
        if rate is not None:
            timeline.append((started, latency))

    lags: list[float] = []
    begin = time.perf_counter()
    deadline = begin + duration
    if rate is None:  # closed loop: every connection sends its next request when answered

        async def closed_worker(connection: _Connection) -> None:
            while time.perf_counter() < deadline:
                await call(connection, time.perf_counter())

        workers = [asyncio.ensure_future(closed_worker(c)) for c in pool]
        total = None
    else:  # open loop: requests are due at fixed times whether or not answers came back
        total = max(1, int(rate * duration))
        queue: asyncio.Queue[float | None] = asyncio.Queue()

        async def open_worker(connection: _Connection) -> None:
            while (due := await queue.get()) is not None:
                await call(connection, due)  # latency counts from when it was due

        async def dispatcher() -> None:
            for index in range(total):
                due = begin + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                lags.append(time.perf_counter() - due)
                queue.put_nowait(due)
            for _ in pool:
                queue.put_nowait(None)

        workers = [asyncio.ensure_future(open_worker(c)) for c in pool]
        workers.append(asyncio.ensure_future(dispatcher()))
    _done, pending = await asyncio.wait(workers, timeout=duration + 30)
    for task in pending:
        task.cancel()
    seconds = time.perf_counter() - begin
    for connection in pool:
        connection.close()
    completed = sum(statuses.values())
    unfinished = (total - completed - sum(errors.values())) if total is not None else 0
    if unfinished > 0:
        errors["unfinished"] += unfinished
    ordered = sorted(latencies)
    lag_sorted = sorted(lags)
    return {
        "completed": completed,
        "seconds": seconds,
        "rps": completed / (duration if rate else seconds),
        "p50_ms": _percentile(ordered, 50) * 1000,
        "p90_ms": _percentile(ordered, 90) * 1000,
        "p99_ms": _percentile(ordered, 99) * 1000,
        "max_ms": (ordered[-1] * 1000) if ordered else 0.0,
        "non2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "errors": sum(errors.values()),
        "statuses": {str(k): v for k, v in statuses.items()},
        "error_kinds": dict(errors),
        "scheduled": total,
        "dispatch_lag_p99_ms": _percentile(lag_sorted, 99) * 1000,
        "stalls": stall_episodes(timeline),
        "dispatch_lag_max_ms": (lag_sorted[-1] * 1000) if lag_sorted else 0.0,
    }


def loadgen_main(raw_spec: str) -> None:
    spec = json.loads(raw_spec)
    spec["token_list"] = [t for t in Path(spec["tokens"]).read_text().split() if t]
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(_loadgen(spec))
    print(json.dumps(result))


# ======================================================================================
# Profiling (py-spy)
# ======================================================================================


def profile_haven(
    haven: Server,
    endpoint: str,
    options: Options,
    workdir: Path,
    tokens_file: Path,
    use_wrk: bool,
) -> dict[str, Any]:
    """Sample Haven with py-spy while the endpoint saturates it; where does the time go."""
    assert options.profile is not None
    assert haven.process is not None
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy not found: .venv/bin/pip install py-spy"}
    options.profile.mkdir(parents=True, exist_ok=True)
    raw = options.profile / f"haven-{endpoint.lower()}-tasks.collapsed.txt"
    seconds = max(5, round(options.duration))
    spy_cmd = [py_spy, "record", "--pid", str(haven.process.pid), "--subprocesses", "--rate", "200"]
    spy = subprocess.Popen(
        [*spy_cmd, "--duration", str(seconds + 1), "--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)  # let py-spy attach
        if use_wrk:
            load = run_wrk(haven, endpoint, options, workdir, seconds, tokens_file)
        else:
            load = run_python_load(haven, endpoint, options, seconds, tokens_file)
        _, spy_err = spy.communicate(timeout=seconds + 60)
    finally:
        if spy.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(spy.pid, signal.SIGINT)
            spy.wait(timeout=10)
    if not raw.exists():
        return {"error": f"py-spy wrote nothing: {spy_err.decode(errors='replace').strip()[:500]}"}
    summary = summarise_profile(raw.read_text())
    summary["rps_while_profiled"] = load.rps
    summary["files"] = [str(raw)]
    summary["endpoint"] = endpoint
    summary_file = options.profile / f"haven-{endpoint.lower()}-tasks.summary.json"
    summary_file.write_text(json.dumps(summary, indent=2))
    return summary


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _frame_key(frame: str) -> tuple[str, str]:
    """(package, 'function (file)') for a py-spy frame 'func (path:line)'."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return "other", frame.strip()
    func, file = match.group("func"), match.group("file")
    # py-spy shortens paths to the module's own (``sqlalchemy/orm/session.py``).
    rel = file.split("site-packages/", 1)[-1]
    if "/src/haven/" in rel:
        rel = "haven/" + rel.split("/src/haven/", 1)[1]
    rel = rel.lstrip("/")
    parts = rel.split("/")
    package = parts[0].removesuffix(".py")
    if package == "haven" and len(parts) > 1:
        package = "haven." + parts[1].removesuffix(".py")
    return package, f"{func} ({rel})"


# Frames of these files only hand the request on; listing them says nothing.
_PASS_THROUGH = (
    "(starlette/applications.py)",
    "(starlette/middleware/errors.py)",
    "(starlette/middleware/exceptions.py)",
    "(starlette/_exception_handler.py)",
    "(starlette/routing.py)",
    "(fastapi/applications.py)",
    "(fastapi/routing.py)",
    "(fastapi/_body_limit.py)",
    "(fastapi/telemetry/_asgi.py)",
    "(fastapi/middleware/asyncexitstack.py)",
    "(haven/core/middleware.py)",
)
_PLUMBING = {"typer", "click", "uvicorn", "asyncio", "haven.cli", "haven", "other"}


def summarise_profile(collapsed: str) -> dict[str, Any]:
    """Self and inclusive shares per frame and package, from py-spy's collapsed stacks.

    SQLAlchemy runs the sync half of an async call in a greenlet, which py-spy samples as a
    separate stack starting at the greenlet: its frames count, but not under their caller.
    """
    total = 0
    no_python = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    own_package: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        keys = [_frame_key(f) for f in frames]
        if not keys:
            no_python += count
            continue
        for name in {name for package, name in keys if package not in _PLUMBING}:
            inclusive[name] += count
        package, name = keys[-1]
        own[name] += count
        own_package[package] += count

    def pct(counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return (
            [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)] if total else []
        )

    return {
        "samples": total,
        "no_python_frames_pct": round(100 * no_python / total, 1) if total else 0.0,
        "self_by_package": pct(own_package, 25),
        "top_self": pct(own, 40),
        "top_inclusive": pct(inclusive, 60),
    }


# ======================================================================================
# Report
# ======================================================================================


def code_version() -> str:
    """The commit the servers run (``-dirty``: with uncommitted changes to tracked files)."""
    described = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    if described.returncode != 0:
        return "no commit yet"
    changed = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    version = described.stdout.strip()
    return f"{version} ({len(changed)} uncommitted files under src/)" if changed else version


def machine_info(pg_version: str) -> dict[str, str]:
    cpu = "unknown"
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    versions = []
    for package in ("fastapi", "starlette", "sqlalchemy", "pydantic", "asyncpg", "uvicorn"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    wrk = "not installed"
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        text = (out.stdout or out.stderr).strip()
        wrk = text.splitlines()[0].split(" [", 1)[0].replace("debian/", "") if text else "wrk ?"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": pg_version,
        "packages": ", ".join(versions),
        "wrk": wrk,
    }


@dataclass
class Summary:
    rps: dict[tuple[str, str], float]  # (endpoint, server) -> median req/s over rounds
    ratios: dict[str, list[float]]  # endpoint -> per-round haven/baseline
    sat: dict[tuple[str, str], list[LoadResult]]
    fixed: dict[tuple[str, str], LoadResult]


def summarise(saturation: list[LoadResult], fixed: list[LoadResult]) -> Summary:
    sat: dict[tuple[str, str], list[LoadResult]] = defaultdict(list)
    for result in saturation:
        sat[(result.endpoint, result.server)].append(result)
    rps = {key: statistics.median(r.rps for r in runs) for key, runs in sat.items()}
    ratios: dict[str, list[float]] = {}
    for endpoint in ENDPOINTS:
        pairs = zip(sat[(endpoint, "haven")], sat[(endpoint, "baseline")], strict=False)
        ratios[endpoint] = [h.rps / b.rps if b.rps else 0.0 for h, b in pairs]
    return Summary(
        rps=rps, ratios=ratios, sat=sat, fixed={(r.endpoint, r.server): r for r in fixed}
    )


def verdicts(summary: Summary) -> list[tuple[str, bool, str]]:
    out = []
    for endpoint in ENDPOINTS:
        ratio = summary.rps[(endpoint, "haven")] / summary.rps[(endpoint, "baseline")]
        rounds = ", ".join(f"{r:.2f}" for r in summary.ratios[endpoint])
        out.append(
            (
                f"{ENDPOINT_LABEL[endpoint]}: Haven >= {TARGET_RATIO:.0%} of baseline req/s",
                ratio >= TARGET_RATIO,
                f"{ratio:.2f} ({ratio:.0%}; per round {rounds})",
            )
        )
    for endpoint in ENDPOINTS:
        result = summary.fixed.get((endpoint, "haven"))
        if result is None:
            continue
        ok = result.p99_ms <= TARGET_P99_MS and result.failures == 0
        note = f"p99 {result.p99_ms:.1f} ms at {result.offered_rps:.0f} req/s offered"
        if result.failures:
            note += f", {result.failures} failed requests"
        out.append((f"{ENDPOINT_LABEL[endpoint]}: Haven p99 <= {TARGET_P99_MS:.0f} ms", ok, note))
    return out


def busy_note(summary: Summary) -> list[str]:
    runs = [r for group in summary.sat.values() for r in group] + list(summary.fixed.values())
    busy = [r for r in runs if r.cpu and r.cpu["other"] > BUSY_OTHER_CORES]
    if not busy:
        return []
    return [
        "",
        f"{len(busy)} of {len(runs)} runs shared the machine with other work (marked *busy box*"
        " below); their req/s and latencies are less trustworthy than *server CPU ms/req*.",
    ]


def _failures(result: LoadResult) -> str:
    if not result.failures:
        return "0"
    return f"**{result.non2xx} non-2xx, {result.errors} errors**"


def _stalls(result: LoadResult) -> str:
    episodes = result.detail.get("stalls") or []
    return f"{len(episodes)} ({max(episodes):.0f})" if episodes else "0"


def _cores(result: LoadResult) -> str:
    cpu = result.cpu
    if not cpu:
        return "n/a"
    text = f"{cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f} / {cpu['other']:.2f}"
    return f"{text} (busy box)" if cpu["other"] > BUSY_OTHER_CORES else text


def render_tables(summary: Summary) -> list[str]:
    lines = [
        "### Throughput at saturation",
        "",
        "| endpoint | server | round | req/s | p50 ms | p99 ms | failed "
        "| server CPU ms/req | cores: server / PostgreSQL / client / other |",
        "|---|---|---|---:|---:|---:|---|---:|---|",
    ]
    for endpoint in ENDPOINTS:
        for server in SERVERS:
            for index, result in enumerate(summary.sat[(endpoint, server)], start=1):
                lines.append(
                    f"| {ENDPOINT_LABEL[endpoint]} | {server} | {index} | {result.rps:,.0f} | "
                    f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {_failures(result)} | "
                    f"{result.server_ms_per_request:.2f} | {_cores(result)} |"
                )
    lines += [
        "",
        "| endpoint (medians) | baseline req/s | Haven req/s | Haven ÷ baseline "
        "| baseline CPU ms/req | Haven CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for endpoint in ENDPOINTS:
        base, haven = summary.rps[(endpoint, "baseline")], summary.rps[(endpoint, "haven")]
        cost = {
            server: statistics.median(
                r.server_ms_per_request for r in summary.sat[(endpoint, server)]
            )
            for server in SERVERS
        }
        lines.append(
            f"| {ENDPOINT_LABEL[endpoint]} | {base:,.0f} | {haven:,.0f} | **{haven / base:.2f}** "
            f"| {cost['baseline']:.2f} | {cost['haven']:.2f} |"
        )
    if summary.fixed:
        lines += [
            "",
            "### Latency at a fixed offered rate (open loop)",
            "",
            "| endpoint | offered req/s | server | p50 ms | p90 ms | p99 ms | max ms | failed "
            "| stalls (worst ms) | cores: server / PostgreSQL / client / other |",
            "|---|---:|---|---:|---:|---:|---:|---|---|---|",
        ]
        for endpoint in ENDPOINTS:
            for server in SERVERS:
                result = summary.fixed.get((endpoint, server))
                if result is None:
                    continue
                lines.append(
                    f"| {ENDPOINT_LABEL[endpoint]} | {result.offered_rps:,.0f} | {server} | "
                    f"{result.p50_ms:.1f} | {result.p90_ms:.1f} | {result.p99_ms:.1f} | "
                    f"{result.max_ms:.1f} | {_failures(result)} | {_stalls(result)} | "
                    f"{_cores(result)} |"
                )
    return lines


METHOD_TEXT = """\
## Method

- **Data.** A throwaway PostgreSQL database (`haven_bench_<pid>_<hex>`, dropped at the end)
  gets Haven's schema from its own Alembic migrations (`haven.db.migrate.upgrade`), then
  {users:,} users, one personal workspace each (membership role `owner`), 5 tags per
  workspace and {tasks_per_user} tasks per user ({tasks:,} tasks, with their `task_tags` rows) are
  loaded with asyncpg `COPY`, followed by `VACUUM ANALYZE`. Tasks vary like real ones: five
  statuses, priorities, dues (a quarter all-day, in five time zones), starts, 0-3 tags,
  some recurring, 2% in the trash. Each user gets an access JWT from Haven's own
  `issue_access_token`, signed with a fixed `HAVEN_SECRET_KEY` both servers are given.
- **Servers.** Haven and the raw baseline run side by side, each as one uvicorn worker
  with uvloop and httptools and no access log, each with a fixed pool of 20 database
  connections. The baseline (`benchmarks/raw_baseline.py`) is Starlette + asyncpg + orjson
  with hand-written SQL, one round trip per request: the list is one `SELECT` through the
  caller's memberships ordered by `created_at, id`; the create is one statement whose CTEs
  find the personal workspace, insert the task and insert its `haven.task.created` events
  row (one implicit transaction). It checks the JWT with PyJWT as Haven does and answers
  the same JSON; the run checks that (see *Sanity* below) before measuring.
- **Throughput.** A separate process ({tool}) keeps {connections} connections busy for
  {duration:g} s per run against one server at a time, a random user's token per request;
  GET is `{get_path}`, POST creates a task with a title, description and priority. Each
  measured run follows {warmup:g} s of unmeasured warm-up. Runs are interleaved (per
  round: GET baseline/Haven, then POST; the order flips every round) and repeated for
  {rounds} round(s); the ratio is Haven's median req/s over the baseline's, with per-round
  ratios shown for spread. Other work on the box skews a run, so before each run the
  script waits (up to {quiet_wait:g} s) for the box to fall idle, and repeats a run that was
  disturbed anyway (up to {retries} times, keeping the least disturbed; all of this within
  {patience:g} s for the whole run). Latency at saturation is mostly
  queueing and is shown only for completeness.
- **Latency.** Percentiles are read at a fixed offered rate below saturation: an
  open-loop generator (this script's asyncio client in its own process) sends requests
  at fixed times, {fraction:.0%} of Haven's saturated req/s for that endpoint, for
  {rate_duration:g} s per server, and measures each from the moment it was due, so a
  stalled server cannot hide its queue (no coordinated omission). Its dispatcher lag is
  recorded to show the client kept up. *Stalls* counts episodes of requests slower than
  {stall_ms:g} ms that fell due within {stall_ms:g} ms of one another (with the worst
  latency): many requests held up at once mean the server stopped for that long (a blocked
  event loop, a long GC pause), not that single requests were slow.
- **CPU accounting.** Around every run the script reads /proc: the CPU time of the
  measured server process, of all PostgreSQL processes, of the load generator, and of
  everything else on the machine ("other": on a shared box, other people's work). *Server
  CPU ms/req* is the server's CPU time divided by the requests it answered: the cost of one
  request in that stack, steadier than req/s when the box is busy. Runs where "other"
  exceeded {busy:g} cores are marked *busy box*.
- **Errors.** Every non-2xx answer and every socket error or timeout is counted; a run with
  any is marked in the tables, and a latency target is not met by a run with failures.
- **Caveats.** Client, servers and PostgreSQL share the same {nproc} cores, as on CI; only
  ratios measured in one run mean anything (docs: shared/design/PERFORMANCE.md). POSTs
  commit with `fsync` on; the tables grow by the tasks the POST runs create, which lands
  after every user's first 50 tasks and does not change the GET answer.
"""


def render_report(
    options: Options,
    summary: Summary,
    machine: dict[str, str],
    seed: SeedResult,
    servers: Sequence[Server],
    sanity: list[str],
    tool: str,
    profiles: dict[str, dict[str, Any]],
    started: datetime,
) -> str:
    command = shlex.join(
        [os.path.relpath(sys.executable, REPO), "benchmarks/api_load.py", *options.argv]
    )
    results = verdicts(summary)
    all_met = all(ok for _, ok, _ in results)
    lines = [
        "# API load benchmark: Haven vs a raw baseline",
        "",
        "_This file is written by `benchmarks/api_load.py` (`make bench`); edit the script, not"
        " this file._",
        "",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- **Machine:** {machine['nproc']} cores, {machine['cpu']}, {machine['memory']} RAM, "
        f"Linux {machine['kernel']}",
        f"- **Software:** Python {machine['python']}; {machine['postgres']}; {machine['packages']};"
        f" {machine['wrk']}",
        f"- **Code:** {machine['commit']}, as loaded when the servers started",
        f"- **Command:** `{command}`" + (" (quick smoke run)" if options.quick else ""),
        f"- **Data:** {options.users:,} users x {options.tasks_per_user} tasks "
        f"({seed.tasks:,} tasks, seeded in {seed.seconds:.1f} s)",
        "",
        "## Targets",
        "",
        "| target | met? | measured |",
        "|---|---|---|",
    ]
    for label, ok, note in results:
        lines.append(f"| {label} | {'**met**' if ok else '**NOT met**'} | {note} |")
    lines += [
        "",
        "All targets met." if all_met else "**Not all targets are met.**",
        *busy_note(summary),
        "",
        "## Results",
        "",
        *render_tables(summary),
        "",
        "### Sanity",
        "",
        *[f"- {note}" for note in sanity],
        "",
        "### Servers as run",
        "",
        *[f"- {server.name}: `{server.display_command}`" for server in servers],
        "",
    ]
    for endpoint, profile in profiles.items():
        lines += render_profile(profile, endpoint)
    lines.append(
        METHOD_TEXT.format(
            users=options.users,
            tasks_per_user=options.tasks_per_user,
            tasks=seed.tasks,
            tool=tool,
            connections=options.connections,
            duration=options.duration,
            get_path=GET_PATH,
            warmup=options.warmup,
            rounds=options.rounds,
            fraction=options.rate_fraction,
            rate_duration=options.rate_duration,
            nproc=machine["nproc"],
            busy=BUSY_OTHER_CORES,
            quiet_wait=options.quiet_wait,
            retries=options.retries,
            patience=options.patience,
            stall_ms=STALL_MS,
        )
    )
    return "\n".join(lines)


def render_profile(profile: dict[str, Any], endpoint: str) -> list[str]:
    title = f"### Where Haven's time goes ({ENDPOINT_LABEL[endpoint]}, py-spy)"
    if "error" in profile:
        return [title, "", f"Profiling failed: {profile['error']}", ""]
    lines = [
        title,
        "",
        f"{profile['samples']:,} samples at 200 Hz while {endpoint} saturated Haven "
        f"({profile['rps_while_profiled']:,.0f} req/s under the profiler; "
        f"{profile['no_python_frames_pct']}% of samples had no Python frame: the event loop "
        "and I/O in C). Self time is the innermost Python frame, so time in C code (the "
        "SQLAlchemy row, asyncpg, orjson) is charged to the Python function calling it. "
        "SQLAlchemy's greenlet stacks are sampled apart from their callers, so a caller's "
        "inclusive share leaves out the ORM work it waits for.",
        "",
        "| package (self) | % |",
        "|---|---:|",
    ]
    lines += [f"| {package} | {share} |" for package, share in profile["self_by_package"][:14]]
    lines += ["", "| frame (self) | % |", "|---|---:|"]
    lines += [f"| `{name}` | {share} |" for name, share in profile["top_self"][:20]]
    lines += [
        "",
        "| frame (inclusive; the framework's pass-through middleware left out) | % |",
        "|---|---:|",
    ]
    working = [
        (name, share)
        for name, share in profile["top_inclusive"]
        if not name.endswith(_PASS_THROUGH) or "solve_dependencies" in name
    ]
    lines += [f"| `{name}` | {share} |" for name, share in working[:25]]
    lines.append("")
    return lines


def print_summary(summary: Summary) -> None:
    print("\n".join(render_tables(summary)))
    print()
    for label, ok, note in verdicts(summary):
        print(f"{'MET    ' if ok else 'NOT MET'}  {label}: {note}")
    failing = [r for runs in summary.sat.values() for r in runs if r.failures]
    failing += [r for r in summary.fixed.values() if r.failures]
    for result in failing:
        print(
            f"ERRORS   {result.server} {result.endpoint} ({result.tool}): {result.non2xx} non-2xx,"
            f" {result.errors} socket errors/timeouts"
        )


# ======================================================================================
# The run
# ======================================================================================


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C does: through the finally blocks."""

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def measure(
    options: Options, servers: dict[str, Server], workdir: Path, tokens_file: Path, use_wrk: bool
) -> tuple[list[LoadResult], list[LoadResult]]:
    # Waiting for a quiet box and repeating disturbed runs both stop once this is spent.
    patience_ends = time.monotonic() + options.patience

    def saturate(server: Server, endpoint: str, duration: float) -> LoadResult:
        if use_wrk:
            return run_wrk(server, endpoint, options, workdir, duration, tokens_file)
        return run_python_load(server, endpoint, options, duration, tokens_file)

    def metered(server: Server, run: Callable[[], LoadResult]) -> LoadResult:
        assert server.process is not None
        before = cpu_snapshot(server.process.pid)
        result = run()
        result.cpu = cpu_usage(before, cpu_snapshot(server.process.pid))
        return result

    def undisturbed(server: Server, run: Callable[[], LoadResult], label: str) -> LoadResult:
        """The run, repeated (boundedly) while other work on the box disturbed it."""
        best: LoadResult | None = None
        for attempt in range(1 + options.retries):
            patience = patience_ends - time.monotonic()
            if attempt and patience <= 0:
                break
            if options.quiet_wait > 0 and patience > 0:
                wait_for_quiet(min(options.quiet_wait, patience))
            result = metered(server, run)
            result.detail["attempts"] = attempt + 1
            if best is None or result.cpu.get("other", 0.0) < best.cpu.get("other", 0.0):
                best = result
            other = result.cpu.get("other", 0.0)
            if other <= BUSY_OTHER_CORES:
                break
            log(f"{label}: other work used {other:.2f} cores during the run")
        assert best is not None
        return best

    def cpu_note(result: LoadResult) -> str:
        cpu = result.cpu
        if not cpu:
            return ""
        return (
            f"  cpu: server {cpu['server']:.2f} pg {cpu['postgres']:.2f} "
            f"client {cpu['client']:.2f} other {cpu['other']:.2f} "
            f"({result.server_ms_per_request:.2f} server-ms/req)"
        )

    saturation: list[LoadResult] = []
    for round_index in range(options.rounds):
        order = SERVERS if round_index % 2 == 0 else tuple(reversed(SERVERS))
        for endpoint in ENDPOINTS:
            for name in order:
                server = servers[name]
                if options.warmup > 0:
                    saturate(server, endpoint, options.warmup)
                label = f"round {round_index + 1} {endpoint:4} {name:8}"
                result = undisturbed(
                    server,
                    lambda server=server, endpoint=endpoint: saturate(
                        server, endpoint, options.duration
                    ),
                    label,
                )
                saturation.append(result)
                log(
                    f"{label} {result.rps:8,.0f} req/s  "
                    f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                    f"failed {result.failures}{cpu_note(result)}"
                )

    fixed: list[LoadResult] = []
    for endpoint in ENDPOINTS:
        runs = [r for r in saturation if r.endpoint == endpoint]
        haven_rps = [r.rps for r in runs if r.server == "haven"]
        base_rps = [r.rps for r in runs if r.server == "baseline"]
        capacity = min(statistics.median(haven_rps), statistics.median(base_rps))
        rate = max(1.0, round(capacity * options.rate_fraction))
        for name in SERVERS:
            label = f"fixed {rate:.0f}/s {endpoint:4} {name:8}"
            result = undisturbed(
                servers[name],
                lambda name=name, endpoint=endpoint, rate=rate: run_python_load(
                    servers[name], endpoint, options, options.rate_duration, tokens_file, rate=rate
                ),
                label,
            )
            fixed.append(result)
            log(
                f"{label} p50 {result.p50_ms:6.1f} ms  "
                f"p99 {result.p99_ms:6.1f} ms  max {result.max_ms:6.1f} ms  "
                f"failed {result.failures}  client lag p99 "
                f"{result.detail['dispatch_lag_p99_ms']:.1f} ms  "
                f"stalls {_stalls(result)}{cpu_note(result)}"
            )
    return saturation, fixed


def run(options: Options) -> int:
    import asyncpg  # noqa: F401  (fail early if the venv is not the project's)

    from haven.db.migrate import upgrade

    started = datetime.now().astimezone()
    use_wrk = options.loadgen == "wrk" or (options.loadgen == "auto" and shutil.which("wrk"))
    if options.loadgen == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk), use --loadgen python")
    tool = (
        f"wrk -t{options.threads} -c{options.connections} with a Lua script"
        if use_wrk
        else f"this script's asyncio HTTP/1.1 client, {options.connections} connections"
    )
    workdir = Path(tempfile.mkdtemp(prefix="haven-bench-"))
    db_name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
    db_dsn = dsn_for(options.pg, db_name)
    servers: list[Server] = []
    created = False
    try:
        for name in asyncio.run(_drop_stale_databases(options.pg)):
            log(f"dropped a stale benchmark database {name}")
        asyncio.run(_admin(options.pg, f'CREATE DATABASE "{db_name}"'))
        created = True
        log(f"database {db_name}: migrating")
        upgrade("postgresql+asyncpg://" + db_dsn.split("://", 1)[1])
        log(f"seeding {options.users:,} users x {options.tasks_per_user} tasks")
        seed = asyncio.run(
            seed_database(db_dsn, options.users, options.tasks_per_user, options.seed)
        )
        log(f"seeded {seed.tasks:,} tasks in {seed.seconds:.1f} s")
        tokens_file = workdir / "tokens.txt"
        tokens = mint_tokens(seed.user_ids, tokens_file)
        pg_version = asyncio.run(_pg_version(db_dsn))

        code = code_version()  # what the servers load now (the tree may change meanwhile)
        baseline, haven = make_servers(options, db_name, workdir)
        servers = [baseline, haven]
        for server in servers:
            server.start(workdir)
        for server in servers:
            wait_ready(server, tokens[0])
        sanity = compare_servers(baseline, haven, tokens, db_dsn)
        for note in sanity:
            log(f"sanity: {note}")

        if options.hold > 0:
            hold(options, servers, workdir, tokens_file, db_dsn)
            return 0
        saturation, fixed = measure(
            options, {s.name: s for s in servers}, workdir, tokens_file, bool(use_wrk)
        )
        profiles: dict[str, dict[str, Any]] = {}
        for endpoint in ENDPOINTS if options.profile is not None else ():
            if options.quiet_wait > 0:
                wait_for_quiet(options.quiet_wait)
            log(f"profiling Haven under {endpoint} load with py-spy into {options.profile}")
            profiles[endpoint] = profile_haven(
                haven, endpoint, options, workdir, tokens_file, bool(use_wrk)
            )
            if "error" in profiles[endpoint]:
                log(f"profiling failed: {profiles[endpoint]['error']}")

        summary = summarise(saturation, fixed)
        print_summary(summary)
        if options.output is not None:
            report = render_report(
                options,
                summary,
                {**machine_info(pg_version), "commit": code},
                seed,
                servers,
                sanity,
                tool,
                profiles,
                started,
            )
            options.output.parent.mkdir(parents=True, exist_ok=True)
            options.output.write_text(report)
            log(f"wrote {options.output}")
        for server in servers:
            assert server.process is not None
            if server.process.poll() is not None:
                log(f"{server.name} died during the run:\n{server.log_tail()}")
                return 1
        return 0
    finally:
        for server in servers:
            server.stop()
        if created:
            try:
                asyncio.run(_admin(options.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                log(f"dropped database {db_name}")
            except Exception as exc:  # report, but let the original error (if any) through
                log(f"could not drop database {db_name}: {exc!r}")
        shutil.rmtree(workdir, ignore_errors=True)


def hold(
    options: Options, servers: Sequence[Server], workdir: Path, tokens_file: Path, dsn: str
) -> None:
    """Keep the database and both servers up for manual probing (bounded by --hold)."""
    (workdir / "env.sh").write_text(
        "".join(
            f"export {key}={shlex.quote(value)}\n"
            for key, value in servers[1].env.items()
            if key.startswith("HAVEN_")
        )
        + f"export RAW_DATABASE_URL={shlex.quote(dsn)}\n"
        + f"export TOKENS={shlex.quote(str(tokens_file))}\n"
    )
    for server in servers:
        log(f"{server.name}: http://127.0.0.1:{server.port}  (log {server.log_path})")
    log(f"database {dsn}; tokens {tokens_file}; environment {workdir / 'env.sh'}")
    log(f"holding for {options.hold:.0f} s; Ctrl-C (or SIGTERM) ends it and cleans up")
    deadline = time.monotonic() + options.hold
    while time.monotonic() < deadline:
        if any(s.process is not None and s.process.poll() is not None for s in servers):
            log("a server exited; ending the hold")
            return
        time.sleep(1.0)


async def _pg_version(dsn: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return f"PostgreSQL {version.split()[0]}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["loadgen"]:
        loadgen_main(argv[1])
        return 0
    options = parse_options(argv)
    with terminate_on_signals():
        try:
            return run(options)
        except KeyboardInterrupt:
            log("interrupted; cleaned up")
            return 130


if __name__ == "__main__":
    sys.exit(main())
