"""REST for saved searches: parse, call the service, shape the answer."""

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
    after_instant_and_id,
    cut_page,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.savedsearches import service
from haven.savedsearches.schemas import (
    SavedSearchCreate,
    SavedSearchOut,
    SavedSearchUpdate,
    saved_search_to_dict,
)

router = APIRouter(tags=["saved searches"])


@router.get(
    "/saved-searches", summary="List your saved searches", response_model=Page[SavedSearchOut]
)
async def list_saved_searches(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    searches = await service.list_saved_searches(
        session,
        principal=principal,
        workspace_id=workspace_id,
        after=after_instant_and_id("saved-searches", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        searches,
        limit=limit,
        kind="saved-searches",
        key=lambda s: [s.created_at.isoformat(), s.id],
    )
    return page_body([saved_search_to_dict(s) for s in page], next_cursor)


@router.post(
    "/saved-searches",
    status_code=201,
    summary="Save a search (private to you; at most 100)",
    response_class=Response,
    responses={
        **created_responses(SavedSearchOut),
        **ok_responses(SavedSearchOut, "Already created with this id"),
    },
)
async def create_saved_search(
    data: SavedSearchCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    search, created = await service.create_saved_search(session, principal=principal, data=data)
    return json_response(
        saved_search_to_dict(search), status_code=201 if created else 200, version=search.version
    )


@router.get(
    "/saved-searches/{search_id}",
    summary="Get a saved search",
    response_class=Response,
    responses=ok_responses(SavedSearchOut),
)
async def get_saved_search(
    search_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    search = await service.get_saved_search(session, principal=principal, search_id=search_id)
    return json_response(saved_search_to_dict(search), version=search.version)


@router.patch(
    "/saved-searches/{search_id}",
    summary="Rename a saved search or replace its query",
    response_class=Response,
    responses=ok_responses(SavedSearchOut),
)
async def update_saved_search(
    search_id: uuid.UUID,
    data: SavedSearchUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    search = await service.update_saved_search(
        session,
        principal=principal,
        search_id=search_id,
        data=data,
        if_match=parse_if_match(if_match),
    )
    return json_response(saved_search_to_dict(search), version=search.version)


@router.delete("/saved-searches/{search_id}", status_code=204, summary="Delete a saved search")
async def delete_saved_search(
    search_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await service.delete_saved_search(
        session, principal=principal, search_id=search_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)
