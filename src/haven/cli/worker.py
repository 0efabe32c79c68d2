"""``haven worker``: the event relay and the consumers (events/worker.py), until told to stop."""

from __future__ import annotations

import asyncio
import signal

from rich.markup import escape

from haven.cli.plumbing import (
    DatabaseUrl,
    console,
    load_settings,
    masked,
    prepare_sqlite_folder,
    run,
)
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.session import Database
from haven.events.worker import Worker
from haven.settings import Settings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def worker(database_url: DatabaseUrl = None) -> None:
    """Run the event relay and the consumers until SIGTERM or Ctrl-C (then drain and stop)."""
    settings = load_settings(database_url)
    console.print(f"database: {escape(masked(settings.effective_database_url))}")
    console.print(f"bus:      {escape(masked(settings.bus_url))}")
    run(work(settings))


async def work(settings: Settings) -> None:
    prepare_sqlite_folder(settings)
    engine = create_engine(settings)
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    try:
        unit = Worker(database, settings)
        loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, unit.stop.set)
        try:
            console.print("worker running (stop with Ctrl-C or SIGTERM)")
            await unit.run()
        finally:
            for number in STOP_SIGNALS:
                loop.remove_signal_handler(number)
    finally:
        await database.dispose()
    console.print("worker stopped")
