"""Queries over the events table and the pipeline's tables (relay, consumers, offsets)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple, cast

import asyncpg
from sqlalchemy import (
    Dialect,
    Insert,
    Integer,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TextualSelect

from haven.db.driver import fetch_all, for_driver
from haven.events.models import ConsumerOffset, DeadLetter, Event, ProcessedEvent

# The events table itself, for statements that need no ORM mapping.
EVENTS_TABLE: Final = cast(Table, Event.__table__)


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


@lru_cache(maxsize=32)
def _event_after(change: Insert) -> Insert:
    """`change` (an INSERT ... RETURNING) as a CTE, and the event's INSERT selecting from it:
    the event is written only when the change wrote its row (PostgreSQL)."""
    written = change.cte("change")
    values = select(
        *(bindparam(f"event_{c.key}", type_=c.type) for c in _EVENT_COLUMNS)
    ).select_from(written)
    return insert(Event).from_select([c.key for c in _EVENT_COLUMNS], values).returning(Event.id)


async def insert_event_after(
    connection: AsyncConnection,
    row: Mapping[str, Any],
    *,
    change: Insert,
    parameters: Mapping[str, Any],
) -> bool:
    """Run a guarded INSERT ... RETURNING and, if it wrote its row, insert its event: one
    statement (PostgreSQL). Whether it wrote."""
    event_parameters = {f"event_{name}": value for name, value in row.items()}
    written = await fetch_all(connection, _event_after(change), {**parameters, **event_parameters})
    return bool(written)


async def insert_events(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many events in one statement (batched into multi-row VALUES by the driver).

    Through the table, not the mapped class: the ORM's bulk path costs as much CPU again
    per row, and these rows are never loaded as objects here."""
    await session.execute(insert(EVENTS_TABLE), list(rows))


# --- The relay -------------------------------------------------------------------------


def relay_lock(key: int) -> str:
    """The statement that serialises relay transactions across processes (PostgreSQL; on
    SQLite the write lock does), sent with the BEGIN: every relay transaction takes it
    first, so the last position it reads next is the last committed one, and two relays can
    never number events concurrently."""
    return f"SELECT pg_advisory_xact_lock({int(key)})"


async def last_position(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Event.position), 0))) or 0)


class Unpublished(NamedTuple):
    """A committed event waiting for a position, as the relay reads it: a Core row (no ORM
    object, no identity map), its `data` as the database's JSON text."""

    id: uuid.UUID
    type: str
    source: str
    subject: str
    workspace_id: uuid.UUID | None
    actor: str
    entity_version: int | None
    time: datetime
    traceparent: str | None
    data: str  # the stored JSON text, not decoded: the relay puts it in the body as it is


_UNPUBLISHED_COLUMNS = tuple(
    each.cast(Text()).label("data") if each.key == "data" else each
    for each in (cast(Table, Event.__table__).c[name] for name in Unpublished._fields)
)


@lru_cache(maxsize=16)
def _unpublished_batch(limit: int) -> Select[Any]:
    """The batch read on PostgreSQL (see `unpublished_batch`), built once per batch size."""
    events = cast(Table, Event.__table__)
    batch = (
        select(*_UNPUBLISHED_COLUMNS)
        .where(events.c.position.is_(None))
        .order_by(events.c.id)
        .limit(limit)
        .cte("batch")
    )
    newest = (
        select(batch.c.subject, func.max(batch.c.entity_version).label("version"))
        .where(batch.c.entity_version.is_not(None))
        .group_by(batch.c.subject)
        .cte("newest")
    )
    # One probe of ix_events_unpublished_subject per subject of the batch, whatever the
    # backlog holds. As a join, the planner guesses that a third of the backlog lies beyond
    # the batch (it cannot know the batch's last id) and, for a batch of many subjects,
    # reads all of it instead; OFFSET 0 keeps the lateral subquery a subquery, run once per
    # subject. (The batch's last id: PostgreSQL has no max(uuid).)
    probe = (
        select(*_UNPUBLISHED_COLUMNS)
        .where(
            events.c.subject == newest.c.subject,
            events.c.entity_version < newest.c.version,
            events.c.position.is_(None),
            events.c.id > select(batch.c.id).order_by(batch.c.id.desc()).limit(1).scalar_subquery(),
        )
        .offset(0)
        .lateral("probe")
    )
    earlier = select(*probe.c).select_from(newest.join(probe, true()))
    both = union_all(select(*batch.c), earlier).subquery("unpublished")
    last = select(func.coalesce(func.max(events.c.position), 0)).scalar_subquery()
    return select(*both.c, last.label("last_position"))


