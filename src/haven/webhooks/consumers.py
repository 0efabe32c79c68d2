"""The webhooks consumer: each event becomes one queued delivery per matching endpoint.

The relay's runner calls `handle_event(session, envelope)` inside its transaction, with the
processed-events mark; no HTTP happens here (delivery.py sends). Queuing is idempotent on
(endpoint, event id), so an event handled twice still queues one delivery per endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.ids import new_id
from haven.webhooks import events as webhook_events
from haven.webhooks import repository as repo
from haven.webhooks.service import MAX_ENDPOINTS_PER_WORKSPACE

Handler = Callable[[AsyncSession, Mapping[str, Any]], Awaitable[None]]

_SOURCE_PREFIX: Final = "/workspaces/"


@dataclass(frozen=True, slots=True)
class WebhookConsumer:
    """A consumer as the relay's runner takes it (the shape of haven.events.consumers.Consumer
    on the relay branch): a name, a handler, and the types it wants (empty: every type)."""

    name: str
    handler: Handler
    types: frozenset[str] = frozenset()

    def wants(self, event_type: str) -> bool:
        return not self.types or event_type in self.types


def workspace_of(envelope: Mapping[str, Any]) -> uuid.UUID | None:
    """The workspace an event belongs to, from its CloudEvents source."""
    source = envelope.get("source")
    if not isinstance(source, str) or not source.startswith(_SOURCE_PREFIX):
        return None
    try:
        return uuid.UUID(source.removeprefix(_SOURCE_PREFIX))
    except ValueError:
        return None


async def handle_event(session: AsyncSession, envelope: Mapping[str, Any]) -> None:
    """Queue the event for every enabled endpoint of its workspace whose filter takes it."""
    workspace_id = workspace_of(envelope)
    if workspace_id is None:
        return  # an account's event (source "/"): no workspace's webhooks receive it
    event_type = str(envelope["type"])
    subject = str(envelope.get("subject", ""))
    endpoints = await repo.enabled_endpoints_in(
        session, workspace_id, limit=MAX_ENDPOINTS_PER_WORKSPACE
    )
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "endpoint_id": endpoint.id,
            "event_id": uuid.UUID(str(envelope["id"])),
            "event_type": event_type,
            "payload": dict(envelope),
            "status": repo.PENDING,
            "attempts": 0,
            "attempt_log": [],
            "next_attempt_at": now,
            "lease_token": None,
            "last_status_code": None,
            "last_error": None,
            "created_at": now,
            "finished_at": None,
        }
        for endpoint in endpoints
        if webhook_events.matches(endpoint.event_types, event_type)
        and not webhook_events.is_about_itself(event_type, subject, endpoint.id)
    ]
    await repo.insert_deliveries(session, rows)


WEBHOOK_CONSUMER: Final = WebhookConsumer(name="webhooks", handler=handle_event)
