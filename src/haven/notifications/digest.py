"""What the daily digest says, worked out when it is handled (not when it was requested).

One rule decides whose tasks a digest lists: the user's open tasks (todo, in progress,
blocked; not in the trash) with a due date, in every live workspace they are a member of,
that are assigned to them, or unassigned and created by them. A task assigned to someone
else is that person's, even if this user created it.

A task's due day is the day it shows: a whole-day due is that date (in the task's zone),
a timed one the day it falls on in the user's zone. Sections, by that day against the
digest's `local_date`: overdue (before it), due today, and upcoming (the six days after).
Each lists at most SECTION_LIMIT tasks and says how many more there are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from haven.notifications import repository
from haven.tasks.models import Task

SECTION_LIMIT: Final = 20
# How many overdue tasks are looked at (the most recently due first): the count says "more"
# beyond this as "at least".
OVERDUE_LOOKED_AT: Final = 200
# Tasks due in the week looked at, at most.
WEEK_LOOKED_AT: Final = 500
UPCOMING_DAYS: Final = 6
# A whole-day due is stored as the day's start in the task's zone, which may be up to 14
# hours either side of the same day's start in the user's zone: the queries look that far
# past each edge, and the day each task falls on is decided here.
_ZONE_MARGIN: Final = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class DigestContent:
    local_date: str
    timezone: str
    sections: list[dict[str, Any]]
    habits: list[dict[str, Any]]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"overdue": 0, "today": 0, "upcoming": 0}
        for section in self.sections:
            counts[section["key"]] = len(section["tasks"]) + section["more"]
        return counts

    @property
    def is_empty(self) -> bool:
        return not self.sections and not self.habits

    def as_data(self) -> dict[str, Any]:
        return {
            "local_date": self.local_date,
            "timezone": self.timezone,
            "sections": self.sections,
            "habits": self.habits,
            "counts": self.counts,
        }


async def habits_due_today(
    session: AsyncSession, *, user_id: uuid.UUID, local_date: date, timezone: str
) -> list[dict[str, Any]]:
    """The user's habits due on `local_date`, each `{id, name}`.

    Habits do not exist yet: this is where the digest will ask for them (the habits
    module's service, when it lands). Until then a digest has no habits section.
    """
    del session, user_id, local_date, timezone
    return []


def due_day(task: Task, zone: ZoneInfo) -> date:
    assert task.due_at is not None
    if task.due_is_date:
        return task.due_at.astimezone(ZoneInfo(task.timezone)).date()
    return task.due_at.astimezone(zone).date()


def due_text(due: object, zone: ZoneInfo) -> str | None:
    """A due as a person reads it in their zone: "2026-12-01", or "2026-12-01 09:30"."""
    if due is None:
        return None
    if isinstance(due, datetime):
        instant = due
    else:
        text = str(due)
        if len(text) == 10:
            return text
        try:
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _task_item(task: Task, zone: ZoneInfo) -> dict[str, Any]:
    assert task.due_at is not None
    due = due_day(task, zone).isoformat() if task.due_is_date else task.due_at
    return {
        "id": str(task.id),
        "title": task.title,
        "workspace_id": str(task.workspace_id),
        "project_id": str(task.project_id) if task.project_id else None,
        "due": due if isinstance(due, str) else due.astimezone(UTC).isoformat(),
        "due_text": due_text(due, zone),
    }


def _section(key: str, title: str, tasks: Sequence[Task], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "tasks": [_task_item(task, zone) for task in tasks[:SECTION_LIMIT]],
        "more": max(0, len(tasks) - SECTION_LIMIT),
    }


async def build_digest(
    session: AsyncSession, *, user_id: uuid.UUID, local_date: date, timezone: str
) -> DigestContent:
    zone = ZoneInfo(timezone)
    day_start = datetime.combine(local_date, time(), zone)
    week_end = datetime.combine(local_date + timedelta(days=UPCOMING_DAYS + 1), time(), zone)
    overdue_rows = await repository.open_tasks_due(
        session,
        user_id=user_id,
        from_=None,
        before=day_start + _ZONE_MARGIN,
        newest_first=True,
        limit=OVERDUE_LOOKED_AT,
    )
    week_rows = await repository.open_tasks_due(
        session,
        user_id=user_id,
        from_=day_start - _ZONE_MARGIN,
        before=week_end + _ZONE_MARGIN,
        newest_first=False,
        limit=WEEK_LOOKED_AT,
    )
    # Oldest first in the mail: the longest overdue is the most pressing.
    overdue = sorted(
        (t for t in overdue_rows if due_day(t, zone) < local_date),
        key=lambda t: (t.due_at, t.title),
    )
    last_day = local_date + timedelta(days=UPCOMING_DAYS)
    seen: set[uuid.UUID] = set()
    today: list[Task] = []
    upcoming: list[Task] = []
    for task in week_rows:
        if task.id in seen:
            continue
        seen.add(task.id)
        day = due_day(task, zone)
        if day == local_date:
            today.append(task)
        elif local_date < day <= last_day:
            upcoming.append(task)
    sections = [
        _section(key, title, tasks, zone)
        for key, title, tasks in (
            ("overdue", "Overdue", overdue),
            ("today", "Due today", today),
            ("upcoming", "Coming up this week", upcoming),
        )
        if tasks
    ]
    habits = await habits_due_today(
        session, user_id=user_id, local_date=local_date, timezone=timezone
    )
    return DigestContent(
        local_date=local_date.isoformat(), timezone=timezone, sections=sections, habits=habits
    )