# The same read on SQLite, which would otherwise take `position IS NULL` to the unique index
# on position (an equality on a unique index: one row, it guesses) and read every
# unpublished event, twice; INDEXED BY names the partial indexes (SQLAlchemy renders no
# SQLite table hints, hence the text).
_UNPUBLISHED_BATCH_SQLITE = text(
    """
WITH batch AS (
    SELECT id, type, source, subject, workspace_id, actor, entity_version, time, traceparent,
           CAST(data AS TEXT) AS data
    FROM events INDEXED BY ix_events_unpublished
    WHERE position IS NULL
    ORDER BY id
    LIMIT :limit
),
newest AS (
    SELECT subject, max(entity_version) AS version
    FROM batch
    WHERE entity_version IS NOT NULL
    GROUP BY subject
)
SELECT unpublished.*, (SELECT coalesce(max(position), 0) FROM events) AS last_position
FROM (
    SELECT * FROM batch
    UNION ALL
    SELECT e.id, e.type, e.source, e.subject, e.workspace_id, e.actor, e.entity_version,
           e.time, e.traceparent, CAST(e.data AS TEXT)
    FROM newest
    JOIN events AS e INDEXED BY ix_events_unpublished_subject
      ON e.subject = newest.subject AND e.entity_version < newest.version
    WHERE e.position IS NULL AND e.id > (SELECT max(id) FROM batch)
) AS unpublished
"""
).columns(*_UNPUBLISHED_COLUMNS, column("last_position", Integer()))


def _unpublished_batch_statement(
    dialect: str, limit: int
) -> tuple[Select[Any] | TextualSelect, dict[str, int]]:
    if dialect == "sqlite":
        return _UNPUBLISHED_BATCH_SQLITE, {"limit": limit}
    return _unpublished_batch(limit), {}


async def unpublished_batch(session: AsyncSession, *, limit: int) -> tuple[list[Unpublished], int]:
    """The oldest `limit` committed events without a position (the partial index
    ix_events_unpublished), the unpublished earlier versions of their subjects whose ids
    sort later, and the last position given: one statement, so one snapshot.

    Ids are UUIDv7, but clocks of different processes disagree, while an entity's versions
    are committed strictly in order (row locks): an earlier version may sort after the
    batch, and must be published first. (Where the batch is under `limit`, it holds every
    event of the snapshot and the second part finds nothing.) In no particular order.
    """
    connection = await session.connection()
    statement, parameters = _unpublished_batch_statement(connection.dialect.name, limit)
    result = await connection.execute(statement, parameters)
    rows = result.all()
    if not rows:
        return [], 0
    width = len(Unpublished._fields)
    return [Unpublished._make(row[:width]) for row in rows], int(rows[0][width])


async def unpublished_batch_on_driver(
    driver: asyncpg.Connection, dialect: Dialect, *, limit: int
) -> tuple[list[Unpublished], int]:
    """`unpublished_batch` on PostgreSQL, run by the driver in the relay's transaction
    (db.driver.transaction)."""
    statement = for_driver(_unpublished_batch(limit), dialect)
    rows = await driver.fetch(statement.sql, *statement.arguments({}))
    if not rows:
        return [], 0
    width = len(Unpublished._fields)
    return [Unpublished._make(tuple(row)[:width]) for row in rows], int(rows[0][width])


async def last_position_on_driver(driver: asyncpg.Connection) -> int:
    return int(await driver.fetchval("SELECT coalesce(max(position), 0) FROM events"))


# One statement for a whole batch: an executemany would send an UPDATE per event, and
# PostgreSQL runs each on its own (500 executor starts per relay batch). The notification
# wakes readers in other processes when the relay's transaction commits (a data-modifying
# CTE runs to completion whether or not the query reads it).
_ASSIGN_POSITIONS_PG = (
    "WITH numbered AS ("
    "UPDATE events SET position = batch.position"
    " FROM unnest($1::uuid[], $2::bigint[]) AS batch(id, position)"
    " WHERE events.id = batch.id"
    " RETURNING events.id"
    ") SELECT pg_notify('haven_positions', '')"
)


