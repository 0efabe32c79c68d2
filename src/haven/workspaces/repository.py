"""Every query of the workspaces domain: workspaces, memberships, and access checks."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.users import user_directory
from haven.core.pagination import keyset_after
from haven.db.engine import in_autocommit
from haven.workspaces.models import Membership, Workspace

# Members' emails, names and time zones, as the accounts module publishes them.
_USERS = user_directory()

# --- access ---------------------------------------------------------------------------------

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
    select(Membership.workspace_id, Membership.role, _USERS.c.timezone, _USERS.c.is_active)
    .join(Workspace, Workspace.id == Membership.workspace_id)
    .join(_USERS, _USERS.c.id == Membership.user_id)
    .where(Membership.user_id == bindparam("user_id"), Workspace.deleted_at.is_(None))
)
_ACCESS_TO = _ACCESS.where(Membership.workspace_id == bindparam("workspace_id")).limit(1)
_ACCESS_TO_PERSONAL = _ACCESS.where(
    Workspace.is_personal.is_(True), Workspace.created_by == bindparam("user_id")
).limit(1)
# The same, holding the membership read (shared, until commit: see get_role).
_ROLE_KEPT = _ROLE.with_for_update(read=True, of=Membership.__table__)
_ACCESS_TO_KEPT = _ACCESS_TO.with_for_update(read=True, of=Membership.__table__)
_ACCESS_TO_PERSONAL_KEPT = _ACCESS_TO_PERSONAL.with_for_update(read=True, of=Membership.__table__)


@functools.cache
def access_guard(*, roles: frozenset[str], personal: bool) -> Select[tuple[uuid.UUID]]:
    """A one-row select of the workspace bound as `workspace_id` if the user bound as `user_id`
    may act there, as one part of a larger statement: the workspace is live (and, `personal`,
    the user's own personal one), the user is a member with one of `roles`, active, and their
    time zone is still the one bound as `caller_zone` (the statement was built with it). The
    membership is locked as a write's access check locks it (`get_role`'s `keep`).

    No row: the statement does nothing, and the caller goes the long way (`get_access`), which
    tells why. Built once per (roles, personal)."""
    query = (
        select(Membership.workspace_id)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .join(_USERS, _USERS.c.id == Membership.user_id)
        .where(
            Membership.workspace_id == bindparam("workspace_id"),
            Membership.user_id == bindparam("user_id"),
            # Each role a bind of its own (an IN list would be rendered anew per execution).
            Membership.role.in_([literal(role) for role in sorted(roles)]),
            Workspace.deleted_at.is_(None),
            _USERS.c.is_active.is_(True),
            _USERS.c.timezone == bindparam("caller_zone"),
        )
    )
    if personal:
        query = query.where(
            Workspace.is_personal.is_(True), Workspace.created_by == bindparam("user_id")
        )
    # Held like any write's access check (get_role's `keep`): a role change or removal
    # waits for the statement, or the statement waits for it and then sees the new role.
    query = query.with_for_update(read=True, of=Membership.__table__)
    return cast(Select[tuple[uuid.UUID]], query)


def caller_access_columns(
    workspace_id: ColumnElement[uuid.UUID], *, keep: bool = False, keep_workspace: bool = False
) -> tuple[ColumnElement[str | None], ColumnElement[bool | None]]:
    """For another module's query, by the workspace id column it reads: the role in that
    live workspace of the user bound as `user_id` (NULL: not a member), and whether the user
    is active (NULL: no such user).

    `keep` (for a write) locks the membership read, shared until commit (PostgreSQL): the role
    is the committed one when the lock is taken, even if the outer statement then waits for
    its own row lock (the subquery runs, and locks, first; unlocked, it would answer from the
    snapshot taken before that wait), and it cannot change, nor the member go, until the
    write commits. `keep_workspace` locks the workspace row too, before the membership (the
    order in which workspace and member changes lock them), for writes that a workspace's
    deletion does not otherwise meet.
    """
    role = (
        select(Membership.role)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.user_id == bindparam("user_id"),
            Workspace.deleted_at.is_(None),
        )
    )
    if keep_workspace:
        # The workspace first: workspace changes lock it before the membership.
        role = role.with_for_update(read=True, of=[Workspace.__table__, Membership.__table__])
    elif keep:
        role = role.with_for_update(read=True, of=Membership.__table__)
    active = select(_USERS.c.is_active).where(_USERS.c.id == bindparam("user_id"))
    return role.scalar_subquery(), active.scalar_subquery()


def writing(session: AsyncSession) -> bool:
    """Whether the session is a write transaction (not an autocommit read): an access check
    there holds the membership it read until commit (see `get_role`)."""
    return not in_autocommit(session.get_bind())


async def get_role(
    session: AsyncSession, *, workspace_id: uuid.UUID, user_id: uuid.UUID, keep: bool = False
) -> str | None:
    """The user's role in the live workspace; `keep` holds the membership (a shared lock on
    PostgreSQL, until commit) so it cannot be removed, nor its role change, before the
    caller's change commits: the removal or role change waits for it instead."""
    query = _ROLE_KEPT if keep else _ROLE
    # On the session's connection: a plain column query needs none of the ORM's result work.
    connection = await session.connection()
    role: str | None = await connection.scalar(
        query, {"workspace_id": workspace_id, "user_id": user_id}
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
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID | None,
    keep: bool = False,
) -> Row[uuid.UUID, str, str, bool] | None:
    """(workspace id, role, the user's time zone, is the user active) for a workspace, or the
    personal one; `keep` holds the membership as in get_role."""
    connection = await session.connection()  # as in get_role: no ORM result work
    if workspace_id is None:
        personal = _ACCESS_TO_PERSONAL_KEPT if keep else _ACCESS_TO_PERSONAL
        result = await connection.execute(personal, {"user_id": user_id})
    else:
        result = await connection.execute(
            _ACCESS_TO_KEPT if keep else _ACCESS_TO,
            {"user_id": user_id, "workspace_id": workspace_id},
        )
    row: Row[uuid.UUID, str, str, bool] | None = result.first()
    return row


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
    FOR NO KEY UPDATE, not FOR UPDATE: rows that point at the workspace (a task being
    created in it) need not wait, and a member removal cannot deadlock with a task being
    assigned to that member (which holds the membership until it commits).
    """
    workspace: Workspace | None = await session.scalar(
        select(Workspace)
        .where(Workspace.id == workspace_id, Workspace.deleted_at.is_(None))
        .with_for_update(key_share=True)
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
        select(
            Membership.user_id,
            _USERS.c.email,
            _USERS.c.name,
            Membership.role,
            Membership.created_at,
        )
        .join(_USERS, _USERS.c.id == Membership.user_id)
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
        .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER.value)
    )
    return count or 0
