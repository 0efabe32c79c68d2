"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    Select,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.models import (
    ApiKey,
    Device,
    Identity,
    Membership,
    RefreshToken,
    User,
    Workspace,
)
from haven.core.pagination import keyset_after

# Authorization runs on every request: its statements are built once, with bind parameters.
_ROLE = (
    select(Membership.role)
    .join(Workspace, Workspace.id == Membership.workspace_id)
    .where(
        Membership.workspace_id == bindparam("workspace_id"),
        Membership.user_id == bindparam("user_id"),
        Workspace.deleted_at.is_(None),
    )
)
_ACCESS = (
    select(Membership.workspace_id, Membership.role, User.timezone)
    .join(Workspace, Workspace.id == Membership.workspace_id)
    .join(User, User.id == Membership.user_id)
    .where(Membership.user_id == bindparam("user_id"), Workspace.deleted_at.is_(None))
)
_ACCESS_TO = _ACCESS.where(Membership.workspace_id == bindparam("workspace_id")).limit(1)
_ACCESS_TO_PERSONAL = _ACCESS.where(
    Workspace.is_personal.is_(True), Workspace.created_by == bindparam("user_id")
).limit(1)


async def get_role(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> str | None:
    role: str | None = await session.scalar(
        _ROLE, {"workspace_id": workspace_id, "user_id": user_id}
    )
    return role


def member_workspace_ids(
    user_id: uuid.UUID | BindParameter[uuid.UUID],
) -> Select[tuple[uuid.UUID]]:
    """The ids of the live workspaces a user belongs to, as a subquery to filter by."""
    query = (
        select(Membership.workspace_id)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user_id, Workspace.deleted_at.is_(None))
    )
    # SQLAlchemy 2.1 types this Select[uuid.UUID]; other modules take the 2.0 spelling
    # Select[tuple[uuid.UUID]], which this signature keeps until they all move.
    return cast(Select[tuple[uuid.UUID]], query)


async def get_access(
    session: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID | None
) -> Row[uuid.UUID, str, str] | None:
    """(workspace id, role, the user's time zone) for a workspace, or the personal one."""
    if workspace_id is None:
        result = await session.execute(_ACCESS_TO_PERSONAL, {"user_id": user_id})
    else:
        result = await session.execute(
            _ACCESS_TO, {"user_id": user_id, "workspace_id": workspace_id}
        )
    row: Row[uuid.UUID, str, str] | None = result.first()
    return row


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


# --- workspaces -----------------------------------------------------------------------------


async def list_user_workspaces(
    session: AsyncSession, *, user_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Row[Workspace, str]]:
    """The user's live workspaces with their role in each, keyset-paged on id."""
    query = (
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id, Workspace.deleted_at.is_(None))
    )
    if after is not None:
        query = query.where(Workspace.id > after)
    result = await session.execute(query.order_by(Workspace.id).limit(limit))
    return result.all()


async def get_workspace_with_role(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Workspace, str] | None:
    """A live workspace and the user's role in it; None when it is gone or not theirs."""
    result = await session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(
            Workspace.id == workspace_id,
            Membership.user_id == user_id,
            Workspace.deleted_at.is_(None),
        )
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def get_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> Workspace | None:
    """Any workspace with this id, deleted or not."""
    return await session.get(Workspace, workspace_id)


async def lock_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> Workspace | None:
    """The live workspace, row-locked until the transaction ends.

    Changes to a workspace or its members take this lock first, so two of them cannot both
    pass a check (e.g. "another owner remains") that only one of them may. On SQLite every
    write transaction already holds the database lock.
    """
    workspace: Workspace | None = await session.scalar(
        select(Workspace)
        .where(Workspace.id == workspace_id, Workspace.deleted_at.is_(None))
        .with_for_update()
    )
    return workspace


# --- members --------------------------------------------------------------------------------


async def list_members(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[uuid.UUID, str, str, str, datetime]]:
    """(user_id, email, name, role, joined_at) in joining order, keyset-paged."""
    query = (
        select(Membership.user_id, User.email, User.name, Membership.role, Membership.created_at)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
    )
    if after is not None:
        keys = [(Membership.created_at, False), (Membership.user_id, False)]
        query = query.where(keyset_after(keys, after))
    query = query.order_by(Membership.created_at, Membership.user_id).limit(limit)
    return (await session.execute(query)).all()


async def get_membership(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.get(Membership, (workspace_id, user_id))


async def count_owners(session: AsyncSession, *, workspace_id: uuid.UUID) -> int:
    count: int | None = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
    )
    return count or 0


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
