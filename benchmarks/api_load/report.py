"""The results: tables and verdicts on the terminal, and docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.api_load.load import LoadResult
from benchmarks.api_load.loadgen import STALL_MS
from benchmarks.api_load.options import (
    BUSY_OTHER_CORES,
    ENDPOINT_LABEL,
    ENDPOINTS,
    GET_PATH,
    HAVEN_ENDPOINTS,
    REPO,
    SERVERS,
    TARGET_BESIDE_RATIO,
    TARGET_BIG_RATIO,
    TARGET_P99_MS,
    TARGET_RATIO,
    TARGET_SATURATED_P99_FACTOR,
    TARGET_SEARCH_MS,
    Options,
)
from benchmarks.api_load.profiling import PASS_THROUGH_FRAMES
from benchmarks.api_load.seed import SeedResult
from benchmarks.api_load.servers import Server


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
class BigWorkspace:
    """The big-workspace phase: GET in it and beside it (saturated), and ?q= (one connection)."""

    tasks: int
    common: int  # tasks holding the common word
    rare: int  # tasks holding the rare word
    saturation: list[LoadResult] = field(default_factory=list)  # endpoint "GET big"/"GET beside"
    search: list[LoadResult] = field(default_factory=list)  # endpoint "q=<word>"


@dataclass
class Summary:
    rps: dict[tuple[str, str], float]  # (endpoint, server) -> median req/s over rounds
    ratios: dict[str, list[float]]  # endpoint -> per-round haven/baseline
    p99_ratios: dict[str, list[float]]  # endpoint -> per-round haven p99 / baseline p99
    sat: dict[tuple[str, str], list[LoadResult]]
    fixed: dict[tuple[str, str], LoadResult]
    big: BigWorkspace | None


def summarise(
    saturation: list[LoadResult], fixed: list[LoadResult], big: BigWorkspace | None
) -> Summary:
    sat: dict[tuple[str, str], list[LoadResult]] = defaultdict(list)
    for result in [*saturation, *(big.saturation if big else [])]:
        sat[(result.endpoint, result.server)].append(result)
    rps = {key: statistics.median(r.rps for r in runs) for key, runs in sat.items()}
    ratios: dict[str, list[float]] = {}
    p99_ratios: dict[str, list[float]] = {}
    for endpoint in ENDPOINTS:
        pairs = list(zip(sat[(endpoint, "haven")], sat[(endpoint, "baseline")], strict=False))
        ratios[endpoint] = [h.rps / b.rps if b.rps else 0.0 for h, b in pairs]
        p99_ratios[endpoint] = [h.p99_ms / b.p99_ms if b.p99_ms else 0.0 for h, b in pairs]
    return Summary(
        rps=rps,
        ratios=ratios,
        p99_ratios=p99_ratios,
        sat=sat,
        fixed={(r.endpoint, r.server): r for r in fixed},
        big=big,
    )


def _listed(values: Sequence[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def verdicts(summary: Summary) -> list[tuple[str, bool, str]]:
    out = []
    for endpoint in ENDPOINTS:
        ratio = summary.rps[(endpoint, "haven")] / summary.rps[(endpoint, "baseline")]
        target = TARGET_RATIO[endpoint]
        out.append(
            (
                f"{ENDPOINT_LABEL[endpoint]}: Haven >= {target:.2f} of baseline req/s",
                ratio >= target,
                f"{ratio:.2f} (per round {_listed(summary.ratios[endpoint])})",
            )
        )
    for endpoint in ENDPOINTS:
        factors = summary.p99_ratios[endpoint]
        factor = statistics.median(factors)
        out.append(
            (
                f"{ENDPOINT_LABEL[endpoint]}: saturated p99 <= {TARGET_SATURATED_P99_FACTOR:g}x"
                " the baseline's (median of rounds)",
                factor <= TARGET_SATURATED_P99_FACTOR,
                f"{factor:.2f}x (per round {_listed(factors)})",
            )
        )
    out += big_verdicts(summary)
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


def big_verdicts(summary: Summary) -> list[tuple[str, bool, str]]:
    """GET in the big workspace and beside it, against Haven's GET in the main rounds."""
    big = summary.big
    if big is None:
        return []
    reference = summary.rps[("GET", "haven")]
    out = []
    for name, target, what in (
        ("GET big", TARGET_BIG_RATIO, f"GET in the {big.tasks:,}-task workspace"),
        ("GET beside", TARGET_BESIDE_RATIO, "GET in a 100-task workspace beside it"),
    ):
        runs = summary.sat[(name, "haven")]
        ratio = summary.rps[(name, "haven")] / reference
        cost = statistics.median(r.server_ms_per_request for r in runs)
        base_cost = statistics.median(
            r.server_ms_per_request for r in summary.sat[("GET", "haven")]
        )
        out.append(
            (
                f"{what}: >= {target:.2f} of Haven's GET req/s without it",
                ratio >= target,
                f"{ratio:.2f} (per round {_listed([r.rps / reference for r in runs])}; server"
                f" CPU {cost:.2f} vs {base_cost:.2f} ms/req)",
            )
        )
    for result in big.search:
        ok = result.p50_ms <= TARGET_SEARCH_MS and result.failures == 0
        out.append(
            (
                f"`?{result.endpoint}` in the big workspace: median <= {TARGET_SEARCH_MS:.0f} ms"
                " per page",
                ok,
                f"p50 {result.p50_ms:.1f} ms, p90 {result.p90_ms:.1f} ms, max"
                f" {result.max_ms:.1f} ms over {result.requests} pages"
                + (f", {result.failures} failed" if result.failures else ""),
            )
        )
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


