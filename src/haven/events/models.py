"""The events table: outbox, audit trail and change feed in one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin


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
    )
