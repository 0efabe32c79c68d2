"""The saved_searches table: a person's named task search, private to them, in a workspace."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from haven.db.base import Base, IdMixin, TimestampMixin, Versioned


class SavedSearch(IdMixin, TimestampMixin, Versioned, Base):
    __tablename__ = "saved_searches"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Whose it is: nobody else sees it, not even the workspace's owner.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The GET /tasks filters it runs (schemas.SavedSearchQuery), as sent, without nulls.
    query: Mapped[dict[str, Any]]

    __table_args__ = (
        # A person's searches in a workspace, in the order they are listed.
        Index("ix_saved_searches_user_workspace", "user_id", "workspace_id", "created_at", "id"),
    )
