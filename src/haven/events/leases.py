"""Who does a job alone in a deployment (the relay, a memory-bus consumer group), and wake-ups.

PostgreSQL: a session-level advisory lock held by a dedicated connection, outside the pool's
rotation for as long as the lease is held. The same connection LISTENs for the lease's
channels, so a notification sets the holder's wake event. The lock goes with its connection:
when the connection dies, `hold()` notices (a closed connection, or a failed ping) and tries
to take the lock again. Whoever loses a lease without noticing can still do no harm: the
relay also takes a transaction-level lock around every batch (events/relay.py).

SQLite: one process owns the database file, so the lease is always held; writers are
serialised by SQLite's write lock anyway. Wake-ups come from the in-process signals.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from haven.events import repository

log = logging.getLogger(__name__)

# How often a held lease checks that its connection (and so its lock) is still alive.
PING_SECONDS = 5.0


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    digest = hashlib.blake2b(f"haven:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease:
    def __init__(
        self,
        engine: AsyncEngine,
        name: str | None,
        *,
        channels: Sequence[str] = (),
        wake: asyncio.Event | None = None,
    ) -> None:
        """`name` None: no lock, only the LISTEN (a reader that just wants the wake-ups)."""
        self._engine = engine
        self._key = lock_key(name) if name is not None else None
        self._channels = tuple(channels)
        self.wake = wake or asyncio.Event()
        self._connection: AsyncConnection | None = None
        self._last_ping = 0.0

    @property
    def is_postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def hold(self) -> bool:
        """True while this process holds the lease (taking it when free)."""
        if not self.is_postgres:
            return True
        loop = asyncio.get_running_loop()
        if self._connection is not None:
            if not await self._alive(loop.time()):
                log.warning("lost the database connection that held a lease; taking it again")
                await self._drop()
            else:
                return True
        return await self._take()

    async def release(self) -> None:
        await self._drop()

    async def _take(self) -> bool:
        try:
            connection = await self._engine.connect()
        except (TimeoutError, OSError) as exc:
            log.warning("cannot reach the database for a lease: %s", exc)
            return False
        except Exception:
            log.exception("cannot open a connection for a lease")
            return False
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            if self._key is not None and not await repository.try_advisory_lock(
                connection, self._key
            ):
                await connection.close()
                return False
            driver = await self._driver(connection)
            for channel in self._channels:
                await driver.add_listener(channel, self._notified)
        except Exception:
            log.exception("cannot take a lease")
            await connection.invalidate()
            await connection.close()
            return False
        self._connection = connection
        self._last_ping = asyncio.get_running_loop().time()
        # Whatever was notified before we listened: look once.
        self.wake.set()
        return True

    async def _alive(self, now: float) -> bool:
        assert self._connection is not None
        driver = await self._driver(self._connection)
        if driver.is_closed():
            return False
        if now - self._last_ping < PING_SECONDS:
            return True
        try:
            await repository.ping(self._connection)
        except Exception:
            return False
        self._last_ping = now
        return True

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Closing the session ends its advisory locks and LISTENs; a pooled connection
            # would keep them, so this one is not returned to the pool.
            await connection.invalidate()
            await connection.close()
        except Exception:  # already gone: so is the lock
            log.debug("closing a lease connection failed", exc_info=True)

    def _notified(self, *_: Any) -> None:
        self.wake.set()

    @staticmethod
    async def _driver(connection: AsyncConnection) -> Any:
        raw = await connection.get_raw_connection()
        return raw.driver_connection
