"""API shapes of the workspaces domain, and their serialisers: workspaces and members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from haven.accounts.authz import Role
from haven.accounts.schemas import Email, Title
from haven.core.schemas import PatchBody, RequestBody
from haven.workspaces.models import Workspace

if TYPE_CHECKING:
    from haven.workspaces.members import MemberView

# --- workspaces -----------------------------------------------------------------------------


class WorkspaceCreate(RequestBody):
    id: uuid.UUID | None = Field(
        default=None, description="a client-made UUIDv7; repeating a create with it is safe"
    )
    name: Title = Field(description="the workspace's name")


class WorkspaceUpdate(PatchBody):
    name: Title | None = Field(default=None, description="a new name")


class WorkspaceRead(BaseModel):
    id: uuid.UUID = Field(description="the workspace's id")
    name: str = Field(description="the workspace's name")
    is_personal: bool = Field(description="the caller's own workspace, made at sign-up")
    role: Role = Field(description="the caller's role here: owner, admin, member or viewer")
    created_at: datetime = Field(description="when the workspace was created")
    version: int = Field(description="changes on every update; sent as the ETag")


# --- members --------------------------------------------------------------------------------


class MemberCreate(RequestBody):
    email: Email = Field(max_length=320, description="the email of an existing Haven user")
    role: Role = Field(description="owner (owners only), admin, member or viewer")


class MemberUpdate(RequestBody):
    role: Role = Field(description="the new role; granting or taking away owner needs an owner")


class MemberRead(BaseModel):
    user_id: uuid.UUID = Field(description="the member's user id")
    email: str = Field(description="the member's email")
    name: str = Field(description="the member's display name")
    role: Role = Field(description="owner, admin, member or viewer")
    joined_at: datetime = Field(description="when the user joined the workspace")


# --- serialisers ----------------------------------------------------------------------------


def workspace_read(workspace: Workspace, role: Role) -> WorkspaceRead:
    """The workspace as `role` sees it (the caller's role is part of the answer)."""
    return WorkspaceRead(
        id=workspace.id,
        name=workspace.name,
        is_personal=workspace.is_personal,
        role=role,
        created_at=workspace.created_at,
        version=workspace.version,
    )


def member_read(view: MemberView) -> MemberRead:
    return MemberRead(
        user_id=view.user_id,
        email=view.email,
        name=view.name,
        role=view.role,
        joined_at=view.joined_at,
    )
