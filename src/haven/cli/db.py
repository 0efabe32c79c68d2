"""``haven migrate``: bring the database schema up to date, or down to a revision."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from haven.cli.plumbing import (
    DatabaseUrl,
    console,
    fail,
    load_settings,
    masked,
    prepare_sqlite_folder,
)


def migrate(
    revision: Annotated[
        str, typer.Option("--revision", "-r", help="Revision to upgrade to.")
    ] = "head",
    downgrade: Annotated[
        str | None,
        typer.Option(
            "--downgrade",
            metavar="REV",
            help="Downgrade to this revision instead.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Bring the database schema up to date (or down to a revision)."""
    settings = load_settings(database_url)
    url = settings.effective_database_url
    console.print(f"database: {escape(masked(url))}")
    prepare_sqlite_folder(settings)
    if downgrade is not None:
        change_schema(url, to=downgrade, down=True, secret_key=settings.existing_secret_key())
        console.print(f"[green]✓[/] downgraded to {escape(downgrade)}")
    else:
        change_schema(url, to=revision, secret_key=settings.existing_secret_key())
        console.print(f"[green]✓[/] upgraded to {escape(revision)}")


def change_schema(url: str, *, to: str, down: bool = False, secret_key: str | None = None) -> None:
    """Run the migrations up (or down) to a revision; a failure ends the command.

    `secret_key`: the server's key, for migrations that convert encrypted data."""
    # Alembic is imported here: it is slow to import and only these commands need it.
    from alembic.util.exc import CommandError

    from haven.db.migrate import downgrade, upgrade

    try:
        (downgrade if down else upgrade)(url, to, secret_key=secret_key)
    except (CommandError, SQLAlchemyError, OSError, RuntimeError) as exc:
        fail(f"migration failed: {exc}")
