"""Quick add: read a line in the caller's zone, find or create its project, create the task.

The task is created by `tasks.service.create_task` and a missing project by
`projects.service.create_project`, so validation, events and the idempotent client `id` are
exactly those of POST /tasks and POST /projects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial
from typing import Final, TypeVar

import anyio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import ValidationFailed
from haven.projects import service as projects
from haven.projects.schemas import ProjectCreate
from haven.tasks import service as tasks
from haven.tasks.access import require_scope
from haven.tasks.models import Task
from haven.tasks.quick_add.parser import parse_quick_add
from haven.tasks.quick_add.result import QuickAdd
from haven.tasks.quick_add.schemas import QuickAddIn
from haven.tasks.schemas import TaskCreate
from haven.workspaces import access as workspaces

_PROJECT_PAGE: Final = 200
_MAX_PROJECT_PAGES: Final = 10
"""A #project is looked for among a workspace's first 2,000 live projects (by creation)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A line read for a workspace: what it says, and where its task would go."""

    line: QuickAdd
    workspace_id: uuid.UUID
    timezone: str
    project_id: uuid.UUID | None
    project_name: str | None
    tags: list[str]


async def read_line(
    session: AsyncSession, *, principal: Principal, data: QuickAddIn, write: bool
) -> Reading:
    """Parse the line in the caller's zone and find its project in the target workspace."""
    require_scope(principal, write=write)
    workspace_id = data.workspace_id
    if workspace_id is None and data.project_id is not None:
        workspace_id = await projects.workspace_of(
            session, principal=principal, project_id=data.project_id
        )
    access = await workspaces.require_access(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.MEMBER if write else Role.VIEWER,
    )
    zone = data.timezone or access.timezone
    # A long line with several "every"s costs milliseconds of regex work: off the event loop.
    line = await anyio.to_thread.run_sync(
        partial(parse_quick_add, data.text, now=utcnow(), zone=zone, language=data.language)
    )
    project_id, project_name = data.project_id, None
    if line.project is not None:
        project_name = line.project
        project_id = await _project_named(
            session, principal=principal, workspace_id=access.workspace_id, name=line.project
        )
    elif project_id is not None:
        names = await projects.project_names(session, principal=principal, project_ids=[project_id])
        project_name = names.get(project_id)
    tags: list[str] = []
    for name in [*data.tags, *line.tags]:
        if name.casefold() not in (kept.casefold() for kept in tags):
            tags.append(name)
    return Reading(line, access.workspace_id, zone, project_id, project_name, tags)


async def _project_named(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, name: str
) -> uuid.UUID | None:
    """The live project of the workspace that `#name` names (any case; "-" or "_" may stand
    for a space: "#home-office" is "Home office"), else None."""
    wanted = name.casefold()
    after: tuple[int, str, uuid.UUID] | None = None
    for _ in range(_MAX_PROJECT_PAGES):
        page = await projects.list_projects(
            session,
            principal=principal,
            workspace_id=workspace_id,
            include_archived=False,
            after=after,
            limit=_PROJECT_PAGE,
        )
        for project in page:
            candidate = project.name.casefold()
            if wanted in (candidate, candidate.replace(" ", "-"), candidate.replace(" ", "_")):
                return project.id
        if len(page) < _PROJECT_PAGE:
            return None
        after = (page[-1].position, page[-1].name, page[-1].id)
    return None


async def quick_add(
    session: AsyncSession, *, principal: Principal, data: QuickAddIn
) -> tuple[Task, bool, QuickAdd]:
    """Create the task a line describes; (task, created, the line read)."""
    reading = await read_line(session, principal=principal, data=data, write=True)
    line = reading.line
    project_id = reading.project_id
    if project_id is None and reading.project_name is not None:
        project, _created = await projects.create_project(
            session,
            principal=principal,
            data=_checked(
                ProjectCreate,
                workspace_id=reading.workspace_id,
                name=reading.project_name,
            ),
        )
        project_id = project.id
    body = _checked(
        TaskCreate,
        id=data.id,
        workspace_id=reading.workspace_id,
        title=line.title,
        project_id=project_id,
        priority=line.priority or "none",
        due=line.due if line.due is not None else data.due,
        timezone=reading.timezone,
        tags=reading.tags,
        # The phrase, not the rule: the task shows what was typed, as POST /tasks {text} does.
        recurrence={"text": line.recurrence.text} if line.recurrence else None,
        reminders=[{"at": r.at, "offset_minutes": r.offset_minutes} for r in line.reminders],
    )
    task, created = await tasks.create_task(session, principal=principal, data=body)
    return task, created, line


_Body = TypeVar("_Body", TaskCreate, ProjectCreate)


def _checked(model: type[_Body], **values: object) -> _Body:
    """The create body the line makes; what the API would refuse is a 422 on the line."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(f"{where}: {first['msg']}", loc=["body", "text"]) from exc
