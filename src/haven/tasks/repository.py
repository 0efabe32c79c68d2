"""Every query of the tasks domain. User-facing reads start from an access-filtered select."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Insert,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    Uuid,
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.pagination import keyset_after
from haven.db.base import UTCDateTime
from haven.db.driver import fetch_all
from haven.events.outbox import Change
from haven.tasks.lists import SortKey, TaskFilters
from haven.tasks.models import (
    Reminder,
    Task,
    TaskDependency,
    TaskTag,
    TimeLog,
    date_sort_expression,
)
from haven.tasks.schemas import CLOSED_STATUSES, TASK_COLUMNS, SubtaskCounts

# Must equal the expression of the GIN index in migration 0002.
SEARCH_VECTOR_SQL = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))"
_WORD = re.compile(r"\w+", re.UNICODE)
tasks_table = Task.__table__
# What a task read selects: the columns of its API shape, in schemas.TASK_COLUMNS order.
TASK_READ_COLUMNS = [tasks_table.c[name] for name in TASK_COLUMNS]


# --- sorting ------------------------------------------------------------------------


_SORT_COLUMNS = {
    "priority": "priority",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "progress": "progress",
}


def _sort_expression(key: SortKey) -> ColumnElement[Any]:
    """The expression a field sorts by: the same as in its index (models, migration 0005).

    Empty dates sort last in either direction.
    """
    if key.field in ("due", "start"):
        dates = Task.due_at if key.field == "due" else Task.start_at
        return date_sort_expression(dates, descending=key.descending)
    if key.field == "title":
        return func.lower(Task.title)
    column: ColumnElement[Any] = tasks_table.c[_SORT_COLUMNS[key.field]]
    return column


# --- tasks --------------------------------------------------------------------------


def search_terms(q: str) -> list[str]:
    return _WORD.findall(q)[:16]


def _search_query(dialect: str, terms: Sequence[str]) -> str:
    """Every word must match, as a prefix; quoted, so no word is read as an operator."""
    if dialect == "postgresql":
        return " & ".join(f"{term.lower()}:*" for term in terms)
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def _search_clause(dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        query = func.to_tsquery("simple", bindparam("search"))
        return literal_column(SEARCH_VECTOR_SQL).op("@@")(query)
    rowids = text("SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH :search")
    return literal_column("tasks.rowid").in_(rowids)


WorkspaceIdsFor = Callable[[BindParameter[uuid.UUID]], Select[tuple[uuid.UUID]]]
# Given a tag id column and a lower-cased name: the condition that the tag has that name.
TagIsNamed = Callable[[ColumnElement[uuid.UUID], BindParameter[str]], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class _ListShape:
    """What a task-list statement looks like, apart from its values: one statement each."""

    workspace_ids_for: WorkspaceIdsFor
    tag_is_named: TagIsNamed
    dialect: str
    sort: tuple[SortKey, ...]
    deleted: bool
    with_after: bool
    workspace: bool
    project: bool
    statuses: bool
    priorities: bool
    assignee: bool
    parent: bool
    top_level_only: bool
    no_project: bool
    due_before: bool
    due_after: bool
    tag: bool
    search: bool
    whole_day_due_before: bool = False
    # PostgreSQL: the tag or the search matches few tasks (a probe found them all): the
    # page is read by their ids, `rare_ids`, and sorted.
    rare: bool = False


# A tag or a search matching fewer tasks than this in the viewer's workspaces is "rare".
RARE_MATCHES = 1000


def _tag_candidates(shape: _ListShape) -> Select[Any]:
    """The ids of the tasks in the viewer's workspaces that carry the tag.

    Each tag link's task is looked up by id, in a scalar subquery the planner does not turn
    into a join: as a join (or a LATERAL) it may hash, or scan, whole tables for a tag of
    few tasks, having no idea how few.
    """
    found = tasks_table.alias("found")
    named = shape.tag_is_named(TaskTag.__table__.c.tag_id, bindparam("tag", type_=String()))
    live = found.c.deleted_at.is_not(None) if shape.deleted else found.c.deleted_at.is_(None)
    task_workspace = (
        select(found.c.workspace_id).where(found.c.id == TaskTag.task_id, live).scalar_subquery()
    )
    viewer = bindparam("viewer_id", type_=Uuid())
    in_view: list[ColumnElement[bool]] = [task_workspace.in_(shape.workspace_ids_for(viewer))]
    if shape.workspace:
        in_view.append(task_workspace == bindparam("workspace_id"))
    return select(TaskTag.task_id).where(named, *in_view)


def _search_candidates(shape: _ListShape) -> Select[Any]:
    """The ids of the tasks in the viewer's workspaces that the search finds (PostgreSQL)."""
    found = tasks_table.alias("found")
    # The vector's columns are unqualified: here they name the `found` alias's.
    query = select(found.c.id).select_from(found).where(_search_clause("postgresql"))
    return query.where(*_found_in_view(shape, found))


def _found_in_view(shape: _ListShape, found: Any) -> list[ColumnElement[bool]]:
    """`found` is a task of the viewer's (live, or in the trash for a trash list)."""
    viewer = bindparam("viewer_id", type_=Uuid())
    conditions = [
        found.c.workspace_id.in_(shape.workspace_ids_for(viewer)),
        found.c.deleted_at.is_not(None) if shape.deleted else found.c.deleted_at.is_(None),
    ]
    if shape.workspace:
        conditions.append(found.c.workspace_id == bindparam("workspace_id"))
    return conditions


@lru_cache(maxsize=128)
def _probe_statement(shape: _ListShape, what: str) -> Select[Any]:
    """Up to RARE_MATCHES ids of the tasks the tag or the search finds for this viewer.

    (The LIMIT also steers the planner to looking each link's task up by id.)
    """
    candidates = _tag_candidates(shape) if what == "tag" else _search_candidates(shape)
    return candidates.limit(RARE_MATCHES)


