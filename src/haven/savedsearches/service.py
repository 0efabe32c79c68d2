"""The rules of saved searches: a person's named task searches, private to them.

A saved search belongs to one user in one workspace they are a member of. Nobody else
sees it — another member, the workspace's owner, another workspace — and for them it does
not exist (404). Its query holds GET /tasks filters, checked exactly as GET /tasks checks
them (tasks.lists), so a saved search always runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.concurrency import ensure_version
from haven.core.errors import Conflict, NotFound
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events.outbox import record, record_all
from haven.savedsearches import events as search_events
from haven.savedsearches import repository as repo
from haven.savedsearches.models import SavedSearch
from haven.savedsearches.schemas import (
    SavedSearchCreate,
    SavedSearchQuery,
    SavedSearchUpdate,
    saved_search_to_dict,
    stored_query,
)
from haven.tasks.access import require_scope
from haven.tasks.lists import filters_from_query, parse_sort
from haven.workspaces import access as workspaces

MAX_PER_USER: Final = 100
"""A person's saved searches, across workspaces: a sidebar, not a database."""


class TooManySavedSearches(Conflict):
    def __init__(self) -> None:
        super().__init__(f"you have {MAX_PER_USER} saved searches; delete one to save another")


def _check_query(query: SavedSearchQuery, *, loc: tuple[str, ...]) -> None:
    """422 where GET /tasks would refuse the query (a malformed id, bound or sort)."""
    filters_from_query(query, loc=loc)
    parse_sort(query.sort, loc=loc)


async def _search_for(
    session: AsyncSession, principal: Principal, search_id: uuid.UUID, *, write: bool
) -> SavedSearch:
    """The caller's own saved search in a workspace they are still in, else 404."""
    require_scope(principal, write=write)
    search = await (
        repo.lock_saved_search(session, search_id)
        if write
        else repo.get_saved_search(session, search_id)
    )
    if search is None or search.user_id != principal.user_id:
        raise NotFound("saved search not found")
    role = await workspaces.role_in(
        session, user_id=principal.user_id, workspace_id=search.workspace_id
    )
    if role is None:
        raise NotFound("saved search not found")
    return search


def _ensure_version(search: SavedSearch, if_match: int | None) -> None:
    ensure_version(
        "saved search",
        current_version=search.version,
        if_match=if_match,
        current=lambda: saved_search_to_dict(search),
    )


async def get_saved_search(
    session: AsyncSession, *, principal: Principal, search_id: uuid.UUID
) -> SavedSearch:
    return await _search_for(session, principal, search_id, write=False)


async def create_saved_search(
    session: AsyncSession, *, principal: Principal, data: SavedSearchCreate
) -> tuple[SavedSearch, bool]:
    """Save a search; (search, created). A retried create with the same id returns the first.

    The cap is checked before the insert: two creates at the same instant may both pass
    it, which leaves the person one over, never unbounded.
    """
    require_scope(principal, write=True)
    _check_query(data.query, loc=("body", "query"))
    if data.id is not None:
        existing = await repo.get_saved_search(session, data.id)
        if existing is not None:
            ensure_own_retry(
                created_by=existing.user_id,
                caller_id=principal.user_id,
                caller_can_see=await workspaces.role_in(
                    session, user_id=principal.user_id, workspace_id=existing.workspace_id
                )
                is not None,
            )
            return existing, False
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.VIEWER
    )
    if await repo.count_of_user(session, principal.user_id) >= MAX_PER_USER:
        raise TooManySavedSearches()
    search = SavedSearch(
        id=data.id or new_id(),
        workspace_id=access.workspace_id,
        user_id=principal.user_id,
        name=data.name,
        query=stored_query(data.query),
        version=1,
    )
    session.add(search)
    await session.flush()
    record(session, search_events.created(search, actor=principal.actor))
    return search, True


async def update_saved_search(
    session: AsyncSession,
    *,
    principal: Principal,
    search_id: uuid.UUID,
    data: SavedSearchUpdate,
    if_match: int | None,
) -> SavedSearch:
    """Rename a saved search or replace its query."""
    if data.query is not None:
        _check_query(data.query, loc=("body", "query"))
    search = await _search_for(session, principal, search_id, write=True)
    _ensure_version(search, if_match)
    before = search_events.snapshot(search)
    if data.name is not None:
        search.name = data.name
    if data.query is not None and stored_query(data.query) != search.query:
        search.query = stored_query(data.query)
    await session.flush()
    if search.version != before["version"]:
        record(session, search_events.updated(search, before=before, actor=principal.actor))
    return search


async def delete_saved_search(
    session: AsyncSession, *, principal: Principal, search_id: uuid.UUID, if_match: int | None
) -> None:
    search = await _search_for(session, principal, search_id, write=True)
    _ensure_version(search, if_match)
    record(session, search_events.deleted(search, actor=principal.actor))
    await session.delete(search)
    await session.flush()


async def list_saved_searches(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[SavedSearch]:
    """The caller's saved searches, in the workspaces they are in, oldest first."""
    require_scope(principal, write=False)
    return await repo.list_saved_searches(
        session,
        user_id=principal.user_id,
        workspace_ids=workspaces.visible_workspace_ids(principal.user_id),
        workspace_id=workspace_id,
        after=after,
        limit=limit,
    )


async def forget_workspace_saved_searches(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID
) -> None:
    """The saved searches of a workspace being deleted go with it, each with its
    `saved_search.deleted` (its owner's clients drop it from their sidebar).

    For workspaces.flows, which has checked that the caller may delete the workspace.
    """
    await _forget(session, principal, await repo.saved_searches_in(session, workspace_id))


async def forget_member_saved_searches(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """A member who leaves (or is removed) loses their saved searches there, which they
    could no longer open, each with its `saved_search.deleted`.

    For workspaces.flows, which has checked that the caller may remove the member.
    """
    searches = await repo.saved_searches_in(session, workspace_id, user_id=user_id)
    await _forget(session, principal, searches)


async def _forget(
    session: AsyncSession, principal: Principal, searches: Sequence[SavedSearch]
) -> None:
    await record_all(
        session, [search_events.deleted(search, actor=principal.actor) for search in searches]
    )
    for search in searches:
        await session.delete(search)
    await session.flush()
