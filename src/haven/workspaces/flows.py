"""What leaving or deleting a workspace does beyond the workspace: its tasks, projects,
tags and webhooks change too, each with its own event."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.projects import service as projects
from haven.savedsearches import service as saved_searches
from haven.tags import service as tags
from haven.tasks import service as tasks
from haven.tasks import trash
from haven.webhooks import service as webhooks
from haven.workspaces import members, service


async def remove_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a member (or leave); the tasks assigned to them there are unassigned, and
    their saved searches there go."""
    await members.remove_member(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id
    )
    await saved_searches.forget_member_saved_searches(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id
    )
    await tasks.unassign_member(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id
    )


async def delete_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    """Delete a workspace with everything in it, at one instant: its live tasks go to the
    trash, its projects, tags and saved searches are deleted, its webhooks are disabled
    with nothing left to send."""
    workspace = await service.delete_workspace(
        session, principal=principal, workspace_id=workspace_id, if_match=if_match
    )
    assert workspace.deleted_at is not None
    await trash.trash_workspace_tasks(
        session, principal=principal, workspace_id=workspace.id, deleted_at=workspace.deleted_at
    )
    await projects.delete_workspace_projects(
        session, principal=principal, workspace_id=workspace.id, deleted_at=workspace.deleted_at
    )
    await tags.forget_workspace_tags(session, principal=principal, workspace_id=workspace.id)
    await saved_searches.forget_workspace_saved_searches(
        session, principal=principal, workspace_id=workspace.id
    )
    await webhooks.disable_workspace_webhooks(
        session, principal=principal, workspace_id=workspace.id
    )
