"""What a task list asks for (filters, sort keys) and the cursor values that resume it.

Shared by the router (which parses the query), the service and the repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from haven.core.errors import ValidationFailed
from haven.tasks.models import FAR_FUTURE, FAR_PAST
from haven.tasks.schemas import (
    PRIORITY_RANK,
    SORT_FIELDS,
    TASK_COLUMNS,
    TaskFilterQuery,
    TaskSearchQuery,
)

Loc = tuple[str | int, ...]


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
    # Whole-day dues only: before this bound (timed dues are left to due_before).
    whole_day_due_before: datetime | None = None
    q: str | None = None
    deleted: bool = False


def filters_from_query(query: TaskSearchQuery, *, loc: Loc = ("query",)) -> TaskFilters:
    """The filters a query asks for, else a 422 naming the field (under `loc`): what GET
    /tasks and GET /tasks/count check, and a saved search's query before it is kept."""
    filters = TaskFilters(
        project_id=_id_or_none(query.project_id, "project_id", "a project", loc),
        no_project=query.project_id == "none",
        statuses=tuple(query.status or ()),
        priorities=tuple(PRIORITY_RANK[p] for p in query.priority or ()),
        tag=query.tag.strip().lower() if query.tag else None,
        due_before=_as_instant(query.due_before, "due_before", loc),
        due_after=_as_instant(query.due_after, "due_after", loc),
        q=query.q,
    )
    if not isinstance(query, TaskFilterQuery):
        return filters
    return replace(
        filters,
        workspace_id=query.workspace_id,
        assignee_id=query.assignee_id,
        parent_id=_id_or_none(query.parent_id, "parent_id", "a task", loc),
        top_level_only=query.parent_id == "none",
        whole_day_due_before=_as_instant(query.whole_day_due_before, "whole_day_due_before", loc),
        deleted=query.deleted,
    )


def _id_or_none(value: str | None, name: str, what: str, loc: Loc) -> uuid.UUID | None:
    """An id filter that also takes 'none' (then None: the caller filters for no such link)."""
    if value is None or value == "none":
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be {what} id or 'none'", loc=[*loc, name]) from exc


def _as_instant(value: str | None, name: str, loc: Loc) -> datetime | None:
    """A query bound: an RFC 3339 instant with offset, or a date meaning its start in UTC."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{name} must be a date or an RFC 3339 instant", loc=[*loc, name]
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(f"{name} needs an offset (e.g. Z)", loc=[*loc, name])
    return moment


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool


def parse_sort(sort: str | None, *, loc: Loc = ("query",)) -> list[SortKey]:
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
                loc=[*loc, "sort"],
            )
        if any(key.field == field for key in keys):
            raise ValidationFailed(f"{field!r} appears twice in sort", loc=[*loc, "sort"])
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
