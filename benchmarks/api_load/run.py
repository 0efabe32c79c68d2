"""One benchmark run from start to clean-up: database, servers, measurements, report."""

from __future__ import annotations

import asyncio
import contextlib
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
from pathlib import Path
from typing import Any

from benchmarks.api_load.cpu import cpu_snapshot, cpu_usage, wait_for_quiet
from benchmarks.api_load.load import LoadResult, run_python_load, run_wrk
from benchmarks.api_load.options import (
    BUSY_OTHER_CORES,
    DB_PREFIX,
    ENDPOINTS,
    SERVERS,
    Options,
    log,
    parse_options,
)
from benchmarks.api_load.profiling import profile_haven
from benchmarks.api_load.report import (
    code_version,
    machine_info,
    print_summary,
    render_report,
    stalls_text,
    summarise,
)
from benchmarks.api_load.seed import (
    admin_execute,
    drop_stale_databases,
    dsn_for,
    mint_tokens,
    postgres_version,
    seed_database,
)
from benchmarks.api_load.servers import Server, compare_servers, make_servers, wait_ready


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
                f"stalls {stalls_text(result)}{cpu_note(result)}"
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
        seed = asyncio.run(
            seed_database(db_dsn, options.users, options.tasks_per_user, options.seed)
        )
        log(f"seeded {seed.tasks:,} tasks in {seed.seconds:.1f} s")
        tokens_file = workdir / "tokens.txt"
        tokens = mint_tokens(seed.user_ids, tokens_file)
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
                asyncio.run(
                    admin_execute(options.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                )
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_options(argv)
    with terminate_on_signals():
        try:
            return run(options)
        except KeyboardInterrupt:
            log("interrupted; cleaned up")
            return 130
