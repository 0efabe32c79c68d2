"""The events of projects, built in one place (docs/events.md lists each one's `data`)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.projects.models import Project
from haven.projects.schemas import project_to_dict


class ProjectChanged(TypedDict):
    project: State
    # Each field that moved, as [old, new]; not on `created`.
    changes: NotRequired[Changes]


def snapshot(project: Project) -> State:
    """The project as the API shows it now: take one before changing a project."""
    return project_to_dict(project)


def _about(type_: str, project: Project, actor: str, before: State | None) -> DomainEvent:
    data: ProjectChanged = {"project": project_to_dict(project)}
    if before is not None:
        data["changes"] = changes_between(before, data["project"])
    return DomainEvent(
        type=type_,
        subject=f"projects/{project.id}",
        actor=actor,
        workspace_id=project.workspace_id,
        version=project.version,
        data=data,
    )


def created(project: Project, *, actor: str) -> DomainEvent:
    return _about(catalog.PROJECT_CREATED, project, actor, None)


def updated(project: Project, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.PROJECT_UPDATED, project, actor, before)


def deleted(project: Project, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.PROJECT_DELETED, project, actor, before)
