"""Every query of the projects domain."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.pagination import keyset_after
from haven.projects.models import Project


async def get_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return await session.get(Project, project_id)


async def deleted_among(session: AsyncSession, project_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    query = select(Project.id).where(Project.id.in_(project_ids), Project.deleted_at.is_not(None))
    return set(await session.scalars(query))


async def lock_project(
    session: AsyncSession, project_id: uuid.UUID, *, shared: bool = False
) -> Project | None:
    """Load a project for a write, locked on PostgreSQL until commit (SQLite runs one write
    transaction at a time anyway).

    An exclusive lock makes concurrent writers of the project take turns, so each compares
    If-Match with what the one before it left. A `shared` lock is for putting a task in the
    project: deleting the project waits for that task, and trashes it too, or the task sees
    the project deleted.
    """
    query = select(Project).where(Project.id == project_id).with_for_update(read=shared)
    query = query.execution_options(populate_existing=True)
    project: Project | None = (await session.scalars(query)).first()
    return project


async def list_projects(
    session: AsyncSession,
    *,
    workspace_ids: Select[tuple[uuid.UUID]],
    workspace_id: uuid.UUID | None,
    include_archived: bool,
    after: tuple[int, str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Project]:
    """In the order people gave them: by position, then name, then id."""
    query = select(Project).where(
        Project.workspace_id.in_(workspace_ids), Project.deleted_at.is_(None)
    )
    if workspace_id is not None:
        query = query.where(Project.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(Project.archived.is_(False))
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [
        (Project.position, False),
        (Project.name, False),
        (Project.id, False),
    ]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(Project.position, Project.name, Project.id).limit(limit)
    return (await session.scalars(query)).all()


async def lock_ordering(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Make changes to the order of a workspace's projects take turns, until commit
    (ordering.py). PostgreSQL: a transaction-scoped advisory lock; SQLite runs one write
    transaction at a time anyway. Take it before locking any project row."""
    if session.get_bind().dialect.name != "postgresql":
        return
    name = f"haven:projects-order:{workspace_id}".encode()
    key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def last_position(session: AsyncSession, workspace_id: uuid.UUID) -> int | None:
    """The highest position among the workspace's live projects."""
    query = select(func.max(Project.position)).where(
        Project.workspace_id == workspace_id, Project.deleted_at.is_(None)
    )
    position: int | None = (await session.execute(query)).scalar_one()
    return position


async def next_position(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    after: int | None,
    excluding: uuid.UUID,
) -> int | None:
    """The lowest position of the workspace's live projects above `after` (None: the lowest
    of all), leaving out the project being moved."""
    query = select(func.min(Project.position)).where(
        Project.workspace_id == workspace_id,
        Project.deleted_at.is_(None),
        Project.id != excluding,
    )
    if after is not None:
        query = query.where(Project.position > after)
    position: int | None = (await session.execute(query)).scalar_one()
    return position


async def live_projects_in_order(
    session: AsyncSession, workspace_id: uuid.UUID
) -> Sequence[Project]:
    """A workspace's live projects in list order, locked, for renumbering them."""
    query = (
        select(Project)
        .where(Project.workspace_id == workspace_id, Project.deleted_at.is_(None))
        .order_by(Project.position, Project.name, Project.id)
        .with_for_update()
    )
    return (await session.scalars(query)).all()


async def lock_live_projects_in(
    session: AsyncSession, workspace_id: uuid.UUID
) -> Sequence[Project]:
    """A workspace's live projects, locked for a change to all of them."""
    query = (
        select(Project)
        .where(Project.workspace_id == workspace_id, Project.deleted_at.is_(None))
        .order_by(Project.id)
        .with_for_update()
    )
    return (await session.scalars(query)).all()


async def names_of(
    session: AsyncSession,
    project_ids: Sequence[uuid.UUID],
    *,
    workspace_ids: Select[tuple[uuid.UUID]],
) -> dict[uuid.UUID, str]:
    """The names of those projects (deleted ones too) in the workspaces given."""
    if not project_ids:
        return {}
    query = select(Project.id, Project.name).where(
        Project.id.in_(project_ids), Project.workspace_id.in_(workspace_ids)
    )
    return {row.id: row.name for row in (await session.execute(query)).all()}
