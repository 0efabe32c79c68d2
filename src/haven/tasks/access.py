"""Who may read and change tasks, projects and tags: the tasks scopes and workspace roles.

Projects and tags are read and written under the same `tasks:read` / `tasks:write` scopes
as tasks, and with the same roles, so the rule lives here once for all three.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import authn, authz
from haven.accounts.authz import Role, Scope
from haven.accounts.principal import Principal
from haven.core.concurrency import ensure_version
from haven.core.errors import NotFound
from haven.tasks import repository as repo
from haven.tasks.models import Task
from haven.tasks.schemas import task_to_dict
from haven.workspaces import access as workspaces


def require_scope(principal: Principal, *, write: bool) -> None:
    """403 for an API key without the tasks scope the call needs."""
    authz.require_scope(principal, Scope.TASKS_WRITE if write else Scope.TASKS_READ)


async def require_role(
    session: AsyncSession,
    principal: Principal,
    *,
    workspace_id: uuid.UUID,
    write: bool,
    what: str,
) -> None:
    """Readers are viewers and up, writers members and up; a stranger gets 404, never 403."""
    await workspaces.require_role(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.MEMBER if write else Role.VIEWER,
        what=what,
    )


async def may_read(session: AsyncSession, principal: Principal, workspace_id: uuid.UUID) -> bool:
    """Whether the caller may read the workspace's tasks: a member, with the read scope."""
    if not principal.has_scope(Scope.TASKS_READ):
        return False
    role = await workspaces.role_in(session, user_id=principal.user_id, workspace_id=workspace_id)
    return role is not None


async def task_for(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    *,
    write: bool,
    include_deleted: bool = False,
) -> Task:
    """Load a task the caller may see (404 otherwise) and may change if `write` (403).

    A task in the trash is gone for everything but restoring, deleting, its history and
    its time records, until it is restored.
    """
    require_scope(principal, write=write)
    if not write:
        task = await repo.get_task(session, task_id)
        if task is None or (task.deleted_at is not None and not include_deleted):
            raise NotFound("task not found")
        await require_role(
            session, principal, workspace_id=task.workspace_id, write=False, what="task"
        )
        return task
    # A write locks the task and reads the caller's role and users row in the same statement,
    # holding the membership until commit (the role cannot change under the write). A write
    # that may reach the trash holds the workspace too: restoring a task must not race the
    # workspace's deletion, which only trashes live tasks.
    row = await repo.lock_task_with_access(
        session,
        task_id,
        user_id=principal.user_id,
        access_columns=workspaces.caller_access_columns,
        keep_workspace=include_deleted,
    )
    if row is None:
        raise NotFound("task not found")
    task, (role_name, active) = row
    authn.confirm_active(session, principal, active=active)
    if task.deleted_at is not None and not include_deleted:
        raise NotFound("task not found")
    workspaces.check_role(role_name, at_least=Role.MEMBER, what="task")
    return task


def ensure_task_version(task: Task, if_match: int | None) -> None:
    """412 with the current task when If-Match names another version."""
    ensure_version(
        "task", current_version=task.version, if_match=if_match, current=lambda: task_to_dict(task)
    )
