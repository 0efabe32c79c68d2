"""What every ``haven`` command shares: consoles, settings, failing cleanly, one transaction.

Each command reads the settings (``HAVEN_*``; ``--database-url`` overrides the database),
opens its own engine, and owns its transaction: the services it calls never commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.errors import HavenError
from haven.core.logging import configure_logging
from haven.db.engine import create_engine, create_sessionmaker
from haven.settings import Settings

T = TypeVar("T")

# Soft wrap: long paths and commands stay on one line, copyable.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; overrides HAVEN_DATABASE_URL (default: SQLite in the data folder).",
        show_default=False,
    ),
]


def load_settings(database_url: str | None) -> Settings:
    """Fresh settings from the environment (not the process-wide cached ones)."""
    settings = Settings(database_url=database_url) if database_url else Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return settings


def masked(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable database URL>"


def fail(message: str, *, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def prepare_sqlite_folder(settings: Settings) -> None:
    """A SQLite file can only be created in a folder that exists."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; domain and database failures end it with exit code 1."""
    try:
        return asyncio.run(work)
    except HavenError as exc:
        fail(exc.detail)
    except DBAPIError as exc:
        fail(f"database error: {exc.orig}. Is the database reachable and migrated (haven migrate)?")
    except OSError as exc:
        fail(f"cannot reach the database: {exc}")


@asynccontextmanager
async def transaction(
    settings: Settings, *, isolation_level: str | None = None
) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: committed when the block ends, else rolled back."""
    prepare_sqlite_folder(settings)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if isolation_level is not None and engine.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": isolation_level})
            yield session
    finally:
        await engine.dispose()
