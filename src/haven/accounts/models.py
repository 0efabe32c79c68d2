"""Accounts tables: users, refresh tokens, API keys, OIDC identities, devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned

# What a user's daily digest is until they change it.
DEFAULT_DIGEST: dict[str, Any] = {"enabled": False, "hour": 8}


class User(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    # Daily digest: {"enabled": bool, "hour": 0-23} in the user's timezone.
    digest: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @property
    def digest_settings(self) -> dict[str, Any]:
        """The digest settings, with the defaults for what the user never set."""
        return {**DEFAULT_DIGEST, **(self.digest or {})}


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
