"""The notifications consumer: reminder.due and digest.requested become a notification,
its deliveries, and the haven.notification.requested event, in the runner's transaction.

Handled once in effect per event (the runner's processed-events mark), and idempotent by
itself too: the notification is unique per (user, source event), so a replayed event
(`haven events replay`, a dead letter replayed) makes no second one and queues no second
mail. Nothing is sent here: the sender loop (jobs.py) does that after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import devices
from haven.core.clock import utcnow
from haven.core.ids import new_id
from haven.core.timezones import is_time_zone
from haven.events.consumers import Consumer
from haven.events.outbox import record
from haven.notifications import digest, repository
from haven.notifications import events as notification_events
from haven.notifications.channels import EMAIL, IN_APP, PUSH, SENDERS
from haven.notifications.models import Notification, NotificationPreference
from haven.notifications.quiet_hours import quiet_until
from haven.settings import get_settings
from haven.workspaces.access import role_in

log = structlog.get_logger("haven.notifications")

NAME: Final = "notifications"
TYPES: Final = notification_events.CONSUMED


class Skip(Exception):
    """The event asks for no notification (the user is gone, the task deleted, …)."""


async def handle_event(
    session: AsyncSession, envelope: Mapping[str, Any], *, send_empty_digest: bool | None = None
) -> Notification | None:
    """Make the notification an event asks for; the one made (None: none, or made before).

    `send_empty_digest`: None reads HAVEN_DIGEST_SEND_EMPTY.
    """
    event_type = envelope.get("type")
    data = envelope.get("data")
    if event_type not in TYPES:
        return None
    if not isinstance(data, Mapping):
        # Too large for the bus (haven_data_omitted): a reminder's or digest's never is.
        raise ValueError(f"event {envelope.get('id')} has no data")
    try:
        if event_type == notification_events.REMINDER_DUE:
            notification = await _reminder(session, envelope, data)
        else:
            if send_empty_digest is None:
                send_empty_digest = get_settings().digest_send_empty
            notification = await _digest(session, envelope, data, send_empty=send_empty_digest)
    except Skip as reason:
        log.info("no notification", event_id=str(envelope.get("id")), reason=str(reason))
        return None
    return notification


async def _recipient(session: AsyncSession, raw: object) -> Mapping[str, Any]:
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError:
        raise Skip(f"user_id {raw!r} is not an id") from None
    user = await repository.recipient(session, user_id)
    if user is None or not user["is_active"]:
        raise Skip("the user is gone or deactivated")
    return user


async def _reminder(
    session: AsyncSession, envelope: Mapping[str, Any], data: Mapping[str, Any]
) -> Notification | None:
    user = await _recipient(session, data.get("user_id"))
    task = data.get("task")
    if not isinstance(task, Mapping):
        raise ValueError("a reminder.due event carries its task")
    task_id = uuid.UUID(str(task["id"]))
    workspace_id = uuid.UUID(str(task["workspace_id"]))
    if await role_in(session, user_id=user["id"], workspace_id=workspace_id) is None:
        raise Skip("the user is no longer a member of the task's workspace")
    if not await repository.live_task_exists(session, task_id):
        raise Skip("the task is deleted")
    due = digest.due_text(task.get("due"), ZoneInfo(_zone(user["timezone"])))
    title = str(task.get("title", ""))[:500]
    return await _make(
        session,
        envelope,
        user=user,
        kind="reminder",
        title=title,
        body=f"Due {due}" if due else "",
        data={
            "task": dict(task),
            "reminder": dict(data.get("reminder") or {}),
            "late": bool(data.get("late")),
        },
    )


async def _digest(
    session: AsyncSession, envelope: Mapping[str, Any], data: Mapping[str, Any], *, send_empty: bool
) -> Notification | None:
    user = await _recipient(session, data.get("user_id"))
    try:
        local_date = date.fromisoformat(str(data.get("local_date")))
    except ValueError:
        raise ValueError(f"digest.requested: local_date {data.get('local_date')!r}") from None
    zone = _zone(str(data.get("timezone") or user["timezone"]))
    content = await digest.build_digest(
        session, user_id=user["id"], local_date=local_date, timezone=zone
    )
    if content.is_empty and not send_empty:
        raise Skip("nothing to say in the digest (HAVEN_DIGEST_SEND_EMPTY is off)")
    counts = content.counts
    return await _make(
        session,
        envelope,
        user=user,
        kind="digest",
        title=f"Your day, {content.local_date}",
        body=(
            f"{counts['overdue']} overdue, {counts['today']} due today, "
            f"{counts['upcoming']} coming up this week"
        ),
        data=content.as_data(),
    )


def _zone(name: str) -> str:
    return name if is_time_zone(name) else "UTC"


async def _make(
    session: AsyncSession,
    envelope: Mapping[str, Any],
    *,
    user: Mapping[str, Any],
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any],
) -> Notification | None:
    now = utcnow()
    notification = Notification(
        id=new_id(),
        user_id=user["id"],
        kind=kind,
        title=title,
        body=body,
        data=data,
        source_event_id=uuid.UUID(str(envelope["id"])),
        created_at=now,
        read_at=None,
    )
    row = {c.key: getattr(notification, c.key) for c in Notification.__table__.columns}
    if not await repository.insert_notification(session, row):
        return None  # made before, from this event: its deliveries are on their way
    preferences = await repository.get_preferences(session, user["id"])
    channels = _channels(preferences)
    wait = quiet_until(
        now,
        start=preferences.quiet_hours_start if preferences else None,
        end=preferences.quiet_hours_end if preferences else None,
        zone=_zone(user["timezone"]),
    )
    deliveries = []
    for channel in channels:
        # Web Push goes to each of the user's browsers that subscribed; the rest have one.
        targets = (
            [str(sub.device_id) for sub in await devices.push_targets(session, user["id"])]
            if channel == PUSH
            else [""]
        )
        deliveries += [
            _delivery(notification.id, channel, target, now=now, quiet_until=wait)
            for target in targets
        ]
    await repository.insert_deliveries(session, deliveries)
    record(session, notification_events.requested(notification, channels=channels))
    return notification


def _channels(preferences: NotificationPreference | None) -> list[str]:
    """The channels the user allows that Haven can send on (see channels.py)."""
    allowed = {
        EMAIL: preferences.email if preferences else True,
        PUSH: preferences.push if preferences else True,
        IN_APP: preferences.in_app if preferences else True,
    }
    return [
        channel
        for channel in (EMAIL, PUSH, IN_APP)
        if allowed[channel] and (channel == IN_APP or channel in SENDERS)
    ]


def _delivery(
    notification_id: uuid.UUID,
    channel: str,
    target: str,
    *,
    now: datetime,
    quiet_until: datetime | None,
) -> dict[str, Any]:
    in_app = channel == IN_APP
    return {
        "id": new_id(),
        "notification_id": notification_id,
        "channel": channel,
        "target": target,
        # In-app is delivered by the event written with it; quiet hours do not hold it.
        "status": repository.SENT if in_app else repository.QUEUED,
        "attempts": 1 if in_app else 0,
        "last_error": None,
        "next_attempt_at": None if in_app else (quiet_until or now),
        "lease_until": None,
        "lease_token": None,
        "created_at": now,
        "sent_at": now if in_app else None,
    }


async def _handle(session: AsyncSession, envelope: Mapping[str, Any]) -> None:
    await handle_event(session, envelope)


NOTIFICATIONS_CONSUMER: Final = Consumer(name=NAME, handler=_handle, types=TYPES)
