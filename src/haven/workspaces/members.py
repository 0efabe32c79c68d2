"""Members of a workspace: who may add, re-role and remove whom; one owner always remains."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import users
from haven.accounts.authz import Role, Scope, require_scope
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, Forbidden, NotFound
from haven.events.outbox import record
from haven.workspaces import events as workspace_events
from haven.workspaces import repository
from haven.workspaces.access import lock_for_change, require_role
from haven.workspaces.models import Membership, Workspace
from haven.workspaces.schemas import MemberCreate


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


async def list_members(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[MemberView]:
    require_scope(principal, Scope.WORKSPACES_READ)
    await require_role(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.VIEWER
    )
    rows = await repository.list_members(
        session, workspace_id=workspace_id, after=after, limit=limit
    )
    return [_member_view(row) for row in rows]


def _member_view(row: Row[uuid.UUID, str, str, str, datetime]) -> MemberView:
    user_id, email, name, role, joined_at = row
    return MemberView(user_id=user_id, email=email, name=name, role=Role(role), joined_at=joined_at)


async def add_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, data: MemberCreate
) -> MemberView:
    """Admins add members; only an owner may add another owner."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    _, caller_role = await lock_for_change(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.ADMIN
    )
    if data.role is Role.OWNER and caller_role is not Role.OWNER:
        raise Forbidden("only an owner can add an owner")
    user = await users.find_user_by_email(session, data.email)
    if user is None:
        raise NotFound("no Haven user with that email")
    if await repository.get_membership(session, workspace_id=workspace_id, user_id=user.id):
        raise Conflict("this user is already a member of the workspace")
    now = utcnow()
    membership = Membership(
        workspace_id=workspace_id,
        user_id=user.id,
        role=data.role.value,
        created_at=now,
        updated_at=now,
    )
    session.add(membership)
    await session.flush()
    record(session, workspace_events.member_added(membership, actor=principal.actor))
    return MemberView(
        user_id=user.id, email=user.email, name=user.name, role=data.role, joined_at=now
    )


async def change_member_role(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
) -> MemberView:
    """Admins change roles; granting or taking away owner needs an owner; one owner remains."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    workspace, caller_role = await lock_for_change(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.ADMIN
    )
    membership = await repository.get_membership(
        session, workspace_id=workspace_id, user_id=user_id
    )
    if membership is None:
        raise NotFound("member not found")
    current = Role(membership.role)
    if Role.OWNER in (current, role) and caller_role is not Role.OWNER:
        raise Forbidden("only an owner can grant or take away the owner role")
    if role is not Role.OWNER:
        _keep_the_personal_owner(workspace, user_id)
    if current is not role:
        if current is Role.OWNER:
            await _keep_an_owner(session, workspace_id=workspace_id)
        before = workspace_events.member_snapshot(membership)
        membership.role = role.value
        membership.updated_at = utcnow()
        await session.flush()
        record(
            session,
            workspace_events.member_role_changed(membership, before=before, actor=principal.actor),
        )
    user = await users.get_user(session, user_id)
    assert user is not None  # the membership's foreign key guarantees it
    return MemberView(
        user_id=user_id,
        email=user.email,
        name=user.name,
        role=role,
        joined_at=membership.created_at,
    )


async def remove_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Admins remove members, anyone may leave; owners go only by an owner, never the last."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    leaving = user_id == principal.user_id
    workspace, caller_role = await lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.VIEWER if leaving else Role.ADMIN,
    )
    membership = await repository.get_membership(
        session, workspace_id=workspace_id, user_id=user_id
    )
    if membership is None:
        raise NotFound("member not found")
    if membership.role == Role.OWNER.value:
        if caller_role is not Role.OWNER:
            raise Forbidden("only an owner can remove an owner")
        _keep_the_personal_owner(workspace, user_id)
        await _keep_an_owner(session, workspace_id=workspace_id)
    await session.delete(membership)
    await session.flush()
    record(session, workspace_events.member_removed(membership, actor=principal.actor))


def _keep_the_personal_owner(workspace: Workspace, user_id: uuid.UUID) -> None:
    """A personal workspace may be shared, but its person stays in it as owner.

    Creating without a workspace_id puts things in the caller's personal workspace; a
    person demoted or removed from theirs (by a co-owner, or by leaving) would have none.
    """
    if workspace.is_personal and workspace.created_by == user_id:
        raise Conflict("this is their personal workspace: they stay in it as owner")


async def _keep_an_owner(session: AsyncSession, *, workspace_id: uuid.UUID) -> None:
    """Call before an owner stops being one (the workspace row is locked)."""
    if await repository.count_owners(session, workspace_id=workspace_id) <= 1:
        raise Conflict("a workspace needs an owner; make someone else owner first")
