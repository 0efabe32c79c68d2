"""`haven worker` as a process: SIGKILL mid-batch loses nothing and duplicates no effect; SIGTERM
drains and exits cleanly. And `haven serve`'s app runs the same loops in its lifespan."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from haven.app import create_app
from haven.db.session import Database
from haven.events.consumers import registry
from haven.events.models import ProcessedEvent
from haven.events.reading import read_session
from haven.settings import Settings
from tests.events.helpers import (
    Recorder,
    WorkerProcess,
    all_events,
    effects,
    eventually,
    fast,
    positions,
    task_event,
    write,
)

EVENTS = 150


@pytest.fixture
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(settings, tmp_path / "worker.log")
    yield process
    process.kill_if_running()


async def handled(database: Database) -> int:
    return len(await effects(database))


async def test_a_killed_worker_loses_nothing_and_its_successor_duplicates_no_effect(
    database: Database, worker_process: WorkerProcess
) -> None:
    await write(database, *(task_event(f"tasks/{n % 30}", n // 30 + 1) for n in range(EVENTS)))

    worker_process.start()

    async def some_handled() -> bool:
        return await handled(database) >= 20

    await eventually(some_handled, within=60)
    assert await worker_process.signal(signal.SIGKILL) == -signal.SIGKILL
    assert await handled(database) < EVENTS, "the kill landed after the work was done"

    worker_process.start()

    async def all_handled() -> bool:
        return await handled(database) == EVENTS

    await eventually(all_handled, within=60)
    assert await worker_process.signal(signal.SIGTERM) == 0, worker_process.log.read_text()

    tasks = {str(event.id) for event in await all_events(database)}
    counts = await effects(database)
    assert set(counts) == tasks
    assert set(counts.values()) == {1}, "an event handled twice in effect"
    async with read_session(database) as session:
        query = select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == "sample")
        marks = (await session.scalars(query)).all()
    assert len(marks) == EVENTS
    found = await positions(database)
    assert found == list(range(1, len(found) + 1))
    assert len(found) >= EVENTS


async def test_the_apps_lifespan_runs_the_worker_unless_told_not_to(
    database: Database, settings: Settings
) -> None:
    recorder = Recorder(name="lifespan-recorder")
    registry.register(recorder.consumer())
    try:
        quiet = create_app(fast(settings), database=database)
        async with quiet.router.lifespan_context(quiet):
            assert getattr(quiet.state, "worker", None) is None
        app = create_app(fast(settings, serve_worker=True), database=database)
        async with app.router.lifespan_context(app):
            await write(database, task_event("tasks/a", 1))

            async def seen() -> bool:
                return len(recorder.seen) == 1

            await eventually(seen)
            assert not app.state.worker_task.done()
        assert app.state.worker_task.done()
    finally:
        registry.unregister(recorder.name)
