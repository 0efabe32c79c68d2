"""The ``haven`` command: each subcommand lives in the module of its subject."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from haven.cli import db, demo, events, portability, serve, users, worker
from haven.cli.plumbing import console

app = typer.Typer(
    name="haven",
    help="Haven: a self-hostable home for tasks, calendars and habits.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _show_version(value: bool) -> None:
    if value:
        try:
            console.print(f"haven {version('haven')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            console.print("haven (version unknown)")
        raise typer.Exit


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Haven: a self-hostable home for tasks, calendars and habits."""


# In the order `haven --help` lists them.
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("migrate")(db.migrate)
app.command("createsuperuser")(users.create_superuser)
app.command("seed")(demo.seed)
app.command("export")(portability.export)
app.command("import")(portability.import_)
app.add_typer(events.app, name="events")