def _sort_keys(sort: Sequence[SortKey]) -> list[tuple[ColumnElement[Any], bool]]:
    """The sort's (expression, descending?) pairs, then the id, which breaks ties in the
    direction of the first key: the order of that key's index, read forwards or backwards.
    """
    keys = [(_sort_expression(key), key.descending) for key in sort]
    keys.append((tasks_table.c.id, sort[0].descending))
    return keys


def _after(
    keys: Sequence[tuple[ColumnElement[Any], bool]], values: Sequence[Any]
) -> list[ColumnElement[bool]]:
    """Conditions for the rows strictly after the cursor's values, in the order of `keys`.

    When every key goes the same way a row-value comparison says it, which the index of
    the first key can seek to; otherwise the OR form, with a bound on the first key that
    keeps the index scan from starting at the top of the list.
    """
    expressions = [expression for expression, _ in keys]
    first, descending = keys[0]
    if len({desc for _, desc in keys}) == 1:
        left, right = tuple_(*expressions), tuple_(*values)
        after = left < right if descending else left > right
        if len(keys) == 2:
            return [after]
        return [first <= values[0] if descending else first >= values[0], after]
    bound = first <= values[0] if descending else first >= values[0]
    return [bound, keyset_after(keys, values)]


def _ordered(keys: Sequence[tuple[ColumnElement[Any], bool]]) -> list[ColumnElement[Any]]:
    return [expression.desc() if desc else expression.asc() for expression, desc in keys]


def _filter_conditions(shape: _ListShape) -> list[ColumnElement[bool]]:
    """The conditions of a list's filters (not its workspaces, cursor or order): shared by
    the list and the count, so a count is of exactly the tasks the list shows."""
    conditions: list[ColumnElement[bool]] = [
        Task.deleted_at.is_not(None) if shape.deleted else Task.deleted_at.is_(None)
    ]
    if shape.project:
        conditions.append(Task.project_id == bindparam("project_id"))
    elif shape.no_project:
        conditions.append(Task.project_id.is_(None))
    if shape.statuses:
        conditions.append(Task.status.in_(bindparam("statuses", expanding=True)))
    if shape.priorities:
        conditions.append(Task.priority.in_(bindparam("priorities", expanding=True)))
    if shape.assignee:
        conditions.append(Task.assignee_id == bindparam("assignee_id"))
    if shape.parent:
        conditions.append(Task.parent_id == bindparam("parent_id"))
    elif shape.top_level_only:
        conditions.append(Task.parent_id.is_(None))
    due_sort = {key.field for key in shape.sort[:1]} == {"due"}
    if shape.due_before:
        before = bindparam("due_before", type_=UTCDateTime())
        conditions.append(Task.due_at < before)
        if due_sort:  # the same, said of the sort expression: a range of its index
            conditions.append(_sort_expression(shape.sort[0]) < before)
    if shape.due_after:
        after = bindparam("due_after", type_=UTCDateTime())
        conditions.append(Task.due_at >= after)
        if due_sort:
            conditions.append(_sort_expression(shape.sort[0]) >= after)
    if shape.whole_day_due_before:
        bound = bindparam("whole_day_due_before", type_=UTCDateTime())
        conditions.append(or_(Task.due_is_date.is_(False), Task.due_at < bound))
    if shape.rare:
        # By primary key, then sorted: as EXISTS or IN the planner may walk the sort's
        # index instead, through the whole workspace, for it cannot know how few they are.
        rare_ids = bindparam("rare_ids", type_=postgresql.ARRAY(Uuid()))
        conditions.append(tasks_table.c.id == any_(rare_ids))
    if shape.tag:
        named = shape.tag_is_named(TaskTag.__table__.c.tag_id, bindparam("tag", type_=String()))
        tagged = select(literal(1)).where(TaskTag.task_id == Task.id, named)
        # OFFSET 0: checked per task as the sort's index is walked (a tag of many tasks),
        # never turned into a join that reads all the tag's tasks and sorts them.
        conditions.append(tagged.offset(0).exists())
    if shape.search:
        conditions.append(_search_clause(shape.dialect))
    return conditions


@lru_cache(maxsize=512)
def _list_statement(shape: _ListShape) -> Select[Any]:
    """Built once per shape: constructing a select costs more than running this one.

    A page reads about a page of rows, however many tasks the workspaces hold: within one
    workspace the tasks come in the order of an index (migration 0005) that starts with
    the workspace and the first sort key, so the scan stops after `page_limit` matches.
    On PostgreSQL each workspace the viewer sees gets such a scan (a LATERAL subquery)
    and the pages are merged by the sort; `workspace_id IN (the viewer's workspaces)`
    would read every task of them and sort them all. SQLite has no LATERAL: the caller
    names the one workspace when there is one (`workspace_id = :workspace_id`, index
    order again); with several, SQLite reads them all and sorts.
    """
    viewer = bindparam("viewer_id", type_=Uuid())
    visible = shape.workspace_ids_for(viewer)
    limit: BindParameter[int] = bindparam("page_limit")
    conditions = _filter_conditions(shape)
    keys = _sort_keys(shape.sort)
    if shape.with_after:
        values = [
            bindparam(f"after_{index}", type_=expression.type)
            for index, (expression, _) in enumerate(keys)
        ]
        conditions.extend(_after(keys, values))
    if shape.dialect != "postgresql":
        # `workspace` here: the caller checked that the viewer sees that one workspace.
        # (`= :w AND IN (...)` together would lead SQLite's planner to a scan and a sort.)
        in_view = (
            Task.workspace_id == bindparam("workspace_id")
            if shape.workspace
            else Task.workspace_id.in_(visible)
        )
        query = select(*TASK_READ_COLUMNS).where(in_view, *conditions)
        return query.order_by(*_ordered(keys)).limit(limit)
    if shape.workspace:
        visible = visible.where(visible.selected_columns[0] == bindparam("workspace_id"))
    workspaces = visible.subquery("visible")
    sort_columns = [expression.label(f"sort_{index}") for index, (expression, _) in enumerate(keys)]
    page = (
        select(*TASK_READ_COLUMNS, *sort_columns[:-1])
        .where(Task.workspace_id == workspaces.c[0], *conditions)
        .order_by(*_ordered(keys))
        .limit(limit)
        .lateral("page")
    )
    merged = [
        (page.c[column.name], desc)
        for column, (_, desc) in zip(sort_columns[:-1], keys, strict=False)
    ]
    merged.append((page.c.id, keys[-1][1]))
    return (
        select(*(page.c[column.name] for column in TASK_READ_COLUMNS))
        .select_from(workspaces)
        .join(page, true())
        .order_by(*_ordered(merged))
        .limit(limit)
    )


