"""One rule for time zones, wherever a request names one: profiles and tasks."""

from __future__ import annotations

import httpx
import pytest

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
