"""API shapes of saved searches, and the one place a saved search becomes JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from haven.core.schemas import PatchBody, RequestBody
from haven.core.text import one_line
from haven.savedsearches.models import SavedSearch
from haven.tasks.schemas import TaskSearchQuery

SavedSearchName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(one_line)]


class SavedSearchQuery(TaskSearchQuery):
    """The GET /tasks filters a saved search runs (in its workspace), checked as GET /tasks
    checks them; `status` and `priority` are lists here, as a repeated query key is there."""

    model_config = ConfigDict(extra="forbid")


class SavedSearchCreate(RequestBody):
    id: uuid.UUID | None = Field(None, description="client-chosen id; makes a retry idempotent")
    workspace_id: uuid.UUID | None = Field(None, description="default: your personal workspace")
    name: SavedSearchName
    query: SavedSearchQuery


class SavedSearchUpdate(PatchBody):
    name: SavedSearchName | None = None
    query: SavedSearchQuery | None = Field(None, description="replaces the whole query")


class SavedSearchOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    query: SavedSearchQuery
    created_at: datetime
    updated_at: datetime
    version: int


def stored_query(query: SavedSearchQuery) -> dict[str, Any]:
    """A query as it is kept: the fields sent, without nulls."""
    return query.model_dump(exclude_none=True)


def saved_search_to_dict(search: SavedSearch) -> dict[str, Any]:
    """A saved search as the API shows it; the shape of SavedSearchOut."""
    return {
        "id": search.id,
        "workspace_id": search.workspace_id,
        "user_id": search.user_id,
        "name": search.name,
        "query": dict(search.query),
        "created_at": search.created_at,
        "updated_at": search.updated_at,
        "version": search.version,
    }