async def list_tasks(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID,
    workspace_ids_for: WorkspaceIdsFor,
    tag_is_named: TagIsNamed,
    filters: TaskFilters,
    sort: Sequence[SortKey],
    after: Sequence[Any] | None,
    limit: int,
) -> Sequence[Sequence[Any]]:
    """A page of the tasks in the viewer's workspaces (`workspace_ids_for` says which).

    The accounts and tags modules lend the conditions on their tables (which workspaces a
    user sees, which tag has a name), so the list stays one statement.
    """
    connection = await session.connection()
    terms = search_terms(filters.q) if filters.q is not None else []
    if filters.q is not None and not terms:
        return []
    workspace_id = filters.workspace_id
    if connection.dialect.name != "postgresql":
        # Without LATERAL, a list is read in index order when it is of one workspace:
        # find out whether it is (and that the viewer sees it).
        visible = workspace_ids_for(literal(viewer_id, Uuid()))
        if workspace_id is not None:
            visible = visible.where(visible.selected_columns[0] == workspace_id)
        # (Typed Select[tuple[UUID]] by the accounts module: see member_workspace_ids.)
        result = await connection.execute(visible.limit(2))
        found = cast(list[uuid.UUID], result.scalars().all())
        if not found:
            return []
        workspace_id = found[0] if len(found) == 1 else None
    shape = _ListShape(
        workspace_ids_for=workspace_ids_for,
        tag_is_named=tag_is_named,
        dialect=connection.dialect.name,
        sort=tuple(sort),
        deleted=filters.deleted,
        with_after=after is not None,
        workspace=workspace_id is not None,
        project=filters.project_id is not None,
        statuses=bool(filters.statuses),
        priorities=bool(filters.priorities),
        assignee=filters.assignee_id is not None,
        parent=filters.parent_id is not None,
        top_level_only=filters.top_level_only,
        no_project=filters.no_project,
        due_before=filters.due_before is not None,
        due_after=filters.due_after is not None,
        tag=filters.tag is not None,
        search=bool(terms),
        whole_day_due_before=filters.whole_day_due_before is not None,
    )
    values: dict[str, Any] = {
        "viewer_id": viewer_id,
        "page_limit": limit,
        "workspace_id": workspace_id,
        "project_id": filters.project_id,
        "statuses": list(filters.statuses),
        "priorities": list(filters.priorities),
        "assignee_id": filters.assignee_id,
        "parent_id": filters.parent_id,
        "due_before": filters.due_before,
        "due_after": filters.due_after,
        "whole_day_due_before": filters.whole_day_due_before,
        "tag": filters.tag.lower() if filters.tag else None,
    }
    if terms:
        values["search"] = _search_query(shape.dialect, terms)
    if after is not None:
        values.update((f"after_{index}", value) for index, value in enumerate(after))
    if shape.dialect == "postgresql" and (shape.tag or shape.search):
        # Whether the tag or the words are rare decides the plan, and the planner cannot
        # tell: fetch up to RARE_MATCHES of their ids first. Fewer are read by id and
        # sorted (the list still checks the tag and the words: a page never shows a task
        # that no longer matches); more come soon enough while walking the sort's index.
        rare_ids: set[uuid.UUID] | None = None
        for what in ("tag", "search"):
            if getattr(shape, what) and (rare_ids is None or rare_ids):
                probe = _probe_statement(shape, what)
                result = await connection.execute(probe, _used(probe, values))
                matches: set[uuid.UUID] = set(result.scalars())
                if len(matches) < RARE_MATCHES:
                    rare_ids = matches if rare_ids is None else rare_ids & matches
        if rare_ids is not None:
            if not rare_ids:
                return []
            shape = replace(shape, rare=True)
            values["rare_ids"] = list(rare_ids)
    statement = _list_statement(shape)
    # Only the parameters this shape uses: unused ones would be an error.
    used = _used(statement, values)
    # On the session's connection, and for a read on the driver itself (db.driver): plain
    # rows, without the ORM's loading layer nor, where it changes nothing, SQLAlchemy's.
    return await fetch_all(connection, statement, used)


@lru_cache(maxsize=128)
def _count_statement(shape: _ListShape) -> Select[Any]:
    """COUNT over at most `cap` matching rows: the same filters as the list (so the same
    tasks), read through the list's indexes, and stopping at the cap however many match."""
    viewer = bindparam("viewer_id", type_=Uuid())
    in_view: list[ColumnElement[bool]] = [Task.workspace_id.in_(shape.workspace_ids_for(viewer))]
    if shape.workspace:
        in_view.append(Task.workspace_id == bindparam("workspace_id"))
    cap: BindParameter[int] = bindparam("cap")
    matching = select(literal(1)).where(*in_view, *_filter_conditions(shape)).limit(cap)
    return select(func.count()).select_from(matching.subquery("matching"))


