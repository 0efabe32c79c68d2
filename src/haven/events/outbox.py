"""Write domain events into the caller's transaction (the transactional outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.http import dump_json
from haven.core.ids import new_id
from haven.events.models import Event

Changes = Mapping[str, tuple[Any, Any] | list[Any]]


def record_event(
    session: AsyncSession,
    *,
    type: str,
    subject: str,
    actor: str,
    workspace_id: uuid.UUID | None,
    data: Mapping[str, Any],
    version: int | None = None,
    changes: Changes | None = None,
    traceparent: str | None = None,
) -> Event:
    """Add one event to the session: it commits with the change it describes, or not at all."""
    payload = dict(data)
    if changes:
        payload["changes"] = {key: list(pair) for key, pair in changes.items()}
    event = Event(
        id=new_id(),
        type=type,
        source=f"/workspaces/{workspace_id}" if workspace_id else "/",
        subject=subject,
        workspace_id=workspace_id,
        actor=actor,
        entity_version=version,
        time=utcnow(),
        traceparent=traceparent,
        # Stored as the API would write it (UTC instants with Z, ids as strings).
        data=orjson.loads(dump_json(payload)),
    )
    session.add(event)
    return event


def to_cloudevent(event: Event) -> dict[str, Any]:
    """The CloudEvents 1.0 structured form (EVENTS.md)."""
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.id),
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "haven_position": event.position,
        "haven_actor": event.actor,
        "haven_version": event.entity_version,
        "data": event.data,
    }
    if event.traceparent:
        envelope["traceparent"] = event.traceparent
    return envelope
