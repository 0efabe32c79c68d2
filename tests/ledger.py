"""What the API shows, and what the event log says about it, side by side.

The event properties (test_event_properties.py) read every resource two users can see
through the API before and after each request, and hold the events that request wrote
against the difference:

- every resource whose representation changed (appeared, changed, vanished) has a new
  event on its subject, written by that request;
- a request that failed changed nothing and wrote nothing;
- folding a resource's events (each carries the full state after the change, and
  `changes` with the [old, new] pair of every field that moved) gives back exactly what
  the API shows, field by field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from haven.events.models import Event

Json = dict[str, Any]
# ("task", id), ("project", id), ("tag", id), ("workspace", id),
# ("member", workspace_id, user_id), ("reminder", task_id, id), ("time_log", task_id, id)
Key = tuple[str, ...]
World = dict[Key, Json]

# Kinds whose events carry the resource's whole state under data[kind], with a version.
STATEFUL = ("task", "project", "tag", "workspace")
# Fields that move with every change; an event's `changes` leaves them out.
ALWAYS_MOVING = frozenset({"version", "updated_at"})
BIRTHS = frozenset({"created", "added", "registered"})
# Fields of a task's answer derived from other tasks: no event of the task carries them.
DERIVED = frozenset({"subtask_count", "subtasks_done"})


def stored_task(task: Json) -> Json:
    """A task's answer without the fields derived from other tasks (its subtask counts):
    what its events carry. Those move with the subtasks' own events (docs/events.md)."""
    return {name: value for name, value in task.items() if name not in DERIVED}


def subject_of(key: Key) -> str:
    """The event subject that speaks for a resource (reminders and time logs: their task's)."""
    kind = key[0]
    if kind in ("reminder", "time_log"):
        return f"tasks/{key[1]}"
    if kind == "member":
        return f"workspaces/{key[1]}/members/{key[2]}"
    return f"{kind}s/{key[1]}"


@dataclass(frozen=True, slots=True)
class Viewer:
    """One user the ledger reads the API as."""

    name: str
    user_id: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    id: str
    type: str
    subject: str
    workspace_id: str | None
    version: int | None
    data: Json

    @property
    def kind(self) -> str:
        return self.type.split(".")[1]


