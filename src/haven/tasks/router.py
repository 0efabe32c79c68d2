"""REST for tasks, their series, trash, dependencies, timers, reminders and history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from haven.accounts.deps import CurrentPrincipal
from haven.core.errors import ValidationFailed
from haven.core.http import (
    IfMatch,
    created_responses,
    json_response,
    ok_responses,
    parse_if_match,
    parse_query,
    query_parameters,
)
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    after_instant_and_id,
    cut_page,
    decode_cursor,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.events.outbox import to_cloudevent
from haven.tasks import dependencies, history, reminders, series, service, stats, timers, trash
from haven.tasks.lists import (
    SortKey,
    cursor_values,
    decode_cursor_values,
    filters_from_query,
    parse_sort,
)
from haven.tasks.quick_add import service as quick_add
from haven.tasks.quick_add.schemas import (
    QuickAddCreated,
    QuickAddIn,
    QuickAddPreview,
    parts_to_list,
    preview_to_dict,
)
from haven.tasks.schemas import (
    NO_SUBTASKS,
    TASK_COUNT_CAP,
    CompleteResult,
    DependencyCreate,
    HistoryEntry,
    ReminderIn,
    ReminderOut,
    TaskCount,
    TaskCreate,
    TaskFilterQuery,
    TaskListQuery,
    TaskOut,
    TaskStatsOut,
    TaskUpdate,
    TimeLogOut,
    TimerStop,
    reminder_to_dict,
    task_to_out,
    task_values_to_out,
    time_log_to_dict,
)

router = APIRouter()


class _TaskIdConvertor(Convertor[str]):
    """A task id in a path, but never the name of a route of its own ("quick-add",
    "count"): GET /tasks/quick-add is a 405 that says POST and POST /tasks/count one that
    says GET, not a task look-up. The id is still checked as a UUID by its parameter's type."""

    regex = r"(?!(?:quick-add|count)(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("task_id", _TaskIdConvertor())


# --- tasks --------------------------------------------------------------------------


