"""The ``haven`` command: serve, migrate, createsuperuser, seed, export, import.

Each command reads the settings (``HAVEN_*``; ``--database-url`` overrides the database),
opens its own engine, and owns its transaction: the services it calls never commit.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import service as accounts
from haven.accounts.principal import Principal
from haven.accounts.schemas import RegisterRequest
from haven.core.clock import utcnow
from haven.core.errors import Conflict, HavenError
from haven.core.logging import configure_logging
from haven.db.engine import create_engine, create_sessionmaker
from haven.portability import ImportReport, export_workspace, import_workspace
from haven.projects import service as projects
from haven.projects.schemas import ProjectCreate
from haven.settings import Settings, get_settings
from haven.tasks import dependencies, series
from haven.tasks import service as tasks
from haven.tasks.schemas import (
    PriorityName,
    RecurrenceIn,
    ReminderIn,
    TaskCreate,
)

T = TypeVar("T")

app = typer.Typer(
    name="haven",
    help="Haven: a self-hostable home for tasks, calendars and habits.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
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


def _version(value: bool) -> None:
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
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Haven: a self-hostable home for tasks, calendars and habits."""


# --- plumbing -----------------------------------------------------------------------------


def _settings(database_url: str | None) -> Settings:
    """Fresh settings from the environment (not the process-wide cached ones)."""
    settings = Settings(database_url=database_url) if database_url else Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return settings


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable database URL>"


