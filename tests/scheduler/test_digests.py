"""Daily digests: one haven.digest.requested per user and local day, at the user's time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from haven.accounts.models import User
from haven.db.session import Database
from haven.events.models import Event
from haven.scheduler import periodic
from haven.scheduler.loop import Scheduler, builtin_periodic
from haven.scheduler.models import DigestRequest, PeriodicJob
from tests.databases import backend
from tests.factories import Account, register


def scheduler(database: Database, now: datetime, **kwargs: Any) -> Scheduler:
    return Scheduler(database, clock=lambda: now, **kwargs)


async def digests(database: Database) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = (
            await session.scalars(
                select(Event).where(Event.type == "haven.digest.requested").order_by(Event.time)
            )
        ).all()
    return [dict(row.data) for row in rows]


async def next_at(database: Database, user_id: str) -> datetime | None:
    async with database.sessions() as session:
        found: datetime | None = await session.scalar(
            select(User.digest_next_at).where(User.id == uuid.UUID(user_id))
        )
    return found


async def test_a_new_account_gets_its_first_digest_at_seven_its_time(
    alice: Account, database: Database
) -> None:
    first = await next_at(database, alice.id)  # alice is in Europe/Berlin
    assert first is not None
    local = first.astimezone(_zone("Europe/Berlin"))
    assert (local.hour, local.minute) == (7, 0)
    assert first > datetime.now(UTC)

    assert await scheduler(database, first - timedelta(seconds=1)).request_digests() == 0
    assert await scheduler(database, first).request_digests() == 1
    assert await scheduler(database, first + timedelta(minutes=1)).request_digests() == 0
    [requested] = await digests(database)
    assert requested["user_id"] == alice.id
    assert requested["timezone"] == "Europe/Berlin"
    assert requested["late"] is False
    following = await next_at(database, alice.id)
    assert following is not None
    assert following - first in (
        timedelta(hours=23),
        timedelta(hours=24),
        timedelta(hours=25),
    )


async def test_changing_the_time_after_todays_digest_waits_for_tomorrow(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    first = await next_at(database, alice.id)
    assert first is not None
    await scheduler(database, first).request_digests()
    # An hour later the user moves their digest to two hours later the same day.
    later = first + timedelta(hours=1)
    served_day = (await digests(database))[0]["local_date"]
    response = await client.patch("/me", json={"digest_time": "09:00"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    moved = await next_at(database, alice.id)
    assert moved is not None
    assert await scheduler(database, later + timedelta(hours=2)).request_digests() == 0
    assert await scheduler(database, moved).request_digests() == 1
    days = [d["local_date"] for d in await digests(database)]
    assert len(days) == 2
    assert days[0] == served_day
    assert days[1] > served_day


async def test_after_days_away_one_late_digest_for_the_latest_day(
    alice: Account, database: Database
) -> None:
    first = await next_at(database, alice.id)
    assert first is not None
    back = first + timedelta(days=3, hours=2)
    assert await scheduler(database, back).request_digests() == 1
    [requested] = await digests(database)
    assert requested["late"] is True
    expected = (first + timedelta(days=3)).astimezone(_zone("Europe/Berlin")).date()
    assert requested["local_date"] == expected.isoformat()
    nxt = await next_at(database, alice.id)
    assert nxt is not None
    assert nxt > back


async def test_turning_the_digest_off_stops_it_and_on_brings_it_back(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    h = alice.headers
    assert (await client.patch("/me", json={"digest_enabled": False}, headers=h)).is_success
    assert await next_at(database, alice.id) is None
    far = datetime(2031, 1, 1, tzinfo=UTC)
    assert await scheduler(database, far).request_digests() == 0
    assert (await client.patch("/me", json={"digest_enabled": True}, headers=h)).is_success
    assert await next_at(database, alice.id) is not None


async def test_a_change_of_time_zone_moves_the_digest_to_the_new_morning(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.patch("/me", json={"timezone": "Asia/Tokyo"}, headers=alice.headers)
    assert response.status_code == 200
    instant = await next_at(database, alice.id)
    assert instant is not None
    local = instant.astimezone(_zone("Asia/Tokyo"))
    assert (local.hour, local.minute) == (7, 0)


async def test_the_periodic_job_schedules_accounts_without_an_instant(
    alice: Account, database: Database
) -> None:
    async with database.sessions() as session, session.begin():
        await session.execute(update(User).values(digest_next_at=None))
    now = datetime.now(UTC)
    jobs = builtin_periodic()
    await periodic.register(database, jobs, now=now)
    async with database.sessions() as session, session.begin():
        await session.execute(update(PeriodicJob).values(next_run_at=now))
    assert await periodic.run_due(database, jobs, now=now) == 1
    assert await periodic.run_due(database, jobs, now=now) == 0  # next at its cron time
    assert await next_at(database, alice.id) is not None


@pytest.mark.skipif(backend() != "postgres", reason="SKIP LOCKED: SQLite has one process")
async def test_schedulers_side_by_side_request_each_digest_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    for n in range(60):
        await register(client, email=f"user{n}@example.com", timezone="Europe/Berlin")
    far = datetime(2031, 1, 1, 12, tzinfo=UTC)
    workers = [scheduler(database, far, batch_size=7) for _ in range(4)]
    assert sum(await asyncio.gather(*(w.request_digests() for w in workers))) == 60
    async with database.sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(DigestRequest))
    assert (rows, len(await digests(database))) == (60, 60)
    assert all(d["local_date"] == date(2031, 1, 1).isoformat() for d in await digests(database))


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
