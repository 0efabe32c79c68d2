"""What tests observe and steer besides data: the events recorded, and Haven's clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import event, select

from haven.core import clock
from haven.db.session import Database
from haven.events.models import Event

# HAVEN_SECRET_KEY of the suite's app: signs its access tokens, seals its webhook secrets.
TEST_SECRET_KEY: Final = "test-secret-key-that-is-long-enough-for-hs256"


async def event_types(database: Database, *, subject_prefix: str = "") -> list[str]:
    """The types of the recorded events, oldest first, optionally for matching subjects."""
    async with database.sessions() as session:
        query = select(Event.type).order_by(Event.time, Event.id)
        if subject_prefix:
            query = query.where(Event.subject.startswith(subject_prefix))
        return list((await session.scalars(query)).all())


def freeze_clock(at: datetime) -> list[datetime]:
    """Freeze haven's clock at `at`; move it by changing the returned list's only element."""
    now = [at]
    clock.set_clock(lambda: now[0])
    return now


def advance(now: list[datetime], **delta: float) -> None:
    now[0] = now[0] + timedelta(**delta)


def fullwidth(text: str) -> str:
    """`text` in the fullwidth forms of its (printable ASCII) characters: "A" -> "\\uff21"."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile (an executemany counts once): those SQLAlchemy runs,
    and on asyncpg those the driver runs by itself (BEGIN and COMMIT of SQLAlchemy's
    transactions, and what `db.driver` hands it), seen by asyncpg's query logger."""
    sent: list[str] = []
    engine = database.engine.sync_engine
    logged: list[Any] = []

    def on_statement(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    def on_query(record: Any) -> None:
        sent.append(record.query)

    def on_checkout(dbapi_connection: Any, *_: object) -> None:
        driver = dbapi_connection.driver_connection
        if hasattr(driver, "add_query_logger"):  # asyncpg's (SQLite's driver has none)
            driver.add_query_logger(on_query)
            logged.append(driver)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine.pool, "checkout", on_checkout)
        for driver in logged:
            driver.remove_query_logger(on_query)