async def count_tasks(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID,
    workspace_ids_for: WorkspaceIdsFor,
    tag_is_named: TagIsNamed,
    filters: TaskFilters,
    cap: int,
) -> int:
    """How many tasks in the viewer's workspaces match the filters, up to `cap`."""
    connection = await session.connection()
    terms = search_terms(filters.q) if filters.q is not None else []
    if filters.q is not None and not terms:
        return 0
    shape = _ListShape(
        workspace_ids_for=workspace_ids_for,
        tag_is_named=tag_is_named,
        dialect=connection.dialect.name,
        sort=(SortKey("created_at", descending=False),),
        deleted=filters.deleted,
        with_after=False,
        workspace=filters.workspace_id is not None,
        project=filters.project_id is not None,
        statuses=bool(filters.statuses),
        priorities=bool(filters.priorities),
        assignee=filters.assignee_id is not None,
        parent=filters.parent_id is not None,
        top_level_only=filters.top_level_only,
        no_project=filters.no_project,
        due_before=filters.due_before is not None,
        due_after=filters.due_after is not None,
        tag=filters.tag is not None,
        search=bool(terms),
        whole_day_due_before=filters.whole_day_due_before is not None,
    )
    values: dict[str, Any] = {
        "viewer_id": viewer_id,
        "cap": cap,
        "workspace_id": filters.workspace_id,
        "project_id": filters.project_id,
        "statuses": list(filters.statuses),
        "priorities": list(filters.priorities),
        "assignee_id": filters.assignee_id,
        "parent_id": filters.parent_id,
        "due_before": filters.due_before,
        "due_after": filters.due_after,
        "whole_day_due_before": filters.whole_day_due_before,
        "tag": filters.tag.lower() if filters.tag else None,
    }
    if terms:
        values["search"] = _search_query(shape.dialect, terms)
    statement = _count_statement(shape)
    result = await connection.execute(statement, _used(statement, values))
    return int(result.scalar_one())


