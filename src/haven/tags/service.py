"""The rules of tags: create, rename, recolour, delete, list, and find-or-create by name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import BindParameter, ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.concurrency import ensure_version
from haven.core.errors import Conflict, NotFound
from haven.core.ids import new_id
from haven.events.outbox import record, record_all
from haven.tags import events as tag_events
from haven.tags import repository as repo
from haven.tags.models import Tag
from haven.tags.schemas import TagCreate, TagUpdate, tag_to_dict
from haven.tasks.access import require_role, require_scope
from haven.workspaces import access as workspaces


async def tag_to_change(
    session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID, if_match: int | None
) -> Tag:
    """A tag the caller may change: 404 if they cannot see it, 403 if they may only read,
    412 if it is no longer at the version the caller read."""
    tag = await _tag_for(session, principal, tag_id, write=True)
    _ensure_tag_version(tag, if_match)
    return tag


def _ensure_tag_version(tag: Tag, if_match: int | None) -> None:
    ensure_version(
        "tag", current_version=tag.version, if_match=if_match, current=lambda: tag_to_dict(tag)
    )


async def _tag_for(
    session: AsyncSession, principal: Principal, tag_id: uuid.UUID, *, write: bool
) -> Tag:
    require_scope(principal, write=write)
    tag = await (repo.lock_tag(session, tag_id) if write else repo.get_tag(session, tag_id))
    if tag is None:
        raise NotFound("tag not found")
    await require_role(session, principal, workspace_id=tag.workspace_id, write=write, what="tag")
    return tag


def is_named(tag_id: ColumnElement[uuid.UUID], key: BindParameter[str]) -> ColumnElement[bool]:
    """A query condition for other modules: the tag `tag_id` is called `key` (lower-cased)."""
    return repo.is_named(tag_id, key)


async def tags_named(
    session: AsyncSession, *, workspace_id: uuid.UUID, names: Sequence[str], actor: str
) -> list[Tag]:
    """The workspace's tags by name, created where missing; the first spelling of a name wins.

    Concurrent requests may create the same new tag: the insert skips names that exist by
    the time it runs, so both end up with the one tag instead of a unique violation.
    """
    wanted = {name.lower(): name for name in names}
    if not wanted:
        return []
    existing = await repo.tags_by_key(session, workspace_id=workspace_id, keys=list(wanted))
    missing = {key: name for key, name in wanted.items() if key not in existing}
    if missing:
        created = await repo.insert_missing_tags(
            session,
            rows=[
                {"id": new_id(), "workspace_id": workspace_id, "name": name, "name_key": key}
                for key, name in missing.items()
            ],
        )
        for tag in created:
            record(session, tag_events.created(tag, actor=actor))
        existing = await repo.tags_by_key(session, workspace_id=workspace_id, keys=list(wanted))
    return [existing[key] for key in wanted]


async def get_tag(session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID) -> Tag:
    return await _tag_for(session, principal, tag_id, write=False)


async def create_tag(session: AsyncSession, *, principal: Principal, data: TagCreate) -> Tag:
    require_scope(principal, write=True)
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.MEMBER
    )
    workspace_id = access.workspace_id
    key = data.name.lower()
    if await repo.tags_by_key(session, workspace_id=workspace_id, keys=[key]):
        raise Conflict(f"a tag named {data.name!r} already exists in this workspace")
    tag = Tag(
        id=new_id(), workspace_id=workspace_id, name=data.name, name_key=key, color=data.color
    )
    session.add(tag)
    await session.flush()
    record(session, tag_events.created(tag, actor=principal.actor))
    return tag


async def update_tag(
    session: AsyncSession,
    *,
    principal: Principal,
    tag_id: uuid.UUID,
    data: TagUpdate,
    if_match: int | None,
) -> tuple[Tag, str | None]:
    """Rename or recolour a tag; (tag, its former name if renamed)."""
    tag = await _tag_for(session, principal, tag_id, write=True)
    _ensure_tag_version(tag, if_match)
    before = tag_events.snapshot(tag)
    if "color" in data.model_fields_set:
        tag.color = data.color
    renamed_from: str | None = None
    if data.name is not None and data.name != tag.name:
        key = data.name.lower()
        clash = await repo.tags_by_key(session, workspace_id=tag.workspace_id, keys=[key])
        if key in clash and clash[key].id != tag.id:
            raise Conflict(f"a tag named {data.name!r} already exists in this workspace")
        renamed_from = tag.name
        tag.name, tag.name_key = data.name, key
    await session.flush()
    if tag.version != before["version"]:
        record(session, tag_events.updated(tag, before=before, actor=principal.actor))
    return tag, renamed_from


async def delete_tag(session: AsyncSession, *, principal: Principal, tag_id: uuid.UUID) -> None:
    tag = await _tag_for(session, principal, tag_id, write=True)
    record(session, tag_events.deleted(tag, actor=principal.actor))
    await session.delete(tag)
    await session.flush()


async def list_tags(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Tag]:
    require_scope(principal, write=False)
    return await repo.list_tags(
        session,
        workspace_ids=workspaces.visible_workspace_ids(principal.user_id),
        workspace_id=workspace_id,
        after=after,
        limit=limit,
    )


async def forget_workspace_tags(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID
) -> None:
    """The tags of a workspace being deleted go with it: a `tag.deleted` for each (the rows
    stay with the deleted workspace, like its tasks in the trash).

    For workspaces.flows, which has checked that the caller may delete the workspace.
    """
    tags = await repo.tags_in(session, workspace_id)
    await record_all(session, [tag_events.deleted(tag, actor=principal.actor) for tag in tags])
