"""The webhooks tables: endpoints and their deliveries (each with its attempts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, JSONType, TimestampMixin, Versioned


class WebhookEndpoint(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "webhook_endpoints"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # Exact types ("haven.task.completed"), one entity's ("haven.task.*"), or all ("*").
    event_types: Mapped[list[str]]
    description: Mapped[str] = mapped_column(String(500), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why Haven disabled it (None when enabled, or when a person disabled it).
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # The signing secret, and the one it replaced while both are valid: sealed
    # (signing.SigningSecrets, AES-GCM under a key derived from HAVEN_SECRET_KEY), never
    # the plain whsec_ value.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    # The first failed attempt since the last success; None while it is healthy.
    failing_since: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class WebhookDelivery(IdMixin, Base):
    """One event on its way to one endpoint; the same event id is never queued twice."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # The webhook-id header: the event's id, the same on every retry.
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    # The CloudEvents envelope sent as the body.
    payload: Mapped[dict[str, Any]]
    # pending -> succeeded | failed
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt is due (pending only); a claim moves it to the lease's end, so
    # a worker that dies mid-attempt leaves the delivery due again once the lease runs out.
    next_attempt_at: Mapped[datetime | None]
    lease_token: Mapped[uuid.UUID | None]
    # Every attempt, oldest first (at most one per step of the retry schedule):
    # {number, started_at, latency_ms, status_code, response_excerpt (<= 1 KB), error}.
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )
