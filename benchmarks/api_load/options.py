"""The benchmark's options (``--help`` lists them) and the constants every part shares."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "benchmarks"
BIN = Path(sys.executable).parent
SECRET_KEY = "haven-benchmark-secret-key-0123456789-not-for-production"
DB_PREFIX = "haven_bench_"
GET_PATH = "/api/v1/tasks?limit=50"
POST_PATH = "/api/v1/tasks"
PATCH_PATH = "/api/v1/tasks/{id}"
COMPLETE_PATH = "/api/v1/tasks/{id}/complete"
BUSY_OTHER_CORES = 0.15  # CPU used by processes outside the benchmark: above this, say so
# Measured on both servers, as Haven's req/s over the baseline's.
ENDPOINTS = ("GET", "POST")
# Measured on Haven alone (the baseline has no equivalent): req/s and server CPU ms/req.
HAVEN_ENDPOINTS = ("PATCH", "COMPLETE")
ENDPOINT_LABEL = {
    "GET": "GET /api/v1/tasks?limit=50",
    "POST": "POST /api/v1/tasks",
    "PATCH": "PATCH /api/v1/tasks/{id}",
    "COMPLETE": "POST /api/v1/tasks/{id}/complete (recurring)",
}
SERVERS = ("baseline", "haven")

# The targets (issue "Performance pass").
TARGET_RATIO = {"GET": 0.67, "POST": 0.4}  # Haven req/s / baseline req/s, same run
TARGET_P99_MS = 50.0  # at the fixed offered rate below saturation
TARGET_SATURATED_P99_FACTOR = 2.0  # Haven's saturated p99 / the baseline's, per round
TARGET_BIG_RATIO = 0.8  # GET in the big workspace / GET in a 100-task one
TARGET_BESIDE_RATIO = 0.9  # a small workspace's GET beside the big one / before it existed
TARGET_SEARCH_MS = 50.0  # median ms per page of ?q= in the big workspace
# Completes each need an open recurring task of their own: this many per second of run.
COMPLETE_POOL_PER_SECOND = 800


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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
    big_tasks: int
    search_duration: float
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
    parser.add_argument(
        "--big-tasks",
        type=int,
        help="tasks in the one big workspace measured after the main rounds (250000; 0 skips)",
    )
    parser.add_argument(
        "--search-duration",
        type=float,
        help="seconds per one-connection ?q= latency run in the big workspace (5; 3 quick)",
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
        "big_tasks": 250_000,
        "search_duration": 3.0 if quick else 5.0,
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
        big_tasks=int(values["big_tasks"]),
        search_duration=float(values["search_duration"]),
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
        (options.big_tasks, 0, 2_000_000, "--big-tasks"),
        (options.search_duration, 0.5, 600, "--search-duration"),
    ]
    for value, low, high, name in bounds:
        if not low <= value <= high:
            parser.error(f"{name} must be between {low} and {high}")
    return options
