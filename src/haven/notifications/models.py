"""The notifications tables: what a user is told, each channel's delivery, their settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin


class Notification(IdMixin, Base):
    """One thing a user is told, as their inbox (GET /notifications) lists it."""

    __tablename__ = "notifications"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No workspace_id column: a notification is its user's, not a workspace's data (it does
    # not travel in a workspace export); a reminder's task and workspace are in `data`.
    # "reminder" | "digest"
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    # What the templates render from: the task (reminder), the sections (digest).
    data: Mapped[dict[str, Any]]
    # The event it was made from: an event handled again makes no second notification.
    source_event_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("user_id", "source_event_id"),
        Index("ix_notifications_user_id_created_at", "user_id", "created_at", "id"),
    )


class NotificationDelivery(IdMixin, Base):
    """A notification on its way through one channel (to one target of it)."""

    __tablename__ = "notification_deliveries"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE")
    )
    # "email" | "push" | "in_app"
    channel: Mapped[str] = mapped_column(String(16))
    # Which one of the channel's targets ("" when the channel has one: the user's address);
    # a push subscription's id when push fans out per device.
    target: Mapped[str] = mapped_column(String(100), default="")
    # queued -> sent | retrying -> ... -> sent | failed
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    # When it may be sent (quiet hours push it to their end; a retry to its backoff).
    next_attempt_at: Mapped[datetime | None]
    # A claim: who holds it, until when (a sender that died leaves it due again after).
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "target"),
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_created_at", "created_at", "id"),
    )


class NotificationPreference(Base):
    """A user's channels and quiet hours; no row: every channel on, no quiet hours."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[bool] = mapped_column(default=True)
    push: Mapped[bool] = mapped_column(default=True)
    in_app: Mapped[bool] = mapped_column(default=True)
    # "HH:MM" in the user's time zone; both or neither. A window may pass midnight.
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime]
