"""REST for workspaces and their members: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from haven.accounts.deps import CurrentPrincipal
from haven.core.http import IfMatch, etag, parse_if_match
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    after_id,
    after_instant_and_id,
    cut_page,
    fetch_limit,
)
from haven.db.session import ReadSession, WriteSession
from haven.workspaces import flows, members, service
from haven.workspaces.schemas import (
    MemberCreate,
    MemberRead,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
    member_read,
    workspace_read,
)

router = APIRouter()

WorkspaceId = Annotated[uuid.UUID, Path(description="the workspace's id")]
MemberId = Annotated[uuid.UUID, Path(description="the member's user id")]


def _answer(view: service.WorkspaceView, response: Response) -> WorkspaceRead:
    response.headers["ETag"] = etag(view.workspace.version)
    return workspace_read(view.workspace, view.role)


# --- workspaces -----------------------------------------------------------------------------


@router.get(
    "/workspaces",
    tags=["workspaces"],
    summary="The caller's workspaces, with their role in each",
)
async def list_workspaces(
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WorkspaceRead]:
    views = await service.list_workspaces(
        session,
        principal=principal,
        after=after_id("workspaces", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        views, limit=limit, kind="workspaces", key=lambda v: [str(v.workspace.id)]
    )
    return Page[WorkspaceRead](
        items=[workspace_read(v.workspace, v.role) for v in page], next_cursor=next_cursor
    )


@router.post(
    "/workspaces",
    status_code=status.HTTP_201_CREATED,
    tags=["workspaces"],
    summary="Create a shared workspace; the caller becomes its owner",
)
async def create_workspace(
    body: WorkspaceCreate, principal: CurrentPrincipal, session: WriteSession, response: Response
) -> WorkspaceRead:
    view = await service.create_workspace(session, principal=principal, data=body)
    return _answer(view, response)


@router.get(
    "/workspaces/{workspace_id}",
    tags=["workspaces"],
    summary="One workspace (any member)",
)
async def get_workspace(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: ReadSession,
    response: Response,
) -> WorkspaceRead:
    view = await service.get_workspace(session, principal=principal, workspace_id=workspace_id)
    return _answer(view, response)


@router.patch(
    "/workspaces/{workspace_id}",
    tags=["workspaces"],
    summary="Rename a workspace (admins and owners)",
)
async def update_workspace(
    workspace_id: WorkspaceId,
    body: WorkspaceUpdate,
    principal: CurrentPrincipal,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
) -> WorkspaceRead:
    view = await service.rename_workspace(
        session,
        principal=principal,
        workspace_id=workspace_id,
        name=body.name,
        if_match=parse_if_match(if_match),
    )
    return _answer(view, response)


@router.delete(
    "/workspaces/{workspace_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["workspaces"],
    summary="Delete a workspace (owners; not a personal workspace)",
    description="Everything in it goes too: its live tasks move to the trash, its projects "
    "and tags are deleted.",
)
async def delete_workspace(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: WriteSession,
    if_match: IfMatch = None,
) -> None:
    await flows.delete_workspace(
        session,
        principal=principal,
        workspace_id=workspace_id,
        if_match=parse_if_match(if_match),
    )


# --- members --------------------------------------------------------------------------------


@router.get(
    "/workspaces/{workspace_id}/members",
    tags=["members"],
    summary="The members of a workspace (any member)",
)
async def list_members(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MemberRead]:
    views = await members.list_members(
        session,
        principal=principal,
        workspace_id=workspace_id,
        after=after_instant_and_id("members", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        views, limit=limit, kind="members", key=lambda v: [v.joined_at, str(v.user_id)]
    )
    return Page[MemberRead](items=[member_read(v) for v in page], next_cursor=next_cursor)


@router.post(
    "/workspaces/{workspace_id}/members",
    status_code=status.HTTP_201_CREATED,
    tags=["members"],
    summary="Add an existing Haven user (admins; owners to add an owner)",
)
async def add_member(
    workspace_id: WorkspaceId,
    body: MemberCreate,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> MemberRead:
    view = await members.add_member(
        session, principal=principal, workspace_id=workspace_id, data=body
    )
    return member_read(view)


@router.patch(
    "/workspaces/{workspace_id}/members/{user_id}",
    tags=["members"],
    summary="Change a member's role (admins; owners to grant or take away owner)",
)
async def change_member_role(
    workspace_id: WorkspaceId,
    user_id: MemberId,
    body: MemberUpdate,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> MemberRead:
    view = await members.change_member_role(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id, role=body.role
    )
    return member_read(view)


@router.delete(
    "/workspaces/{workspace_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["members"],
    summary="Remove a member (admins), or leave (yourself)",
    description="The last owner cannot leave or be removed: make someone else owner first. "
    "Tasks assigned to the member in this workspace are unassigned.",
)
async def remove_member(
    workspace_id: WorkspaceId,
    user_id: MemberId,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> None:
    await flows.remove_member(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id
    )
