"""How the relay reads, numbers and publishes a batch (events/relay.py): what it costs the
database, and that its shortcuts keep the guarantees tests/events/test_relay.py proves.

- A batch is read in one statement; its subjects' earlier versions beyond it are found
  through ix_events_unpublished_subject, reading about a batch of rows, not the backlog.
- Its positions are written by one statement.
- Its bodies, built around the stored JSON text, say what `to_message` says.
- On PostgreSQL the next batch is read while the broker works, and dropped when another
  relay numbered events in between.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events import repository
from haven.events.bus.base import Message
from haven.events.bus.memory import MemoryBus
from haven.events.models import Event
from haven.events.outbox import to_message
from haven.events.reading import read_session
from haven.events.relay import Relay
from tests.events.helpers import event_row, positions, task_event, write
from tests.support import statements

# A backlog as the benchmark's (benchmarks/event_pipeline.py), batches of the default size:
# reading the whole backlog beyond a batch would take 40 times a batch's rows.
BACKLOG = 20_000
BATCH = 500


TRICKY_TITLE = 'é ✓ "quoted"'
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Capture:
    """A bus that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[Message] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        self.published.extend(messages)

    def subscribe(self, group: str) -> Any:
        raise NotImplementedError  # the relay only publishes; nothing here subscribes

    async def close(self) -> None:
        return None


async def insert(database: Database, rows: Sequence[dict[str, Any]]) -> None:
    async with database.sessions() as session, session.begin():
        await repository.insert_events(session, rows)