def stalls_text(result: LoadResult) -> str:
    episodes = result.detail.get("stalls") or []
    return f"{len(episodes)} ({max(episodes):.0f})" if episodes else "0"


def _cores(result: LoadResult) -> str:
    cpu = result.cpu
    if not cpu:
        return "n/a"
    text = f"{cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f} / {cpu['other']:.2f}"
    return f"{text} (busy box)" if cpu["other"] > BUSY_OTHER_CORES else text


def _label(endpoint: str) -> str:
    labels = {
        **ENDPOINT_LABEL,
        "GET big": f"{GET_PATH} in the big workspace",
        "GET beside": f"{GET_PATH} in a 100-task workspace beside the big one",
    }
    return labels.get(endpoint, endpoint)


def _saturation_keys(summary: Summary) -> list[tuple[str, str]]:
    """(endpoint, server) in table order: compared endpoints, Haven-only, the big phase."""
    keys = [(endpoint, server) for endpoint in ENDPOINTS for server in SERVERS]
    keys += [(endpoint, "haven") for endpoint in (*HAVEN_ENDPOINTS, "GET big", "GET beside")]
    return [key for key in keys if summary.sat.get(key)]


def render_tables(summary: Summary) -> list[str]:
    lines = [
        "### Throughput at saturation",
        "",
        "| endpoint | server | round | req/s | p50 ms | p99 ms | failed "
        "| server CPU ms/req | cores: server / PostgreSQL / client / other |",
        "|---|---|---|---:|---:|---:|---|---:|---|",
    ]
    for endpoint, server in _saturation_keys(summary):
        for index, result in enumerate(summary.sat[(endpoint, server)], start=1):
            lines.append(
                f"| {_label(endpoint)} | {server} | {index} | {result.rps:,.0f} | "
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
    lines += [
        "",
        "| Haven-only endpoint (medians) | Haven req/s | Haven CPU ms/req "
        "| ÷ baseline POST CPU ms/req |",
        "|---|---:|---:|---:|",
    ]
    base_post = statistics.median(
        r.server_ms_per_request for r in summary.sat[("POST", "baseline")]
    )
    for endpoint in HAVEN_ENDPOINTS:
        runs = summary.sat[(endpoint, "haven")]
        cost = statistics.median(r.server_ms_per_request for r in runs)
        lines.append(
            f"| {_label(endpoint)} | {summary.rps[(endpoint, 'haven')]:,.0f} | {cost:.2f} "
            f"| {cost / base_post if base_post else 0.0:.1f} |"
        )
    if summary.big is not None:
        lines += [
            "",
            f"### A {summary.big.tasks:,}-task workspace beside the others",
            "",
            f"Its tasks: {summary.big.common:,} hold the common word, {summary.big.rare} the rare"
            " one. `?q=` runs are one connection, one request after another.",
            "",
            "| search | pages | p50 ms | p90 ms | max ms | failed |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for result in summary.big.search:
            lines.append(
                f"| `{GET_PATH}&{result.endpoint}` | {result.requests} | {result.p50_ms:.1f} | "
                f"{result.p90_ms:.1f} | {result.max_ms:.1f} | {_failures(result)} |"
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
                    f"{result.max_ms:.1f} | {_failures(result)} | {stalls_text(result)} | "
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
- **Other writes (Haven only).** `PATCH /api/v1/tasks/{{id}}` changes the title and progress
  of a random open task of the caller's; `POST /api/v1/tasks/{{id}}/complete` completes an open
  daily-recurring task, which writes its next occurrence. Each complete takes a task nobody
  completed before (the seed adds enough per user, created last, so they never reach GET's
  page); a run that ran out says so. The baseline has no equivalent, so these report Haven's
  req/s and server CPU ms/req beside the baseline's cost of a create.
- **Saturated tail.** Per round, Haven's p99 at saturation is divided by the baseline's in
  the same round; the target is the median of those factors.
- **A big workspace.** After the main rounds, one more user's workspace of {big_tasks:,} tasks,
  generated like the others, is added with `COPY` and `VACUUM ANALYZE`. Then, per round, GET
  in it and GET by the 100-task users beside it, each against Haven's GET median of the main
  rounds (before it existed). `?q=` with a common word and a rare word runs over one
  connection, one request after another, so each latency is the cost of one page.
- **Latency.** Percentiles are read at a fixed offered rate below saturation: an
  open-loop generator (the benchmark's asyncio client in its own process) sends requests
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
        [os.path.relpath(sys.executable, REPO), "-m", "benchmarks.api_load", *options.argv]
    )
    results = verdicts(summary)
    all_met = all(ok for _, ok, _ in results)
    lines = [
        "# API load benchmark: Haven vs a raw baseline",
        "",
        "_This file is written by `benchmarks/api_load/` (`make bench`); edit the benchmark, not"
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
            big_tasks=options.big_tasks,
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
        if not name.endswith(PASS_THROUGH_FRAMES) or "solve_dependencies" in name
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
