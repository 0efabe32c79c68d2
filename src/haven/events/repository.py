"""Queries over the events table."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
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


async def insert_event(session: AsyncSession, row: Mapping[str, Any]) -> None:
    """Insert one event on the session's connection (a Core insert, no unit of work)."""
    connection = await session.connection()
    await connection.execute(insert(Event), row)


async def insert_events(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many events in one statement (batched into multi-row VALUES by the driver)."""
    await session.execute(insert(Event), list(rows))
