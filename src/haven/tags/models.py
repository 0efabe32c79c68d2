"""The tags table: labels, unique per workspace regardless of case."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned


class Tag(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "tags"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Lower-cased name: tags are unique per workspace regardless of case.
    name_key: Mapped[str] = mapped_column(String(100))
    color: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)
