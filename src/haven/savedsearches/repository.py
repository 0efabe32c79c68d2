"""Every query of the saved searches domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.pagination import keyset_after
from haven.savedsearches.models import SavedSearch


async def get_saved_search(session: AsyncSession, search_id: uuid.UUID) -> SavedSearch | None:
    return await session.get(SavedSearch, search_id)


async def lock_saved_search(session: AsyncSession, search_id: uuid.UUID) -> SavedSearch | None:
    """Load a saved search for a write, locked on PostgreSQL until commit, so concurrent
    writers take turns and each compares If-Match with what the one before it left."""
    query = select(SavedSearch).where(SavedSearch.id == search_id).with_for_update()
    query = query.execution_options(populate_existing=True)
    search: SavedSearch | None = (await session.scalars(query)).first()
    return search


async def count_of_user(session: AsyncSession, user_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(SavedSearch).where(SavedSearch.user_id == user_id)
    return int((await session.execute(query)).scalar_one())


async def list_saved_searches(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_ids: Select[tuple[uuid.UUID]],
    workspace_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[SavedSearch]:
    query = select(SavedSearch).where(
        SavedSearch.user_id == user_id, SavedSearch.workspace_id.in_(workspace_ids)
    )
    if workspace_id is not None:
        query = query.where(SavedSearch.workspace_id == workspace_id)
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [
        (SavedSearch.created_at, False),
        (SavedSearch.id, False),
    ]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(SavedSearch.created_at, SavedSearch.id).limit(limit)
    return (await session.scalars(query)).all()


async def saved_searches_in(
    session: AsyncSession, workspace_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> Sequence[SavedSearch]:
    """A workspace's saved searches (one user's, if given)."""
    query = select(SavedSearch).where(SavedSearch.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(SavedSearch.user_id == user_id)
    return (await session.scalars(query.order_by(SavedSearch.id))).all()
