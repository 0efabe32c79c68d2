"""The rules of projects: create, rename, archive, delete, list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.concurrency import ensure_version
from haven.core.errors import NotFound, ValidationFailed
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events.outbox import State, record, record_all
from haven.projects import events as project_events
from haven.projects import ordering
from haven.projects import repository as repo
from haven.projects.models import Project
from haven.projects.schemas import ProjectCreate, ProjectUpdate, project_to_dict
from haven.tasks.access import may_read, require_role, require_scope
from haven.workspaces import access as workspaces


async def _project_for(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID, *, write: bool
) -> Project:
    """A live project the caller may see (404 otherwise) and may change if `write` (403)."""
    require_scope(principal, write=write)
    project = await (
        repo.lock_project(session, project_id) if write else repo.get_project(session, project_id)
    )
    if project is None or project.deleted_at is not None:
        raise NotFound("project not found")
    await require_role(
        session, principal, workspace_id=project.workspace_id, write=write, what="project"
    )
    return project


async def workspace_of(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID
) -> uuid.UUID:
    """The workspace of a project the caller can see, for placing something in it.

    404 "project not found" alike for a project that does not exist and one in a
    workspace the caller is not in. The project stays locked (shared) until commit, so it
    cannot be deleted under the task being put in it.
    """
    project = await repo.lock_project(session, project_id, shared=True)
    if project is None or project.deleted_at is not None:
        raise NotFound("project not found")
    await require_role(
        session, principal, workspace_id=project.workspace_id, write=False, what="project"
    )
    return project.workspace_id


async def deleted_projects(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these projects are deleted (a deleted project is never restored)."""
    return await repo.deleted_among(session, project_ids) if project_ids else set()


async def get_project(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID
) -> Project:
    return await _project_for(session, principal, project_id, write=False)


async def create_project(
    session: AsyncSession, *, principal: Principal, data: ProjectCreate
) -> tuple[Project, bool]:
    """Create a project; (project, created). A retried create with the same id returns the first."""
    require_scope(principal, write=True)
    if data.id is not None:
        existing = await repo.get_project(session, data.id)
        if existing is not None:
            ensure_own_retry(
                created_by=existing.created_by,
                caller_id=principal.user_id,
                caller_can_see=await may_read(session, principal, existing.workspace_id),
            )
            return existing, False
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.MEMBER
    )
    # New projects go last (ordering.py).
    await repo.lock_ordering(session, access.workspace_id)
    last = await repo.last_position(session, access.workspace_id)
    project = Project(
        id=data.id or new_id(),
        workspace_id=access.workspace_id,
        name=data.name,
        description=data.description,
        color=data.color,
        archived=False,
        created_by=principal.user_id,
        position=ordering.position_between(last, None),
        version=1,
    )
    session.add(project)
    await session.flush()
    record(session, project_events.created(project, actor=principal.actor))
    return project, True


async def update_project(
    session: AsyncSession,
    *,
    principal: Principal,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    if_match: int | None,
) -> Project:
    moving = "after_id" in data.model_fields_set
    if moving:
        # The workspace's ordering lock comes before any project row's (ordering.py).
        seen = await repo.get_project(session, project_id)
        if seen is not None:
            await repo.lock_ordering(session, seen.workspace_id)
    project = await _project_for(session, principal, project_id, write=True)
    ensure_version(
        "project",
        current_version=project.version,
        if_match=if_match,
        current=lambda: project_to_dict(project),
    )
    before = project_events.snapshot(project)
    for name in data.model_fields_set - {"after_id"}:
        setattr(project, name, getattr(data, name))
    renumbered: list[tuple[Project, State]] = []
    if moving:
        renumbered = await _move(session, project, after_id=data.after_id)
    await session.flush()
    if project.version != before["version"]:
        record(session, project_events.updated(project, before=before, actor=principal.actor))
    await record_all(
        session,
        [
            project_events.updated(other, before=state, actor=principal.actor)
            for other, state in renumbered
        ],
    )
    return project


async def _move(
    session: AsyncSession, project: Project, *, after_id: uuid.UUID | None
) -> list[tuple[Project, State]]:
    """Put `project` just after `after_id` (None: first) in its workspace's list; the other
    projects a renumbering moved, each with its state before (usually none)."""
    workspace_id = project.workspace_id
    after: int | None = None
    if after_id is not None:
        target = await repo.get_project(session, after_id)
        if (
            target is None
            or target.deleted_at is not None
            or target.workspace_id != workspace_id
            or target.id == project.id
        ):
            raise ValidationFailed(
                "after_id must be another live project of the same workspace",
                loc=["body", "after_id"],
            )
        after = target.position
    following = await repo.next_position(
        session, workspace_id=workspace_id, after=after, excluding=project.id
    )
    position = ordering.position_between(after, following)
    if position is not None:
        project.position = position
        return []
    # The gap is used up: renumber the whole list, the moved project in its new place.
    listed = await repo.live_projects_in_order(session, workspace_id)
    order = [p for p in listed if p.id != project.id]
    index = next(i for i, p in enumerate(order) if p.id == after_id) + 1 if after_id else 0
    order.insert(index, project)
    moved: list[tuple[Project, State]] = []
    for other, new_position in zip(order, ordering.renumbered(len(order)), strict=True):
        if other.position != new_position:
            if other is not project:
                moved.append((other, project_events.snapshot(other)))
            other.position = new_position
    return moved


async def delete_project(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID, if_match: int | None
) -> Project:
    """Soft-delete a project (flows.delete_project moves its tasks to the trash with it)."""
    project = await _project_for(session, principal, project_id, write=True)
    ensure_version(
        "project",
        current_version=project.version,
        if_match=if_match,
        current=lambda: project_to_dict(project),
    )
    before = project_events.snapshot(project)
    project.deleted_at = utcnow()
    await session.flush()
    record(session, project_events.deleted(project, before=before, actor=principal.actor))
    return project


async def list_projects(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    include_archived: bool,
    after: tuple[int, str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Project]:
    require_scope(principal, write=False)
    return await repo.list_projects(
        session,
        workspace_ids=workspaces.visible_workspace_ids(principal.user_id),
        workspace_id=workspace_id,
        include_archived=include_archived,
        after=after,
        limit=limit,
    )


async def delete_workspace_projects(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, deleted_at: datetime
) -> None:
    """The live projects of a workspace being deleted go with it, each with its event.

    For workspaces.flows, which has checked that the caller may delete the workspace.
    """
    projects = await repo.lock_live_projects_in(session, workspace_id)
    before = [project_events.snapshot(project) for project in projects]
    for project in projects:
        project.deleted_at = deleted_at
    await session.flush()
    await record_all(
        session,
        [
            project_events.deleted(project, before=state, actor=principal.actor)
            for project, state in zip(projects, before, strict=True)
        ],
    )


async def project_names(
    session: AsyncSession, *, principal: Principal, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Names of the projects the caller may see among `project_ids` (for labels in reports)."""
    require_scope(principal, write=False)
    return await repo.names_of(
        session, project_ids, workspace_ids=workspaces.visible_workspace_ids(principal.user_id)
    )
