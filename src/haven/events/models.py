"""The events table (outbox, audit trail and change feed in one) and the pipeline's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin

# Must equal the predicate of the partial indexes of migrations 0007 and 0009.
UNPUBLISHED_SQL: Final = "position IS NULL"


class Event(IdMixin, Base):
    __tablename__ = "events"

    # Assigned by the relay when it publishes: gap-free, increasing, the change-feed cursor.
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    workspace_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(String(200))
    entity_version: Mapped[int | None]
    time: Mapped[datetime]
    traceparent: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_events_subject_time", "subject", "time"),
        Index("ix_events_workspace_id_time", "workspace_id", "time"),
        # What the relay reads: the committed events still waiting for a position. Small
        # (the relay keeps it near empty), so it costs writers almost nothing.
        Index(
            "ix_events_unpublished",
            "id",
            sqlite_where=text(UNPUBLISHED_SQL),
            postgresql_where=text(UNPUBLISHED_SQL),
        ),
        # The relay's pull-in of a batch's earlier versions: a probe per subject instead of
        # a scan of the whole backlog (migration 0009).
        Index(
            "ix_events_unpublished_subject",
            "subject",
            "entity_version",
            sqlite_where=text(UNPUBLISHED_SQL),
            postgresql_where=text(UNPUBLISHED_SQL),
        ),
    )


class ProcessedEvent(Base):
    """An event a consumer has handled: written in the transaction of the consumer's effect."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime]


class DeadLetter(Base):
    """An event a consumer gave up on after its retries; `haven events dlq` shows and replays."""

    __tablename__ = "dead_letters"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    position: Mapped[int | None] = mapped_column(BigInteger)
    envelope: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]


class ConsumerOffset(Base):
    """The memory bus's group offsets: the last position each group acknowledged."""

    __tablename__ = "consumer_offsets"

    group_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
