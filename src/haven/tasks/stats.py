"""What a user got done: tasks completed per local day, and time tracked per project.

Days are the caller's own (their profile's zone), DST-correct: a day of 23 or 25 hours
counts what was completed within it. The window is at most MAX_DAYS days, so the work
(and the rows read: completions come in quarter-hour buckets, repository.py) grows with the
window, never with how many tasks a user has.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import ValidationFailed
from haven.projects import service as projects
from haven.tasks import repository as repo
from haven.tasks.access import require_scope
from haven.workspaces import access as workspaces

MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class ProjectTime:
    project_id: uuid.UUID | None  # None: tasks in no project
    name: str | None
    seconds: int


@dataclass(frozen=True, slots=True)
class TaskStats:
    timezone: str
    start: date
    end: date  # inclusive
    completed: list[DayCount]  # every day of the window, oldest first
    tracked: list[ProjectTime]  # most time first


def local_midnights(start: date, end: date, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which each local day from `start` to the day after `end` begins."""
    days = (end - start).days + 2
    return [
        datetime.combine(start + timedelta(days=n), time(0), tzinfo=zone).astimezone(UTC)
        for n in range(days)
    ]


def window(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The days asked for (default: the last DEFAULT_DAYS days up to today), checked."""
    end = end or (today if start is None else start + timedelta(days=DEFAULT_DAYS - 1))
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed("start is after end", loc=["query", "start"])
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            f"the window is longer than {MAX_DAYS} days; ask for less", loc=["query", "end"]
        )
    return start, end


async def task_stats(
    session: AsyncSession,
    *,
    principal: Principal,
    start: date | None,
    end: date | None,
    workspace_id: uuid.UUID | None,
) -> TaskStats:
    require_scope(principal, write=False)
    # The caller's zone (and, given a workspace, that they may see it); without one, every
    # workspace they belong to counts.
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.VIEWER
    )
    zone = ZoneInfo(access.timezone)
    now = utcnow()
    start, end = window(start, end, today=now.astimezone(zone).date())
    midnights = local_midnights(start, end, zone)
    visible = workspaces.visible_workspace_ids(principal.user_id)
    buckets = await repo.completions_by_quarter_hour(
        session,
        user_id=principal.user_id,
        workspace_ids=visible,
        workspace_id=workspace_id,
        since=midnights[0],
        until=midnights[-1],
    )
    counts = [0] * (len(midnights) - 1)
    boundaries = [int(moment.timestamp()) for moment in midnights]
    for bucket, count in buckets:
        # A quarter hour lies within one local day (offsets are whole quarter hours).
        counts[bisect.bisect_right(boundaries, bucket * repo.QUARTER_HOUR) - 1] += count
    tracked = await repo.tracked_seconds_by_project(
        session,
        user_id=principal.user_id,
        workspace_ids=visible,
        workspace_id=workspace_id,
        since=midnights[0],
        until=midnights[-1],
        now=now,
    )
    names = await projects.project_names(
        session, principal=principal, project_ids=[p for p, _ in tracked if p is not None]
    )
    return TaskStats(
        timezone=access.timezone,
        start=start,
        end=end,
        completed=[
            DayCount(day=start + timedelta(days=n), count=count) for n, count in enumerate(counts)
        ],
        tracked=sorted(
            (
                ProjectTime(project_id=p, name=names.get(p) if p else None, seconds=round(s))
                for p, s in tracked
                if s > 0
            ),
            key=lambda entry: (-entry.seconds, entry.name or ""),
        ),
    )
