"""Declarative base, naming convention and the column types shared by every module."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator, Uuid, event, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from haven.core.clock import utcnow
from haven.core.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant. Stored as UTC (timestamptz on PostgreSQL), always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg answers timestamptz as aware datetimes in UTC already: no call per value
        # (a page of tasks holds hundreds of instants).
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # asyncpg already answers in UTC
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """A row with a `version` the API exposes as its ETag.

    The version goes up by exactly one per transaction that changes the row, however many
    flushes the service needs on the way; concurrent writers are serialised by row locks
    (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) and compared with If-Match.
    """

    version: Mapped[int] = mapped_column(default=1)


_BUMPED = "haven.versions_bumped"


@event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, _context: Any, _instances: Any) -> None:
    bumped: set[int] = session.info.setdefault(_BUMPED, set())
    now = utcnow()
    for instance in session.dirty:
        if not session.is_modified(instance, include_collections=False):
            continue
        if isinstance(instance, TimestampMixin) and not _was_set(instance, "updated_at"):
            # Set here rather than by the column's onupdate: when one flush updates many
            # rows, the objects would not all hold the instant their rows were given, and
            # the events built from them would disagree with what the API reads back.
            instance.updated_at = now
        if isinstance(instance, Versioned) and id(instance) not in bumped:
            instance.version = (instance.version or 0) + 1
            bumped.add(id(instance))


def _was_set(instance: object, name: str) -> bool:
    return bool(inspect(instance).attrs[name].history.has_changes())


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_bumps(session: Session) -> None:
    session.info.pop(_BUMPED, None)
