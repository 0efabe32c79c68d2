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
from haven.core.errors import NotFound
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events.outbox import record, record_all
from haven.projects import events as project_events
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
    project = Project(
        id=data.id or new_id(),
        workspace_id=access.workspace_id,
        name=data.name,
        description=data.description,
        color=data.color,
        archived=False,
        created_by=principal.user_id,
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
    project = await _project_for(session, principal, project_id, write=True)
    ensure_version(
        "project",
        current_version=project.version,
        if_match=if_match,
        current=lambda: project_to_dict(project),
    )
    before = project_events.snapshot(project)
    for name in data.model_fields_set:
        setattr(project, name, getattr(data, name))
    await session.flush()
    if project.version != before["version"]:
        record(session, project_events.updated(project, before=before, actor=principal.actor))
    return project


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
    after: tuple[datetime, uuid.UUID] | None,
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
