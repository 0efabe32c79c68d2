"""REST for projects: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from haven.accounts.deps import CurrentPrincipal
from haven.core.http import IfMatch, created_responses, json_response, ok_responses, parse_if_match
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    bad_cursor,
    cursor_uuid,
    cut_page,
    decode_cursor,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.projects import flows, service
from haven.projects.schemas import ProjectCreate, ProjectOut, ProjectUpdate, project_to_dict

router = APIRouter(tags=["projects"])


@router.get("/projects", summary="List projects", response_model=Page[ProjectOut])
async def list_projects(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    include_archived: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    projects = await service.list_projects(
        session,
        principal=principal,
        workspace_id=workspace_id,
        include_archived=include_archived,
        after=_after_position(cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        projects, limit=limit, kind="projects", key=lambda p: [p.position, p.name, p.id]
    )
    return page_body([project_to_dict(p) for p in page], next_cursor)


def _after_position(cursor: str | None) -> tuple[int, str, uuid.UUID] | None:
    """Where a list of projects (by position, name, id) resumes; None for the first page."""
    if cursor is None:
        return None
    position, name, value = decode_cursor("projects", cursor, arity=3)
    if not isinstance(position, int) or isinstance(position, bool) or not isinstance(name, str):
        raise bad_cursor()
    return position, name, cursor_uuid(value)


@router.post(
    "/projects",
    status_code=201,
    summary="Create a project",
    response_class=Response,
    responses={**created_responses(ProjectOut), **ok_responses(ProjectOut, "Already created")},
)
async def create_project(
    data: ProjectCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    project, created = await service.create_project(session, principal=principal, data=data)
    return json_response(
        project_to_dict(project), status_code=201 if created else 200, version=project.version
    )


@router.get(
    "/projects/{project_id}",
    summary="Get a project",
    response_class=Response,
    responses=ok_responses(ProjectOut),
)
async def get_project(
    project_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    project = await service.get_project(session, principal=principal, project_id=project_id)
    return json_response(project_to_dict(project), version=project.version)


@router.patch(
    "/projects/{project_id}",
    summary="Change a project",
    response_class=Response,
    responses=ok_responses(ProjectOut),
)
async def update_project(
    project_id: uuid.UUID,
    data: ProjectUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    project = await service.update_project(
        session,
        principal=principal,
        project_id=project_id,
        data=data,
        if_match=parse_if_match(if_match),
    )
    return json_response(project_to_dict(project), version=project.version)


@router.delete(
    "/projects/{project_id}",
    status_code=204,
    summary="Delete a project and move its tasks to the trash",
)
async def delete_project(
    project_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await flows.delete_project(
        session, principal=principal, project_id=project_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)