def _used(statement: Select[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    names = _bind_names(statement)
    return {name: value for name, value in values.items() if name in names}


@lru_cache(maxsize=512)
def _bind_names(statement: Select[Any]) -> frozenset[str]:
    return frozenset(statement.compile().params)


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.get(Task, task_id)


async def workspace_of_task(session: AsyncSession, task_id: uuid.UUID) -> uuid.UUID | None:
    """The workspace a task (live or in the trash) is in, read without a lock."""
    connection = await session.connection()
    found: uuid.UUID | None = await connection.scalar(
        select(tasks_table.c.workspace_id).where(tasks_table.c.id == task_id)
    )
    return found


class AccessColumns(Protocol):
    """Given a workspace id column, the columns that tell a caller's access to it (bound as
    `user_id`), locking what `keep` and `keep_workspace` say:
    `haven.workspaces.access.caller_access_columns`."""

    def __call__(
        self, workspace_id: ColumnElement[uuid.UUID], *, keep: bool, keep_workspace: bool
    ) -> tuple[ColumnElement[Any], ...]: ...

    def __hash__(self) -> int: ...  # a key of the statement cache


# Every write to a task starts here: built once per shape, with bind parameters.
@lru_cache(maxsize=4)
def _lock_with_access(access_columns: AccessColumns, keep_workspace: bool) -> Select[Any]:
    workspace_id: ColumnElement[uuid.UUID] = Task.__table__.c.workspace_id
    access = access_columns(workspace_id, keep=True, keep_workspace=keep_workspace)
    columns: list[Any] = [Task, *access]
    return select(*columns).where(Task.id == bindparam("task_id")).with_for_update(of=Task)


async def lock_task_with_access(
    session: AsyncSession,
    task_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    access_columns: AccessColumns,
    keep_workspace: bool = False,
) -> tuple[Task, tuple[Any, ...]] | None:
    """Load a task for a write, and in the same statement the caller's access: (task, access
    columns). On PostgreSQL the task row stays locked until commit, and so (shared) does the
    caller's membership, and the workspace row with `keep_workspace`.

    The membership (and workspace) is locked before the task, by the access subquery: when
    the statement waits for the task's row, the role it answers is still the committed one,
    and a role change or removal waits for this write, never the other way round (they lock
    the membership before any task). Read in the subquery without the lock, the role would
    come from the statement's snapshot, taken before the wait.
    """
    result = await session.execute(
        _lock_with_access(access_columns, keep_workspace), {"task_id": task_id, "user_id": user_id}
    )
    row: Row[Any] | None = result.first()
    if row is None:
        return None
    task: Task = row[0]
    return task, tuple(row[1:])


async def lock_parent(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    """Load a task about to get a subtask, in a shared lock (PostgreSQL) until commit.

    Deleting a task locks it exclusively before it collects the subtree, so a subtask is
    either added before (and trashed with the tree) or sees the parent in the trash.
    SQLite needs no lock: its write transactions run one at a time (BEGIN IMMEDIATE).
    """
    query = select(Task).where(Task.id == task_id).with_for_update(read=True)
    query = query.execution_options(populate_existing=True)
    task: Task | None = (await session.scalars(query)).first()
    return task


async def lock_task_structure(session: AsyncSession, task_id: uuid.UUID) -> None:
    """Make changes to the subtask trees and dependencies of the task's workspace take turns,
    until commit.

    A cycle check reads links other transactions may be adding: two moves (or dependencies)
    that each pass alone can close a ring together, and row locks on the two tasks involved
    do not see the others on the ring. A transaction-scoped advisory lock per workspace
    serialises the check-and-write on PostgreSQL; SQLite runs one write at a time anyway.
    Take it before locking any task row, so that two structure changes never wait on each
    other's rows. It only reads the task's workspace: the caller's access is checked after.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    workspace_id = await session.scalar(select(Task.workspace_id).where(Task.id == task_id))
    if workspace_id is not None:
        key = int.from_bytes(workspace_id.bytes[8:], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


# A query of task ids, in a column named "id" (nullable where it reads a parent_id).
IdQuery = Select[uuid.UUID] | Select[uuid.UUID | None]


def _reachable(
    session: AsyncSession | str,
    name: str,
    *,
    start: IdQuery,
    step: Callable[[ColumnElement[uuid.UUID]], IdQuery],
) -> CTE:
    """The ids reachable from `start` by repeating `step`, each once: a recursive CTE.

    `step(id)` selects the ids one link away from `id`, as a column named "id". Cycles in
    the data end the walk instead of looping, and its depth costs nothing in Python.
    On PostgreSQL each step runs as a LATERAL lookup per row (OFFSET 0 keeps the planner
    from flattening it into a join): as a join, the planner hashes the whole table once per
    level for want of better statistics, which is quadratic on a chain 1,500 deep.
    """
    found = start.cte(name, recursive=True)
    dialect = session if isinstance(session, str) else _dialect(session)
    if dialect == "postgresql":
        nearby = step(found.c.id).offset(0).lateral(f"{name}_step")
        return found.union(select(nearby.c.id).select_from(found).join(nearby, true()))
    return found.union(step(found.c.id))


def _children_ids(parent_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
    return select(Task.id).where(Task.parent_id == parent_id)


# The walks every completion and trashing makes are built once per dialect, with a bind
# parameter for the task: building a recursive statement costs more than running it.
@lru_cache(maxsize=8)
def _descendant_ids_statement(dialect: str) -> Select[uuid.UUID]:
    tree = _reachable(
        dialect, "tree", start=_children_ids(bindparam("task_id", type_=Uuid())), step=_children_ids
    )
    return select(tree.c.id)


def _live_children(parent_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
    return _children_ids(parent_id).where(Task.deleted_at.is_(None))


@lru_cache(maxsize=8)
def _live_subtree_statement(dialect: str) -> Select[Task]:
    tree = _reachable(
        dialect,
        "live_tree",
        start=_live_children(bindparam("task_id", type_=Uuid())),
        step=_live_children,
    )
    return select(Task).join(tree, tree.c.id == Task.id).order_by(Task.created_at, Task.id)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def descendants(session: AsyncSession, task_id: uuid.UUID) -> Sequence[Task]:
    """Every live task below this one, at any depth."""
    ids = _descendant_ids_statement(_dialect(session)).subquery()
    query = select(Task).join(ids, ids.c.id == Task.id).where(Task.deleted_at.is_(None))
    return (await session.scalars(query, {"task_id": task_id})).all()


async def live_subtree(session: AsyncSession, task_id: uuid.UUID) -> Sequence[Task]:
    """The live tasks below this one, reached through live tasks only."""
    statement = _live_subtree_statement(_dialect(session))
    return (await session.scalars(statement, {"task_id": task_id})).all()


async def deleted_together(
    session: AsyncSession, task_id: uuid.UUID, *, deleted_at: datetime
) -> Sequence[Task]:
    """The tasks below this one trashed at `deleted_at`, reached through such tasks only."""

    def trashed_children(parent_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
        return _children_ids(parent_id).where(Task.deleted_at == deleted_at)

    tree = _reachable(
        session,
        "trashed_tree",
        start=trashed_children(literal(task_id, Uuid())),
        step=trashed_children,
    )
    return (await session.scalars(select(Task).join(tree, tree.c.id == Task.id))).all()


async def ancestor_ids(session: AsyncSession, task_id: uuid.UUID) -> set[uuid.UUID]:
    """The tasks above this one: its parent, the parent's parent, and so on."""

    def parent_of(child_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID | None]:
        return select(Task.parent_id.label("id")).where(
            Task.id == child_id, Task.parent_id.is_not(None)
        )

    up = _reachable(session, "up", start=parent_of(literal(task_id, Uuid())), step=parent_of)
    return set(await session.scalars(select(up.c.id)))


async def next_occurrence_of(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    task: Task | None = await session.scalar(select(Task).where(Task.previous_id == task_id))
    return task


async def other_open_occurrence(session: AsyncSession, task: Task) -> Task | None:
    """An open, live occurrence of the task's series other than the task itself."""
    query = select(Task).where(
        Task.series_id == task.series_id,
        Task.id != task.id,
        Task.deleted_at.is_(None),
        Task.status.in_(("todo", "in_progress", "blocked")),
    )
    found: Task | None = await session.scalar(query.limit(1))
    return found


_ANY_CHILD = exists().where(Task.parent_id == bindparam("task_id"))
_OPEN_CHILD = exists().where(
    Task.parent_id == bindparam("task_id"),
    Task.deleted_at.is_(None),
    Task.status.in_(("todo", "in_progress", "blocked")),
)
_CHILDREN = select(_ANY_CHILD, _OPEN_CHILD)


async def children_of(session: AsyncSession, task_id: uuid.UUID) -> tuple[bool, bool]:
    """(has the task subtasks at all, in the trash or not; has it open live ones)."""
    row = (await session.execute(_CHILDREN, {"task_id": task_id})).one()
    return bool(row[0]), bool(row[1])


@lru_cache(maxsize=4)
def _subtask_counts_statement(dialect: str) -> Select[Any]:
    """One grouped read over the parent_id index (migration 0001) for a page's tasks.

    On PostgreSQL the ids go as one array, `= ANY($1)`, and the closed statuses are written
    into the SQL: the statement is the same for every page, so it is compiled once and can
    run on the driver itself (db.driver), as the page did. SQLite takes an IN list.
    """
    parent = tasks_table.c.parent_id
    if dialect == "postgresql":
        among = parent == any_(bindparam("task_ids", type_=postgresql.ARRAY(Uuid())))
    else:
        among = parent.in_(bindparam("task_ids", expanding=True))
    closed = tasks_table.c.status.in_([literal_column(f"'{s}'") for s in CLOSED_STATUSES])
    return (
        select(parent, func.count().label("subtasks"), func.count().filter(closed).label("done"))
        .where(among, tasks_table.c.deleted_at.is_(None))
        .group_by(parent)
    )


async def subtask_counts(session: AsyncSession, task_ids: Sequence[uuid.UUID]) -> SubtaskCounts:
    """Of each of these tasks (up to a page: MAX_LIMIT + 1), its live direct subtasks: how
    many, how many closed. Tasks without any are left out. One statement, whatever the page."""
    if not task_ids:
        return {}
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the request changed (a PATCH, a completion's copies) counts
    connection = await session.connection()
    statement = _subtask_counts_statement(connection.dialect.name)
    rows = await fetch_all(connection, statement, {"task_ids": list(task_ids)})
    return {row[0]: (row[1], row[2]) for row in rows}


# --- tags on tasks ------------------------------------------------------------------


async def tag_ids_of(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The tag ids of each of these tasks (tasks without tags are left out)."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chunk in _chunks(task_ids):
        query = select(TaskTag.task_id, TaskTag.tag_id).where(TaskTag.task_id.in_(chunk))
        for task_id, tag_id in (await session.execute(query)).all():
            found.setdefault(task_id, []).append(tag_id)
    return found


async def task_tag_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await session.scalars(select(TaskTag.tag_id).where(TaskTag.task_id == task_id)))


def add_task_tags(
    session: AsyncSession, *, task_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> None:
    """Link a new task to its tags (written with the next flush)."""
    session.add_all(TaskTag(task_id=task_id, tag_id=tag_id) for tag_id in dict.fromkeys(tag_ids))


# A new task, every column given: the statement is built once, like the list's.
_INSERT_TASK = insert(Task).values(
    {column.key: bindparam(column.key, type_=column.type) for column in tasks_table.columns}
)


def task_insert(task: Task) -> Change:
    """The INSERT of a new task with every column set on the object, ready to run.

    A plain Core insert (events.outbox.record_with runs it with the task's event): the unit
    of work would flush the same row at several times the cost. The object stays out of
    the session; it is the value the caller answers with.
    """
    values = {column.key: getattr(task, column.key) for column in tasks_table.columns}
    return Change(statement=_INSERT_TASK, parameters=values)


def task_insert_guarded(task: Task, guard: Select[tuple[uuid.UUID]]) -> Change:
    """`task_insert` for one statement that checks the caller's access itself (PostgreSQL).

    The row is selected from `guard` (`workspaces.access.access_guard`, whose parameters the
    caller adds), which also gives its workspace: no row there, no task. A task with this id
    already there is left alone. Either way nothing is returned, and the caller goes the long
    way to learn why.
    """
    values = {column.key: getattr(task, column.key) for column in tasks_table.columns}
    del values["workspace_id"]
    return Change(statement=_guarded_task_insert(guard), parameters=values)


@lru_cache(maxsize=8)
def _guarded_task_insert(guard: Select[tuple[uuid.UUID]]) -> Insert:
    allowed = guard.cte("guard")
    row = select(
        *(
            allowed.c.workspace_id
            if column.key == "workspace_id"
            else bindparam(column.key, type_=column.type)
            for column in tasks_table.columns
        )
    ).select_from(allowed)
    return (
        postgresql.insert(Task)
        .from_select([column.key for column in tasks_table.columns], row)
        .on_conflict_do_nothing(index_elements=[tasks_table.c.id])
        .returning(tasks_table.c.id)
    )


async def link_task_tags(
    session: AsyncSession, *, task_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> None:
    """Link a new task to its tags, now (nothing to do without tags)."""
    if not tag_ids:
        return
    connection = await session.connection()
    rows = [{"task_id": task_id, "tag_id": tag_id} for tag_id in dict.fromkeys(tag_ids)]
    await connection.execute(insert(TaskTag), rows)


async def replace_task_tags(
    session: AsyncSession, *, task_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(delete(TaskTag).where(TaskTag.task_id == task_id))
    for tag_id in dict.fromkeys(tag_ids):
        session.add(TaskTag(task_id=task_id, tag_id=tag_id))
    await session.flush()


# --- changes that reach many tasks at once ---------------------------------------------
# A selection names the tasks; they are read (locked) and rewritten a batch at a time,
# keyset-paged by id, so a tag on 10,000 tasks costs a few statements per batch, never
# one round trip per task.


def carrying_tag(tag_id: uuid.UUID) -> ColumnElement[bool]:
    """Tasks that carry a tag, in the trash or not."""
    return tasks_table.c.id.in_(select(TaskTag.task_id).where(TaskTag.tag_id == tag_id))


def assigned_in(workspace_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    """A user's tasks in a workspace, in the trash or not."""
    return (tasks_table.c.workspace_id == workspace_id) & (tasks_table.c.assignee_id == user_id)


def live_in_workspace(workspace_id: uuid.UUID) -> ColumnElement[bool]:
    return (tasks_table.c.workspace_id == workspace_id) & tasks_table.c.deleted_at.is_(None)


def live_in_project_with_subtasks(
    session: AsyncSession, project_id: uuid.UUID, *, trashing_at: datetime
) -> ColumnElement[bool]:
    """A project's live tasks and, in whatever project, every live subtask below them.

    The selection is read again for each batch while the project's tasks are being trashed
    at `trashing_at`: the walk goes on through those, or the subtasks of a task trashed in
    an earlier batch would no longer be reached.
    """
    walkable = Task.deleted_at.is_(None) | (Task.deleted_at == trashing_at)

    def children(parent_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
        return _children_ids(parent_id).where(walkable)

    in_project = select(Task.id).where(Task.project_id == project_id, walkable)
    tree = _reachable(session, "project_tree", start=in_project, step=children)
    return tasks_table.c.id.in_(select(tree.c.id)) & tasks_table.c.deleted_at.is_(None)


async def locked_task_batches(
    session: AsyncSession, selection: ColumnElement[bool], *, batch_size: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """The selected tasks' TASK_READ_COLUMNS, locked, `batch_size` rows at a time by id."""
    after: uuid.UUID | None = None
    while True:
        query = select(*TASK_READ_COLUMNS).where(selection)
        if after is not None:
            query = query.where(tasks_table.c.id > after)
        query = query.order_by(tasks_table.c.id).limit(batch_size).with_for_update()
        rows = (await session.execute(query)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


async def rewrite_tasks(
    session: AsyncSession,
    *,
    values: Sequence[tuple[uuid.UUID, Mapping[str, object]]],
    now: datetime,
) -> None:
    """Set new column values on many tasks (each a new version) in one executemany.

    Every task gets the same columns; rows loaded as ORM objects in this session are not
    refreshed, so a caller rewrites only tasks it has not loaded.
    """
    if not values:
        return
    columns = sorted(values[0][1])
    statement = (
        update(Task)
        .where(Task.id == bindparam("task_id"))
        .values(
            {
                **{name: bindparam(f"new_{name}") for name in columns},
                "version": Task.version + 1,
                "updated_at": bindparam("now", type_=UTCDateTime()),
            }
        )
    )
    parameters = [
        {"task_id": task_id, "now": now, **{f"new_{name}": row[name] for name in columns}}
        for task_id, row in values
    ]
    # On the connection: a plain executemany, not the ORM's update-by-primary-key.
    connection = await session.connection()
    await connection.execute(statement, parameters)


# --- dependencies -------------------------------------------------------------------


async def dependency_exists(
    session: AsyncSession, *, task_id: uuid.UUID, depends_on_id: uuid.UUID
) -> bool:
    return await session.get(TaskDependency, (task_id, depends_on_id)) is not None


async def depends_transitively(
    session: AsyncSession, *, start_id: uuid.UUID, target_id: uuid.UUID
) -> bool:
    """Whether start_id already (transitively) depends on target_id."""

    def depended_on_by(task_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
        return select(TaskDependency.depends_on_id.label("id")).where(
            TaskDependency.task_id == task_id
        )

    chain = _reachable(
        session, "chain", start=depended_on_by(literal(start_id, Uuid())), step=depended_on_by
    )
    return bool(await session.scalar(select(exists().where(chain.c.id == target_id))))


async def delete_dependency(
    session: AsyncSession, *, task_id: uuid.UUID, depends_on_id: uuid.UUID
) -> bool:
    result = await session.execute(
        delete(TaskDependency).where(
            TaskDependency.task_id == task_id, TaskDependency.depends_on_id == depends_on_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


# --- time tracking ------------------------------------------------------------------


async def running_timer(session: AsyncSession, user_id: uuid.UUID) -> TimeLog | None:
    query = select(TimeLog).where(TimeLog.user_id == user_id, TimeLog.stopped_at.is_(None))
    log: TimeLog | None = await session.scalar(query)
    return log


async def list_time_logs(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[TimeLog]:
    query = select(TimeLog).where(TimeLog.task_id == task_id)
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [
        (TimeLog.started_at, False),
        (TimeLog.id, False),
    ]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(TimeLog.started_at, TimeLog.id).limit(limit)
    return (await session.scalars(query)).all()


# --- reminders ----------------------------------------------------------------------


async def list_reminders(session: AsyncSession, task_id: uuid.UUID) -> Sequence[Reminder]:
    query = select(Reminder).where(Reminder.task_id == task_id)
    return (await session.scalars(query.order_by(Reminder.created_at, Reminder.id))).all()


async def reminders_of(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Reminder]]:
    """The reminders of each of these tasks, oldest first (tasks without any left out)."""
    found: dict[uuid.UUID, list[Reminder]] = {}
    for chunk in _chunks(task_ids):
        query = select(Reminder).where(Reminder.task_id.in_(chunk))
        for reminder in await session.scalars(query.order_by(Reminder.created_at, Reminder.id)):
            found.setdefault(reminder.task_id, []).append(reminder)
    return found


def _chunks(ids: Sequence[uuid.UUID], size: int = 500) -> list[Sequence[uuid.UUID]]:
    """Ids in slices small enough for any database's limit on bound parameters."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


async def get_reminder(session: AsyncSession, reminder_id: uuid.UUID) -> Reminder | None:
    return await session.get(Reminder, reminder_id)


async def reschedule_offset_reminders(
    session: AsyncSession, *, task_id: uuid.UUID, due_at: datetime | None
) -> None:
    """Offset reminders follow the due: recompute when they fire."""
    for reminder in await list_reminders(session, task_id):
        if reminder.offset_minutes is not None:
            reminder.fire_at = fire_time(due_at, reminder.offset_minutes)
            reminder.fired_at = reminder.outcome = None
    await session.flush()


def fire_time(due_at: datetime | None, offset_minutes: int) -> datetime | None:
    return None if due_at is None else due_at - timedelta(minutes=offset_minutes)


# --- subtrees, set-based ----------------------------------------------------------------
# Trashing, restoring and cascade-completing a subtree read its ids in one walk, then
# rewrite the tasks through tasks/bulk.py a batch at a time: the selections below name
# one batch of those ids, re-checked under the batch's row locks.


async def descendant_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    """Every task below this one, at any depth, in the trash or not (one query)."""
    statement = _descendant_ids_statement(_dialect(session))
    return list(await session.scalars(statement, {"task_id": task_id}))


async def deleted_together_ids(
    session: AsyncSession, task_id: uuid.UUID, *, deleted_at: datetime
) -> list[uuid.UUID]:
    """The ids of deleted_together(): the tasks below this one trashed at `deleted_at`,
    reached through such tasks only."""

    def trashed_children(parent_id: ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
        return _children_ids(parent_id).where(Task.deleted_at == deleted_at)

    tree = _reachable(
        session,
        "trashed_tree",
        start=trashed_children(literal(task_id, Uuid())),
        step=trashed_children,
    )
    return list(await session.scalars(select(tree.c.id)))


def live_among(ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    return tasks_table.c.id.in_(ids) & tasks_table.c.deleted_at.is_(None)


def open_among(ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    return live_among(ids) & tasks_table.c.status.in_(("todo", "in_progress", "blocked"))


def trashed_at_among(ids: Sequence[uuid.UUID], deleted_at: datetime) -> ColumnElement[bool]:
    return tasks_table.c.id.in_(ids) & (tasks_table.c.deleted_at == deleted_at)


async def open_occurrence_of_any(
    session: AsyncSession, series_ids: Sequence[uuid.UUID]
) -> uuid.UUID | None:
    """A live, open occurrence of one of these series (the id of one), or None."""
    if not series_ids:
        return None
    query = select(Task.id).where(
        Task.series_id.in_(series_ids),
        Task.deleted_at.is_(None),
        Task.status.in_(("todo", "in_progress", "blocked")),
    )
    found: uuid.UUID | None = await session.scalar(query.limit(1))
    return found


async def set_on_tasks(
    session: AsyncSession,
    *,
    ids: Sequence[uuid.UUID],
    values: Mapping[str, object],
    now: datetime,
) -> None:
    """Set the same column values on many tasks (each a new version) in one UPDATE.

    Like rewrite_tasks, rows loaded as ORM objects in this session are not refreshed.
    """
    if not ids:
        return
    statement = (
        update(Task)
        .where(Task.id.in_(ids))
        .values({**values, "version": Task.version + 1, "updated_at": now})
    )
    connection = await session.connection()
    await connection.execute(statement)


async def locked_tasks(session: AsyncSession, selection: ColumnElement[bool]) -> Sequence[Row[Any]]:
    """The selected tasks' TASK_READ_COLUMNS, locked, in one statement (a bounded selection:
    a batch of listed ids)."""
    query = select(*TASK_READ_COLUMNS).where(selection).order_by(tasks_table.c.id)
    return (await session.execute(query.with_for_update())).all()


# --- Statistics (tasks/stats.py) -------------------------------------------------------------

# Completions are counted per quarter of an hour in SQL (every UTC offset in use is a whole
# number of quarter hours), and those buckets put into the viewer's local days in Python:
# the rows grow with the window (at most 96 a day), not with the number of tasks.
QUARTER_HOUR = 900


def _epoch_seconds(column: SQLColumnExpression[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # instants are stored as UTC text
        return sql_cast(func.strftime("%s", column), Integer)
    return func.extract("epoch", column)


async def completions_by_quarter_hour(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_ids: Select[tuple[uuid.UUID]],
    workspace_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> list[tuple[int, int]]:
    """(quarter hours since the epoch, tasks the user completed in it) in [since, until), for
    live tasks of the workspaces given (one of them, if `workspace_id`)."""
    dialect = session.get_bind().dialect.name
    epoch = _epoch_seconds(Task.completed_at, dialect)
    # SQLite divides integers as integers; PostgreSQL's epoch is numeric.
    bucket = (
        epoch / QUARTER_HOUR if dialect == "sqlite" else func.floor(epoch / QUARTER_HOUR)
    ).label("bucket")
    query = (
        select(bucket, func.count())
        .where(
            Task.completed_by == user_id,
            Task.completed_at >= since,
            Task.completed_at < until,
            Task.deleted_at.is_(None),
            Task.workspace_id.in_(workspace_ids),
        )
        .group_by(bucket)
    )
    if workspace_id is not None:
        query = query.where(Task.workspace_id == workspace_id)
    return [(int(b), int(n)) for b, n in (await session.execute(query)).all()]


async def tracked_seconds_by_project(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_ids: Select[tuple[uuid.UUID]],
    workspace_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    now: datetime,
) -> list[tuple[uuid.UUID | None, float]]:
    """(project id or None, seconds) of the user's time logs within [since, until): each log
    counts the part of it inside the window, a running one up to `now`."""
    dialect = session.get_bind().dialect.name
    low, high, current = (int(moment.timestamp()) for moment in (since, until, now))
    started = _epoch_seconds(TimeLog.started_at, dialect)
    stopped = case(
        (TimeLog.stopped_at.is_(None), literal(current)),
        else_=_epoch_seconds(TimeLog.stopped_at, dialect),
    )
    # Portable least/greatest (SQLite has neither by those names).
    begin = case((started > low, started), else_=literal(low))
    end = case((stopped < high, stopped), else_=literal(high))
    seconds = func.sum(case((end > begin, end - begin), else_=literal(0)))
    query = (
        select(Task.project_id, seconds)
        .join(Task, Task.id == TimeLog.task_id)
        .where(
            TimeLog.user_id == user_id,
            TimeLog.started_at < until,
            (TimeLog.stopped_at.is_(None)) | (TimeLog.stopped_at > since),
            Task.workspace_id.in_(workspace_ids),
        )
        .group_by(Task.project_id)
    )
    if workspace_id is not None:
        query = query.where(Task.workspace_id == workspace_id)
    return [(project, float(total or 0)) for project, total in (await session.execute(query)).all()]
