"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Subquery, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.models import ApiKey, Device, Identity, RefreshToken, User
from haven.db.driver import fetch_all

# --- users --------------------------------------------------------------------------------


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_for_update(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user, row-locked until the transaction ends (concurrent edits queue, not clash)."""
    user: User | None = await session.scalar(
        select(User).where(User.id == user_id).with_for_update()
    )
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this email, already in normal form (core.emails.normalize_email)."""
    user: User | None = await session.scalar(select(User).where(User.email == email))
    return user


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(User.id).where(User.email == email))
    return found is not None


# Runs for every request whose user is not remembered as active: built once.
_IS_ACTIVE = select(User.is_active).where(User.id == bindparam("user_id"))


async def is_user_active(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """True for an existing user who may sign in; False when deactivated or deleted.

    On the session's connection, as a plain statement (on the driver itself where
    `db.driver.fetch_all` may): a read that misses the active-user memory pays for this on
    top of its own query, and the ORM's execution path cost several times the query.
    """
    connection = await session.connection()
    rows = await fetch_all(connection, _IS_ACTIVE, {"user_id": user_id})
    return bool(rows and rows[0][0])


def user_directory() -> Subquery:
    """What other modules may read about users, joined into their own queries.

    Columns: id, email, name, timezone, is_active. Other modules join this, never the users
    table, so the table can change without them (is_active is for `authn.confirm_active`).
    """
    return select(User.id, User.email, User.name, User.timezone, User.is_active).subquery(
        "user_directory"
    )


# --- refresh tokens -------------------------------------------------------------------------


async def get_refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    token: RefreshToken | None = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    )
    return token


async def mark_refresh_token_used(
    session: AsyncSession, *, token_id: uuid.UUID, now: datetime
) -> bool:
    """Spend a refresh token; False if another request spent (or revoked) it first.

    One conditional UPDATE: of two concurrent refreshes only one can change the row.
    """
    statement = (
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def revoke_refresh_family(
    session: AsyncSession, *, family_id: uuid.UUID, now: datetime
) -> int:
    statement = (
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount


async def revoke_user_refresh_tokens(
    session: AsyncSession, *, user_id: uuid.UUID, now: datetime
) -> int:
    statement = (
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount


# --- API keys -------------------------------------------------------------------------------


async def get_api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    return key


async def list_api_keys(
    session: AsyncSession, *, user_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[ApiKey]:
    """A user's unrevoked keys, oldest first, keyset-paged on id."""
    query = select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    if after is not None:
        query = query.where(ApiKey.id > after)
    return (await session.scalars(query.order_by(ApiKey.id).limit(limit))).all()


async def get_live_api_key(
    session: AsyncSession, *, key_id: uuid.UUID, user_id: uuid.UUID
) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)
        )
    )
    return key


async def touch_api_key(
    session: AsyncSession, *, key_id: uuid.UUID, now: datetime, stale_before: datetime
) -> None:
    """Record a use, unless one was recorded since `stale_before` (no write per request)."""
    statement = (
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


# --- OIDC identities ------------------------------------------------------------------------


async def get_identity_user(session: AsyncSession, *, issuer: str, subject: str) -> User | None:
    """The local user linked to an external (issuer, subject), if any."""
    user: User | None = await session.scalar(
        select(User)
        .join(Identity, Identity.user_id == User.id)
        .where(Identity.issuer == issuer, Identity.subject == subject)
    )
    return user


# --- devices --------------------------------------------------------------------------------


async def list_devices(
    session: AsyncSession, *, user_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Device]:
    query = select(Device).where(Device.user_id == user_id)
    if after is not None:
        query = query.where(Device.id > after)
    return (await session.scalars(query.order_by(Device.id).limit(limit))).all()


async def get_device_by_push_token_hash(session: AsyncSession, token_hash: str) -> Device | None:
    device: Device | None = await session.scalar(
        select(Device).where(Device.push_token_hash == token_hash)
    )
    return device


async def get_user_device(
    session: AsyncSession, *, device_id: uuid.UUID, user_id: uuid.UUID
) -> Device | None:
    device: Device | None = await session.scalar(
        select(Device).where(Device.id == device_id, Device.user_id == user_id)
    )
    return device


async def get_device(session: AsyncSession, device_id: uuid.UUID) -> Device | None:
    return await session.get(Device, device_id)


async def list_web_push_devices(
    session: AsyncSession, *, user_id: uuid.UUID, limit: int
) -> Sequence[Device]:
    """The user's devices with a Web Push subscription, the most recently registered first."""
    query = (
        select(Device)
        .where(Device.user_id == user_id, Device.web_push_p256dh.is_not(None))
        .order_by(Device.last_seen_at.desc(), Device.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()
