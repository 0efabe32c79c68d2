"""The daily digest's schedule: one `haven.digest.requested` per user and local day.

Each user with the digest on has `users.digest_next_at`: the next instant their local clock
shows `digest_time` on a day they have not had a digest for. The scheduler takes the users
whose instant has come (FOR UPDATE SKIP LOCKED on PostgreSQL), inserts a `digest_requests`
row for (user, local day) — the unique key — with the event in the same transaction, and
moves the instant to the next day. A change of time, zone or switch re-computes it
(`reschedule`), never for a day already served.

Wall-clock rules, in the user's IANA zone:
- A time that does not exist that day (the spring-forward gap, 02:30 in Berlin on the last
  Sunday of March) is read with the offset in force before the gap, which lands just after
  it (03:30 CEST): the digest comes late that morning, never skipped.
- A time that happens twice (the fall-back hour) means its first occurrence.
- A worker that was down past one or more digest times requests one digest, for the latest
  day that came due, marked late — never one per missed day.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.models import User
from haven.core.ids import new_id
from haven.events.outbox import EventList, record_all
from haven.scheduler import events as scheduler_events
from haven.scheduler.models import DigestRequest

# A digest requested this long after its time is marked late (the worker was away).
LATE_AFTER: Final = timedelta(minutes=5)


def parse_time(value: str) -> time:
    """An "HH:MM" digest time (validated by the API as 00:00-23:59)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def slot(day: date, at: time, zone: str) -> datetime:
    """The instant `day` at `at` in `zone` (gaps read with the earlier offset; see above)."""
    local = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    # Round-trip through UTC: a time in a gap comes back moved forward by the gap.
    return local.astimezone(UTC)


def next_slot(*, zone: str, at: time, after: datetime, not_before: date | None) -> datetime:
    """The first digest instant strictly after `after` on a local day later than
    `not_before` (the last day a digest was requested for)."""
    today = after.astimezone(ZoneInfo(zone)).date()
    day = today if not_before is None or not_before < today else not_before + timedelta(days=1)
    # At most two steps: today's time may be past, tomorrow's never is.
    for _ in range(3):
        instant = slot(day, at, zone)
        if instant > after:
            return instant
        day += timedelta(days=1)
    raise AssertionError("a day's digest time is never two days after the day began")


def latest_slot(*, zone: str, at: time, now: datetime) -> tuple[date, datetime]:
    """The local day and instant of the latest digest time at or before `now`."""
    day = now.astimezone(ZoneInfo(zone)).date()
    instant = slot(day, at, zone)
    if instant > now:
        day -= timedelta(days=1)
        instant = slot(day, at, zone)
    return day, instant


async def last_requested_day(session: AsyncSession, user_id: uuid.UUID) -> date | None:
    return await session.scalar(
        select(DigestRequest.local_date)
        .where(DigestRequest.user_id == user_id)
        .order_by(DigestRequest.local_date.desc())
        .limit(1)
    )


async def reschedule(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Set the user's next digest instant from their settings (after a change of them)."""
    if not user.digest_enabled or not user.is_active:
        instant = None
    else:
        instant = next_slot(
            zone=user.timezone,
            at=parse_time(user.digest_time),
            after=now,
            not_before=await last_requested_day(session, user.id),
        )
    await _set_next(session, user.id, instant)


async def _set_next(session: AsyncSession, user_id: uuid.UUID, instant: datetime | None) -> None:
    # A Core UPDATE: the schedule is the scheduler's state, not a change of the profile
    # (no new version, no event).
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(digest_next_at=instant)
        .execution_options(synchronize_session="fetch")
    )


async def request_due_digests(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """Take up to `limit` users whose digest is due; request each one's digest once.
    Answers how many users were taken (the caller goes on while it is `limit`)."""
    statement = (
        select(User.id, User.timezone, User.digest_time, User.digest_enabled, User.is_active)
        .where(User.digest_next_at.is_not(None), User.digest_next_at <= now)
        .order_by(User.digest_next_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(statement)).all()
    events: EventList = []
    requests: list[dict[str, object]] = []
    for user_id, zone, at_text, enabled, active in rows:
        if not enabled or not active:
            await _set_next(session, user_id, None)
            continue
        at = parse_time(at_text)
        day, instant = latest_slot(zone=zone, at=at, now=now)
        last = await last_requested_day(session, user_id)
        if last is None or last < day:
            late = now - instant > LATE_AFTER
            event_id = new_id()
            events.append(
                scheduler_events.digest_requested(user_id, day, zone, late=late, event_id=event_id)
            )
            requests.append(
                {
                    "user_id": user_id,
                    "local_date": day,
                    "event_id": event_id,
                    "requested_at": now,
                    "late": late,
                }
            )
            last = day
        await _set_next(session, user_id, next_slot(zone=zone, at=at, after=now, not_before=last))
    if requests:
        await session.execute(insert(DigestRequest), requests)
        await record_all(session, events)
    return len(rows)
