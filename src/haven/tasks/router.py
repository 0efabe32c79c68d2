"""REST for projects, tasks, tags: parse, authorize, call the service, shape the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from haven.accounts.deps import CurrentPrincipal
from haven.core.errors import ValidationFailed
from haven.core.http import IfMatch, json_response, parse_if_match, parse_query, query_parameters
from haven.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from haven.db.session import ReadSession, WriteSession
from haven.events.outbox import to_cloudevent
from haven.tasks import repository as repo
from haven.tasks import service
from haven.tasks.schemas import (
    PRIORITY_RANK,
    CompleteResult,
    DependencyCreate,
    HistoryEntry,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    ReminderIn,
    ReminderOut,
    TagCreate,
    TagOut,
    TagUpdate,
    TaskCreate,
    TaskListQuery,
    TaskOut,
    TaskUpdate,
    TimeLogOut,
    TimerStop,
    task_to_dict,
    task_values_to_dict,
)

router = APIRouter()


def _ok(model: type[Any], description: str = "OK") -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}}


def _created(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created"}}


def _time_cursor(cursor: str | None, kind: str) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    values = decode_cursor(kind, cursor, arity=2)
    try:
        moment = datetime.fromisoformat(str(values[0]))
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(str(values[1]))
    except ValueError as exc:
        raise ValidationFailed(
            "cursor is not valid for this list", loc=["query", "cursor"]
        ) from exc


def _page(items: list[Any], next_values: list[Any] | None, kind: str) -> dict[str, Any]:
    return {
        "items": items,
        "next_cursor": encode_cursor(kind, next_values) if next_values else None,
    }


# --- tasks --------------------------------------------------------------------------


@router.get(
    "/tasks",
    tags=["tasks"],
    summary="List tasks (filter, sort, search, page)",
    response_class=Response,
    responses=_ok(Page[TaskOut]),
    openapi_extra={"parameters": query_parameters(TaskListQuery)},
)
async def list_tasks(
    request: Request, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    query = parse_query(TaskListQuery, request)
    sort = query.sort
    parent_id = query.parent_id
    sort_keys = service.parse_sort(sort)
    after = _task_cursor(query.cursor, sort=sort, keys=sort_keys)
    filters = repo.TaskFilters(
        workspace_id=query.workspace_id,
        project_id=query.project_id,
        statuses=tuple(query.status or ()),
        priorities=tuple(PRIORITY_RANK[p] for p in query.priority or ()),
        tag=query.tag.strip().lower() if query.tag else None,
        assignee_id=query.assignee_id,
        parent_id=_parent_filter(parent_id),
        top_level_only=parent_id == "none",
        due_before=_as_instant(query.due_before, "due_before"),
        due_after=_as_instant(query.due_after, "due_after"),
        q=query.q,
        deleted=query.deleted,
    )
    page = await service.list_tasks(
        session,
        principal=principal,
        filters=filters,
        sort=sort_keys,
        after=after,
        limit=query.limit,
    )
    body = _page(
        [task_values_to_dict(row) for row in page.rows],
        page.next_cursor_values,
        "tasks:" + (sort or ""),
    )
    return json_response(body)


def _task_cursor(
    cursor: str | None, *, sort: str | None, keys: list[repo.SortKey]
) -> list[Any] | None:
    """The keyset values of a task-list cursor made for this sort, else 422."""
    if cursor is None:
        return None
    raw = decode_cursor("tasks:" + (sort or ""), cursor, arity=len(keys) + 1)
    try:
        return repo.decode_cursor_values(raw, keys)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid", loc=["query", "cursor"]) from exc


def _parent_filter(parent_id: str | None) -> uuid.UUID | None:
    if parent_id is None or parent_id == "none":
        return None
    try:
        return uuid.UUID(parent_id)
    except ValueError as exc:
        raise ValidationFailed(
            "parent_id must be a task id or 'none'", loc=["query", "parent_id"]
        ) from exc


def _as_instant(value: str | None, name: str) -> datetime | None:
    """A query bound: an RFC 3339 instant with offset, or a date meaning its start in UTC."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{name} must be a date or an RFC 3339 instant", loc=["query", name]
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(f"{name} needs an offset (e.g. Z)", loc=["query", name])
    return moment


