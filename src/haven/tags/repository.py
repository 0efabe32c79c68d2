"""Every query of the tags domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, SQLColumnExpression, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.pagination import keyset_after
from haven.tags.models import Tag


async def get_tag(session: AsyncSession, tag_id: uuid.UUID) -> Tag | None:
    return await session.get(Tag, tag_id)


async def lock_tag(session: AsyncSession, tag_id: uuid.UUID) -> Tag | None:
    """Load a tag for a write, locked on PostgreSQL until commit, so concurrent writers take
    turns and each compares If-Match with what the one before it left."""
    query = select(Tag).where(Tag.id == tag_id).with_for_update()
    query = query.execution_options(populate_existing=True)
    tag: Tag | None = (await session.scalars(query)).first()
    return tag


async def tags_by_key(
    session: AsyncSession, *, workspace_id: uuid.UUID, keys: Sequence[str]
) -> dict[str, Tag]:
    if not keys:
        return {}
    query = select(Tag).where(Tag.workspace_id == workspace_id, Tag.name_key.in_(keys))
    return {tag.name_key: tag for tag in await session.scalars(query)}


def is_named(tag_id: ColumnElement[uuid.UUID], key: BindParameter[str]) -> ColumnElement[bool]:
    """A condition: the tag with id `tag_id` has the lower-cased name `key`."""
    return exists().where(Tag.id == tag_id, Tag.name_key == key)


async def insert_missing_tags(
    session: AsyncSession, *, rows: Sequence[dict[str, Any]]
) -> Sequence[Tag]:
    """Insert tags, skipping any whose name the workspace has by now; the ones inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    statement = (
        insert(Tag)
        .values([{**row, "created_at": now, "updated_at": now, "version": 1} for row in rows])
        .on_conflict_do_nothing(index_elements=["workspace_id", "name_key"])
        .returning(Tag.id)
    )
    inserted = list((await session.execute(statement)).scalars())
    if not inserted:
        return []
    return (await session.scalars(select(Tag).where(Tag.id.in_(inserted)))).all()


async def list_tags(
    session: AsyncSession,
    *,
    workspace_ids: Select[tuple[uuid.UUID]],
    workspace_id: uuid.UUID | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Tag]:
    query = select(Tag).where(Tag.workspace_id.in_(workspace_ids))
    if workspace_id is not None:
        query = query.where(Tag.workspace_id == workspace_id)
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [(Tag.name_key, False), (Tag.id, False)]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    return (await session.scalars(query.order_by(Tag.name_key, Tag.id).limit(limit))).all()


async def tags_in(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[Tag]:
    query = select(Tag).where(Tag.workspace_id == workspace_id).order_by(Tag.id)
    return (await session.scalars(query)).all()
