"""Every change is an event — proven by random sequences of API requests (EVENTS.md).

Two users, their personal workspaces and a shared one; tasks, subtasks, projects, tags,
dependencies, reminders, timers, the trash, members and roles, in any order, by either
user. After every request the ledger (tests/ledger.py) reads all the two can see and
checks it against the events the request wrote:

(a) every resource whose representation or version changed has a new event on its
    subject, written in that request's transaction (a failed request writes nothing and
    changes nothing), and the last event of a subject carries the version the API shows;
(b) folding a subject's events — each one's full state after, and its `changes` that name
    every field that moved as [old, new] — reproduces the API's answer field by field.
At the end of each example, GET /tasks/{id}/history must serve exactly those events and
fold to the same task.

Profiles: ``HAVEN_EVENTS_PROFILE=events-thorough`` for a long run; the default keeps
`make test` within a few seconds per database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from haven.app import create_app
from haven.core.clock import utcnow
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.registry import metadata
from haven.db.session import Database
from haven.settings import Settings
from tests.factories import register
from tests.ledger import (
    Fold,
    Json,
    LoggedEvent,
    Viewer,
    World,
    changed_keys,
    events_since,
    fold_history,
    history_problems,
    read_task_parts,
    read_world,
    task_history,
    unexplained,
)

T = TypeVar("T")

hypothesis.settings.register_profile(
    "events-quick",
    max_examples=6,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
hypothesis.settings.register_profile(
    "events-thorough",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = hypothesis.settings.get_profile(os.environ.get("HAVEN_EVENTS_PROFILE", "events-quick"))

ACTORS = st.sampled_from(["alice", "bob"])
PICK = st.integers(min_value=0, max_value=1_000)
TITLES = st.sampled_from(["Water the plants", "File the taxes", "Ship v2"])
TAG_NAMES = ["home", "Home", "work", "deep focus", "errand"]
TAGS = st.lists(st.sampled_from(TAG_NAMES), max_size=3)
DUES = st.sampled_from([None, "2026-12-01", "2026-12-03T09:30:00Z", "2027-01-15"])
RECURRENCES = st.sampled_from(
    [
        None,
        {"rule": "FREQ=DAILY"},
        {"rule": "FREQ=WEEKLY;BYDAY=MO,TH", "mode": "completion"},
        {"text": "every 2 weeks"},
    ]
)
STATUSES = st.sampled_from(["todo", "in_progress", "blocked", "done", "cancelled"])
ROLES = st.sampled_from(["admin", "member", "viewer"])
# Where a task goes: leave as is, nowhere (null), or to a known project / parent.
KEEP = "keep"
TARGET = st.one_of(st.just(KEEP), st.none(), PICK)
TASK_PATCHES = st.fixed_dictionaries(
    {},
    optional={
        "title": TITLES,
        "description": st.sampled_from(["", "see the notes"]),
        "status": STATUSES,
        "priority": st.sampled_from(["none", "low", "urgent"]),
        "progress": st.sampled_from([0, 50]),
        "due": DUES,
        "start": st.sampled_from([None, "2026-11-30"]),
        "tags": TAGS,
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        "recurrence": RECURRENCES,
        "estimate_minutes": st.sampled_from([None, 25]),
    },
)


class Harness:
    """A running app on its own event loop: hypothesis drives the machine synchronously."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, app_settings: Settings, database: Database
    ) -> None:
        self.loop = loop
        self.database = database
        app = create_app(app_settings, database=database)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test/api/v1")
        self.viewers: dict[str, Viewer] = {}
        self.emails: dict[str, str] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def sign_up(self) -> None:
        """Two users, once per run (signing up hashes a password: too slow per example)."""
        for name in ("alice", "bob"):
            account = await register(self.client, email=f"{name}@example.com")
            self.viewers[name] = Viewer(name=name, user_id=account.id, headers=account.headers)
            self.emails[name] = account.email

    async def forget_everything_but_the_users(self) -> None:
        """Back to two users with their personal workspaces, and no events."""
        keep = {"users", "refresh_tokens", "api_keys", "identities", "devices"}
        personal = "SELECT id FROM workspaces WHERE is_personal"
        async with self.database.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                if table.name == "memberships":
                    await connection.execute(
                        text(f"DELETE FROM memberships WHERE workspace_id NOT IN ({personal})")
                    )
                elif table.name == "workspaces":
                    await connection.execute(text("DELETE FROM workspaces WHERE NOT is_personal"))
                elif table.name not in keep:
                    await connection.execute(table.delete())
            if connection.dialect.name == "sqlite":
                await connection.execute(text("DELETE FROM tasks_fts"))


