"""Workspaces: listing, creating, renaming and deleting them; every user's personal one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role, Scope, require_scope
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events import catalog
from haven.events.outbox import record_event
from haven.workspaces import repository
from haven.workspaces.access import lock_for_change
from haven.workspaces.members import record_member_event
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
    record_event(
        session,
        type=catalog.WORKSPACE_CREATED,
        subject=f"workspaces/{workspace.id}",
        actor=actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
    )
    record_member_event(session, catalog.MEMBER_ADDED, membership, actor=actor)
    return workspace


def describe_workspace(workspace: Workspace) -> dict[str, Any]:
    """A workspace as events show it."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "is_personal": workspace.is_personal,
        "created_by": workspace.created_by,
        "created_at": workspace.created_at,
        "deleted_at": workspace.deleted_at,
        "version": workspace.version,
    }


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
    workspace, role = await lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.ADMIN,
        if_match=if_match,
    )
    if name is None or name == workspace.name:
        return WorkspaceView(workspace=workspace, role=role)
    before = workspace.name
    workspace.name = name
    workspace.updated_at = utcnow()
    await session.flush()
    record_event(
        session,
        type=catalog.WORKSPACE_UPDATED,
        subject=f"workspaces/{workspace.id}",
        actor=principal.actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
        changes={"name": (before, name)},
    )
    return WorkspaceView(workspace=workspace, role=role)


async def delete_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    """Only an owner deletes (softly); a personal workspace stays."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    workspace, _ = await lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.OWNER,
        if_match=if_match,
    )
    if workspace.is_personal:
        raise Conflict("a personal workspace cannot be deleted")
    now = utcnow()
    workspace.deleted_at = now
    workspace.updated_at = now
    await session.flush()
    record_event(
        session,
        type=catalog.WORKSPACE_DELETED,
        subject=f"workspaces/{workspace.id}",
        actor=principal.actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
    )
