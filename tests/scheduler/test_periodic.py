"""Periodic jobs: once per due time across workers; a failure is recorded, not fatal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.db.session import Database
from haven.scheduler import periodic
from haven.scheduler.models import PeriodicJob
from tests.databases import backend

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_a_bad_cron_expression_is_refused_at_once() -> None:
    async def nothing(session: AsyncSession, now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match="not a cron expression"):
        periodic.Periodic("broken", "every tuesday", nothing)


def test_next_runs_follow_the_cron_in_utc() -> None:
    async def nothing(session: AsyncSession, now: datetime) -> None:
        return None

    job = periodic.Periodic("nightly", "17 3 * * *", nothing)
    assert job.next_after(NOW) == datetime(2030, 5, 2, 3, 17, tzinfo=UTC)


async def row(database: Database, name: str) -> PeriodicJob:
    async with database.sessions() as session:
        found = await session.scalar(select(PeriodicJob).where(PeriodicJob.name == name))
    assert found is not None
    return found


async def test_a_job_runs_once_per_due_time(database: Database) -> None:
    runs: list[datetime] = []

    async def count(session: AsyncSession, now: datetime) -> None:
        runs.append(now)

    job = periodic.Periodic("count", "*/5 * * * *", count)
    await periodic.register(database, [job], now=NOW - timedelta(minutes=1))
    assert (await row(database, "count")).next_run_at == NOW

    assert await periodic.run_due(database, [job], now=NOW - timedelta(seconds=1)) == 0
    assert await periodic.run_due(database, [job], now=NOW) == 1
    assert await periodic.run_due(database, [job], now=NOW + timedelta(minutes=1)) == 0
    # Away for an hour: one run, then the schedule goes on from now.
    assert await periodic.run_due(database, [job], now=NOW + timedelta(hours=1)) == 1
    assert runs == [NOW, NOW + timedelta(hours=1)]
    assert (await row(database, "count")).next_run_at == NOW + timedelta(hours=1, minutes=5)


async def test_a_failing_job_records_its_error_and_waits_for_its_next_time(
    database: Database,
) -> None:
    async def broken(session: AsyncSession, now: datetime) -> None:
        raise RuntimeError("the mail server is on fire")

    job = periodic.Periodic("broken", "0 * * * *", broken)
    await periodic.register(database, [job], now=NOW - timedelta(minutes=1))
    assert await periodic.run_due(database, [job], now=NOW) == 0
    stored = await row(database, "broken")
    assert stored.last_error is not None
    assert "on fire" in stored.last_error
    assert stored.next_run_at == NOW + timedelta(hours=1)


async def test_a_changed_cron_moves_the_next_run(database: Database) -> None:
    async def nothing(session: AsyncSession, now: datetime) -> None:
        return None

    await periodic.register(database, [periodic.Periodic("j", "0 0 * * *", nothing)], now=NOW)
    await periodic.register(database, [periodic.Periodic("j", "30 12 * * *", nothing)], now=NOW)
    stored = await row(database, "j")
    assert (stored.cron, stored.next_run_at) == ("30 12 * * *", NOW + timedelta(minutes=30))


@pytest.mark.skipif(backend() != "postgres", reason="SKIP LOCKED: SQLite has one process")
async def test_workers_side_by_side_run_a_due_job_once(database: Database) -> None:
    runs = 0

    async def slow(session: AsyncSession, now: datetime) -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.2)

    job = periodic.Periodic("slow", "*/5 * * * *", slow)
    await periodic.register(database, [job], now=NOW - timedelta(minutes=1))
    ran = await asyncio.gather(*(periodic.run_due(database, [job], now=NOW) for _ in range(4)))
    assert (sum(ran), runs) == (1, 1)
