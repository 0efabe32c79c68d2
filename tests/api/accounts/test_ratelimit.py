"""Failed sign-ins are limited per account and per client IP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from haven.accounts.ratelimit import login_limiter
from haven.app import create_app
from haven.core.emails import normalize_email
from haven.db.session import Database
from haven.settings import Settings
from tests.factories import Account, register
from tests.support import advance, freeze_clock, fullwidth

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


# --- one budget per address, however it is spelled -------------------------------------------

UNICODE_SPACES = [" ", "\t", "\u00a0", "\u2003", "\u202f", "\u3000"]


def _spellings(char: str) -> list[str]:
    """Ways to write one character of an address that normalise back to it."""
    ways = [char, char.upper(), fullwidth(char)]
    if char.isascii() and char.isalpha():
        ways.append(chr(0x1D41A + ord(char) - ord("a")))  # mathematical bold
    return ways


@st.composite
def spellings_of(draw: st.DrawFn, address: str) -> str:
    body = "".join(draw(st.sampled_from(_spellings(char))) for char in address)
    around = st.text(alphabet=UNICODE_SPACES, max_size=2)
    return draw(around) + body + draw(around)


@hypothesis_settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_every_spelling_of_an_address_shares_one_budget(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, data: st.DataObject
) -> None:
    login_limiter(app).reset()
    variants = [data.draw(spellings_of(alice.email)) for _ in range(6)]
    assert {normalize_email(v) for v in variants} == {alice.email}

    statuses = [(await _fail(client, variant)).status_code for variant in variants[:5]]
    last = await client.post("/auth/login", json={"email": variants[5], "password": alice.password})

    assert statuses == [401] * 5
    assert last.status_code == 429


async def test_the_spellings_that_bypassed_the_limit_share_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    variants = [
        " alice@example.com",
        "\u00a0alice@example.com",
        "alice@example.com\u3000",
        fullwidth("ALICE") + "@example.com",
        "Alice@Example.COM",
    ]
    for variant in variants:
        assert (await _fail(client, variant)).status_code == 401

    right = await client.post(
        "/auth/login", json={"email": "\t\u00a0alice@example.com", "password": alice.password}
    )

    assert right.status_code == 429


async def test_any_spelling_of_the_address_signs_in(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for variant in ("\u00a0alice@example.com ", fullwidth("ALICE@example.com")):
        response = await client.post(
            "/auth/login", json={"email": variant, "password": alice.password}
        )

        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == alice.id
