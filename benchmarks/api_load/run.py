"""One benchmark run from start to clean-up: database, servers, measurements, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.api_load.cpu import cpu_snapshot, cpu_usage, wait_for_quiet
from benchmarks.api_load.load import LoadResult, Workload, run_python_load, run_wrk
from benchmarks.api_load.options import (
    BUSY_OTHER_CORES,
    COMPLETE_PATH,
    COMPLETE_POOL_PER_SECOND,
    DB_PREFIX,
    ENDPOINTS,
    GET_PATH,
    HAVEN_ENDPOINTS,
    PATCH_PATH,
    POST_PATH,
    SERVERS,
    Options,
    log,
    parse_options,
)
from benchmarks.api_load.profiling import profile_haven
from benchmarks.api_load.report import (
    BigWorkspace,
    code_version,
    machine_info,
    print_summary,
    render_report,
    stalls_text,
    summarise,
)
from benchmarks.api_load.seed import (
    COMMON_WORD,
    RARE_WORD,
    SeedPlan,
    admin_execute,
    drop_stale_databases,
    dsn_for,
    mint_tokens,
    postgres_version,
    seed_database,
    write_targets,
)
from benchmarks.api_load.servers import (
    Server,
    compare_servers,
    http_call,
    make_servers,
    wait_ready,
)
from benchmarks.sections import write_section


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


class Workloads:
    """The workload of each endpoint; completes take fresh open tasks for every run."""

    def __init__(self, tokens_file: Path, patch_file: Path, complete_file: Path) -> None:
        self.fixed = {
            "GET": Workload("GET", "GET", GET_PATH, tokens_file),
            "POST": Workload("POST", "POST", POST_PATH, tokens_file, body="create"),
            "PATCH": Workload("PATCH", "PATCH", PATCH_PATH, patch_file, body="patch"),
        }
        self.complete_file = complete_file
        self.complete_lines = 0
        self.complete_used = 0

    def __call__(self, endpoint: str, duration: float) -> Workload:
        if endpoint != "COMPLETE":
            return self.fixed[endpoint]
        # Once the pool is used up, a run reuses tasks already completed, and says so.
        start = self.complete_used
        self.complete_used = min(
            self.complete_lines, start + math.ceil(COMPLETE_POOL_PER_SECOND * duration)
        )
        return Workload(
            "COMPLETE",
            "POST",
            COMPLETE_PATH,
            self.complete_file,
            once=True,
            start=start,
            stop=self.complete_used,
        )


class Runner:
    """Saturating and metering runs, each repeated (boundedly) while the box was disturbed."""

    def __init__(
        self, options: Options, workdir: Path, workloads: Workloads, use_wrk: bool
    ) -> None:
        self.options = options
        self.workdir = workdir
        self.workloads = workloads
        self.use_wrk = use_wrk
        # Waiting for a quiet box and repeating disturbed runs both stop once this is spent.
        self.patience_ends = time.monotonic() + options.patience

    def saturate(self, server: Server, workload: Workload, duration: float) -> LoadResult:
        if self.use_wrk:
            return run_wrk(server, workload, self.options, self.workdir, duration)
        return run_python_load(server, workload, self.options, duration)

    def metered(self, server: Server, run: Callable[[], LoadResult]) -> LoadResult:
        assert server.process is not None
        before = cpu_snapshot(server.process.pid)
        result = run()
        result.cpu = cpu_usage(before, cpu_snapshot(server.process.pid))
        return result

    def undisturbed(self, server: Server, run: Callable[[], LoadResult], label: str) -> LoadResult:
        """The run, repeated (boundedly) while other work on the box disturbed it."""
        best: LoadResult | None = None
        for attempt in range(1 + self.options.retries):
            patience = self.patience_ends - time.monotonic()
            if attempt and patience <= 0:
                break
            if self.options.quiet_wait > 0 and patience > 0:
                wait_for_quiet(min(self.options.quiet_wait, patience))
            result = self.metered(server, run)
            result.detail["attempts"] = attempt + 1
            if best is None or result.cpu.get("other", 0.0) < best.cpu.get("other", 0.0):
                best = result
            other = result.cpu.get("other", 0.0)
            if other <= BUSY_OTHER_CORES:
                break
            log(f"{label}: other work used {other:.2f} cores during the run")
        assert best is not None
        return best

    def saturated_run(
        self, server: Server, workload: Callable[[float], Workload], label: str
    ) -> LoadResult:
        """Warm up, then one measured saturation run (logged); `workload(seconds)` says what."""
        if self.options.warmup > 0:
            self.saturate(server, workload(self.options.warmup), self.options.warmup)
        duration = self.options.duration
        result = self.undisturbed(
            server, lambda: self.saturate(server, workload(duration), duration), label
        )
        log(
            f"{label} {result.rps:8,.0f} req/s  "
            f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
            f"failed {result.failures}{reused_note(result)}{cpu_note(result)}"
        )
        return result


def cpu_note(result: LoadResult) -> str:
    cpu = result.cpu
    if not cpu:
        return ""
    return (
        f"  cpu: server {cpu['server']:.2f} pg {cpu['postgres']:.2f} "
        f"client {cpu['client']:.2f} other {cpu['other']:.2f} "
        f"({result.server_ms_per_request:.2f} server-ms/req)"
    )


def reused_note(result: LoadResult) -> str:
    reused = int(result.detail.get("reused") or 0)
    return f"  ({reused} requests reused an already completed task)" if reused else ""


def measure(
    runner: Runner, servers: dict[str, Server]
) -> tuple[list[LoadResult], list[LoadResult]]:
    options = runner.options
    saturation: list[LoadResult] = []
    for round_index in range(options.rounds):
        order = SERVERS if round_index % 2 == 0 else tuple(reversed(SERVERS))
        for endpoint in ENDPOINTS:
            for name in order:
                label = f"round {round_index + 1} {endpoint:8} {name:8}"
                saturation.append(
                    runner.saturated_run(servers[name], partial(runner.workloads, endpoint), label)
                )
        for endpoint in HAVEN_ENDPOINTS:
            label = f"round {round_index + 1} {endpoint:8} haven   "
            saturation.append(
                runner.saturated_run(servers["haven"], partial(runner.workloads, endpoint), label)
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
            workload = runner.workloads(endpoint, options.rate_duration)
            result = runner.undisturbed(
                servers[name],
                lambda name=name, workload=workload, rate=rate: run_python_load(
                    servers[name], workload, options, options.rate_duration, rate=rate
                ),
                label,
            )
            fixed.append(result)
            log(
                f"{label} p50 {result.p50_ms:6.1f} ms  "
                f"p99 {result.p99_ms:6.1f} ms  max {result.max_ms:6.1f} ms  "
                f"failed {result.failures}  client lag p99 "
                f"{result.detail['dispatch_lag_p99_ms']:.1f} ms  "
                f"stalls {stalls_text(result)}{cpu_note(result)}"
            )
    return saturation, fixed


def completable_per_user(options: Options) -> int:
    """Open recurring tasks each user needs so that no complete run runs out of them."""
    seconds = (options.warmup + options.duration) * options.rounds * (1 + options.retries)
    if options.profile is not None:
        seconds += options.duration + 2
    return math.ceil(COMPLETE_POOL_PER_SECOND * seconds / options.users)


def measure_big(runner: Runner, haven: Server, db_dsn: str) -> tuple[BigWorkspace, list[str]]:
    """Add one big workspace, then: GET in it, GET in the small ones beside it, and ?q=."""
    options = runner.options
    log(f"seeding one workspace of {options.big_tasks:,} tasks beside the others")
    plan = SeedPlan(
        users=1, tasks_per_user=options.big_tasks, rare_every=options.big_tasks // 5, label="big"
    )
    seed = asyncio.run(seed_database(db_dsn, plan, options.seed + 1))
    log(
        f"seeded {seed.tasks:,} tasks in {seed.seconds:.1f} s ({seed.common_word_tasks:,} "
        f"with {COMMON_WORD!r}, {seed.rare_word_tasks} with {RARE_WORD!r})"
    )
    big_tokens = runner.workdir / "big-tokens.txt"
    (big_token,) = mint_tokens(seed.user_ids, big_tokens)
    notes = []
    for word, expected in ((COMMON_WORD, 50), (RARE_WORD, seed.rare_word_tasks)):
        status, body, _ = http_call(haven.port, "GET", f"{GET_PATH}&q={word}", big_token)
        found = len(json.loads(body)["items"]) if status == 200 else -1
        notes.append(
            f"big workspace, `q={word}`: HTTP {status}, {found} tasks on the first page"
            f" (expected {expected})"
        )
    big = BigWorkspace(tasks=seed.tasks, common=seed.common_word_tasks, rare=seed.rare_word_tasks)
    beside = runner.workloads.fixed["GET"]
    in_big = Workload("GET big", "GET", GET_PATH, big_tokens)
    for round_index in range(options.rounds):
        for workload in (beside, in_big) if round_index % 2 == 0 else (in_big, beside):
            name = "GET beside" if workload is beside else "GET big"
            label = f"round {round_index + 1} {name:10} haven   "
            result = runner.saturated_run(haven, lambda _, w=workload: w, label)
            result.endpoint = name
            big.saturation.append(result)
    for word in (COMMON_WORD, RARE_WORD):
        workload = Workload(f"q={word}", "GET", f"{GET_PATH}&q={word}", big_tokens)
        label = f"search q={word} (one connection)"
        result = runner.undisturbed(
            haven,
            lambda workload=workload: run_python_load(
                haven, workload, options, options.search_duration, connections=1
            ),
            label,
        )
        big.search.append(result)
        log(
            f"{label}: {result.requests} pages, p50 {result.p50_ms:.1f} ms  "
            f"p90 {result.p90_ms:.1f} ms  max {result.max_ms:.1f} ms  failed {result.failures}"
        )
    return big, notes


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
        else f"the benchmark's asyncio HTTP/1.1 client, {options.connections} connections"
    )
    workdir = Path(tempfile.mkdtemp(prefix="haven-bench-"))
    db_name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
    db_dsn = dsn_for(options.pg, db_name)
    servers: list[Server] = []
    created = False
    try:
        for name in asyncio.run(drop_stale_databases(options.pg)):
            log(f"dropped a stale benchmark database {name}")
        asyncio.run(admin_execute(options.pg, f'CREATE DATABASE "{db_name}"'))
        created = True
        log(f"database {db_name}: migrating")
        upgrade("postgresql+asyncpg://" + db_dsn.split("://", 1)[1])
        log(f"seeding {options.users:,} users x {options.tasks_per_user} tasks")
        plan = SeedPlan(
            users=options.users,
            tasks_per_user=options.tasks_per_user,
            completable_per_user=completable_per_user(options),
        )
        seed = asyncio.run(seed_database(db_dsn, plan, options.seed))
        log(
            f"seeded {seed.tasks:,} tasks in {seed.seconds:.1f} s (of which"
            f" {len(seed.completable):,} open recurring ones for the complete runs)"
        )
        tokens_file = workdir / "tokens.txt"
        tokens = mint_tokens(seed.user_ids, tokens_file)
        workloads = Workloads(
            tokens_file,
            patch_file=workdir / "editable.txt",
            complete_file=workdir / "completable.txt",
        )
        write_targets(tokens, seed.editable, workloads.fixed["PATCH"].credentials)
        write_targets(tokens, seed.completable, workloads.complete_file)
        workloads.complete_lines = len(seed.completable)
        pg_version = asyncio.run(postgres_version(db_dsn))

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
        runner = Runner(options, workdir, workloads, bool(use_wrk))
        saturation, fixed = measure(runner, {s.name: s for s in servers})
        profiles: dict[str, dict[str, Any]] = {}
        for endpoint in (*ENDPOINTS, *HAVEN_ENDPOINTS) if options.profile is not None else ():
            if options.quiet_wait > 0:
                wait_for_quiet(options.quiet_wait)
            log(f"profiling Haven under {endpoint} load with py-spy into {options.profile}")
            profiles[endpoint] = profile_haven(
                haven, workloads(endpoint, options.duration + 2), options, workdir, bool(use_wrk)
            )
            if "error" in profiles[endpoint]:
                log(f"profiling failed: {profiles[endpoint]['error']}")
        big = None
        if options.big_tasks:
            big, big_notes = measure_big(runner, haven, db_dsn)
            sanity += big_notes

        summary = summarise(saturation, fixed, big)
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
            write_report(options.output, report)
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
                asyncio.run(
                    admin_execute(options.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                )
                log(f"dropped database {db_name}")
            except Exception as exc:  # report, but let the original error (if any) through
                log(f"could not drop database {db_name}: {exc!r}")
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(path: Path, report: str) -> None:
    """Replace the load benchmark's section of docs/benchmarks.md (benchmarks/sections.py)."""
    write_section(path, "api_load", "make bench", report)


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_options(argv)
    with terminate_on_signals():
        try:
            return run(options)
        except KeyboardInterrupt:
            log("interrupted; cleaned up")
            return 130
