"""Haven's VAPID key pair: made once, by whichever process comes first, kept across
restarts, sealed under HAVEN_SECRET_KEY, and given to browsers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from haven.core.encryption import SecretBox
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.session import Database
from haven.notifications import push_keys
from haven.notifications.push_keys import PushKey, PushKeysUnreadable, load_vapid_keys
from haven.settings import Settings
from tests.integration.push.conftest import SUBJECT
from tests.integration.push.service import unb64url


@asynccontextmanager
async def another_process(settings: Settings) -> AsyncIterator[Database]:
    """A database handle of its own, as a second worker or a restarted server has."""
    engine = create_engine(settings)
    try:
        yield Database(engine=engine, sessions=create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _rows(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PushKey)) or 0)


async def test_two_first_runs_at_once_agree_on_one_pair(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both find no pair and both make one; one insert wins and both use the winner's."""
    both_looked = asyncio.Barrier(2)
    made = []
    real_stored, real_new_row = push_keys._stored, push_keys._new_row

    async def stored_then_wait(database: Database) -> PushKey | None:
        row = await real_stored(database)
        if row is None and len(made) < 2:
            await both_looked.wait()
        return row

    def new_row(box: SecretBox) -> PushKey:
        row = real_new_row(box)
        made.append(row.public_key)
        return row

    monkeypatch.setattr(push_keys, "_stored", stored_then_wait)
    monkeypatch.setattr(push_keys, "_new_row", new_row)
    secret = settings.resolved_secret_key()
    async with another_process(settings) as first, another_process(settings) as second:
        one, other = await asyncio.gather(
            load_vapid_keys(first, secret_key=secret, subject=SUBJECT),
            load_vapid_keys(second, secret_key=secret, subject=SUBJECT),
        )

    assert len(made) == 2
    assert made[0] != made[1]
    assert one.public_key == other.public_key
    assert one.public_key in made
    assert await _rows(database) == 1


async def test_the_pair_survives_a_restart(database: Database, settings: Settings) -> None:
    secret = settings.resolved_secret_key()
    async with another_process(settings) as before_restart:
        made = await load_vapid_keys(before_restart, secret_key=secret, subject=SUBJECT)
    async with another_process(settings) as after_restart:
        kept = await load_vapid_keys(after_restart, secret_key=secret, subject=SUBJECT)

    assert kept.public_key == made.public_key
    assert kept.private_key.private_numbers() == made.private_key.private_numbers()
    assert await _rows(database) == 1


async def test_the_private_key_is_sealed_at_rest(database: Database, settings: Settings) -> None:
    keys = await load_vapid_keys(
        database, secret_key=settings.resolved_secret_key(), subject=SUBJECT
    )
    async with database.sessions() as session:
        row = await session.get(PushKey, "vapid")
    assert row is not None
    scalar = keys.private_key.private_numbers().private_value.to_bytes(32, "big")

    assert row.private_key.startswith("v1.")
    assert push_keys.b64url(scalar) not in row.private_key
    with pytest.raises(PushKeysUnreadable, match="HAVEN_SECRET_KEY"):
        await load_vapid_keys(database, secret_key="another-secret-key", subject=SUBJECT)


async def test_browsers_get_the_public_key(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    first = await client.get("/push/vapid-public-key")
    again = await client.get("/push/vapid-public-key")

    assert first.status_code == 200, first.text
    assert first.json() == again.json()
    raw = unb64url(first.json()["public_key"])
    assert len(raw) == 65
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    signing = await load_vapid_keys(
        database, secret_key=settings.resolved_secret_key(), subject=SUBJECT
    )
    assert signing.public_key == first.json()["public_key"]


async def test_a_pair_sealed_under_another_secret_is_a_503(
    client: httpx.AsyncClient, database: Database
) -> None:
    await load_vapid_keys(database, secret_key="not-the-servers-key", subject=SUBJECT)

    response = await client.get("/push/vapid-public-key")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "HAVEN_SECRET_KEY" in response.json()["detail"]
