"""What changing a tag does beyond the tag: the tasks that carry it show its new name."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.tags import service as tags
from haven.tags.models import Tag
from haven.tags.schemas import TagUpdate
from haven.tasks import service as tasks


async def update_tag(
    session: AsyncSession,
    *,
    principal: Principal,
    tag_id: uuid.UUID,
    data: TagUpdate,
    if_match: int | None,
) -> Tag:
    """Rename or recolour a tag; a new name shows on every task that carries the tag."""
    tag, renamed_from = await tags.update_tag(
        session, principal=principal, tag_id=tag_id, data=data, if_match=if_match
    )
    if renamed_from is not None:
        await tasks.rename_tag_on_tasks(
            session, principal=principal, tag_id=tag.id, old_name=renamed_from, new_name=tag.name
        )
    return tag


async def delete_tag(
    session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID, if_match: int | None
) -> None:
    """Delete a tag; the tasks that carried it lose it."""
    tag = await tags.tag_to_change(session, principal=principal, tag_id=tag_id, if_match=if_match)
    await tasks.remove_tag_from_tasks(session, principal=principal, tag_id=tag.id, name=tag.name)
    await tags.delete_tag(session, principal=principal, tag_id=tag_id)
