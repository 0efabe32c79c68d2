"""Registration, sign-in, refresh-token rotation with replay detection, and sign-out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from haven.accounts import repository
from haven.accounts.models import RefreshToken, User
from haven.core import clock
from haven.core.clock import utcnow
from haven.core.security import hash_secret
from haven.db.session import Database
from tests.factories import Account, bearer, register
from tests.support import advance, event_types, freeze_clock, fullwidth

PASSWORD = "correct horse battery staple"


async def test_register_creates_the_user_a_personal_workspace_and_a_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    response = await client.post(
        "/auth/register",
        json={
            "email": "  Alice@Example.COM",
            "password": PASSWORD,
            "name": "Alice",
            "timezone": "Europe/Berlin",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_token"]
    user = body["user"]
    assert set(user) == {
        "id",
        "email",
        "name",
        "timezone",
        "digest_enabled",
        "digest_time",
        "created_at",
        "version",
    }
    assert user["email"] == "alice@example.com"
    assert user["name"] == "Alice"
    assert user["timezone"] == "Europe/Berlin"
    assert (user["digest_enabled"], user["digest_time"]) == (True, "07:00")
    assert user["created_at"].endswith("Z")

    headers = bearer(body["access_token"])
    me = await client.get("/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]
    workspaces = (await client.get("/workspaces", headers=headers)).json()["items"]
    assert len(workspaces) == 1
    assert workspaces[0]["is_personal"] is True
    assert workspaces[0]["role"] == "owner"
    assert workspaces[0]["name"] == "Alice's workspace"

    assert await event_types(database) == [
        "haven.user.registered",
        "haven.workspace.created",
        "haven.member.added",
    ]
    async with database.sessions() as session:
        stored = await session.scalar(select(User).where(User.email == "alice@example.com"))
    assert stored is not None
    assert stored.password_hash is not None
    assert PASSWORD not in stored.password_hash


async def test_a_lookalike_spelling_of_a_taken_email_is_the_same_account(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for spelling in (fullwidth("ALICE") + "@example.com", "\u00a0Alice@EXAMPLE.com\u3000"):
        response = await client.post(
            "/auth/register", json={"email": spelling, "password": PASSWORD}
        )

        assert response.status_code == 409, response.text


async def test_register_defaults_to_utc_and_names_the_workspace_after_the_email(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register", json={"email": "carol@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    assert response.json()["user"]["timezone"] == "UTC"
    assert response.json()["user"]["name"] == ""
    headers = bearer(response.json()["access_token"])
    workspaces = (await client.get("/workspaces", headers=headers)).json()["items"]
    assert workspaces[0]["name"] == "carol's workspace"


async def test_register_refuses_an_email_that_is_taken_whatever_its_case(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        "/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD}
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 409


async def test_register_validates_the_payload(client: httpx.AsyncClient) -> None:
    cases = [
        {"email": "dave@example.com", "password": "short"},
        {"email": "dave@example.com", "password": "x" * 1025},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "dave@example.com", "password": PASSWORD, "timezone": "Mars/Olympus"},
        {"email": "dave@example.com", "password": PASSWORD, "timezone": "../../etc/passwd"},
        {"email": "dave@example.com", "password": PASSWORD, "is_superuser": True},
        {"email": "dave@example.com", "password": PASSWORD, "name": "x" * 201},
        {"password": PASSWORD},
    ]
    for payload in cases:
        response = await client.post("/auth/register", json=payload)
        assert response.status_code == 422, payload
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"], payload


async def test_login_with_the_right_password(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/auth/login", json={"email": "Alice@Example.com", "password": alice.password}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["id"] == alice.id
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != alice.refresh_token
    me = await client.get("/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == "alice@example.com"


async def test_login_answers_the_same_for_unknown_email_and_wrong_password(
    client: httpx.AsyncClient, alice: Account
) -> None:
    wrong_password = await client.post(
        "/auth/login", json={"email": alice.email, "password": "not the password"}
    )
    unknown_email = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": alice.password}
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]
    assert "access_token" not in wrong_password.text


async def test_login_refuses_a_disabled_account(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    async with database.sessions() as session, session.begin():
        user = await session.get(User, uuid.UUID(alice.id))
        assert user is not None
        user.is_active = False

    response = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )

    assert response.status_code == 401


async def test_an_expired_access_token_is_refused(
    client: httpx.AsyncClient, alice: Account
) -> None:
    real_now = datetime.now(UTC)
    clock.set_clock(lambda: real_now - timedelta(minutes=16))
    old = await client.post("/auth/login", json={"email": alice.email, "password": alice.password})
    clock.set_clock(None)

    response = await client.get("/me", headers=bearer(old.json()["access_token"]))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_requests_without_or_with_a_bad_token_are_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/me")).status_code == 401
    assert (await client.get("/me", headers=bearer("garbage"))).status_code == 401
    basic = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    assert (await client.get("/me", headers=basic)).status_code == 401


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != alice.refresh_token
    assert body["user"]["id"] == alice.id
    assert (await client.get("/me", headers=bearer(body["access_token"]))).status_code == 200
    again = await client.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert again.status_code == 200


async def test_replaying_a_used_refresh_token_revokes_its_whole_family(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    other_session = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    rotated = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert rotated.status_code == 200

    replay = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})

    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    # The revocation was committed although the answer was an error: the thief's (or the
    # client's) newest token is dead too.
    newest = await client.post(
        "/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert newest.status_code == 401
    async with database.sessions() as session:
        tokens = (
            await session.scalars(
                select(RefreshToken).where(RefreshToken.user_id == uuid.UUID(alice.id))
            )
        ).all()
    families: dict[object, list[RefreshToken]] = {}
    for token in tokens:
        families.setdefault(token.family_id, []).append(token)
    fully_revoked = [f for f, members in families.items() if all(t.revoked_at for t in members)]
    assert len(families) == 2
    assert len(fully_revoked) == 1
    # Another sign-in (another family) is untouched.
    unaffected = await client.post(
        "/auth/refresh", json={"refresh_token": other_session.json()["refresh_token"]}
    )
    assert unaffected.status_code == 200


async def test_concurrent_refreshes_with_one_token_cannot_both_succeed(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first, second = await asyncio.gather(
        client.post("/auth/refresh", json={"refresh_token": alice.refresh_token}),
        client.post("/auth/refresh", json={"refresh_token": alice.refresh_token}),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 401]
    # The loser presented a spent token, which is a replay: the family is revoked, so the
    # winner's new refresh token does not work either.
    winner = first if first.status_code == 200 else second
    follow_up = await client.post(
        "/auth/refresh", json={"refresh_token": winner.json()["refresh_token"]}
    )
    assert follow_up.status_code == 401


async def test_refresh_refuses_unknown_and_expired_tokens(
    client: httpx.AsyncClient, alice: Account
) -> None:
    unknown = await client.post("/auth/refresh", json={"refresh_token": "no-such-token"})
    assert unknown.status_code == 401

    now = freeze_clock(datetime.now(UTC))
    advance(now, days=31)
    expired = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert expired.status_code == 401


async def test_refresh_validates_the_payload(client: httpx.AsyncClient) -> None:
    assert (await client.post("/auth/refresh", json={})).status_code == 422
    assert (await client.post("/auth/refresh", json={"refresh_token": ""})).status_code == 422
    long_token = {"refresh_token": "x" * 257}
    assert (await client.post("/auth/refresh", json=long_token)).status_code == 422


async def test_logout_revokes_the_session(client: httpx.AsyncClient, alice: Account) -> None:
    rotated = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    newest = rotated.json()["refresh_token"]

    response = await client.post("/auth/logout", json={"refresh_token": newest})

    assert response.status_code == 204
    assert response.content == b""
    after = await client.post("/auth/refresh", json={"refresh_token": newest})
    assert after.status_code == 401


async def test_logout_only_ends_the_session_it_names(client: httpx.AsyncClient) -> None:
    bob = await register(client, email="bob@example.com")
    laptop = await client.post("/auth/login", json={"email": bob.email, "password": bob.password})

    await client.post("/auth/logout", json={"refresh_token": bob.refresh_token})

    still = await client.post(
        "/auth/refresh", json={"refresh_token": laptop.json()["refresh_token"]}
    )
    assert still.status_code == 200


async def test_logout_with_an_unknown_token_is_harmless(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout", json={"refresh_token": "never-issued"})

    assert response.status_code == 204


async def test_only_one_of_two_readers_can_spend_a_refresh_token(
    alice: Account, database: Database
) -> None:
    token_hash = hash_secret(alice.refresh_token)
    async with database.sessions() as session:
        stored = await repository.get_refresh_token_by_hash(session, token_hash)
    assert stored is not None

    # Both requests have read the token as unused; the conditional UPDATE lets one through.
    async with database.sessions() as first, first.begin():
        won = await repository.mark_refresh_token_used(first, token_id=stored.id, now=utcnow())
    async with database.sessions() as second, second.begin():
        lost = await repository.mark_refresh_token_used(second, token_id=stored.id, now=utcnow())

    assert won is True
    assert lost is False
