"""Write domain events into the caller's transaction (the transactional outbox).

Events are made by one typed builder per domain (`tasks/events.py`, `projects/events.py`,
…): a builder knows its event's type, subject and payload, so a service only says what
happened — `record(session, task_events.completed(task, before=..., actor=...))`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Insert
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.http import dump_json
from haven.core.ids import new_id
from haven.db.session import statement_alone
from haven.events import repository
from haven.events.bus.base import MAX_BODY_BYTES, Message
from haven.events.models import Event
from haven.events.signals import WROTE_EVENTS, events_committed

# A resource as its API shows it (ids and instants not yet JSON), e.g. GET /tasks/{id}.
State = Mapping[str, object]
# Each field that moved in a change: [old, new], the way `data.changes` carries it.
Changes = dict[str, list[object]]

# What moves on every change and says nothing about what the change was.
_ALWAYS_MOVING: Final = frozenset({"version", "updated_at"})


def changes_between(before: State, after: State) -> Changes:
    """Every field whose value differs between two states of one resource, as [old, new]."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name not in _ALWAYS_MOVING and before.get(name) != value
    }


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One thing that happened, ready to record: what the domain builders return."""

    type: str
    subject: str
    actor: str
    workspace_id: uuid.UUID | None
    # The entity's version after the change (None for entities without one).
    version: int | None
    data: Mapping[str, object]
    # The event's id, when the caller must know it before the write (it keeps it with
    # what it scheduled); otherwise a new UUIDv7.
    id: uuid.UUID | None = None


# What a builder of many events at once returns (an import's `*.created` events, …).
EventList = list[DomainEvent]


def record(session: AsyncSession, event: DomainEvent) -> Event:
    """Add one event to the session: it commits with the change it describes, or not at all."""
    row = Event(**_columns(event))
    session.add(row)
    # After the commit, wake the relay in this process (events/signals.py); PostgreSQL
    # wakes relays elsewhere itself (migration 0007's NOTIFY trigger).
    session.info[WROTE_EVENTS] = True
    return row


@dataclass(frozen=True, slots=True)
class Change:
    """A prepared INSERT and its parameters: the change an event describes, not yet run."""

    statement: Insert
    parameters: Mapping[str, Any]


async def record_now(session: AsyncSession, event: DomainEvent) -> None:
    """Write one event at once with a plain INSERT, in the caller's transaction.

    The same guarantee as `record`, without an ORM object for the commit to flush (that
    flush costs about as much as the rest of a small change).
    """
    await repository.insert_event(session, _columns(event))
    session.info[WROTE_EVENTS] = True


async def record_with(session: AsyncSession, event: DomainEvent, *, change: Change) -> None:
    """Run `change` and write its event together, in the caller's transaction.

    For hot paths written with Core instead of the unit of work (a task's create): on
    PostgreSQL the change and its event are one statement, so one round trip.
    """
    await repository.insert_event_with(
        session, _columns(event), change=change.statement, parameters=change.parameters
    )
    session.info[WROTE_EVENTS] = True


async def record_alone(session: AsyncSession, event: DomainEvent, *, change: Change) -> bool:
    """Run a guarded `change` and write its event in one statement that commits on its own,
    outside the session's transaction (PostgreSQL; `db.session.statement_alone`).

    For a change that is the whole write: it spares the transaction's BEGIN and COMMIT. The
    change selects its row from a guard (an access check) and returns it; where the guard
    gives no row, nothing is written, no event either, and this answers False.
    """
    async with statement_alone(session) as connection:
        wrote = await repository.insert_event_after(
            connection, _columns(event), change=change.statement, parameters=change.parameters
        )
    if wrote:
        events_committed.ring()
    return wrote


async def record_all(session: AsyncSession, events: Iterable[DomainEvent]) -> None:
    """Write many events with one set-based insert (a bulk change writes one per resource)."""
    rows = [_columns(event) for event in events]
    if rows:
        await repository.insert_events(session, rows)
        session.info[WROTE_EVENTS] = True


def _columns(event: DomainEvent) -> dict[str, Any]:
    return {
        "id": event.id or new_id(),
        "type": event.type,
        "source": f"/workspaces/{event.workspace_id}" if event.workspace_id else "/",
        "subject": event.subject,
        "workspace_id": event.workspace_id,
        "actor": event.actor,
        "entity_version": event.version,
        "time": utcnow(),
        "traceparent": None,
        # Stored as the API would write it (UTC instants with Z, ids as strings).
        "data": orjson.loads(dump_json(event.data)),
    }


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


def to_message(event: Event, *, position: int | None = None) -> Message:
    """The event as the bus carries it, at `position` (default: the event's own).

    An envelope larger than a broker takes (bus.base.MAX_BODY_BYTES: a task with a huge
    description) travels without its `data`, marked `"haven_data_omitted": true`; the
    consumer reads the state from the API or the event log. Refused whole, it would stop
    the relay for good: the broker would refuse it again on every retry.
    """
    envelope = to_cloudevent(event)
    if position is not None:
        envelope["haven_position"] = position
    body = orjson.dumps(envelope)
    if len(body) > MAX_BODY_BYTES:
        envelope.pop("data", None)
        envelope["haven_data_omitted"] = True
        body = orjson.dumps(envelope)
    return Message(
        id=envelope["id"],
        key=str(event.workspace_id) if event.workspace_id else "",
        type=event.type,
        position=int(envelope["haven_position"]),
        body=body,
    )


# orjson writes a UTC instant as to_cloudevent does: RFC 3339 with Z.
_RELAY_JSON_OPTIONS: Final = orjson.OPT_UTC_Z


def to_message_with_stored_data(event: repository.Unpublished, *, position: int) -> Message:
    """`to_message` for a row as the relay reads it (and the memory bus reads its log):
    `event.data` is the JSON text the database holds, put into the body as it is instead
    of being decoded and encoded again (half of what the relay's process spent per event).

    The body carries the same members as to_message's, `data` last; the text is the
    database's (PostgreSQL writes a space after each colon and comma), so it may differ
    from to_message's in whitespace, never in value.
    """
    event_id = str(event.id)
    head: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time,
        "datacontenttype": "application/json",
        "haven_position": position,
        "haven_actor": event.actor,
        "haven_version": event.entity_version,
    }
    if event.traceparent:
        head["traceparent"] = event.traceparent
    encoded = orjson.dumps(head, option=_RELAY_JSON_OPTIONS)
    body = b"".join((encoded[:-1], b',"data":', event.data.encode(), b"}"))
    if len(body) > MAX_BODY_BYTES:  # see to_message
        head["haven_data_omitted"] = True
        body = orjson.dumps(head, option=_RELAY_JSON_OPTIONS)
    return Message(
        id=event_id,
        key=str(event.workspace_id) if event.workspace_id else "",
        type=event.type,
        position=position,
        body=body,
    )