async def assign_positions_on_driver(
    driver: asyncpg.Connection, positions: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """Give each event its position on PostgreSQL, in the relay's transaction on the driver:
    one statement, which also wakes the change-feed readers of other processes at commit
    (NOTIFY haven_positions)."""
    if positions:
        await driver.execute(
            _ASSIGN_POSITIONS_PG,
            [event_id for event_id, _ in positions],
            [position for _, position in positions],
        )


async def assign_positions(
    session: AsyncSession, positions: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """Give each event its position (SQLite: one executemany, Core, no identity-map
    bookkeeping; PostgreSQL's relay uses `assign_positions_on_driver`)."""
    if not positions:
        return
    table = cast(Table, Event.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(position=bindparam("b_position"))
    )
    connection = await session.connection()
    await connection.execute(
        statement, [{"b_id": event_id, "b_position": position} for event_id, position in positions]
    )


# --- Reading the change feed ------------------------------------------------------------


async def published_events(
    session: AsyncSession,
    *,
    after: int,
    limit: int,
    types: Collection[str] = (),
    type_prefixes: Collection[str] = (),
    workspace_id: uuid.UUID | None = None,
    until: int | None = None,
) -> list[Event]:
    """Published events with position > `after` (and <= `until`), in position order."""
    query = select(Event).where(Event.position > after)
    if until is not None:
        query = query.where(Event.position <= until)
    matches: list[ColumnElement[bool]] = [Event.type.in_(sorted(types))] if types else []
    matches += [Event.type.startswith(prefix, autoescape=True) for prefix in type_prefixes]
    if matches:
        query = query.where(or_(*matches))
    if workspace_id is not None:
        query = query.where(Event.workspace_id == workspace_id)
    query = query.order_by(Event.position).limit(limit)
    return list((await session.scalars(query)).all())


# --- Consumers ---------------------------------------------------------------------------


_PUBLISHED_ROWS = (
    select(*_UNPUBLISHED_COLUMNS, Event.__table__.c.position)
    .where(Event.position > bindparam("after"))
    .order_by(Event.position)
    .limit(bindparam("limit"))
)


async def published_rows(
    session: AsyncSession, *, after: int, limit: int
) -> list[tuple[Unpublished, int]]:
    """Published events with position > `after`, in position order, as the relay read them
    (plain rows, `data` the stored JSON text) with their positions: the memory bus's log,
    read many times a second. On an autocommit session, a read on the driver itself."""
    connection = await session.connection()
    rows = await fetch_all(connection, _PUBLISHED_ROWS, {"after": after, "limit": limit})
    width = len(Unpublished._fields)
    return [(Unpublished._make(tuple(row)[:width]), int(row[width])) for row in rows]


async def is_settled(session: AsyncSession, *, consumer: str, event_id: uuid.UUID) -> bool:
    """Whether the consumer has handled this event, or given up on it (a dead letter)."""
    processed = select(ProcessedEvent.event_id).where(
        ProcessedEvent.consumer == consumer, ProcessedEvent.event_id == event_id
    )
    dead = select(DeadLetter.event_id).where(
        DeadLetter.consumer == consumer, DeadLetter.event_id == event_id
    )
    found = await session.scalar(select(exists(processed) | exists(dead)))
    return bool(found)


async def mark_processed(
    session: AsyncSession, *, consumer: str, event_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        insert(ProcessedEvent).values(consumer=consumer, event_id=event_id, processed_at=at)
    )


async def claim(session: AsyncSession, *, consumer: str, event_id: uuid.UUID, at: datetime) -> bool:
    """Mark the event processed unless it is already settled (processed or dead-lettered):
    True when this transaction made the mark. One round trip; on PostgreSQL a concurrent
    claim of the same event waits for this transaction and then finds it settled."""
    dead = select(DeadLetter.event_id).where(
        DeadLetter.consumer == consumer, DeadLetter.event_id == event_id
    )
    values = select(
        literal(consumer, String()).label("consumer"),
        literal(event_id, Uuid()).label("event_id"),
        literal(at, ProcessedEvent.__table__.c.processed_at.type).label("processed_at"),
    ).where(~exists(dead))
    upsert = sqlite_insert if _dialect(session) == "sqlite" else postgresql_insert
    processed = cast(Table, ProcessedEvent.__table__)  # Core: no ORM bulk-insert machinery
    statement = (
        upsert(processed)
        .from_select(["consumer", "event_id", "processed_at"], values)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(processed.c.event_id)
    )
    return (await session.execute(statement)).first() is not None


# `claim` for many events in one statement (PostgreSQL): a shared transaction's marks.
_CLAIM_MANY_PG = text(
    "INSERT INTO processed_events (consumer, event_id, processed_at)"
    " SELECT given.consumer, claimed.id, CAST(:at AS timestamptz)"
    " FROM (SELECT CAST(:consumer AS varchar) AS consumer) AS given,"
    "   unnest(CAST(:ids AS uuid[])) AS claimed(id)"
    " WHERE NOT EXISTS (SELECT 1 FROM dead_letters AS dead"
    "   WHERE dead.consumer = given.consumer AND dead.event_id = claimed.id)"
    " ON CONFLICT (consumer, event_id) DO NOTHING"
    " RETURNING event_id"
).bindparams(bindparam("at", type_=ProcessedEvent.__table__.c.processed_at.type))


async def claim_many(
    session: AsyncSession, *, consumer: str, event_ids: Sequence[uuid.UUID], at: datetime
) -> set[uuid.UUID]:
    """`claim` each event (PostgreSQL: one statement); the ids this transaction marked."""
    if not event_ids:
        return set()
    if _dialect(session) != "postgresql":
        return {
            event_id
            for event_id in event_ids
            if await claim(session, consumer=consumer, event_id=event_id, at=at)
        }
    result = await session.execute(
        _CLAIM_MANY_PG, {"consumer": consumer, "ids": list(event_ids), "at": at}
    )
    return set(result.scalars().all())


async def processed_event_ids(session: AsyncSession, *, consumer: str) -> set[uuid.UUID]:
    query = select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == consumer)
    return set((await session.scalars(query)).all())


async def forget_processed_from(session: AsyncSession, *, consumer: str, position: int) -> int:
    """Forget the consumer's marks (and dead letters) of the events from `position` on."""
    from_there = select(Event.id).where(Event.position >= position)
    forgotten = await session.execute(
        delete(ProcessedEvent).where(
            ProcessedEvent.consumer == consumer, ProcessedEvent.event_id.in_(from_there)
        )
    )
    await session.execute(
        delete(DeadLetter).where(DeadLetter.consumer == consumer, DeadLetter.position >= position)
    )
    return int(getattr(forgotten, "rowcount", 0) or 0)


async def get_dead_letter(
    session: AsyncSession, *, consumer: str, event_id: uuid.UUID
) -> DeadLetter | None:
    return await session.get(DeadLetter, (consumer, event_id))


async def save_dead_letter(session: AsyncSession, letter: DeadLetter) -> None:
    await session.merge(letter)


async def delete_dead_letter(session: AsyncSession, *, consumer: str, event_id: uuid.UUID) -> None:
    await session.execute(
        delete(DeadLetter).where(DeadLetter.consumer == consumer, DeadLetter.event_id == event_id)
    )


async def list_dead_letters(
    session: AsyncSession, *, consumer: str | None, event_id: uuid.UUID | None = None, limit: int
) -> list[DeadLetter]:
    query = select(DeadLetter)
    if consumer is not None:
        query = query.where(DeadLetter.consumer == consumer)
    if event_id is not None:
        query = query.where(DeadLetter.event_id == event_id)
    query = query.order_by(DeadLetter.first_failed_at, DeadLetter.event_id).limit(limit)
    return list((await session.scalars(query)).all())


# --- The memory bus's consumer-group offsets ----------------------------------------------


async def group_offset(session: AsyncSession, *, group: str) -> int:
    query = select(ConsumerOffset.position).where(ConsumerOffset.group_name == group)
    return int(await session.scalar(query) or 0)


async def advance_group_offset(
    session: AsyncSession, *, group: str, position: int, at: datetime
) -> None:
    """Move the group's offset forward to `position` (never back)."""
    upsert = sqlite_insert if _dialect(session) == "sqlite" else postgresql_insert
    statement = upsert(ConsumerOffset).values(group_name=group, position=position, updated_at=at)
    statement = statement.on_conflict_do_update(
        index_elements=[ConsumerOffset.group_name],
        set_={"position": statement.excluded.position, "updated_at": statement.excluded.updated_at},
        where=ConsumerOffset.position < statement.excluded.position,
    )
    await session.execute(statement)


async def set_group_offset(
    session: AsyncSession, *, group: str, position: int, at: datetime
) -> None:
    """Put the group's offset at `position`, forward or back (a replay)."""
    await session.execute(delete(ConsumerOffset).where(ConsumerOffset.group_name == group))
    await session.execute(
        insert(ConsumerOffset).values(group_name=group, position=position, updated_at=at)
    )


# --- Locks and liveness on a dedicated connection (events/leases.py) ----------------------


async def try_advisory_lock(connection: AsyncConnection, key: int) -> bool:
    result = await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
    return bool(result.scalar_one())


async def ping(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT 1"))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
