"""``haven export`` and ``haven import``: one workspace as a JSON document, and back."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from haven.cli.plumbing import (
    DatabaseUrl,
    console,
    errors,
    fail,
    load_settings,
    run,
    transaction,
)
from haven.portability import ImportReport, export_workspace, import_workspace


def export(
    workspace_id: Annotated[uuid.UUID, typer.Argument(help="The workspace to export.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: standard output).", show_default=False
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write one workspace, with everything in it, as a JSON document."""
    settings = load_settings(database_url)

    async def read() -> dict[str, Any]:
        # One snapshot: REPEATABLE READ on PostgreSQL (a SQLite transaction already is one).
        async with transaction(settings, isolation_level="REPEATABLE READ") as session:
            return await export_workspace(session, workspace_id=workspace_id)

    document = run(read())
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    summary = (
        f"workspace {escape(document['workspace']['name'])!r}: {len(document['tasks'])} tasks, "
        f"{len(document['projects'])} projects, {len(document['events'])} events"
    )
    if output is None:
        sys.stdout.write(data.decode())
        sys.stdout.flush()
        errors.print(f"[green]✓[/] exported {summary}")
        return
    write_atomically(output, data)
    console.print(f"[green]✓[/] exported {summary} to {escape(str(output))}")


def write_atomically(path: Path, data: bytes) -> None:
    """Never leave half a backup behind: write a sibling file, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def import_(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A `haven export` file."),
    ],
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            metavar="EMAIL",
            help="An existing user who becomes an owner of the imported workspace.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Recreate an exported workspace, with the same ids, in one transaction."""
    try:
        document = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        fail(f"{file} is not a JSON document ({exc})")
    settings = load_settings(database_url)

    async def write() -> ImportReport:
        async with transaction(settings) as session:
            return await import_workspace(
                session,
                document=document,
                owner_email=owner,
                secret_key=settings.resolved_secret_key(),
            )

    report = run(write())
    for warning in report.warnings:
        errors.print(f"[yellow]warning:[/] {escape(warning)}")
    table = Table(title=f"Imported {escape(report.workspace_name)} ({report.workspace_id})")
    table.add_column("rows")
    table.add_column("count", justify="right")
    for key, count in report.counts.items():
        table.add_row(key, str(count))
    console.print(table)