@router.get(
    "/tasks",
    tags=["tasks"],
    summary="List tasks (filter, sort, search, page)",
    response_class=Response,
    responses=ok_responses(Page[TaskOut]),
    openapi_extra={"parameters": query_parameters(TaskListQuery)},
)
async def list_tasks(
    request: Request, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    query = parse_query(TaskListQuery, request)
    sort = query.sort
    sort_keys = parse_sort(sort)
    after = _task_cursor(query.cursor, sort=sort, keys=sort_keys)
    filters = filters_from_query(query)
    rows = await service.list_tasks(
        session,
        principal=principal,
        filters=filters,
        sort=sort_keys,
        after=after,
        limit=fetch_limit(query.limit),
    )
    page, next_cursor = cut_page(
        rows,
        limit=query.limit,
        kind="tasks:" + (sort or ""),
        key=lambda row: cursor_values(row, sort_keys),
    )
    return json_response(page_body(await _page_json(session, page), next_cursor))


async def _page_json(session: AsyncSession, page: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """A page of tasks (rows of TASK_COLUMNS) as TaskOut, their subtasks counted in one read."""
    counts = await service.subtask_counts(session, task_ids=[row[0] for row in page])
    return [task_values_to_out(row, counts) for row in page]


async def _task_json(session: AsyncSession, task: Any) -> dict[str, Any]:
    """A task the request read or changed (a tasks.models.Task; routers import no table) as
    TaskOut, its subtasks counted as they are now."""
    return task_to_out(task, await service.subtask_counts(session, task_ids=[task.id]))


@router.get(
    "/tasks/count",
    tags=["tasks"],
    summary=f"Count tasks (the filters of GET /tasks; up to {TASK_COUNT_CAP:,})",
    response_class=Response,
    responses=ok_responses(TaskCount),
    openapi_extra={"parameters": query_parameters(TaskFilterQuery)},
)
async def count_tasks(
    request: Request, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    """How many tasks a list would show: one bounded COUNT instead of fetching the list.

    Takes every filter of GET /tasks (a `sort` is checked, and changes nothing).
    """
    query = parse_query(TaskFilterQuery, request)
    parse_sort(query.sort)
    count = await service.count_tasks(
        session, principal=principal, filters=filters_from_query(query), cap=TASK_COUNT_CAP
    )
    return json_response({"count": count, "capped": count >= TASK_COUNT_CAP})


def _task_cursor(cursor: str | None, *, sort: str | None, keys: list[SortKey]) -> list[Any] | None:
    """The keyset values of a task-list cursor made for this sort, else 422."""
    if cursor is None:
        return None
    raw = decode_cursor("tasks:" + (sort or ""), cursor, arity=len(keys) + 1)
    try:
        return decode_cursor_values(raw, keys)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid", loc=["query", "cursor"]) from exc


@router.post(
    "/tasks",
    tags=["tasks"],
    status_code=201,
    summary="Create a task",
    response_class=Response,
    responses={
        **created_responses(TaskOut),
        **ok_responses(TaskOut, "Already created with this id"),
    },
)
async def create_task(
    data: TaskCreate, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    task, created = await service.create_task(
        session, principal=principal, data=data, whole_write=True
    )
    # A task just made has no subtasks: no read for them (a plain create stays one statement).
    shown = await _task_json(session, task) if not created else task_to_out(task, NO_SUBTASKS)
    return json_response(shown, status_code=201 if created else 200, version=task.version)


@router.post(
    "/tasks/quick-add",
    tags=["tasks"],
    status_code=201,
    summary="Create a task from one line of text",
    description='Reads dates and times ("tomorrow 5pm", "next fri", "in 3 days"), '
    'recurrence ("every 2nd monday", "every! 2 days" from completion), reminders '
    '("remind me 30m before"), `#project` (found by name, else created), `@tag` and '
    "`p1`..`p4` (urgent..low), in your zone; the rest is the title. Answers the task as "
    "POST /tasks does, plus `parsed`: the parts understood, as UTF-16 offsets into `text`. "
    "`?dry_run=true` answers 200 with what would be created and writes nothing.",
    response_class=Response,
    responses={
        **created_responses(QuickAddCreated),
        200: {
            "model": QuickAddCreated | QuickAddPreview,
            "description": "dry_run: the preview; else the task already created with this id",
        },
    },
)
async def quick_add_task(
    data: QuickAddIn,
    session: WriteSession,
    principal: CurrentPrincipal,
    dry_run: Annotated[bool, Query(description="parse only; create nothing")] = False,
) -> Response:
    if dry_run:
        reading = await quick_add.read_line(session, principal=principal, data=data, write=False)
        return json_response(preview_to_dict(reading, default_due=data.due))
    task, created, line = await quick_add.quick_add(session, principal=principal, data=data)
    shown = await _task_json(session, task) if not created else task_to_out(task, NO_SUBTASKS)
    body = {**shown, "parsed": parts_to_list(line)}
    return json_response(body, status_code=201 if created else 200, version=task.version)


@router.get(
    "/tasks/{task_id:task_id}",
    tags=["tasks"],
    summary="Get a task",
    response_class=Response,
    responses=ok_responses(TaskOut),
)
async def get_task(
    task_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    task = await service.get_task(session, principal=principal, task_id=task_id)
    return json_response(await _task_json(session, task), version=task.version)


@router.patch(
    "/tasks/{task_id:task_id}",
    tags=["tasks"],
    summary="Change a task (only the fields sent)",
    response_class=Response,
    responses=ok_responses(TaskOut),
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
    return json_response(await _task_json(session, task), version=task.version)


@router.delete(
    "/tasks/{task_id:task_id}", tags=["tasks"], status_code=204, summary="Move a task to the trash"
)
async def delete_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    await trash.delete_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)


@router.post(
    "/tasks/{task_id}/restore",
    tags=["tasks"],
    summary="Bring a task back from the trash",
    response_class=Response,
    responses=ok_responses(TaskOut),
)
async def restore_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    task = await trash.restore_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return json_response(await _task_json(session, task), version=task.version)


@router.post(
    "/tasks/{task_id}/complete",
    tags=["tasks"],
    summary="Complete a task; a recurring one gets its next occurrence",
    response_class=Response,
    responses=ok_responses(CompleteResult),
)
async def complete_task(
    task_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    cascade: Annotated[bool, Query(description="also complete open subtasks")] = False,
    if_match: IfMatch = None,
) -> Response:
    task, nxt = await series.complete_task(
        session,
        principal=principal,
        task_id=task_id,
        cascade=cascade,
        if_match=parse_if_match(if_match),
    )
    counts = await service.subtask_counts(
        session, task_ids=[task.id] if nxt is None else [task.id, nxt.id]
    )
    body = {"task": task_to_out(task, counts), "next": task_to_out(nxt, counts) if nxt else None}
    return json_response(body, version=task.version)


@router.post(
    "/tasks/{task_id}/reopen",
    tags=["tasks"],
    summary="Reopen a completed task",
    response_class=Response,
    responses=ok_responses(TaskOut),
)
async def reopen_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    task = await series.reopen_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return json_response(await _task_json(session, task), version=task.version)


@router.post(
    "/tasks/{task_id}/skip",
    tags=["tasks"],
    summary="Move a recurring task to its next occurrence without completing it",
    response_class=Response,
    responses=ok_responses(TaskOut),
)
async def skip_task(
    task_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    task = await series.skip_task(
        session, principal=principal, task_id=task_id, if_match=parse_if_match(if_match)
    )
    return json_response(await _task_json(session, task), version=task.version)


@router.get(
    "/tasks/{task_id}/subtasks",
    tags=["tasks"],
    summary="The direct subtasks of a task",
    response_class=Response,
    responses=ok_responses(Page[TaskOut]),
)
async def list_subtasks(
    task_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    sort = parse_sort(None)
    after = _task_cursor(cursor, sort=None, keys=sort)
    rows = await service.list_subtasks(
        session, principal=principal, task_id=task_id, after=after, limit=fetch_limit(limit)
    )
    page, next_cursor = cut_page(
        rows, limit=limit, kind="tasks:", key=lambda row: cursor_values(row, sort)
    )
    return json_response(page_body(await _page_json(session, page), next_cursor))


@router.post(
    "/tasks/{task_id}/dependencies",
    tags=["tasks"],
    status_code=201,
    summary="Make this task depend on another (a cycle answers 409)",
    response_class=Response,
    responses=created_responses(TaskOut),
)
async def add_dependency(
    task_id: uuid.UUID,
    data: DependencyCreate,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    task = await dependencies.add_dependency(
        session,
        principal=principal,
        task_id=task_id,
        depends_on_id=data.depends_on_id,
        if_match=parse_if_match(if_match),
    )
    return json_response(await _task_json(session, task), status_code=201, version=task.version)


@router.delete(
    "/tasks/{task_id}/dependencies/{depends_on_id}",
    tags=["tasks"],
    status_code=204,
    summary="Remove a dependency",
)
async def remove_dependency(
    task_id: uuid.UUID,
    depends_on_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await dependencies.remove_dependency(
        session,
        principal=principal,
        task_id=task_id,
        depends_on_id=depends_on_id,
        if_match=parse_if_match(if_match),
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
    log = await timers.start_timer(session, principal=principal, task_id=task_id)
    return time_log_to_dict(log)


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
    log = await timers.stop_timer(
        session, principal=principal, task_id=task_id, note=data.note if data else ""
    )
    return time_log_to_dict(log)


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
    logs = await timers.list_time_logs(
        session,
        principal=principal,
        task_id=task_id,
        after=after_instant_and_id("time-logs", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        logs, limit=limit, kind="time-logs", key=lambda log: [log.started_at.isoformat(), log.id]
    )
    return page_body([time_log_to_dict(log) for log in page], next_cursor)


@router.get(
    "/tasks/{task_id}/reminders",
    tags=["tasks"],
    summary="A task's reminders",
    response_model=Page[ReminderOut],
)
async def list_reminders(
    task_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    found = await reminders.list_reminders(session, principal=principal, task_id=task_id)
    return page_body([reminder_to_dict(r) for r in found], None)


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
    reminder = await reminders.add_reminder(
        session, principal=principal, task_id=task_id, data=data
    )
    return reminder_to_dict(reminder)


@router.delete(
    "/tasks/{task_id}/reminders/{reminder_id}",
    tags=["tasks"],
    status_code=204,
    summary="Delete a reminder",
)
async def delete_reminder(
    task_id: uuid.UUID, reminder_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    await reminders.delete_reminder(
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
    events = await history.task_history(
        session,
        principal=principal,
        task_id=task_id,
        after=after_instant_and_id("history", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        events, limit=limit, kind="history", key=lambda event: [event.time.isoformat(), event.id]
    )
    return json_response(page_body([to_cloudevent(e) for e in page], next_cursor))


@router.get(
    "/stats/tasks",
    tags=["tasks"],
    summary="Tasks you completed per day and time you tracked per project",
    description="Days are your profile's zone's. The window defaults to the last 30 days up "
    f"to today and is at most {stats.MAX_DAYS} days; `workspace_id` limits it to one "
    "workspace (else every workspace you belong to counts).",
    response_model=TaskStatsOut,
)
async def task_stats(
    session: ReadSession,
    principal: CurrentPrincipal,
    start: Annotated[date | None, Query(description="first day (inclusive)")] = None,
    end: Annotated[date | None, Query(description="last day (inclusive)")] = None,
    workspace_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    found = await stats.task_stats(
        session, principal=principal, start=start, end=end, workspace_id=workspace_id
    )
    return {
        "timezone": found.timezone,
        "start": found.start,
        "end": found.end,
        "completed": [{"day": d.day, "count": d.count} for d in found.completed],
        "tracked": [
            {"project_id": p.project_id, "name": p.name, "seconds": p.seconds}
            for p in found.tracked
        ],
    }
