"""Workspaces: listing, creating, renaming and deleting them; every user's personal one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role, Scope, require_scope
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events.outbox import record
from haven.workspaces import access, repository
from haven.workspaces import events as workspace_events
from haven.workspaces.models import Membership, Workspace
from haven.workspaces.schemas import WorkspaceCreate


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """A workspace as one member sees it."""

    workspace: Workspace
    role: Role


async def list_workspaces(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> list[WorkspaceView]:
    require_scope(principal, Scope.WORKSPACES_READ)
    rows = await repository.list_user_workspaces(
        session, user_id=principal.user_id, after=after, limit=limit
    )
    return [WorkspaceView(workspace=row[0], role=Role(row[1])) for row in rows]


async def get_workspace(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID
) -> WorkspaceView:
    require_scope(principal, Scope.WORKSPACES_READ)
    found = await repository.get_workspace_with_role(
        session, workspace_id=workspace_id, user_id=principal.user_id
    )
    if found is None:
        raise NotFound("workspace not found")
    return WorkspaceView(workspace=found[0], role=Role(found[1]))


async def create_workspace(
    session: AsyncSession, *, principal: Principal, data: WorkspaceCreate
) -> WorkspaceView:
    """A shared workspace owned by the caller. Repeating a create with the same id is safe."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    if data.id is not None:
        existing = await repository.get_workspace(session, data.id)
        if existing is not None:
            mine = await repository.get_workspace_with_role(
                session, workspace_id=data.id, user_id=principal.user_id
            )
            ensure_own_retry(
                created_by=existing.created_by,
                caller_id=principal.user_id,
                caller_can_see=mine is not None,
            )
            assert mine is not None  # a retry: the caller sees what they made
            return WorkspaceView(workspace=mine[0], role=Role(mine[1]))
    workspace = await _create(
        session,
        owner_id=principal.user_id,
        workspace_id=data.id or new_id(),
        name=data.name,
        is_personal=False,
        actor=principal.actor,
    )
    return WorkspaceView(workspace=workspace, role=Role.OWNER)


async def create_personal_workspace(
    session: AsyncSession, *, owner_id: uuid.UUID, owner_name: str
) -> Workspace:
    """The workspace every user gets at sign-up, named after them; it cannot be deleted."""
    return await _create(
        session,
        owner_id=owner_id,
        workspace_id=new_id(),
        name=f"{owner_name}'s workspace"[:200],
        is_personal=True,
        actor=f"users/{owner_id}",
    )


async def _create(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    workspace_id: uuid.UUID,
    name: str,
    is_personal: bool,
    actor: str,
) -> Workspace:
    now = utcnow()
    workspace = Workspace(
        id=workspace_id,
        name=name,
        is_personal=is_personal,
        created_by=owner_id,
        deleted_at=None,
        created_at=now,
        updated_at=now,
    )
    membership = Membership(
        workspace_id=workspace_id,
        user_id=owner_id,
        role=Role.OWNER.value,
        created_at=now,
        updated_at=now,
    )
    session.add(workspace)
    # Without relationship() the unit of work does not order inserts by foreign key.
    await session.flush()
    session.add(membership)
    await session.flush()
    record(session, workspace_events.created(workspace, actor=actor))
    record(session, workspace_events.member_added(membership, actor=actor))
    return workspace


async def rename_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    name: str | None,
    if_match: int | None = None,
) -> WorkspaceView:
    """Admins and owners rename; `if_match` is the version the client last read."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    workspace, role = await access.lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.ADMIN,
        if_match=if_match,
    )
    if name is None or name == workspace.name:
        return WorkspaceView(workspace=workspace, role=role)
    before = workspace_events.snapshot(workspace)
    workspace.name = name
    workspace.updated_at = utcnow()
    await session.flush()
    record(session, workspace_events.updated(workspace, before=before, actor=principal.actor))
    return WorkspaceView(workspace=workspace, role=role)


async def delete_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    if_match: int | None = None,
) -> Workspace:
    """Only an owner deletes (softly); a personal workspace stays.

    flows.delete_workspace also deletes what is in it.
    """
    require_scope(principal, Scope.WORKSPACES_WRITE)
    workspace, _ = await access.lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.OWNER,
        if_match=if_match,
    )
    if workspace.is_personal:
        raise Conflict("a personal workspace cannot be deleted")
    before = workspace_events.snapshot(workspace)
    now = utcnow()
    workspace.deleted_at = now
    workspace.updated_at = now
    await session.flush()
    record(session, workspace_events.deleted(workspace, before=before, actor=principal.actor))
    return workspace