async def test_a_batch_is_read_in_one_statement_and_numbered_in_one(database: Database) -> None:
    await insert(database, [event_row(f"tasks/{n % 40}", n // 40 + 1) for n in range(200)])
    relay = Relay(database, MemoryBus(database), batch_size=150)
    with statements(database) as sent:
        assert await relay.relay_once() == 150
    reads = [sql for sql in sent if "FROM events" in sql and sql.lstrip().startswith("WITH batch")]
    updates = [sql for sql in sent if "UPDATE events" in sql]
    assert len(reads) == 1 + (database.engine.dialect.name == "postgresql")  # + the read-ahead
    assert len(updates) == 1
    assert await positions(database) == list(range(1, 151))


async def test_the_bodies_say_what_to_message_says(database: Database) -> None:
    workspace = uuid.uuid4()
    rows = [
        event_row("tasks/a", 1, workspace_id=workspace, data={"title": TRICKY_TITLE, "x": [1.5]}),
        event_row("tasks/a", 2, traceparent=TRACEPARENT),
        event_row("tasks/b", None, data={}),
        event_row("tasks/c", 1, time=utcnow().replace(microsecond=0)),
    ]
    await insert(database, rows)
    bus = Capture()
    assert await Relay(database, bus).relay_once() == len(rows)
    async with read_session(database) as session:
        stored = {e.id: e for e in await session.scalars(select(Event))}
    assert len(bus.published) == len(rows)
    for message in bus.published:
        expected = to_message(stored[uuid.UUID(message.id)])
        assert orjson.loads(message.body) == orjson.loads(expected.body)
        assert (message.id, message.key, message.type, message.position) == (
            expected.id,
            expected.key,
            expected.type,
            expected.position,
        )


async def test_an_earlier_version_beyond_the_batch_is_read_from_the_subject_index(
    database: Database,
) -> None:
    """A backlog of BACKLOG events, batches of BATCH: the read touches about a batch of
    rows, and finds an earlier version whose id sorts after the batch."""
    await _seed_backlog(database)
    query, parameters = repository._unpublished_batch_statement(database.engine.dialect.name, BATCH)
    async with database.engine.connect() as connection:
        if database.engine.dialect.name == "postgresql":
            compiled = query.compile(dialect=connection.dialect)
            sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled)
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            value = (await connection.exec_driver_sql(sql, params)).scalar_one()
            (plan,) = json.loads(value) if isinstance(value, str) else value
            assert "ix_events_unpublished_subject" in _index_names(plan["Plan"])
            assert _rows_read(plan["Plan"]) < 4 * BATCH, plan
        else:
            explain = text("EXPLAIN QUERY PLAN " + str(query))
            plan_rows = (await connection.execute(explain, parameters)).all()
            details = " | ".join(str(detail) for *_, detail in plan_rows)
            assert "USING INDEX ix_events_unpublished " in details, details
            assert "USING INDEX ix_events_unpublished_subject (subject=?" in details, details
            assert "(position=?)" not in details, details  # the unique index, every NULL
    async with database.sessions() as session, session.begin():
        batch, last = await repository.unpublished_batch(session, limit=BATCH)
    assert last == 0
    assert len(batch) == BATCH + 1
    assert any(event.subject == "tasks/late" and event.entity_version == 1 for event in batch)


async def _seed_backlog(database: Database) -> None:
    """BACKLOG unpublished events, a tenth of them versions of one subject; and tasks/late,
    whose version 2 is in the first batch but version 1 has an id after the backlog's."""
    first = [event_row("tasks/late", 2)]
    rows = [event_row(f"tasks/{n}", 1) for n in range(BACKLOG)]
    for n, one in enumerate(rows[::10], start=1):
        one["subject"], one["entity_version"] = "tasks/busy", n
    late_first_version = event_row("tasks/late", 1)
    await insert(database, [*first, *rows, late_first_version])
    if database.engine.dialect.name == "postgresql":
        async with database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE events"))
    # (SQLite: Haven runs no ANALYZE, so neither does this. After one, SQLite counts each
    # NULL of the unique index on position as a distinct value and reads the unpublished
    # events through it, this read as the one before it.)


def _index_names(plan: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            names.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return names


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the scans of events produced or threw away, over all their loops."""
    total = 0
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Relation Name") == "events":
            produced = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            total += produced * node.get("Actual Loops", 1)
        stack.extend(node.get("Plans", []))
    return total


async def test_a_batch_read_ahead_is_dropped_when_another_relay_numbered_events(
    database: Database,
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the relay reads ahead on PostgreSQL only (SQLite: one relay, no overlap)")
    await write(database, *(task_event(f"tasks/{n}", 1) for n in range(9)))
    first, second = Capture(), Capture()
    ahead, other = Relay(database, first, batch_size=3), Relay(database, second, batch_size=3)
    assert await ahead.relay_once() == 3  # and reads 4-6 ahead
    assert await other.relay_once() == 3  # numbers 4-6 itself
    assert await ahead.relay_once() == 3  # so its batch is read again: 7-9
    assert [m.position for m in first.published] == [1, 2, 3, 7, 8, 9]
    assert [m.position for m in second.published] == [4, 5, 6]
    ids = [m.id for m in first.published + second.published]
    assert len(set(ids)) == 9
    assert await positions(database) == list(range(1, 10))


async def test_an_event_committed_after_the_read_ahead_is_published_next(
    database: Database,
) -> None:
    await write(database, *(task_event(f"tasks/{n}", 1) for n in range(6)))
    bus = Capture()
    relay = Relay(database, bus, batch_size=3)
    assert await relay.relay_once() == 3
    # Committed now, with an id before every other one (another process's clock is behind).
    early = event_row("tasks/early", 1, id=uuid.UUID(int=1 << 76))
    await insert(database, [early])
    while await relay.relay_once():
        pass
    published = [uuid.UUID(m.id) for m in bus.published]
    assert len(published) == 7
    assert len(set(published)) == 7
    assert early["id"] in published
    assert [m.position for m in bus.published] == list(range(1, 8))
    assert await positions(database) == list(range(1, 8))


async def test_a_committed_batch_wakes_listeners_of_haven_positions(database: Database) -> None:
    """The NOTIFY rides in the batch's UPDATE: sent at its commit, not before."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's (SQLite: the in-process signal)")
    heard: asyncio.Queue[str] = asyncio.Queue()
    async with database.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None

        def listen(*args: Any) -> None:
            heard.put_nowait(args[2])  # (connection, pid, channel, payload)

        await raw.add_listener("haven_positions", listen)
        try:
            await write(database, task_event("tasks/a", 1))
            assert await Relay(database, MemoryBus(database)).relay_once() == 1
            assert await asyncio.wait_for(heard.get(), timeout=5) == "haven_positions"
        finally:
            await raw.remove_listener("haven_positions", listen)