@contextmanager
def running_app(app_settings: Settings) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    engine = create_engine(app_settings)
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    harness = Harness(loop, app_settings, database)
    try:
        harness.run(harness.sign_up())
        yield harness
    finally:
        harness.run(harness.client.aclose())
        harness.run(database.dispose())
        loop.close()


class EveryChangeIsAnEvent(RuleBasedStateMachine):
    def __init__(self, harness: Harness) -> None:
        super().__init__()
        self.harness = harness
        harness.run(harness.forget_everything_but_the_users())
        self.viewers = harness.viewers
        self.fold = Fold()
        self.seen: set[str] = set()
        self.log: dict[str, list[LoggedEvent]] = {}
        self.tasks: list[str] = []
        self.projects: list[str] = []
        self.tags: list[str] = []
        self.reminder_tasks: set[str] = set()
        self.timer_tasks: set[str] = set()
        self.failed = False
        self.world: World = {}
        self.task_viewer: dict[str, Viewer] = {}
        self.world, self.task_viewer = self._read()
        # The shared workspace: (id, the user who owns it).
        self.shared: tuple[str, str] | None = None
        self.create_shared_workspace("alice")
        self.add_member("alice", "member")

    # --- the step and its checks ------------------------------------------------------

    def _read(self) -> tuple[World, dict[str, Viewer]]:
        return self.harness.run(
            read_world(
                self.harness.client,
                list(self.viewers.values()),
                reminder_tasks=self.reminder_tasks,
                timer_tasks=self.timer_tasks,
            )
        )

    def request(
        self,
        actor: str,
        method: str,
        path: str,
        *,
        json: Json | None = None,
        params: dict[str, str] | None = None,
        if_match: int | None = None,
        with_reminders: bool = False,
    ) -> httpx.Response:
        """One request, then every check of the module docstring.

        `with_reminders`: the task this request creates has reminders to read.
        """
        headers = dict(self.viewers[actor].headers)
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        since = utcnow() - timedelta(microseconds=1)
        response = self.harness.run(
            self.harness.client.request(method, path, json=json, params=params, headers=headers)
        )
        what = f"{actor}: {method} {path} {json or ''} -> {response.status_code}"
        assert response.status_code < 500, f"{what}\n{response.text}"
        before = self.world
        after, self.task_viewer = self._read()
        events = self.harness.run(
            events_since(self.harness.database.engine, since=since, seen=self.seen)
        )
        problems: list[str] = []
        if response.is_error and (events or changed_keys(before, after)):
            problems.append("a failed request changed something or wrote events")
        problems += unexplained(before, after, events)
        for event in events:
            self.seen.add(event.id)
            self.log.setdefault(event.subject, []).append(event)
            problems += self.fold.apply(event)
        problems += self.fold.disagreements(after)
        self._learn(before, after, response, with_reminders=with_reminders)
        self.world = after
        if problems:
            self.failed = True
            listed = "\n".join(f"  - {problem}" for problem in problems)
            types = ", ".join(f"{e.type} {e.subject}" for e in events) or "none"
            raise AssertionError(f"{what}\n  events: {types}\n{listed}")
        return response

    def _learn(
        self, before: World, after: World, response: httpx.Response, *, with_reminders: bool
    ) -> None:
        """Remember new ids to pick from, and which tasks may hold reminders.

        Reminders are read only for tasks that may have some: those given reminders here,
        and those the server made (next occurrences and their subtasks copy reminders).
        """
        made_by_request = response.json().get("id") if response.status_code == 201 else None
        may_remind: set[str] = set()
        for key in sorted(after.keys() - before.keys()):
            kind, item = key[0], key[1]
            if kind == "task" and item not in self.tasks:
                self.tasks.append(item)
                if item != made_by_request or with_reminders:
                    may_remind.add(item)
            elif kind == "project" and item not in self.projects:
                self.projects.append(item)
            elif kind == "tag" and item not in self.tags:
                self.tags.append(item)
        may_remind -= self.reminder_tasks
        if may_remind:
            self.reminder_tasks |= may_remind
            self.harness.run(
                read_task_parts(
                    self.harness.client,
                    after,
                    self.task_viewer,
                    reminder_tasks=may_remind,
                    timer_tasks=(),
                )
            )

    def teardown(self) -> None:
        """GET /tasks/{id}/history serves each task's events, and they fold to the task."""
        if self.failed:
            return
        problems: list[str] = []
        for key, task in sorted(self.world.items()):
            if key[0] != "task":
                continue
            viewer = self.task_viewer[task["id"]]
            history = self.harness.run(
                task_history(self.harness.client, viewer.headers, task["id"])
            )
            problems += history_problems(history, self.log.get(f"tasks/{task['id']}", []))
            folded, contradictions = fold_history(history)
            problems += contradictions
            if folded != task:
                problems.append(f"the history of task {task['id']} folds to {folded}, not {task}")
        assert not problems, "\n".join(problems)

    # --- picking ----------------------------------------------------------------------

    def _task(self, pick: int) -> str:
        return self.tasks[pick % len(self.tasks)]

    def _version(self, kind: str, item: str, if_match: str | None) -> int | None:
        """The If-Match to send: none, the version the API shows, or one long gone."""
        if if_match is None:
            return None
        shown = self.world.get((kind, item))
        return 0 if if_match == "stale" or shown is None else int(shown["version"])

    def _other(self, actor: str) -> str:
        return "bob" if actor == "alice" else "alice"

    # --- tasks ------------------------------------------------------------------------

    @rule(
        actor=ACTORS,
        shared=st.booleans(),
        parent=st.none() | PICK,
        project=st.none() | PICK,
        title=TITLES,
        tags=TAGS,
        due=DUES,
        recurrence=RECURRENCES,
        status=st.sampled_from(["todo", "in_progress", "done"]),
        assignee=st.sampled_from([None, "alice", "bob"]),
        reminder=st.sampled_from([None, 30]),
    )
    def create_task(
        self,
        actor: str,
        shared: bool,
        parent: int | None,
        project: int | None,
        title: str,
        tags: list[str],
        due: str | None,
        recurrence: Json | None,
        status: str,
        assignee: str | None,
        reminder: int | None,
    ) -> None:
        body: Json = {"title": title, "tags": tags, "status": status}
        if parent is not None and self.tasks:
            body["parent_id"] = self._task(parent)
        elif shared and self.shared is not None:
            body["workspace_id"] = self.shared[0]
        if project is not None and self.projects:
            body["project_id"] = self.projects[project % len(self.projects)]
        if due is not None:
            body["due"] = due
        if recurrence is not None:
            body["recurrence"] = recurrence
        if assignee is not None:
            body["assignee_id"] = self.viewers[assignee].user_id
        if reminder is not None:
            body["reminders"] = [{"offset_minutes": reminder}]
        self.request(actor, "POST", "/tasks", json=body, with_reminders=reminder is not None)

    @precondition(lambda self: self.tasks)
    @rule(
        actor=ACTORS,
        task=PICK,
        patch=TASK_PATCHES,
        project=TARGET,
        parent=TARGET,
        assignee=st.sampled_from([KEEP, None, "alice", "bob"]),
        if_match=st.sampled_from([None, None, "current", "stale"]),
    )
    def update_task(
        self,
        actor: str,
        task: int,
        patch: Json,
        project: int | str | None,
        parent: int | str | None,
        assignee: str | None,
        if_match: str | None,
    ) -> None:
        task_id = self._task(task)
        body = dict(patch)
        if project != KEEP:
            body["project_id"] = (
                None
                if project is None or not self.projects
                else self.projects[int(project) % len(self.projects)]
            )
        if parent != KEEP:
            body["parent_id"] = None if parent is None else self._task(int(parent))
        if assignee != KEEP:
            body["assignee_id"] = None if assignee is None else self.viewers[assignee].user_id
        version = self._version("task", task_id, if_match)
        self.request(actor, "PATCH", f"/tasks/{task_id}", json=body, if_match=version)

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK, cascade=st.booleans())
    def complete_task(self, actor: str, task: int, cascade: bool) -> None:
        params = {"cascade": "true"} if cascade else None
        self.request(actor, "POST", f"/tasks/{self._task(task)}/complete", params=params)

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK)
    def reopen_task(self, actor: str, task: int) -> None:
        self.request(actor, "POST", f"/tasks/{self._task(task)}/reopen")

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK)
    def skip_task(self, actor: str, task: int) -> None:
        self.request(actor, "POST", f"/tasks/{self._task(task)}/skip")

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK, if_match=st.sampled_from([None, "current", "stale"]))
    def delete_task(self, actor: str, task: int, if_match: str | None) -> None:
        task_id = self._task(task)
        version = self._version("task", task_id, if_match)
        self.request(actor, "DELETE", f"/tasks/{task_id}", if_match=version)

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK)
    def restore_task(self, actor: str, task: int) -> None:
        self.request(actor, "POST", f"/tasks/{self._task(task)}/restore")

    @precondition(lambda self: len(self.tasks) > 1)
    @rule(actor=ACTORS, task=PICK, other=PICK)
    def add_dependency(self, actor: str, task: int, other: int) -> None:
        body = {"depends_on_id": self._task(other)}
        self.request(actor, "POST", f"/tasks/{self._task(task)}/dependencies", json=body)

    @precondition(lambda self: len(self.tasks) > 1)
    @rule(actor=ACTORS, task=PICK, other=PICK)
    def remove_dependency(self, actor: str, task: int, other: int) -> None:
        path = f"/tasks/{self._task(task)}/dependencies/{self._task(other)}"
        self.request(actor, "DELETE", path)

    @precondition(lambda self: self.tasks)
    @rule(
        actor=ACTORS,
        task=PICK,
        reminder=st.sampled_from([{"offset_minutes": 15}, {"at": "2026-12-24T08:00:00Z"}]),
    )
    def add_reminder(self, actor: str, task: int, reminder: Json) -> None:
        task_id = self._task(task)
        self.reminder_tasks.add(task_id)
        self.request(actor, "POST", f"/tasks/{task_id}/reminders", json=reminder)

    @precondition(lambda self: any(key[0] == "reminder" for key in self.world))
    @rule(actor=ACTORS, pick=PICK)
    def delete_reminder(self, actor: str, pick: int) -> None:
        reminders = sorted(key for key in self.world if key[0] == "reminder")
        _, task_id, reminder_id = reminders[pick % len(reminders)]
        self.request(actor, "DELETE", f"/tasks/{task_id}/reminders/{reminder_id}")

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK)
    def start_timer(self, actor: str, task: int) -> None:
        task_id = self._task(task)
        self.timer_tasks.add(task_id)
        self.request(actor, "POST", f"/tasks/{task_id}/timer/start")

    @precondition(lambda self: self.tasks)
    @rule(actor=ACTORS, task=PICK)
    def stop_timer(self, actor: str, task: int) -> None:
        path = f"/tasks/{self._task(task)}/timer/stop"
        self.request(actor, "POST", path, json={"note": "done for now"})

    # --- tags and projects ----------------------------------------------------------

    @rule(actor=ACTORS, shared=st.booleans(), name=st.sampled_from(TAG_NAMES))
    def create_tag(self, actor: str, shared: bool, name: str) -> None:
        body: Json = {"name": name}
        if shared and self.shared is not None:
            body["workspace_id"] = self.shared[0]
        self.request(actor, "POST", "/tags", json=body)

    @precondition(lambda self: self.tags)
    @rule(
        actor=ACTORS,
        tag=PICK,
        change=st.sampled_from(
            [{"name": "chores"}, {"name": "Work"}, {"name": "home"}, {"color": "#ff8800"}]
        ),
    )
    def change_tag(self, actor: str, tag: int, change: Json) -> None:
        self.request(actor, "PATCH", f"/tags/{self.tags[tag % len(self.tags)]}", json=change)

    @precondition(lambda self: self.tags)
    @rule(actor=ACTORS, tag=PICK)
    def delete_tag(self, actor: str, tag: int) -> None:
        self.request(actor, "DELETE", f"/tags/{self.tags[tag % len(self.tags)]}")

    @rule(actor=ACTORS, shared=st.booleans(), name=st.sampled_from(["Garden", "Launch"]))
    def create_project(self, actor: str, shared: bool, name: str) -> None:
        body: Json = {"name": name}
        if shared and self.shared is not None:
            body["workspace_id"] = self.shared[0]
        self.request(actor, "POST", "/projects", json=body)

    @precondition(lambda self: self.projects)
    @rule(
        actor=ACTORS,
        project=PICK,
        change=st.sampled_from(
            [{"name": "Harvest"}, {"archived": True}, {"archived": False}, {"color": None}]
        ),
    )
    def change_project(self, actor: str, project: int, change: Json) -> None:
        project_id = self.projects[project % len(self.projects)]
        self.request(actor, "PATCH", f"/projects/{project_id}", json=change)

    @precondition(lambda self: self.projects)
    @rule(actor=ACTORS, project=PICK)
    def delete_project(self, actor: str, project: int) -> None:
        self.request(actor, "DELETE", f"/projects/{self.projects[project % len(self.projects)]}")

    # --- the shared workspace and its members --------------------------------------

    @precondition(lambda self: self.shared is None)
    @rule(owner=ACTORS)
    def create_shared_workspace(self, owner: str) -> None:
        response = self.request(owner, "POST", "/workspaces", json={"name": "Team"})
        self.shared = (response.json()["id"], owner)

    @precondition(lambda self: self.shared is not None)
    @rule(actor=ACTORS, role=ROLES)
    def add_member(self, actor: str, role: str) -> None:
        assert self.shared is not None
        workspace_id, owner = self.shared
        body = {"email": self.harness.emails[self._other(owner)], "role": role}
        self.request(actor, "POST", f"/workspaces/{workspace_id}/members", json=body)

    @precondition(lambda self: self.shared is not None)
    @rule(actor=ACTORS, role=ROLES)
    def change_role(self, actor: str, role: str) -> None:
        assert self.shared is not None
        workspace_id, owner = self.shared
        guest = self.viewers[self._other(owner)].user_id
        path = f"/workspaces/{workspace_id}/members/{guest}"
        self.request(actor, "PATCH", path, json={"role": role})

    @precondition(lambda self: self.shared is not None)
    @rule(actor=ACTORS)
    def remove_member(self, actor: str) -> None:
        """The owner removes the other user, or the other user leaves."""
        assert self.shared is not None
        workspace_id, owner = self.shared
        guest = self.viewers[self._other(owner)].user_id
        self.request(actor, "DELETE", f"/workspaces/{workspace_id}/members/{guest}")

    @precondition(lambda self: self.shared is not None)
    @rule(actor=ACTORS, name=st.sampled_from(["Team", "Household"]))
    def rename_shared_workspace(self, actor: str, name: str) -> None:
        assert self.shared is not None
        self.request(actor, "PATCH", f"/workspaces/{self.shared[0]}", json={"name": name})

    @precondition(lambda self: self.shared is not None)
    @rule(actor=ACTORS, rarely=st.integers(min_value=0, max_value=3))
    def delete_shared_workspace(self, actor: str, rarely: int) -> None:
        """Deleting the workspace ends most of the story: one time in four when picked."""
        assert self.shared is not None
        if rarely:
            return
        response = self.request(actor, "DELETE", f"/workspaces/{self.shared[0]}")
        if response.status_code == 204:
            self.shared = None


@pytest.mark.usefixtures("database")  # its clean-up empties the tables afterwards
def test_every_change_is_an_event_and_the_events_fold_to_the_api(settings: Settings) -> None:
    with running_app(settings) as harness:
        run_state_machine_as_test(lambda: EveryChangeIsAnEvent(harness), settings=PROFILE)
