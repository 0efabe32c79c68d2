"""Accounts tables: users, refresh tokens, API keys, OIDC identities, devices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned

# A user's daily digest until they change it: on, at 07:00 of their own day.
DEFAULT_DIGEST_TIME = "07:00"
# The users whose digest the scheduler waits for (must equal migration 0011's).
DIGEST_SCHEDULED_SQL = "digest_next_at IS NOT NULL"


class User(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    # The daily digest, at "HH:MM" of the user's own day (scheduler/digests.py).
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    digest_time: Mapped[str] = mapped_column(String(5), default=DEFAULT_DIGEST_TIME)
    # The scheduler's own state, not part of the profile: the next instant a digest is due
    # (null while off). Kept by scheduler.digests; never bumps the user's version.
    digest_next_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_users_digest_next_at",
            "digest_next_at",
            sqlite_where=text(DIGEST_SCHEDULED_SQL),
            postgresql_where=text(DIGEST_SCHEDULED_SQL),
        ),
    )


class RefreshToken(IdMixin, Base):
    """One refresh token; rotation keeps the family, replaying a used one revokes the family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Identity(IdMixin, Base):
    """A link from an external OIDC subject to a local user."""

    __tablename__ = "identities"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("issuer", "subject"),)


class Device(IdMixin, Base):
    """A user's device and its push token (or Web Push subscription).

    A push token reaches one app install, so it belongs to one device row at a time: the
    SHA-256 of the token is unique, which lets a re-registration find the row (the token
    itself is too long to index on PostgreSQL).
    """

    __tablename__ = "devices"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(32))
    push_token: Mapped[str] = mapped_column(String(4096))
    push_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A Web Push subscription (RFC 8030): `push_token` is its endpoint, these are the
    # browser's keys (base64url); None for an APNs/FCM token.
    web_push_p256dh: Mapped[str | None] = mapped_column(String(100))
    web_push_auth: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
