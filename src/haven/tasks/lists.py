"""What a task list asks for (filters, sort keys) and the cursor values that resume it.

Shared by the router (which parses the query), the service and the repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haven.core.errors import ValidationFailed
from haven.tasks.models import FAR_FUTURE, FAR_PAST
from haven.tasks.schemas import SORT_FIELDS, TASK_COLUMNS


@dataclass(frozen=True, slots=True)
class TaskFilters:
    workspace_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    tag: str | None = None
    assignee_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    top_level_only: bool = False
    no_project: bool = False  # only tasks in no project (the Inbox)
    due_before: datetime | None = None
    due_after: datetime | None = None
    q: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool


def parse_sort(sort: str | None) -> list[SortKey]:
    """The sort keys of a ?sort= value (oldest first by default), else a 422."""
    if not sort:
        return [SortKey("created_at", descending=False)]
    keys: list[SortKey] = []
    for raw in sort.split(","):
        part = raw.strip()
        descending = part.startswith("-")
        field = part.lstrip("-+")
        if field not in SORT_FIELDS:
            allowed = ", ".join(SORT_FIELDS)
            raise ValidationFailed(
                f"cannot sort by {field!r}; use {allowed} (prefix - for descending)",
                loc=["query", "sort"],
            )
        if any(key.field == field for key in keys):
            raise ValidationFailed(f"{field!r} appears twice in sort", loc=["query", "sort"])
        keys.append(SortKey(field, descending))
    return keys


def cursor_values(row: Sequence[Any], sort: Sequence[SortKey]) -> list[Any]:
    """The values of a row's sort keys (plus its id), as they go into a cursor.

    `row` holds TASK_COLUMNS' values in their order (a result row of the driver's or of
    SQLAlchemy's: read by position, which both take)."""
    values: list[Any] = []
    for key in sort:
        if key.field in ("due", "start"):
            value = row[_AT["due_at" if key.field == "due" else "start_at"]]
            if value is None:
                value = FAR_PAST if key.descending else FAR_FUTURE
            values.append(value.isoformat())
        elif key.field == "title":
            values.append(row[_AT["title"]].lower())
        elif key.field in ("created_at", "updated_at"):
            values.append(row[_AT[key.field]].isoformat())
        else:
            values.append(row[_AT[key.field]])
    values.append(str(row[_AT["id"]]))
    return values


_AT = {name: index for index, name in enumerate(TASK_COLUMNS)}


def decode_cursor_values(values: Sequence[Any], sort: Sequence[SortKey]) -> list[Any]:
    """Turn a cursor's JSON values back into typed bind values; ValueError if malformed."""
    decoded: list[Any] = []
    for key, value in zip(sort, values, strict=False):
        if key.field in ("due", "start", "created_at", "updated_at"):
            parsed = datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                raise ValueError("cursor time without offset")
            decoded.append(parsed)
        elif key.field == "title":
            decoded.append(str(value))
        else:
            if not isinstance(value, int):
                raise ValueError("cursor number expected")
            decoded.append(value)
    decoded.append(uuid.UUID(str(values[-1])))
    return decoded
