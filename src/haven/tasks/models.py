"""Tasks tables: tasks (with subtasks and series), their tags, dependencies, time, reminders."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned

# Must equal the condition of migration 0004's index.
OPEN_OCCURRENCE_SQL = (
    "series_id IS NOT NULL AND deleted_at IS NULL AND status IN ('todo', 'in_progress', 'blocked')"
)


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
    fire_at: Mapped[datetime | None] = mapped_column(index=True)
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
