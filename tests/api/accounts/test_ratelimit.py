"""Failed sign-ins are limited per account and per client IP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings
from tests.factories import Account, register
from tests.support import advance, freeze_clock

WINDOW = 900  # login_failure_window_seconds (default)


async def _fail(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": "wrong password"})


async def test_five_failures_lock_the_account_until_the_window_passes(
    client: httpx.AsyncClient, alice: Account
) -> None:
    now = freeze_clock(datetime.now(UTC))
    for _ in range(5):
        assert (await _fail(client, alice.email)).status_code == 401

    locked = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )

    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert int(locked.headers["retry-after"]) == WINDOW
    assert locked.json()["status"] == 429

    advance(now, seconds=WINDOW - 60)
    still = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert still.status_code == 429
    assert int(still.headers["retry-after"]) == 60

    advance(now, seconds=61)
    after = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert after.status_code == 200, after.text


async def test_the_window_slides(client: httpx.AsyncClient, alice: Account) -> None:
    now = freeze_clock(datetime.now(UTC))
    await _fail(client, alice.email)
    advance(now, seconds=600)
    for _ in range(4):
        await _fail(client, alice.email)
    assert (await _fail(client, alice.email)).status_code == 429

    advance(now, seconds=301)  # the first failure has left the window; four remain

    assert (await _fail(client, alice.email)).status_code == 401
    assert (await _fail(client, alice.email)).status_code == 429


async def test_the_lock_is_per_account(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    for _ in range(6):
        await _fail(client, alice.email)

    response = await client.post("/auth/login", json={"email": bob.email, "password": bob.password})

    assert response.status_code == 200


async def test_an_unknown_email_is_limited_like_a_known_one(client: httpx.AsyncClient) -> None:
    statuses = [(await _fail(client, "ghost@example.com")).status_code for _ in range(6)]

    assert statuses == [401] * 5 + [429]


async def test_email_case_does_not_buy_more_attempts(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for variant in ("alice@example.com", "ALICE@example.com", "Alice@Example.com") * 2:
        last = await _fail(client, variant)

    assert last.status_code == 429


async def test_a_successful_sign_in_forgives_earlier_typos(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for _ in range(4):
        await _fail(client, alice.email)
    ok = await client.post("/auth/login", json={"email": alice.email, "password": alice.password})
    assert ok.status_code == 200

    statuses = [(await _fail(client, alice.email)).status_code for _ in range(5)]

    assert statuses == [401] * 5


@pytest.fixture
async def strict_ip_client(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(
        settings.model_copy(update={"login_failures_per_ip": 3, "login_failures_per_account": 100}),
        database=database,
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield app, c


async def test_one_ip_is_limited_across_accounts(
    strict_ip_client: tuple[FastAPI, httpx.AsyncClient], client: httpx.AsyncClient
) -> None:
    app, from_one_ip = strict_ip_client
    carol = await register(client, email="carol@example.com")

    statuses = [(await _fail(from_one_ip, f"guess{i}@example.com")).status_code for i in range(3)]
    blocked = await from_one_ip.post(
        "/auth/login", json={"email": carol.email, "password": carol.password}
    )

    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
    # Another client address is not affected.
    other = httpx.ASGITransport(app=app, client=("198.51.100.1", 40000))
    async with httpx.AsyncClient(transport=other, base_url="http://test/api/v1") as elsewhere:
        fine = await elsewhere.post(
            "/auth/login", json={"email": carol.email, "password": carol.password}
        )
    assert fine.status_code == 200
