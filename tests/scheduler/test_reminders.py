"""Reminders fire once, through the outbox: on time, late once, never for a closed task, and
never twice whatever the number of schedulers running side by side."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from haven.db.session import Database
from haven.events.models import Event
from haven.scheduler import reminders
from haven.scheduler.loop import Scheduler
from haven.tasks.models import Reminder
from tests.databases import backend
from tests.factories import Account, make_task

DUE = datetime(2030, 1, 7, 16, 0, tzinfo=UTC)


def scheduler(database: Database, now: datetime, **kwargs: Any) -> Scheduler:
    return Scheduler(database, clock=lambda: now, **kwargs)


async def due_events(database: Database) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = (
            await session.scalars(
                select(Event).where(Event.type == "haven.reminder.due").order_by(Event.id)
            )
        ).all()
    return [{"subject": row.subject, "data": row.data, "actor": row.actor} for row in rows]


async def add_reminder(
    client: httpx.AsyncClient, owner: Account, task_id: str, **body: object
) -> dict[str, Any]:
    response = await client.post(f"/tasks/{task_id}/reminders", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def reminder_rows(client: httpx.AsyncClient, owner: Account, task_id: str) -> list[Any]:
    response = await client.get(f"/tasks/{task_id}/reminders", headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["items"] if isinstance(body, dict) else body)


async def test_a_due_reminder_fires_once_with_its_task_and_recipient(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(client, alice, title="Call the dentist", due=DUE.isoformat())
    await add_reminder(client, alice, task["id"], offset_minutes=30)

    assert await scheduler(database, DUE - timedelta(minutes=31)).fire_reminders() == 0
    assert await due_events(database) == []

    assert await scheduler(database, DUE - timedelta(minutes=29)).fire_reminders() == 1
    assert await scheduler(database, DUE).fire_reminders() == 0  # taken: never again

    [event] = await due_events(database)
    assert event["subject"] == f"tasks/{task['id']}"
    assert event["actor"] == "system/scheduler"
    data = event["data"]
    assert data["user_id"] == alice.id
    assert data["late"] is False
    assert data["task"]["title"] == "Call the dentist"
    assert data["task"]["due"] == "2030-01-07T16:00:00Z"
    assert data["reminder"]["fire_at"] == "2030-01-07T15:30:00Z"
    assert data["reminder"]["outcome"] == "fired"
    [shown] = await reminder_rows(client, alice, task["id"])
    assert shown["outcome"] == "fired"
    assert shown["fired_at"] == "2030-01-07T15:31:00Z"


async def test_the_assignee_gets_the_reminder(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    from tests.factories import add_member, make_workspace

    team = await make_workspace(client, alice)
    await add_member(client, alice, team, bob, role="member")
    task = await make_task(
        client, alice, title="Share", due=DUE.isoformat(), workspace_id=team, assignee_id=bob.id
    )
    await add_reminder(client, alice, task["id"], at=DUE.isoformat())
    await scheduler(database, DUE).fire_reminders()
    [event] = await due_events(database)
    assert event["data"]["user_id"] == bob.id


@pytest.mark.parametrize("close", ["complete", "cancel", "delete"])
async def test_a_closed_tasks_reminder_is_cancelled_not_fired(
    client: httpx.AsyncClient, alice: Account, database: Database, close: str
) -> None:
    task = await make_task(client, alice, title="Done early", due=DUE.isoformat())
    await add_reminder(client, alice, task["id"], offset_minutes=10)
    h = alice.headers
    if close == "complete":
        assert (await client.post(f"/tasks/{task['id']}/complete", headers=h)).status_code == 200
    elif close == "cancel":
        body = {"status": "cancelled"}
        assert (await client.patch(f"/tasks/{task['id']}", json=body, headers=h)).status_code == 200
    else:
        assert (await client.delete(f"/tasks/{task['id']}", headers=h)).status_code == 204

    assert await scheduler(database, DUE).fire_reminders() == 1
    assert await due_events(database) == []
    async with database.sessions() as session:
        outcome = await session.scalar(select(Reminder.outcome))
    assert outcome == reminders.CANCELLED


async def test_after_an_absence_only_the_latest_of_a_tasks_reminders_fires_marked_late(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(client, alice, title="Flight", due=DUE.isoformat())
    for minutes in (120, 60, 10):
        await add_reminder(client, alice, task["id"], offset_minutes=minutes)
    other = await make_task(client, alice, title="Other", due=DUE.isoformat())
    await add_reminder(client, alice, other["id"], offset_minutes=0)

    # The worker was away for a day.
    assert await scheduler(database, DUE + timedelta(days=1)).fire_reminders() == 4

    events = await due_events(database)
    assert sorted((e["data"]["task"]["title"], e["data"]["late"]) for e in events) == [
        ("Flight", True),
        ("Other", True),
    ]
    flight = next(e for e in events if e["data"]["task"]["title"] == "Flight")
    assert flight["data"]["reminder"]["fire_at"] == "2030-01-07T15:50:00Z"
    outcomes = sorted(r["outcome"] for r in await reminder_rows(client, alice, task["id"]))
    assert outcomes == ["late", "superseded", "superseded"]


async def test_moving_the_due_re_times_a_fired_reminder(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(client, alice, title="Moved", due=DUE.isoformat())
    await add_reminder(client, alice, task["id"], offset_minutes=15)
    await scheduler(database, DUE).fire_reminders()

    later = DUE + timedelta(days=1)
    response = await client.patch(
        f"/tasks/{task['id']}", json={"due": later.isoformat()}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    [waiting] = await reminder_rows(client, alice, task["id"])
    assert (waiting["fired_at"], waiting["outcome"]) == (None, None)
    assert waiting["fire_at"] == "2030-01-08T15:45:00Z"

    assert await scheduler(database, later).fire_reminders() == 1
    assert len(await due_events(database)) == 2


async def test_a_recurring_tasks_next_occurrence_brings_its_reminders_forward(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(
        client,
        alice,
        title="Stretch",
        due=DUE.isoformat(),
        recurrence={"rule": "FREQ=WEEKLY"},
    )
    await add_reminder(client, alice, task["id"], offset_minutes=5)
    done = await client.post(f"/tasks/{task['id']}/complete", headers=alice.headers)
    nxt = done.json()["next"]

    assert await scheduler(database, DUE).fire_reminders() == 1  # the done one: cancelled
    assert await due_events(database) == []
    week = DUE + timedelta(days=7)
    assert await scheduler(database, week).fire_reminders() == 1
    [event] = await due_events(database)
    assert event["subject"] == f"tasks/{nxt['id']}"
    assert event["data"]["reminder"]["fire_at"] == "2030-01-14T15:55:00Z"


async def test_a_failed_batch_fires_nothing_and_the_next_round_fires_it_all(
    client: httpx.AsyncClient, alice: Account, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = await make_task(client, alice, title="Crash", due=DUE.isoformat())
    for minutes in (1, 2, 3):
        await add_reminder(client, alice, task["id"], offset_minutes=minutes)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the worker died writing the events")

    with monkeypatch.context() as patch:
        patch.setattr(reminders, "record_all", broken)
        with pytest.raises(RuntimeError):
            await scheduler(database, DUE).fire_reminders()
    assert all(r["fired_at"] is None for r in await reminder_rows(client, alice, task["id"]))

    assert await scheduler(database, DUE).fire_reminders() == 3
    assert len(await due_events(database)) == 3


async def test_a_round_sleeps_until_the_next_reminder_or_the_poll(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(client, alice, title="Soon", due=DUE.isoformat())
    await add_reminder(client, alice, task["id"], offset_minutes=0)
    assert await scheduler(database, DUE - timedelta(seconds=0.2), poll_seconds=5).round() == (
        pytest.approx(0.2)
    )
    assert await scheduler(database, DUE - timedelta(hours=1), poll_seconds=5).round() == 5
    assert await scheduler(database, DUE, poll_seconds=5).round() == 5  # fired: queue empty


@pytest.mark.skipif(backend() != "postgres", reason="SKIP LOCKED: SQLite has one process")
async def test_schedulers_side_by_side_fire_each_reminder_exactly_once(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    task = await make_task(client, alice, title="Busy", due=DUE.isoformat())
    async with database.sessions() as session, session.begin():
        session.add_all(
            Reminder(
                id=uuid.uuid4(),
                task_id=uuid.UUID(task["id"]),
                at=DUE - timedelta(seconds=n),
                offset_minutes=None,
                fire_at=DUE - timedelta(seconds=n),
                created_at=DUE - timedelta(days=1),
            )
            for n in range(1000)
        )
    # Within the hour nothing is late, so every one of the task's reminders fires.
    workers = [
        scheduler(database, DUE, batch_size=50, late_after=timedelta(hours=1)) for _ in range(4)
    ]
    taken = await asyncio.gather(*(worker.fire_reminders() for worker in workers))

    assert sum(taken) == 1000
    async with database.sessions() as session:
        fired = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "haven.reminder.due")
        )
        waiting = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.fired_at.is_(None))
        )
    assert (fired, waiting) == (1000, 0)
