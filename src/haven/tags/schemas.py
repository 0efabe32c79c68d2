"""API shapes of tags, and the one place a tag becomes JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, Field

from haven.core.schemas import Color, PatchBody, RequestBody
from haven.core.text import one_line
from haven.tags.models import Tag

TagName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(one_line)]


class TagCreate(RequestBody):
    workspace_id: uuid.UUID | None = Field(None, description="default: your personal workspace")
    name: TagName
    color: Color | None = None


class TagUpdate(PatchBody):
    nullable: ClassVar[frozenset[str]] = frozenset({"color"})

    name: TagName | None = None
    color: Color | None = None


class TagOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    color: str | None
    created_at: datetime
    version: int


def tag_to_dict(tag: Tag) -> dict[str, Any]:
    """A tag as the API shows it; the shape of TagOut."""
    return {
        "id": tag.id,
        "workspace_id": tag.workspace_id,
        "name": tag.name,
        "color": tag.color,
        "created_at": tag.created_at,
        "version": tag.version,
    }
