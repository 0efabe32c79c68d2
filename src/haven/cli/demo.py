"""``haven seed``: a demo account full of plausible, reproducible projects and tasks."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer
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
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import flows as accounts
from haven.accounts.principal import Principal
from haven.cli.plumbing import DatabaseUrl, console, load_settings, run, transaction
from haven.core.clock import utcnow
from haven.core.errors import Conflict
from haven.projects import service as projects
from haven.projects.schemas import ProjectCreate
from haven.tasks import dependencies, series
from haven.tasks import service as tasks
from haven.tasks.schemas import PriorityName, RecurrenceIn, ReminderIn, TaskCreate

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
    settings = load_settings(database_url)
    rng = random.Random(random_seed)  # noqa: S311 - demo data, not secrets
    links = max(1, task_count // 25)
    completions = max(1, task_count * 18 // 100)

    async def fill() -> _SeedCounts:
        async with transaction(settings) as session:
            try:
                user = await accounts.sign_up(
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
        counts = run(fill())
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
