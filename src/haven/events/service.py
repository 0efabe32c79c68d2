"""What other modules may ask of the event log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.events import repository
from haven.events.models import Event


async def subject_history(
    session: AsyncSession,
    *,
    subject: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Event]:
    return await repository.list_subject_events(session, subject=subject, after=after, limit=limit)