async def _all(
    client: httpx.AsyncClient, path: str, viewer: Viewer, **params: str
) -> list[Json] | None:
    """Every item of a list endpoint (None when the viewer may not see it)."""
    items: list[Json] = []
    query = {"limit": "200", **params}
    while True:
        response = await client.get(path, params=query, headers=viewer.headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


async def read_world(
    client: httpx.AsyncClient,
    viewers: Sequence[Viewer],
    *,
    reminder_tasks: Iterable[str],
    timer_tasks: Iterable[str],
) -> tuple[World, dict[str, Viewer]]:
    """Everything the viewers can see, by key; and for each task, a viewer who sees it.

    The reads are independent, so they go out together (reads need no write lock).
    """
    world: World = {}
    task_viewer: dict[str, Viewer] = {}
    lists = [
        (viewer, kind, path, params)
        for viewer in viewers
        for kind, path, params in (
            ("task", "/tasks", {"deleted": "false"}),
            ("task", "/tasks", {"deleted": "true"}),
            ("project", "/projects", {"include_archived": "true"}),
            ("tag", "/tags", {}),
            ("workspace", "/workspaces", {}),
        )
    ]
    answers = await asyncio.gather(
        *(_all(client, path, viewer, **params) for viewer, _, path, params in lists)
    )
    shared_workspaces: list[tuple[Viewer, str]] = []
    for (viewer, kind, _, _), items in zip(lists, answers, strict=True):
        for item in items or []:
            if kind == "task":
                task_viewer.setdefault(item["id"], viewer)
                item = stored_task(item)
            if kind == "workspace":
                # The caller's role is part of the answer but not of the workspace.
                item = {name: value for name, value in item.items() if name != "role"}
                if not item["is_personal"]:
                    shared_workspaces.append((viewer, item["id"]))
            world[(kind, item["id"])] = item
    rosters = await asyncio.gather(
        *(
            _all(client, f"/workspaces/{workspace_id}/members", viewer)
            for viewer, workspace_id in shared_workspaces
        )
    )
    for (_, workspace_id), members in zip(shared_workspaces, rosters, strict=True):
        for member in members or []:
            world[("member", workspace_id, member["user_id"])] = member
    await read_task_parts(
        client, world, task_viewer, reminder_tasks=reminder_tasks, timer_tasks=timer_tasks
    )
    return world, task_viewer


async def read_task_parts(
    client: httpx.AsyncClient,
    world: World,
    task_viewer: Mapping[str, Viewer],
    *,
    reminder_tasks: Iterable[str],
    timer_tasks: Iterable[str],
) -> None:
    """Add the reminders and time logs of these tasks to the world (one request each)."""
    for task_id in sorted(set(reminder_tasks)):
        task = world.get(("task", task_id))
        if task is None or task["deleted_at"] is not None:
            continue  # a task in the trash shows no reminders
        reminders = await _all(client, f"/tasks/{task_id}/reminders", task_viewer[task_id])
        for reminder in reminders or []:
            world[("reminder", task_id, reminder["id"])] = reminder
    for task_id in sorted(set(timer_tasks)):
        if ("task", task_id) not in world:
            continue
        logs = await _all(client, f"/tasks/{task_id}/time-logs", task_viewer[task_id])
        for log in logs or []:
            world[("time_log", task_id, log["id"])] = log


async def events_since(
    engine: AsyncEngine, *, since: datetime, seen: set[str]
) -> list[LoggedEvent]:
    """The events written from `since` on that the ledger has not seen, in commit order."""
    query = select(Event).where(Event.time >= since).order_by(Event.time, Event.id)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        LoggedEvent(
            id=str(row.id),
            type=row.type,
            subject=row.subject,
            workspace_id=str(row.workspace_id) if row.workspace_id else None,
            version=row.entity_version,
            data=row.data,
        )
        for row in rows
        if str(row.id) not in seen
    ]


def changed_keys(before: World, after: World) -> set[Key]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def state_in(event: LoggedEvent) -> Json | None:
    """The resource state an event carries (None for events about a task's time or reminders)."""
    state = event.data.get(event.kind)
    if event.kind in (*STATEFUL, "member") and isinstance(state, dict):
        return state
    return None


def expected_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> Json:
    """The `changes` an event must carry between two states: every field that moved."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name not in ALWAYS_MOVING and before.get(name) != value
    }


@dataclass
class Fold:
    """Each subject's state, as its events tell it."""

    states: dict[str, Json] = field(default_factory=dict)

    def apply(self, event: LoggedEvent) -> list[str]:
        """Take one event in; the reasons it contradicts the events before it, if any."""
        state = state_in(event)
        if state is None:
            return []
        problems: list[str] = []
        verb = event.type.rsplit(".", 1)[1]
        # A resource made (again) starts a new story: re-adding a member is not a change.
        prior = None if verb in BIRTHS else self.states.get(event.subject)
        changes = event.data.get("changes")
        if prior is None:
            if changes:
                problems.append(f"{event.type} on {event.subject}: changes with no prior state")
        elif (changes or {}) != expected_changes(prior, state):
            problems.append(
                f"{event.type} on {event.subject}: changes {changes!r} do not say what moved: "
                f"{expected_changes(prior, state)!r}"
            )
        if event.kind in STATEFUL and event.version != state.get("version"):
            problems.append(
                f"{event.type} on {event.subject}: haven_version {event.version} "
                f"but data says {state.get('version')}"
            )
        self.states[event.subject] = state
        return problems

    def disagreements(self, world: World) -> list[str]:
        """Where the folded state and the API's answer differ, field by field."""
        problems: list[str] = []
        for key, shown in sorted(world.items()):
            if key[0] not in (*STATEFUL, "member"):
                continue
            folded = self.states.get(subject_of(key))
            if folded is None:
                if key[0] == "task":  # every task in the run was made by an event
                    problems.append(f"{subject_of(key)} has no event that created it")
                continue
            for name, value in shown.items():
                if name in folded and folded[name] != value:
                    problems.append(
                        f"{subject_of(key)}.{name}: the events say {folded[name]!r}, "
                        f"the API shows {value!r}"
                    )
            if key[0] == "task":
                missing = set(shown) - set(folded)
                if missing:
                    problems.append(f"{subject_of(key)}: the events never state {sorted(missing)}")
        return problems


