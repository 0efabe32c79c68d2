"""Tasks tables: tasks (with subtasks and series), their tags, dependencies, time, reminders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler

from haven.db.base import Base, IdMixin, TimestampMixin, UTCDateTime, Versioned

# Must equal the condition of migration 0004's index.
OPEN_OCCURRENCE_SQL = (
    "series_id IS NOT NULL AND deleted_at IS NULL AND status IN ('todo', 'in_progress', 'blocked')"
)

# Where empty dates sort in a task list: last, in either direction.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
FAR_PAST = datetime(1, 1, 2, tzinfo=UTC)
# The list indexes cover live tasks only; the trash is listed through the full index.
LIVE_SQL = "deleted_at IS NULL"
# Reminders the scheduler has yet to take (must equal migration 0011's).
PENDING_REMINDERS_SQL = "fired_at IS NULL AND fire_at IS NOT NULL"


def _instant_sql(value: datetime, dialect: str) -> str:
    """A constant instant as each database stores it (SQLite: SQLAlchemy's text form)."""
    day = f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value:%H:%M:%S}"
    return f"'{day}+00'::timestamptz" if dialect == "postgresql" else f"'{day}.000000'"


class _EmptyDate(ColumnElement[datetime]):
    """The instant an empty date sorts as, rendered as a constant (never a parameter).

    An expression index is only used for a query whose expression is the same, and a bound
    parameter is not: the list query and the index must both render this constant.
    """

    inherit_cache = True
    # No state: the class says which instant, so statements using it stay cacheable.
    _traverse_internals = []
    type = UTCDateTime()
    value = FAR_FUTURE


class EmptyDateLast(_EmptyDate):
    """Ascending: empty dates sort after every real one."""

    inherit_cache = True
    value = FAR_FUTURE


class EmptyDateFirst(_EmptyDate):
    """For descending lists: empty dates sort before every real one, so last when reversed."""

    inherit_cache = True
    value = FAR_PAST


@compiles(EmptyDateLast)
@compiles(EmptyDateFirst)
def _compile_empty_date(element: _EmptyDate, compiler: SQLCompiler, **kw: Any) -> str:
    return _instant_sql(element.value, compiler.dialect.name)


def date_sort_expression(column: Any, *, descending: bool) -> ColumnElement[datetime]:
    """What a task list sorts by for a date column: the date, or where empty dates go."""
    empty = EmptyDateFirst() if descending else EmptyDateLast()
    return func.coalesce(column, empty, type_=UTCDateTime())


def _live_index(name: str, *columns: Any) -> Index:
    return Index(name, *columns, sqlite_where=text(LIVE_SQL), postgresql_where=text(LIVE_SQL))


class Task(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "tasks"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="todo")
    # 0 none, 1 low, 2 medium, 3 high, 4 urgent: stored as a rank so it sorts.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[datetime | None]
    due_is_date: Mapped[bool] = mapped_column(default=False)
    start_at: Mapped[datetime | None]
    start_is_date: Mapped[bool] = mapped_column(default=False)
    # The IANA zone in which dates, wall-clock due times and recurrence are understood.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    estimate_minutes: Mapped[int | None]
    # Denormalised for one-query reads; the task_tags / task_dependencies rows are the truth.
    tag_names: Mapped[list[str]] = mapped_column(default=list)
    depends_on: Mapped[list[str]] = mapped_column(default=list)
    recurrence_rule: Mapped[str | None] = mapped_column(String(500))
    recurrence_mode: Mapped[str | None] = mapped_column(String(16))
    recurrence_text: Mapped[str | None] = mapped_column(String(200))
    series_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    series_start: Mapped[datetime | None]
    occurrence_number: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("ix_tasks_workspace_id_created_at", "workspace_id", "created_at", "id"),
        Index("ix_tasks_workspace_id_due_at", "workspace_id", "due_at"),
        # One per sort field of the task list (migration 0005): a page is read in index
        # order within a workspace, the id breaking ties in the sort's direction. Dates
        # have one per direction, because empty dates sort last either way.
        _live_index("ix_tasks_live_created_at", "workspace_id", "created_at", "id"),
        _live_index("ix_tasks_live_updated_at", "workspace_id", "updated_at", "id"),
        _live_index("ix_tasks_live_priority", "workspace_id", "priority", "id"),
        _live_index("ix_tasks_live_progress", "workspace_id", "progress", "id"),
        _live_index("ix_tasks_live_title", "workspace_id", func.lower(text("title")), "id"),
        _live_index(
            "ix_tasks_live_due",
            "workspace_id",
            date_sort_expression(text("due_at"), descending=False),
            "id",
        ),
        _live_index(
            "ix_tasks_live_due_desc",
            "workspace_id",
            date_sort_expression(text("due_at"), descending=True),
            "id",
        ),
        _live_index(
            "ix_tasks_live_start",
            "workspace_id",
            date_sort_expression(text("start_at"), descending=False),
            "id",
        ),
        _live_index(
            "ix_tasks_live_start_desc",
            "workspace_id",
            date_sort_expression(text("start_at"), descending=True),
            "id",
        ),
        # Filters that may be rare: their tasks in the default order, without the others.
        _live_index("ix_tasks_live_status", "workspace_id", "status", "created_at", "id"),
        _live_index("ix_tasks_live_project", "workspace_id", "project_id", "created_at", "id"),
        _live_index("ix_tasks_live_assignee", "workspace_id", "assignee_id", "created_at", "id"),
        # At most one open occurrence per series, enforced by the database under concurrency.
        Index(
            "uq_tasks_open_occurrence",
            "series_id",
            unique=True,
            sqlite_where=text(OPEN_OCCURRENCE_SQL),
            postgresql_where=text(OPEN_OCCURRENCE_SQL),
        ),
    )


class TaskTag(Base):
    __tablename__ = "task_tags"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TaskDependency(Base):
    """task_id cannot be done before depends_on_id."""

    __tablename__ = "task_dependencies"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class TimeLog(IdMixin, Base):
    __tablename__ = "time_logs"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        # One running timer per user, enforced by the database under concurrency too.
        Index(
            "uq_time_logs_running_user",
            "user_id",
            unique=True,
            sqlite_where=text("stopped_at IS NULL"),
            postgresql_where=text("stopped_at IS NULL"),
        ),
    )


class Reminder(IdMixin, Base):
    __tablename__ = "reminders"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    # Either an absolute instant or minutes before the task's due.
    at: Mapped[datetime | None]
    offset_minutes: Mapped[int | None]
    # When it fires: `at`, or due minus offset; null while an offset reminder has no due.
    fire_at: Mapped[datetime | None]
    # Set by the scheduler when it takes the reminder (scheduler/reminders.py), with what
    # became of it (FIRED, LATE, …); both cleared when the reminder is re-timed.
    fired_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]

    __table_args__ = (
        # The scheduler's queue: reminders waiting to fire, in firing order.
        Index(
            "ix_reminders_pending",
            "fire_at",
            sqlite_where=text(PENDING_REMINDERS_SQL),
            postgresql_where=text(PENDING_REMINDERS_SQL),
        ),
    )
