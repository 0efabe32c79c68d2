"""What deleting a project does beyond the project: its tasks go to the trash with it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.projects import service as projects
from haven.tasks import trash


async def delete_project(
    session: AsyncSession, *, principal: Principal, project_id: uuid.UUID, if_match: int | None
) -> None:
    """Soft-delete a project together with its tasks, at one instant."""
    project = await projects.delete_project(
        session, principal=principal, project_id=project_id, if_match=if_match
    )
    assert project.deleted_at is not None
    await trash.trash_project_tasks(
        session, principal=principal, project_id=project.id, deleted_at=project.deleted_at
    )