@router.post(
    "/tasks",
    tags=["tasks"],
    status_code=201,
    summary="Create a task",
    response_class=Response,
    responses={**_created(TaskOut), **_ok(TaskOut, "Already created with this id")},
)
async def create_task(
    data: TaskCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    task, created = await service.create_task(session, principal=principal, data=data)
    return json_response(
        task_to_dict(task), status_code=201 if created else 200, version=task.version
    )


@router.get(
    "/tasks/{task_id}",
    tags=["tasks"],
    summary="Get a task",
    response_class=Response,
    responses=_ok(TaskOut),
)
async def get_task(
    task_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    task = await service.get_task(session, principal=principal, task_id=task_id)
    return json_response(task_to_dict(task), version=task.version)


@router.patch(
    "/tasks/{task_id}",
    tags=["tasks"],
    summary="Change a task (only the fields sent)",
    response_class=Response,
    responses=_ok(TaskOut),
)
async def update_task(
    task_id: uuid.UUID,
    data: TaskUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    task, _next = await service.update_task(
        session, principal=principal, task_id=task_id, data=data, if_match=parse_if_match(if_match)
    )
    return json_response(task_to_dict(task), version=task.version)


@router.delete(
    "/tasks/{task_id}", tags=["tasks"], status_code=204, summary="Move a task to the trash"
)
async def delete_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    await service.delete_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)


@router.post(
    "/tasks/{task_id}/restore",
    tags=["tasks"],
    summary="Bring a task back from the trash",
    response_class=Response,
    responses=_ok(TaskOut),
)
async def restore_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    task = await service.restore_task(session, principal=principal, task_id=task_id)
    return json_response(task_to_dict(task), version=task.version)


@router.post(
    "/tasks/{task_id}/complete",
    tags=["tasks"],
    summary="Complete a task; a recurring one gets its next occurrence",
    response_class=Response,
    responses=_ok(CompleteResult),
)
async def complete_task(
    task_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    cascade: Annotated[bool, Query(description="also complete open subtasks")] = False,
    if_match: IfMatch = None,
) -> Response:
    task, nxt = await service.complete_task(
        session,
        principal=principal,
        task_id=task_id,
        cascade=cascade,
        if_match=parse_if_match(if_match),
    )
    body = {"task": task_to_dict(task), "next": task_to_dict(nxt) if nxt else None}
    return json_response(body, version=task.version)


@router.post(
    "/tasks/{task_id}/reopen",
    tags=["tasks"],
    summary="Reopen a completed task",
    response_class=Response,
    responses=_ok(TaskOut),
)
async def reopen_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    task = await service.reopen_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return json_response(task_to_dict(task), version=task.version)


@router.post(
    "/tasks/{task_id}/skip",
    tags=["tasks"],
    summary="Move a recurring task to its next occurrence without completing it",
    response_class=Response,
    responses=_ok(TaskOut),
)
async def skip_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    task = await service.skip_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return json_response(task_to_dict(task), version=task.version)


@router.get(
    "/tasks/{task_id}/subtasks",
    tags=["tasks"],
    summary="The direct subtasks of a task",
    response_class=Response,
    responses=_ok(Page[TaskOut]),
)
async def list_subtasks(
    task_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    sort = service.parse_sort(None)
    after = _task_cursor(cursor, sort=None, keys=sort)
    page = await service.list_subtasks(
        session, principal=principal, task_id=task_id, after=after, limit=limit
    )
    body = _page([task_values_to_dict(row) for row in page.rows], page.next_cursor_values, "tasks:")
    return json_response(body)


@router.post(
    "/tasks/{task_id}/dependencies",
    tags=["tasks"],
    status_code=201,
    summary="Make this task depend on another (a cycle answers 409)",
    response_class=Response,
    responses=_created(TaskOut),
)
async def add_dependency(
    task_id: uuid.UUID, data: DependencyCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    task = await service.add_dependency(
        session, principal=principal, task_id=task_id, depends_on_id=data.depends_on_id
    )
    return json_response(task_to_dict(task), status_code=201, version=task.version)


@router.delete(
    "/tasks/{task_id}/dependencies/{depends_on_id}",
    tags=["tasks"],
    status_code=204,
    summary="Remove a dependency",
)
async def remove_dependency(
    task_id: uuid.UUID, depends_on_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    await service.remove_dependency(
        session, principal=principal, task_id=task_id, depends_on_id=depends_on_id
    )
    return Response(status_code=204)


@router.post(
    "/tasks/{task_id}/timer/start",
    tags=["tasks"],
    status_code=201,
    summary="Start your timer on this task (stops one running elsewhere)",
    response_model=TimeLogOut,
)
async def start_timer(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    log = await service.start_timer(session, principal=principal, task_id=task_id)
    return service.time_log_to_dict(log)


@router.post(
    "/tasks/{task_id}/timer/stop",
    tags=["tasks"],
    summary="Stop your running timer on this task",
    response_model=TimeLogOut,
)
async def stop_timer(
    task_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    data: TimerStop | None = None,
) -> dict[str, Any]:
    log = await service.stop_timer(
        session, principal=principal, task_id=task_id, note=data.note if data else ""
    )
    return service.time_log_to_dict(log)


@router.get(
    "/tasks/{task_id}/time-logs",
    tags=["tasks"],
    summary="Time tracked on a task",
    response_model=Page[TimeLogOut],
)
async def list_time_logs(
    task_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    logs = await service.list_time_logs(
        session,
        principal=principal,
        task_id=task_id,
        after=_time_cursor(cursor, "time-logs"),
        limit=limit + 1,
    )
    items = [service.time_log_to_dict(log) for log in logs[:limit]]
    last = logs[limit - 1] if len(logs) > limit else None
    return _page(items, [last.started_at.isoformat(), str(last.id)] if last else None, "time-logs")


@router.get(
    "/tasks/{task_id}/reminders",
    tags=["tasks"],
    summary="A task's reminders",
    response_model=Page[ReminderOut],
)
async def list_reminders(
    task_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    reminders = await service.list_reminders(session, principal=principal, task_id=task_id)
    return {"items": [service.reminder_to_dict(r) for r in reminders], "next_cursor": None}


@router.post(
    "/tasks/{task_id}/reminders",
    tags=["tasks"],
    status_code=201,
    summary="Add a reminder: {at} or {offset_minutes} before due",
    response_model=ReminderOut,
)
async def add_reminder(
    task_id: uuid.UUID, data: ReminderIn, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    reminder = await service.add_reminder(session, principal=principal, task_id=task_id, data=data)
    return service.reminder_to_dict(reminder)


@router.delete(
    "/tasks/{task_id}/reminders/{reminder_id}",
    tags=["tasks"],
    status_code=204,
    summary="Delete a reminder",
)
async def delete_reminder(
    task_id: uuid.UUID, reminder_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    await service.delete_reminder(
        session, principal=principal, task_id=task_id, reminder_id=reminder_id
    )
    return Response(status_code=204)


@router.get(
    "/tasks/{task_id}/history",
    tags=["tasks"],
    summary="The task's events, oldest first (its audit trail)",
    response_model=Page[HistoryEntry],
)
async def task_history(
    task_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    events = await service.task_history(
        session,
        principal=principal,
        task_id=task_id,
        after=_time_cursor(cursor, "history"),
        limit=limit + 1,
    )
    last = events[limit - 1] if len(events) > limit else None
    next_values = [last.time.isoformat(), str(last.id)] if last else None
    return json_response(_page([to_cloudevent(e) for e in events[:limit]], next_values, "history"))


# --- projects -----------------------------------------------------------------------


@router.get(
    "/projects", tags=["projects"], summary="List projects", response_model=Page[ProjectOut]
)
async def list_projects(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    include_archived: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    projects = await service.list_projects(
        session,
        principal=principal,
        workspace_id=workspace_id,
        include_archived=include_archived,
        after=_time_cursor(cursor, "projects"),
        limit=limit + 1,
    )
    last = projects[limit - 1] if len(projects) > limit else None
    return _page(
        [service.project_to_dict(p) for p in projects[:limit]],
        [last.created_at.isoformat(), str(last.id)] if last else None,
        "projects",
    )


@router.post(
    "/projects",
    tags=["projects"],
    status_code=201,
    summary="Create a project",
    response_class=Response,
    responses={**_created(ProjectOut), **_ok(ProjectOut, "Already created with this id")},
)
async def create_project(
    data: ProjectCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    project, created = await service.create_project(session, principal=principal, data=data)
    return json_response(
        service.project_to_dict(project),
        status_code=201 if created else 200,
        version=project.version,
    )


@router.get(
    "/projects/{project_id}",
    tags=["projects"],
    summary="Get a project",
    response_class=Response,
    responses=_ok(ProjectOut),
)
async def get_project(
    project_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    project = await service.get_project(session, principal=principal, project_id=project_id)
    return json_response(service.project_to_dict(project), version=project.version)


@router.patch(
    "/projects/{project_id}",
    tags=["projects"],
    summary="Change a project",
    response_class=Response,
    responses=_ok(ProjectOut),
)
async def update_project(
    project_id: uuid.UUID,
    data: ProjectUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    project = await service.update_project(
        session,
        principal=principal,
        project_id=project_id,
        data=data,
        if_match=parse_if_match(if_match),
    )
    return json_response(service.project_to_dict(project), version=project.version)


@router.delete(
    "/projects/{project_id}",
    tags=["projects"],
    status_code=204,
    summary="Delete a project and move its tasks to the trash",
)
async def delete_project(
    project_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await service.delete_project(
        session, principal=principal, project_id=project_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)


# --- tags ---------------------------------------------------------------------------


@router.get("/tags", tags=["tags"], summary="List tags", response_model=Page[TagOut])
async def list_tags(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = None
    if cursor is not None:
        values = decode_cursor("tags", cursor, arity=2)
        try:
            after = (str(values[0]), uuid.UUID(str(values[1])))
        except ValueError as exc:
            raise ValidationFailed("cursor is not valid", loc=["query", "cursor"]) from exc
    tags = await service.list_tags(
        session, principal=principal, workspace_id=workspace_id, after=after, limit=limit + 1
    )
    last = tags[limit - 1] if len(tags) > limit else None
    return _page(
        [service.tag_to_dict(t) for t in tags[:limit]],
        [last.name_key, str(last.id)] if last else None,
        "tags",
    )


@router.post("/tags", tags=["tags"], status_code=201, summary="Create a tag", response_model=TagOut)
async def create_tag(
    data: TagCreate, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    return service.tag_to_dict(await service.create_tag(session, principal=principal, data=data))


@router.get("/tags/{tag_id}", tags=["tags"], summary="Get a tag", response_model=TagOut)
async def get_tag(
    tag_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    return service.tag_to_dict(await service.get_tag(session, principal=principal, tag_id=tag_id))


@router.patch(
    "/tags/{tag_id}", tags=["tags"], summary="Rename or recolour a tag", response_model=TagOut
)
async def update_tag(
    tag_id: uuid.UUID, data: TagUpdate, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    tag = await service.update_tag(session, principal=principal, tag_id=tag_id, data=data)
    return service.tag_to_dict(tag)


@router.delete(
    "/tags/{tag_id}", tags=["tags"], status_code=204, summary="Delete a tag (removes it from tasks)"
)
async def delete_tag(
    tag_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    await service.delete_tag(session, principal=principal, tag_id=tag_id)
    return Response(status_code=204)
