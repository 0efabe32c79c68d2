"""REST for tags: parse, call the service, shape the answer."""

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
    after_text_and_id,
    cut_page,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.tags import flows, service
from haven.tags.schemas import TagCreate, TagOut, TagUpdate, tag_to_dict

router = APIRouter(tags=["tags"])


@router.get("/tags", summary="List tags", response_model=Page[TagOut])
async def list_tags(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tags = await service.list_tags(
        session,
        principal=principal,
        workspace_id=workspace_id,
        after=after_text_and_id("tags", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(tags, limit=limit, kind="tags", key=lambda t: [t.name_key, t.id])
    return page_body([tag_to_dict(t) for t in page], next_cursor)


@router.post(
    "/tags",
    status_code=201,
    summary="Create a tag",
    response_class=Response,
    responses=created_responses(TagOut),
)
async def create_tag(
    data: TagCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    tag = await service.create_tag(session, principal=principal, data=data)
    return json_response(tag_to_dict(tag), status_code=201, version=tag.version)


@router.get(
    "/tags/{tag_id}", summary="Get a tag", response_class=Response, responses=ok_responses(TagOut)
)
async def get_tag(tag_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal) -> Response:
    tag = await service.get_tag(session, principal=principal, tag_id=tag_id)
    return json_response(tag_to_dict(tag), version=tag.version)


@router.patch(
    "/tags/{tag_id}",
    summary="Rename or recolour a tag",
    response_class=Response,
    responses=ok_responses(TagOut),
)
async def update_tag(
    tag_id: uuid.UUID,
    data: TagUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    tag = await flows.update_tag(
        session, principal=principal, tag_id=tag_id, data=data, if_match=parse_if_match(if_match)
    )
    return json_response(tag_to_dict(tag), version=tag.version)


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a tag (removes it from tasks)")
async def delete_tag(
    tag_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    await flows.delete_tag(
        session, principal=principal, tag_id=tag_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)
