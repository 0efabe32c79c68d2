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
    nullable: ClassVar[frozenset[str]] = frozenset({"color"})

    name: ProjectName | None = None
    description: str | None = Field(None, max_length=20_000)
    color: Color | None = None
    archived: StrictBool | None = None


class ProjectOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    color: str | None
    archived: bool
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
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "version": project.version,
    }
