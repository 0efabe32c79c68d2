"""``haven serve``: the web API under uvicorn (migrating the embedded database first)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.markup import escape

from haven.cli.db import change_schema
from haven.cli.plumbing import DatabaseUrl, console, masked, prepare_sqlite_folder
from haven.settings import get_settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    reload: Annotated[
        bool, typer.Option("--reload/--no-reload", help="Restart on code changes (development).")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Run database migrations first. Default: yes on the embedded SQLite database.",
            show_default=False,
        ),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve the API only: run the event relay and consumers elsewhere (haven worker).",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the web API with uvicorn, and the worker loops (relay, consumers) in-process."""
    if reload and workers > 1:
        raise typer.BadParameter("--reload cannot be combined with --workers > 1")
    if database_url:
        # The app is built by a factory, possibly in other processes: pass it on by env.
        os.environ["HAVEN_DATABASE_URL"] = database_url
    if no_worker:
        os.environ["HAVEN_SERVE_WORKER"] = "false"
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"Haven serving on [bold]http://{shown_host}:{port}[/] (API docs at /docs)")
    console.print(f"data folder: {escape(str(settings.data_dir))}")
    console.print(f"database:    {escape(masked(url))}")
    if no_worker:
        console.print("--no-worker: API only; run `haven worker` for the event pipeline")
    if settings.is_sqlite if migrate is None else migrate:
        console.print("migrating the database …")
        prepare_sqlite_folder(settings)
        change_schema(url, to="head", secret_key=settings.existing_secret_key())

    import uvicorn  # the server is only needed here; keep the other commands light

    uvicorn.run(
        "haven.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        access_log=False,  # the app logs every request itself
    )
