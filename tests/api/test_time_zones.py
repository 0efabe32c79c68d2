"""One rule for time zones, wherever a request names one: profiles and tasks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from haven.db.session import Database
from haven.tasks.models import Task
from tests.factories import Account

REFUSED = ["localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Berlin", "GMT+2"]


@pytest.mark.parametrize("zone", REFUSED)
async def test_a_profile_refuses_names_that_are_not_iana_zones(
    client: httpx.AsyncClient, alice: Account, zone: str
) -> None:
    response = await client.patch("/me", json={"timezone": zone}, headers=alice.headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "timezone"]


@pytest.mark.parametrize("zone", REFUSED)
async def test_a_task_refuses_the_same_names(
    client: httpx.AsyncClient, alice: Account, zone: str
) -> None:
    response = await client.post(
        "/tasks", json={"title": "water the plants", "timezone": zone}, headers=alice.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "timezone"]


async def test_registration_refuses_them_too(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "zoe@example.com", "password": "long enough", "timezone": "localtime"},
    )

    assert response.status_code == 422


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Calcutta", "UTC"])
async def test_profiles_and_tasks_accept_the_same_iana_names(
    client: httpx.AsyncClient, alice: Account, zone: str
) -> None:
    profile = await client.patch("/me", json={"timezone": zone}, headers=alice.headers)
    task = await client.post(
        "/tasks", json={"title": "call mum", "timezone": zone}, headers=alice.headers
    )

    assert profile.status_code == 200, profile.text
    assert task.status_code == 201, task.text
    assert task.json()["timezone"] == zone


async def test_instants_read_back_aware_in_utc_on_every_database(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    # UTCDateTime skips its per-value processing on asyncpg, which must then answer in UTC.
    made = await client.post("/tasks", json={"title": "t"}, headers=alice.headers)
    async with database.sessions() as session:
        row = (
            await session.execute(
                select(Task.created_at, Task.updated_at).where(
                    Task.id == uuid.UUID(made.json()["id"])
                )
            )
        ).one()
    for instant in row:
        assert instant.tzinfo is not None
        assert instant.utcoffset() == timedelta(0)
