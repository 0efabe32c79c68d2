"""A task's history: its events, oldest first (the audit trail)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.principal import Principal
from haven.events import service as events
from haven.events.models import Event
from haven.tasks.access import task_for


async def task_history(
    session: AsyncSession,
    *,
    principal: Principal,
    task_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Event]:
    await task_for(session, principal, task_id, write=False, include_deleted=True)
    return await events.subject_history(
        session, subject=f"tasks/{task_id}", after=after, limit=limit
    )
