"""The projects table: a named group of tasks within a workspace."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned


class Project(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "projects"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str | None] = mapped_column(String(16))
    archived: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    # Where it sits in its workspace's list of projects, lowest first (projects/ordering.py).
    position: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_projects_workspace_id_position", "workspace_id", "position"),)
