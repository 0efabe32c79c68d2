"""GET /stats/tasks: tasks completed per local day and time tracked per project, for the
web UI's stats page. Days are the caller's own, DST-correct; the window is bounded."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from haven.core import clock
from haven.db.session import Database
from haven.tasks.models import Task
from tests.factories import Account, make_task, make_workspace, register
from tests.support import advance, freeze_clock


async def complete_at(
    client: httpx.AsyncClient, owner: Account, at: datetime, **fields: object
) -> None:
    freeze_clock(at)
    task = await make_task(client, owner, **fields)
    done = await client.post(f"/tasks/{task['id']}/complete", headers=owner.headers)
    assert done.status_code == 200, done.text


async def stats(client: httpx.AsyncClient, owner: Account, **params: str) -> dict[str, Any]:
    response = await client.get("/stats/tasks", params=params, headers=owner.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def per_day(body: dict[str, Any]) -> dict[str, int]:
    return {entry["day"]: entry["count"] for entry in body["completed"]}


async def test_completions_count_on_the_callers_local_day_across_a_dst_change(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Berlin moves to summer time on 2026-03-29 (a 23-hour day)."""
    for at in (
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 on the 28th (CET)
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 on the 29th
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 on the 29th (CEST)
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # 00:30 on the 30th
    ):
        await complete_at(client, alice, at, title=f"done at {at:%H:%M}")
    body = await stats(client, alice, start="2026-03-28", end="2026-03-30")
    assert body["timezone"] == "Europe/Berlin"
    assert per_day(body) == {"2026-03-28": 1, "2026-03-29": 2, "2026-03-30": 1}


async def test_every_day_of_the_window_is_listed_and_the_default_is_the_last_30_days(
    client: httpx.AsyncClient, alice: Account
) -> None:
    freeze_clock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))
    body = await stats(client, alice)
    days = [entry["day"] for entry in body["completed"]]
    assert len(days) == 30
    assert (days[0], days[-1]) == ("2026-05-17", "2026-06-15")
    assert body["tracked"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-01-01", "end": "2027-01-02"}, "end"),  # 367 days
        ({"start": "2026-02-01", "end": "2026-01-01"}, "start"),
        ({"start": "yesterday"}, "start"),
    ],
)
async def test_a_window_too_long_or_backwards_is_refused_with_a_problem(
    client: httpx.AsyncClient, alice: Account, params: dict[str, str], field: str
) -> None:
    response = await client.get("/stats/tasks", params=params, headers=alice.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(field in error["loc"] for error in response.json()["errors"])


async def test_the_longest_window_is_answered(client: httpx.AsyncClient, alice: Account) -> None:
    body = await stats(client, alice, start="2026-01-01", end="2026-12-31")
    assert len(body["completed"]) == 365


async def test_time_tracked_counts_the_part_inside_the_window_per_project(
    client: httpx.AsyncClient, alice: Account
) -> None:
    project = (
        await client.post("/projects", json={"name": "Garden"}, headers=alice.headers)
    ).json()
    in_project = await make_task(client, alice, title="dig", project_id=project["id"])
    loose = await make_task(client, alice, title="read")

    # 23:30-01:00 Berlin (summer time) across midnight: only the hour after it is in June.
    now = freeze_clock(datetime(2026, 5, 31, 21, 30, tzinfo=UTC))
    await client.post(f"/tasks/{in_project['id']}/timer/start", headers=alice.headers)
    advance(now, minutes=90)
    await client.post(f"/tasks/{in_project['id']}/timer/stop", headers=alice.headers)
    # A running timer on a task in no project counts up to now.
    advance(now, hours=10)
    await client.post(f"/tasks/{loose['id']}/timer/start", headers=alice.headers)
    advance(now, minutes=20)

    body = await stats(client, alice, start="2026-06-01", end="2026-06-01")
    assert body["tracked"] == [
        {"project_id": project["id"], "name": "Garden", "seconds": 60 * 60},
        {"project_id": None, "name": None, "seconds": 20 * 60},
    ]


async def test_only_the_callers_own_work_in_their_workspaces_counts(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    team = await make_workspace(client, alice, "Team")
    await complete_at(client, alice, at, title="personal")
    await complete_at(client, alice, at, title="team", workspace_id=team)
    await complete_at(client, bob, at, title="bob's")

    window = {"start": "2026-07-01", "end": "2026-07-01"}
    assert per_day(await stats(client, alice, **window)) == {"2026-07-01": 2}
    assert per_day(await stats(client, alice, **window, workspace_id=team)) == {"2026-07-01": 1}
    assert per_day(await stats(client, bob, **window)) == {"2026-07-01": 1}
    foreign = await client.get(
        "/stats/tasks", params={**window, "workspace_id": team}, headers=bob.headers
    )
    assert foreign.status_code == 404


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone=st.sampled_from(ZONES),
    offsets=st.lists(st.integers(min_value=0, max_value=4 * 24 * 60 - 1), min_size=1, max_size=6),
)
async def test_completions_land_on_the_local_day_python_gives_them(
    client: httpx.AsyncClient, database: Database, zone: str, offsets: list[int]
) -> None:
    """Whatever the zone (half and quarter hour offsets, a half-hour DST shift in Lord Howe)
    and instants, each completion counts on the local date zoneinfo gives it."""
    clock.set_clock(None)  # the account's tokens are checked against the real time
    owner = await register(client, timezone=zone)
    origin = datetime(2026, 10, 3, 0, 0, tzinfo=UTC)  # Lord Howe and Sydney change on the 4th
    instants = [origin + timedelta(minutes=offset) for offset in offsets]
    for at in instants:
        task = await make_task(client, owner, title="t")
        done = await client.post(f"/tasks/{task['id']}/complete", headers=owner.headers)
        assert done.status_code == 200, done.text
        async with database.sessions() as session, session.begin():  # completed at `at`
            await session.execute(
                update(Task).where(Task.id == uuid.UUID(task["id"])).values(completed_at=at)
            )
    expected = Counter(at.astimezone(ZoneInfo(zone)).date().isoformat() for at in instants)
    first, last = date(2026, 10, 2), date(2026, 10, 8)
    counted = per_day(await stats(client, owner, start=first.isoformat(), end=last.isoformat()))
    assert {day: n for day, n in counted.items() if n} == dict(expected)
