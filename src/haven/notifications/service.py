"""The notifications rules: a user's inbox and preferences, and the queue for support."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import users
from haven.accounts.authz import Scope, require_person, require_scope
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Forbidden, NotFound
from haven.events.outbox import record, record_all
from haven.notifications import events as notification_events
from haven.notifications import repository
from haven.notifications.models import Notification, NotificationDelivery, NotificationPreference
from haven.notifications.schemas import PreferencesUpdate, notification_to_dict, preferences_to_dict


async def list_notifications(
    session: AsyncSession,
    *,
    principal: Principal,
    unread: bool | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Notification]:
    require_scope(principal, Scope.ACCOUNT_READ)
    return await repository.list_notifications(
        session, user_id=principal.user_id, unread=unread, after=after, limit=limit
    )


async def deliveries_of(
    session: AsyncSession, notifications: Sequence[Notification]
) -> dict[uuid.UUID, list[NotificationDelivery]]:
    found: dict[uuid.UUID, list[NotificationDelivery]] = {n.id: [] for n in notifications}
    for delivery in await repository.deliveries_of(session, list(found)):
        found[delivery.notification_id].append(delivery)
    return found


async def mark_read(
    session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID
) -> Notification:
    """Mark one of the caller's notifications read; again: no change, no event."""
    require_scope(principal, Scope.ACCOUNT_WRITE)
    notification = await repository.get_notification(
        session, user_id=principal.user_id, notification_id=notification_id
    )
    if notification is None:
        raise NotFound("no such notification")
    if notification.read_at is not None:
        return notification
    before = notification_to_dict(notification)
    notification.read_at = utcnow()
    await session.flush()
    record(session, notification_events.read(notification, before=before, actor=principal.actor))
    return notification


# Marked read by one POST /notifications/read-all at most; `more` says to call again.
READ_ALL_LIMIT = 500


async def mark_all_read(session: AsyncSession, *, principal: Principal) -> tuple[int, bool]:
    """Mark the caller's unread notifications read (the oldest READ_ALL_LIMIT): how many,
    and whether unread ones are left."""
    require_scope(principal, Scope.ACCOUNT_WRITE)
    unread = await repository.unread_for_update(
        session, user_id=principal.user_id, limit=READ_ALL_LIMIT + 1
    )
    marking = unread[:READ_ALL_LIMIT]
    now = utcnow()
    events = []
    for notification in marking:
        before = notification_to_dict(notification)
        notification.read_at = now
        events.append(notification_events.read(notification, before=before, actor=principal.actor))
    await session.flush()
    await record_all(session, events)
    return len(marking), len(unread) > READ_ALL_LIMIT


async def get_preferences(session: AsyncSession, *, principal: Principal) -> dict[str, object]:
    require_scope(principal, Scope.ACCOUNT_READ)
    return preferences_to_dict(await repository.get_preferences(session, principal.user_id))


async def update_preferences(
    session: AsyncSession, *, principal: Principal, data: PreferencesUpdate
) -> dict[str, object]:
    require_scope(principal, Scope.ACCOUNT_WRITE)
    preferences = await repository.get_preferences(session, principal.user_id, for_update=True)
    before = preferences_to_dict(preferences)
    after = {**before, **data.model_dump(exclude_unset=True)}
    if after == before:
        return before
    if preferences is None:
        preferences = NotificationPreference(user_id=principal.user_id, updated_at=utcnow())
        for name, value in after.items():
            setattr(preferences, name, value)
        await repository.add_preferences(session, preferences)
    else:
        for name, value in after.items():
            setattr(preferences, name, value)
        preferences.updated_at = utcnow()
        await session.flush()
    record(
        session,
        notification_events.preferences_updated(
            principal.user_id, preferences=after, before=before, actor=principal.actor
        ),
    )
    return after


async def list_queue(
    session: AsyncSession,
    *,
    principal: Principal,
    status: str | None,
    channel: str | None,
    user_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[tuple[NotificationDelivery, Notification]]:
    """Every delivery, for support: superusers only, signed in in person."""
    require_person(principal, "the notification queue is for superusers signed in in person")
    user = await users.get_user(session, principal.user_id)
    if user is None or not user.is_superuser:
        raise Forbidden("the notification queue is for superusers")
    return await repository.list_queue(
        session, status=status, channel=channel, user_id=user_id, after=after, limit=limit
    )
