"""Queries over the events table."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, and_, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.events.models import Event


async def list_subject_events(
    session: AsyncSession,
    *,
    subject: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Event]:
    """A subject's events in commit-time order, keyset-paged on (time, id)."""
    query = select(Event).where(Event.subject == subject)
    if after is not None:
        time, event_id = after
        query = query.where(or_(Event.time > time, and_(Event.time == time, Event.id > event_id)))
    query = query.order_by(Event.time, Event.id).limit(limit)
    return (await session.scalars(query)).all()


# The columns an event row is written with (outbox._columns); `position` comes later.
_EVENT_COLUMNS = tuple(c for c in Event.__table__.columns if c.key != "position")


@lru_cache(maxsize=32)
def _with_event(change: Insert) -> Insert:
    """`change` as a data-modifying CTE of the event's INSERT: one statement (PostgreSQL).

    Built once per change statement; the event's parameters are named event_<column>.
    """
    values = {c.key: bindparam(f"event_{c.key}", type_=c.type) for c in _EVENT_COLUMNS}
    return insert(Event).values(values).add_cte(change.cte("change"))


async def insert_event(session: AsyncSession, row: Mapping[str, Any]) -> None:
    """Insert one event on the session's connection (a Core insert, no unit of work)."""
    connection = await session.connection()
    await connection.execute(insert(Event), row)


async def insert_event_with(
    session: AsyncSession,
    row: Mapping[str, Any],
    *,
    change: Insert,
    parameters: Mapping[str, Any],
) -> None:
    """Run an INSERT and insert its event: one round trip on PostgreSQL, two on SQLite
    (which has no data-modifying CTEs). Both on the session's connection, in its transaction."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        event_parameters = {f"event_{name}": value for name, value in row.items()}
        await connection.execute(_with_event(change), {**parameters, **event_parameters})
    else:
        await connection.execute(change, parameters)
        await connection.execute(insert(Event), row)


async def insert_events(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many events in one statement (batched into multi-row VALUES by the driver)."""
    await session.execute(insert(Event), list(rows))
