"""The events of workspaces and their members, built in one place (see docs/events.md)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.workspaces.models import Membership, Workspace


class WorkspaceChanged(TypedDict):
    workspace: State
    # Each field that moved, as [old, new]; not on `created`.
    changes: NotRequired[Changes]


class MemberChanged(TypedDict):
    member: State
    changes: NotRequired[Changes]


def snapshot(workspace: Workspace) -> State:
    """A workspace as events show it: take one before changing a workspace."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "is_personal": workspace.is_personal,
        "created_by": workspace.created_by,
        "created_at": workspace.created_at,
        "deleted_at": workspace.deleted_at,
        "version": workspace.version,
    }


def member_snapshot(membership: Membership) -> State:
    """A membership as events show it: take one before changing a role."""
    return {
        "workspace_id": membership.workspace_id,
        "user_id": membership.user_id,
        "role": membership.role,
        "joined_at": membership.created_at,
    }


def _about(type_: str, workspace: Workspace, actor: str, before: State | None) -> DomainEvent:
    data: WorkspaceChanged = {"workspace": snapshot(workspace)}
    if before is not None:
        data["changes"] = changes_between(before, data["workspace"])
    return DomainEvent(
        type=type_,
        subject=f"workspaces/{workspace.id}",
        actor=actor,
        workspace_id=workspace.id,
        version=workspace.version,
        data=data,
    )


def created(workspace: Workspace, *, actor: str) -> DomainEvent:
    return _about(catalog.WORKSPACE_CREATED, workspace, actor, None)


def updated(workspace: Workspace, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.WORKSPACE_UPDATED, workspace, actor, before)


def deleted(workspace: Workspace, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.WORKSPACE_DELETED, workspace, actor, before)


def _member(type_: str, membership: Membership, actor: str, before: State | None) -> DomainEvent:
    data: MemberChanged = {"member": member_snapshot(membership)}
    if before is not None:
        data["changes"] = changes_between(before, data["member"])
    return DomainEvent(
        type=type_,
        subject=f"workspaces/{membership.workspace_id}/members/{membership.user_id}",
        actor=actor,
        workspace_id=membership.workspace_id,
        version=None,
        data=data,
    )


def member_added(membership: Membership, *, actor: str) -> DomainEvent:
    return _member(catalog.MEMBER_ADDED, membership, actor, None)


def member_role_changed(membership: Membership, *, before: State, actor: str) -> DomainEvent:
    return _member(catalog.MEMBER_ROLE_CHANGED, membership, actor, before)


def member_removed(membership: Membership, *, actor: str) -> DomainEvent:
    """The membership as it was when it ended (`changes` empty)."""
    return _member(catalog.MEMBER_REMOVED, membership, actor, member_snapshot(membership))
