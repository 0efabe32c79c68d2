"""The scheduler's own tables: the digests requested, and the periodic jobs' next runs.

Reminders (tasks.models.Reminder) and digests (users.digest_next_at) keep their due time on
their own rows; these tables hold what has no other home.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base


class DigestRequest(Base):
    """One row per user and local day a digest was asked for: the unique key that keeps a
    day to one digest, whatever the redeliveries, restarts or changes of time zone."""

    __tablename__ = "digest_requests"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    event_id: Mapped[uuid.UUID]
    requested_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(default=False)


class PeriodicJob(Base):
    """A job run on a cron schedule (scheduler/periodic.py): its next run, and its last."""

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