def unexplained(before: World, after: World, events: Sequence[LoggedEvent]) -> list[str]:
    """Every change of the world that no event of this step speaks for, and the reverse."""
    return [
        *_changes_without_events(before, after, events),
        *_events_without_changes(before, after, events),
        *_versions_behind(after, events),
    ]


def _changes_without_events(
    before: World, after: World, events: Sequence[LoggedEvent]
) -> list[str]:
    subjects = {event.subject for event in events}
    deleted_workspaces = {
        event.subject.removeprefix("workspaces/")
        for event in events
        if event.type == "haven.workspace.deleted"
    }
    return [
        f"{key[0]} {'/'.join(key[1:])} changed without an event: "
        f"{before.get(key)!r} -> {after.get(key)!r}"
        for key in sorted(changed_keys(before, after))
        if subject_of(key) not in subjects
        and not (key not in after and _goes_with_its_workspace(key, before, deleted_workspaces))
    ]


def _events_without_changes(
    before: World, after: World, events: Sequence[LoggedEvent]
) -> list[str]:
    moved = {subject_of(key) for key in changed_keys(before, after)}
    return [
        f"{event.type} on {event.subject}, which did not change"
        for event in events
        if state_in(event) is not None and event.subject not in moved
    ]


def _versions_behind(after: World, events: Sequence[LoggedEvent]) -> list[str]:
    """The last event of each versioned subject carries the version the API now shows."""
    last_version = {event.subject: event.version for event in events if event.kind in STATEFUL}
    problems = []
    for subject, version in last_version.items():
        key = _key_of(subject)
        shown = after.get(key) if key else None
        if shown is not None and shown.get("version") != version:
            problems.append(
                f"{subject} is at version {shown.get('version')}, its last event says {version}"
            )
    return problems


def _key_of(subject: str) -> Key | None:
    """The key of a stateful resource from its subject (tasks/<id> -> ("task", id))."""
    kind, _, rest = subject.partition("/")
    if kind.endswith("s") and kind[:-1] in STATEFUL and "/" not in rest:
        return (kind[:-1], rest)
    return None


def _goes_with_its_workspace(key: Key, before: World, deleted_workspaces: set[str]) -> bool:
    """What was already in the trash, and memberships, leave with a `workspace.deleted`."""
    if key[0] == "member":
        return key[1] in deleted_workspaces
    task_id = key[1] if key[0] in ("task", "reminder", "time_log") else None
    if task_id is None:
        return False
    task = before.get(("task", task_id))
    return (
        task is not None
        and task["workspace_id"] in deleted_workspaces
        and task["deleted_at"] is not None
    )


def history_problems(history: Sequence[Json], logged: Sequence[LoggedEvent]) -> list[str]:
    """GET /tasks/{id}/history must be exactly the subject's events, in order."""
    served = [(item["id"], item["type"]) for item in history]
    stored = [(event.id, event.type) for event in logged]
    if served != stored:
        return [f"the history serves {served}, the events table holds {stored}"]
    return []


async def task_history(
    client: httpx.AsyncClient, headers: dict[str, str], task_id: str
) -> list[Json]:
    """Every event GET /tasks/{id}/history serves, oldest first."""
    items: list[Json] = []
    params = {"limit": "200"}
    while True:
        response = await client.get(f"/tasks/{task_id}/history", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


def fold_history(history: Sequence[Json]) -> tuple[Json | None, list[str]]:
    """A task as its history tells it, and where the history contradicts itself."""
    fold = Fold()
    problems: list[str] = []
    subject = None
    for item in history:
        subject = item["subject"]
        problems += fold.apply(
            LoggedEvent(
                id=item["id"],
                type=item["type"],
                subject=item["subject"],
                workspace_id=None,
                version=item["haven_version"],
                data=item["data"],
            )
        )
    return (fold.states.get(subject) if subject else None), problems