def _fail(message: str, *, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _prepare_sqlite_folder(settings: Settings) -> None:
    """A SQLite file can only be created in a folder that exists."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; domain and database failures end it with exit code 1."""
    try:
        return asyncio.run(work)
    except HavenError as exc:
        _fail(exc.detail)
    except DBAPIError as exc:
        _fail(
            f"database error: {exc.orig}. Is the database reachable and migrated (haven migrate)?"
        )
    except OSError as exc:
        _fail(f"cannot reach the database: {exc}")


@asynccontextmanager
async def _transaction(
    settings: Settings, *, isolation_level: str | None = None
) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: committed when the block ends, else rolled back."""
    _prepare_sqlite_folder(settings)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if isolation_level is not None and engine.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": isolation_level})
            yield session
    finally:
        await engine.dispose()


# --- serve --------------------------------------------------------------------------------


@app.command()
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
            help="Serve the API only, without the background worker loops. Reserved: this "
            "version has no worker loops yet, so it changes nothing today.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the web API (and, in a later version, the worker loops) with uvicorn."""
    if reload and workers > 1:
        raise typer.BadParameter("--reload cannot be combined with --workers > 1")
    if database_url:
        # The app is built by a factory, possibly in other processes: pass it on by env.
        os.environ["HAVEN_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"Haven serving on [bold]http://{shown_host}:{port}[/] (API docs at /docs)")
    console.print(f"data folder: {escape(str(settings.data_dir))}")
    console.print(f"database:    {escape(_masked(url))}")
    if no_worker:
        console.print("--no-worker: API only (there are no worker loops in this version yet)")
    if settings.is_sqlite if migrate is None else migrate:
        console.print("migrating the database …")
        _prepare_sqlite_folder(settings)
        _migrate(url, to="head")

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


# --- migrate ------------------------------------------------------------------------------


@app.command("migrate")
def migrate_command(
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
    settings = _settings(database_url)
    url = settings.effective_database_url
    console.print(f"database: {escape(_masked(url))}")
    _prepare_sqlite_folder(settings)
    if downgrade is not None:
        _migrate(url, to=downgrade, down=True)
        console.print(f"[green]✓[/] downgraded to {escape(downgrade)}")
    else:
        _migrate(url, to=revision)
        console.print(f"[green]✓[/] upgraded to {escape(revision)}")


def _migrate(url: str, *, to: str, down: bool = False) -> None:
    # Alembic is imported here: it is slow to import and only these commands need it.
    from alembic.util.exc import CommandError

    from haven.db.migrate import downgrade, upgrade

    try:
        (downgrade if down else upgrade)(url, to)
    except (CommandError, SQLAlchemyError, OSError) as exc:
        _fail(f"migration failed: {exc}")


# --- createsuperuser ----------------------------------------------------------------------


@app.command("createsuperuser")
def create_superuser(
    email: Annotated[str | None, typer.Option(help="Sign-in email.", show_default=False)] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (8+ characters). Prompted, hidden, when omitted; a flag may end up "
            "in your shell history.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.", show_default=False)] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. Europe/Berlin.", show_default=False)
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt: missing --email/--password fail.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an administrator account (with its personal workspace)."""
    if no_input:
        missing = [
            flag for flag, value in (("--email", email), ("--password", password)) if not value
        ]
        if missing:
            raise typer.BadParameter(
                "required with --no-input", param_hint=" and ".join(f"'{m}'" for m in missing)
            )
    else:
        email = email or typer.prompt("Email")
        password = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if name is None:
            name = typer.prompt("Name", default="", show_default=False)
        if timezone is None:
            timezone = typer.prompt("Time zone", default="UTC")
    try:
        data = RegisterRequest(
            email=email, password=password, name=name or "", timezone=timezone or "UTC"
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        _fail(problems, code=2)
    settings = _settings(database_url)

    async def create() -> tuple[uuid.UUID, str]:
        async with _transaction(settings) as session:
            user = await accounts.create_user(
                session,
                email=data.email,
                password=data.password,
                name=data.name,
                timezone=data.timezone,
                is_superuser=True,
            )
            return user.id, user.email

    user_id, user_email = _run(create())
    console.print(f"[green]✓[/] superuser [bold]{escape(user_email)}[/] created (id {user_id})")


# --- seed ---------------------------------------------------------------------------------

DEMO_TIMEZONE = "Europe/Berlin"
DEMO_PASSWORD = "haven-demo"  # noqa: S105 - a documented demo password, printed after seeding
_PROJECTS = (
    ("Home", "#4f9d69", "Chores, repairs and the garden."),
    ("Work", "#3b6ea5", "Everything for the day job."),
    ("Side project", "#b0558f", "The little app that will change everything."),
    ("Health", "#d08c2f", "Training, appointments, habits."),
)
_TITLES: dict[str | None, tuple[str, ...]] = {
    "Home": (
        "Fix the leaking tap",
        "Clean the gutters",
        "Sort the recycling",
        "Book a chimney sweep",
        "Repaint the fence",
        "Order new curtains",
        "Descale the kettle",
        "Plant tulip bulbs",
        "Replace the smoke alarm battery",
        "Defrost the freezer",
    ),
    "Work": (
        "Draft the Q3 roadmap",
        "Review open pull requests",
        "Prepare the team retro",
        "Write the release notes",
        "Update the on-call rota",
        "Reply to the vendor",
        "Plan the offsite",
        "Benchmark the new API",
        "Clean up the backlog",
        "Onboard the new colleague",
    ),
    "Side project": (
        "Sketch the landing page",
        "Set up continuous integration",
        "Write the README",
        "Pick a licence",
        "Add dark mode",
        "Fix the login bug",
        "Record a demo video",
        "Publish version 0.1",
    ),
    "Health": (
        "Book a dentist appointment",
        "Go for a 5 km run",
        "Renew the gym membership",
        "Meal-prep for the week",
        "Stretch for 15 minutes",
        "Refill the prescription",
    ),
    None: (
        "Call mum",
        "Renew the passport",
        "Buy a birthday present",
        "Return the library books",
        "Pay the electricity bill",
        "Cancel the unused subscription",
    ),
}
_TAGS = ("errands", "calls", "deep-work", "quick", "waiting", "weekend", "reading", "finance")
_PRIORITIES: tuple[PriorityName, ...] = ("none", "low", "medium", "high", "urgent")


@dataclass(slots=True)
class _SeedCounts:
    projects: int = 0
    tasks: int = 0
    subtasks: int = 0
    recurring: int = 0
    completed: int = 0
    dependencies: int = 0
    reminders: int = 0
    completed_ids: set[uuid.UUID] = field(default_factory=set)


class _AlreadySeeded(Exception):
    pass


@dataclass(slots=True)
class _Planned:
    """A task created by the seed, remembered for subtasks and links."""

    id: uuid.UUID
    project_id: uuid.UUID | None
    depth: int


class _DemoBuilder:
    """Fills a new account with a plausible, reproducible mix of work through the services."""

    def __init__(
        self, session: AsyncSession, *, principal: Principal, rng: random.Random, total: int
    ) -> None:
        self.session = session
        self.principal = principal
        self.rng = rng
        self.total = total
        self.zone = ZoneInfo(DEMO_TIMEZONE)
        self.now = utcnow()
        self.today = self.now.astimezone(self.zone).date()
        self.counts = _SeedCounts()
        self.projects: dict[str, uuid.UUID] = {}
        self.planned: list[_Planned] = []

    async def add_projects(self) -> None:
        for name, color, description in _PROJECTS:
            project, _ = await projects.create_project(
                self.session,
                principal=self.principal,
                data=ProjectCreate(name=name, color=color, description=description),
            )
            self.projects[name] = project.id
            self.counts.projects += 1

    def _local(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=self.zone)

    async def _create(self, data: TaskCreate, *, depth: int = 0) -> uuid.UUID:
        task, _ = await tasks.create_task(self.session, principal=self.principal, data=data)
        self.counts.tasks += 1
        self.counts.subtasks += depth > 0
        self.counts.reminders += len(data.reminders)
        self.counts.recurring += data.recurrence is not None
        return task.id

    async def add_recurring(self) -> int:
        """Up to four series: an RRULE, a phrase, one from completion, one already done once."""
        friday = self.today + timedelta(days=(4 - self.today.weekday()) % 7 or 7)
        series: list[TaskCreate] = [
            TaskCreate(
                title="Weekly review",
                project_id=self.projects["Work"],
                priority="medium",
                due=self._local(friday, 16),
                timezone=DEMO_TIMEZONE,
                tags=["deep-work"],
                recurrence=RecurrenceIn(rule="FREQ=WEEKLY;BYDAY=FR"),
                reminders=[ReminderIn(offset_minutes=30)],
            ),
            TaskCreate(
                title="Team planning",
                project_id=self.projects["Work"],
                timezone=DEMO_TIMEZONE,
                recurrence=RecurrenceIn(text="every 2nd monday"),
            ),
            TaskCreate(
                title="Water the plants",
                project_id=self.projects["Home"],
                due=self.today,
                timezone=DEMO_TIMEZONE,
                tags=["quick"],
                recurrence=RecurrenceIn(text="every 3 days", mode="completion"),
            ),
            TaskCreate(
                title="Take vitamins",
                project_id=self.projects["Health"],
                due=self.today - timedelta(days=2),
                timezone=DEMO_TIMEZONE,
                tags=["quick"],
                recurrence=RecurrenceIn(text="every day"),
            ),
        ][: self.total]
        ids = [await self._create(data) for data in series]
        # Completing a series makes its next occurrence (not counted against --tasks).
        for task_id in ids[2:]:
            await self._complete(task_id)
        return len(ids)

    def _due(self) -> tuple[date | datetime | None, bool]:
        """A due that is (value, has a wall-clock time): none, a day, or a time; some overdue."""
        roll = self.rng.random()
        if roll < 0.3:
            return None, False
        if roll < 0.6:
            return self.today + timedelta(days=self.rng.randint(-10, 30)), False
        day = self.today + timedelta(days=self.rng.randint(-5, 30))
        return self._local(day, self.rng.choice((9, 10, 11, 14, 15, 16, 17))), True

    def _parent(self) -> _Planned | None:
        roll = self.rng.random()
        level0 = [p for p in self.planned if p.depth == 0]
        level1 = [p for p in self.planned if p.depth == 1]
        if roll < 0.07 and level1:
            return self.rng.choice(level1)
        if roll < 0.25 and level0:
            return self.rng.choice(level0)
        return None

    async def add_task(self) -> None:
        rng = self.rng
        parent = self._parent()
        if parent is not None:
            project_id = parent.project_id
        else:
            name = rng.choice([*self.projects, None, None])
            project_id = self.projects[name] if name else None
        project_name = next((n for n, i in self.projects.items() if i == project_id), None)
        title = rng.choice(_TITLES[project_name])
        if parent is not None:
            title = f"{rng.choice(('Step', 'Part', 'Check'))}: {title.lower()}"
        due, timed = self._due()
        reminders: list[ReminderIn] = []
        if timed and rng.random() < 0.35:
            reminders.append(ReminderIn(offset_minutes=rng.choice((10, 30, 60, 1440))))
        elif due is None and rng.random() < 0.05:
            at = self.now + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8))
            reminders.append(ReminderIn(at=at))
        data = TaskCreate(
            title=title,
            project_id=project_id,
            parent_id=parent.id if parent else None,
            description=rng.choice(("", "", "Notes: keep it short.", "See the shared doc.")),
            status="in_progress" if rng.random() < 0.1 else "todo",
            priority=rng.choices(_PRIORITIES, weights=(30, 25, 25, 15, 5))[0],
            due=due,
            timezone=DEMO_TIMEZONE,
            tags=rng.sample(_TAGS, k=rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]),
            estimate_minutes=rng.choice((None, None, 15, 30, 60, 120)),
            reminders=reminders,
        )
        depth = parent.depth + 1 if parent else 0
        task_id = await self._create(data, depth=depth)
        self.planned.append(_Planned(id=task_id, project_id=project_id, depth=depth))

    async def add_dependency(self) -> None:
        roots = [p for p in self.planned if p.depth == 0]
        if len(roots) < 2:
            return
        first, then = self.rng.sample(roots, 2)
        try:
            await dependencies.add_dependency(
                self.session, principal=self.principal, task_id=then.id, depends_on_id=first.id
            )
        except Conflict:  # would close a cycle: fine, fewer links
            return
        self.counts.dependencies += 1

    async def _complete(self, task_id: uuid.UUID) -> None:
        task, _ = await series.complete_task(
            self.session, principal=self.principal, task_id=task_id, cascade=True, if_match=None
        )
        if task.status == "done":
            self.counts.completed_ids.add(task.id)
        self.counts.completed = len(self.counts.completed_ids)

    async def complete_some(self) -> None:
        await self._complete(self.rng.choice(self.planned).id)


@app.command()
def seed(
    email: Annotated[str, typer.Option(help="Email of the demo account.")] = "demo@haven.local",
    password: Annotated[str, typer.Option(help="Password of the demo account.")] = DEMO_PASSWORD,
    task_count: Annotated[
        int, typer.Option("--tasks", min=1, max=10_000, help="How many tasks to create.")
    ] = 200,
    random_seed: Annotated[
        int, typer.Option("--random-seed", help="Seed for the random choices (reproducible).")
    ] = 42,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a demo account full of projects and tasks (once: a second run changes nothing)."""
    settings = _settings(database_url)
    rng = random.Random(random_seed)  # noqa: S311 - demo data, not secrets
    links = max(1, task_count // 25)
    completions = max(1, task_count * 18 // 100)

    async def fill() -> _SeedCounts:
        async with _transaction(settings) as session:
            try:
                user = await accounts.create_user(
                    session, email=email, password=password, name="Demo", timezone=DEMO_TIMEZONE
                )
            except Conflict as exc:
                raise _AlreadySeeded from exc
            principal = Principal(user_id=user.id, method="jwt")
            builder = _DemoBuilder(session, principal=principal, rng=rng, total=task_count)
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                creating = progress.add_task("Creating tasks", total=task_count)
                await builder.add_projects()
                made = await builder.add_recurring()
                progress.advance(creating, made)
                for _ in range(task_count - made):
                    await builder.add_task()
                    progress.advance(creating)
                linking = progress.add_task("Linking and completing", total=links + completions)
                if builder.planned:
                    for _ in range(links):
                        await builder.add_dependency()
                        progress.advance(linking)
                    for _ in range(completions):
                        await builder.complete_some()
                        progress.advance(linking)
                progress.update(linking, completed=links + completions)
            return builder.counts

    try:
        counts = _run(fill())
    except _AlreadySeeded:
        console.print(f"The demo account {escape(email)} already exists; nothing to do.")
        return

    summary = Table(title="Demo data", show_header=False)
    for label, value in (
        ("projects", counts.projects),
        ("tasks (incl. subtasks)", counts.tasks),
        ("subtasks", counts.subtasks),
        ("recurring", counts.recurring),
        ("completed", counts.completed),
        ("dependencies", counts.dependencies),
        ("reminders", counts.reminders),
    ):
        summary.add_row(label, str(value))
    console.print(summary)
    body = orjson.dumps({"email": email, "password": password}).decode()
    console.print(
        "Start the server with [bold]haven serve[/], then sign in at "
        "[bold]http://127.0.0.1:8000/docs[/]\n"
        f"  email:    {escape(email)}\n"
        f"  password: {escape(password)}\n"
        "or get a token with curl:\n"
        "  curl -s -X POST http://127.0.0.1:8000/api/v1/auth/login "
        f"-H 'Content-Type: application/json' -d '{escape(body)}'",
        soft_wrap=True,
    )


# --- export / import ----------------------------------------------------------------------


@app.command("export")
def export_command(
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
    settings = _settings(database_url)

    async def read() -> dict[str, Any]:
        # One snapshot: REPEATABLE READ on PostgreSQL (a SQLite transaction already is one).
        async with _transaction(settings, isolation_level="REPEATABLE READ") as session:
            return await export_workspace(session, workspace_id=workspace_id)

    document = _run(read())
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
    _write_atomically(output, data)
    console.print(f"[green]✓[/] exported {summary} to {escape(str(output))}")


def _write_atomically(path: Path, data: bytes) -> None:
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


@app.command("import")
def import_command(
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
        _fail(f"{file} is not a JSON document ({exc})")
    settings = _settings(database_url)

    async def write() -> ImportReport:
        async with _transaction(settings) as session:
            return await import_workspace(session, document=document, owner_email=owner)

    report = _run(write())
    for warning in report.warnings:
        errors.print(f"[yellow]warning:[/] {escape(warning)}")
    table = Table(title=f"Imported {escape(report.workspace_name)} ({report.workspace_id})")
    table.add_column("rows")
    table.add_column("count", justify="right")
    for key, count in report.counts.items():
        table.add_row(key, str(count))
    console.print(table)
