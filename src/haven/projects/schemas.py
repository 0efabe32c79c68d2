"""API shapes of projects, and the one place a project becomes JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from haven.core.schemas import Color, PatchBody, RequestBody
from haven.core.text import one_line
from haven.projects.models import Project

ProjectName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]


class ProjectCreate(RequestBody):
    id: uuid.UUID | None = Field(None, description="client-chosen id; makes a retry idempotent")
    workspace_id: uuid.UUID | None = Field(None, description="default: your personal workspace")
    name: ProjectName
    description: str = Field("", max_length=20_000)
    color: Color | None = None


class ProjectUpdate(PatchBody):
    nullable: ClassVar[frozenset[str]] = frozenset({"color", "after_id"})

    name: ProjectName | None = None
    description: str | None = Field(None, max_length=20_000)
    color: Color | None = None
    archived: StrictBool | None = None
    after_id: uuid.UUID | None = Field(
        None,
        description=(
            "move the project to just after this project of its workspace (null: to the "
            "top); its `position` changes, and no other project's, but rarely (when the "
            "gap is used up: then each one changed gets its own project.updated)"
        ),
    )


class ProjectOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    color: str | None
    archived: bool
    position: int = Field(
        description="where it sits in its workspace's list, lowest first (PATCH after_id moves it)"
    )
    created_at: datetime
    updated_at: datetime
    version: int


def project_to_dict(project: Project) -> dict[str, Any]:
    """A project as the API shows it; the shape of ProjectOut."""
    return {
        "id": project.id,
        "workspace_id": project.workspace_id,
        "name": project.name,
        "description": project.description,
        "color": project.color,
        "archived": project.archived,
        "position": project.position,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "version": project.version,
    }
