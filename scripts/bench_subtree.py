"""Time deleting, restoring and cascade-completing a large subtree (docs/benchmarks.md).

    .venv/bin/python scripts/bench_subtree.py [--database sqlite|postgres|both] [--size 1500]

Two shapes of `size` subtasks under one root: a chain (each the only subtask of the one
before) and a wide tree (every subtask directly under the root). For each, through the
real app in this process (httpx over ASGI, no network): DELETE the root, POST restore, POST
complete?cascade=true. Each figure is the median of `--repeat` runs on a fresh tree: wall
ms, this process's CPU ms (the app's share; PostgreSQL's own work is not in it), and the
SQL statements the request sent. A throwaway database: a temporary SQLite file, or a
PostgreSQL database created and dropped on HAVEN_TEST_POSTGRES_URL's server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from haven.app import create_app
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.migrate import upgrade
from haven.db.registry import metadata
from haven.db.session import Database
from haven.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "HAVEN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
OPERATIONS = ("delete", "restore", "complete")


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@asynccontextmanager
async def _database_url(backend: str, folder: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    name = f"haven_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Counter:
    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, *_: Any) -> None:
        self.statements += 1


async def _tree(database: Database, owner: dict[str, Any], *, shape: str, size: int) -> str:
    """A root with `size` subtasks below it (a chain or all direct); the root's id."""
    root = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(size)]
    rows = [
        {
            "id": task_id,
            "workspace_id": owner["workspace_id"],
            "parent_id": (ids[n - 1] if n else root) if shape == "chain" else root,
            "title": f"task {n}",
            "timezone": "UTC",
            "created_by": owner["user_id"],
        }
        for n, task_id in enumerate(ids)
    ]
    root_row = {**rows[0], "id": root, "parent_id": None, "title": "root"}
    async with database.engine.begin() as connection:
        await connection.execute(insert(metadata.tables["tasks"]), [root_row, *rows])
    return str(root)


async def _clear(database: Database) -> None:
    tasks, events = metadata.tables["tasks"], metadata.tables["events"]
    async with database.engine.begin() as connection:
        # SQLite follows ON DELETE CASCADE as nested triggers, at most 1,000 deep.
        await connection.execute(tasks.update().values(parent_id=None))
        await connection.execute(tasks.delete())
        await connection.execute(events.delete())


async def _measure(
    counter: _Counter, request: Awaitable[httpx.Response]
) -> tuple[float, float, int]:
    statements = counter.statements
    wall, cpu = time.perf_counter(), time.process_time()
    response = await request
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.is_success, f"{response.status_code} {response.text[:300]}"
    return wall * 1000, cpu * 1000, counter.statements - statements


async def _run_backend(backend: str, *, size: int, repeat: int) -> dict[tuple[str, str], Any]:
    with tempfile.TemporaryDirectory() as folder:
        async with _database_url(backend, Path(folder)) as url:
            settings = Settings(
                database_url=url,
                data_dir=Path(folder) / "data",
                secret_key="bench-secret-key-that-is-long-enough-for-hs256",  # noqa: S106
                log_level="ERROR",
                password_hash_cost="minimal",  # noqa: S106
            )
            engine = create_engine(settings)
            counter = _Counter()
            event.listen(engine.sync_engine, "before_cursor_execute", counter)
            database = Database(engine=engine, sessions=create_sessionmaker(engine))
            app = create_app(settings, database=database)
            try:
                return await _run_app(app, database, counter, size=size, repeat=repeat)
            finally:
                await database.dispose()


async def _run_app(
    app: Any, database: Database, counter: _Counter, *, size: int, repeat: int
) -> dict[tuple[str, str], Any]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench/api/v1", timeout=120
    ) as client:
        registered = await client.post(
            "/auth/register",
            json={"email": "bench@example.com", "password": "x" * 16, "name": "bench"},
        )
        assert registered.status_code == 201, registered.text
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        workspaces = (await client.get("/workspaces", headers=headers)).json()["items"]
        owner = {
            "user_id": uuid.UUID(registered.json()["user"]["id"]),
            "workspace_id": uuid.UUID(workspaces[0]["id"]),
        }
        results: dict[tuple[str, str], Any] = {}
        for shape in ("chain", "wide"):
            samples: dict[str, list[tuple[float, float, int]]] = {op: [] for op in OPERATIONS}
            for _ in range(repeat):
                root = await _tree(database, owner, shape=shape, size=size)
                samples["delete"].append(
                    await _measure(counter, client.delete(f"/tasks/{root}", headers=headers))
                )
                samples["restore"].append(
                    await _measure(counter, client.post(f"/tasks/{root}/restore", headers=headers))
                )
                samples["complete"].append(
                    await _measure(
                        counter,
                        client.post(
                            f"/tasks/{root}/complete", params={"cascade": "true"}, headers=headers
                        ),
                    )
                )
                await _clear(database)
            for op, runs in samples.items():
                results[(shape, op)] = (
                    statistics.median(run[0] for run in runs),
                    statistics.median(run[1] for run in runs),
                    max(run[2] for run in runs),
                )
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--size", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if options.database == "both" else (options.database,)
    print(
        f"| database | tree ({options.size} subtasks) | operation | wall ms | CPU ms | statements |"
    )
    print("|---|---|---|---:|---:|---:|")
    for backend in backends:
        results = asyncio.run(_run_backend(backend, size=options.size, repeat=options.repeat))
        for (shape, op), (wall, cpu, statements) in results.items():
            print(f"| {backend} | {shape} | {op} | {wall:.0f} | {cpu:.0f} | {statements} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
