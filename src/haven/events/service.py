"""What other modules may ask of the event log."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.events import repository
from haven.events.models import DeadLetter, Event


async def subject_history(
    session: AsyncSession,
    *,
    subject: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Event]:
    return await repository.list_subject_events(session, subject=subject, after=after, limit=limit)


async def last_position(session: AsyncSession) -> int:
    """The newest published position (0 before the first)."""
    return await repository.last_position(session)


async def change_feed(
    session: AsyncSession,
    *,
    after: int,
    limit: int,
    types: Collection[str] = (),
    type_prefixes: Collection[str] = (),
    workspace_id: uuid.UUID | None = None,
    until: int | None = None,
) -> Sequence[Event]:
    """Published events after a position (up to `until`), in position order, filtered."""
    return await repository.published_events(
        session,
        after=after,
        until=until,
        limit=limit,
        types=types,
        type_prefixes=type_prefixes,
        workspace_id=workspace_id,
    )


async def dead_letters(
    session: AsyncSession, *, consumer: str | None, event_id: uuid.UUID | None, limit: int
) -> Sequence[DeadLetter]:
    return await repository.list_dead_letters(
        session, consumer=consumer, event_id=event_id, limit=limit
    )
