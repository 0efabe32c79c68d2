"""Every query of the notifications domain: the inbox, the delivery queue, preferences, and
what the digest reads (a user's open tasks with a due date)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.users import user_directory
from haven.core.pagination import keyset_after
from haven.notifications.models import Notification, NotificationDelivery, NotificationPreference
from haven.tasks.models import Task
from haven.tasks.schemas import OPEN_STATUSES
from haven.workspaces.access import visible_workspace_ids

QUEUED: Final = "queued"
RETRYING: Final = "retrying"
SENT: Final = "sent"
FAILED: Final = "failed"
STATUSES: Final = (QUEUED, RETRYING, SENT, FAILED)
WAITING: Final = (QUEUED, RETRYING)

_USERS = user_directory()


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)


# --- the inbox ------------------------------------------------------------------------------


async def insert_notification(session: AsyncSession, row: Mapping[str, Any]) -> bool:
    """Add a notification unless one of the same source event exists for the user: whether
    this one was added."""
    statement = (
        _insert(session, Notification)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["user_id", "source_event_id"])
        .returning(Notification.id)
    )
    return (await session.execute(statement)).first() is not None


async def insert_deliveries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        statement = _insert(session, NotificationDelivery).on_conflict_do_nothing(
            index_elements=["notification_id", "channel", "target"]
        )
        await session.execute(statement, list(rows))


async def get_notification(
    session: AsyncSession, *, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    query = select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id
    )
    return (await session.scalars(query)).first()


async def list_notifications(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    unread: bool | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Notification]:
    """Newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    if after is not None:
        query = query.where(
            keyset_after([(Notification.created_at, True), (Notification.id, True)], after)
        )
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def deliveries_of(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID]
) -> Sequence[NotificationDelivery]:
    if not notification_ids:
        return []
    query = (
        select(NotificationDelivery)
        .where(NotificationDelivery.notification_id.in_(notification_ids))
        .order_by(NotificationDelivery.channel, NotificationDelivery.target)
    )
    return (await session.scalars(query)).all()


async def list_queue(
    session: AsyncSession,
    *,
    status: str | None,
    channel: str | None,
    user_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[tuple[NotificationDelivery, Notification]]:
    """Every user's deliveries, newest first, with their notification (for support)."""
    query = select(NotificationDelivery, Notification).join(
        Notification, Notification.id == NotificationDelivery.notification_id
    )
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    if channel is not None:
        query = query.where(NotificationDelivery.channel == channel)
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    if after is not None:
        query = query.where(
            keyset_after(
                [(NotificationDelivery.created_at, True), (NotificationDelivery.id, True)], after
            )
        )
    query = query.order_by(
        NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc()
    ).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


# --- preferences ----------------------------------------------------------------------------


async def get_preferences(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> NotificationPreference | None:
    query = select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add_preferences(session: AsyncSession, preferences: NotificationPreference) -> None:
    session.add(preferences)
    await session.flush()


# --- recipients -----------------------------------------------------------------------------


async def recipient(session: AsyncSession, user_id: uuid.UUID) -> Mapping[str, Any] | None:
    """A user as a notification needs them: id, email, name, timezone, is_active."""
    query = select(_USERS).where(_USERS.c.id == user_id)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def live_task_exists(session: AsyncSession, task_id: uuid.UUID) -> bool:
    query = select(Task.id).where(Task.id == task_id, Task.deleted_at.is_(None))
    return (await session.scalar(query)) is not None


async def open_tasks_due(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    from_: datetime | None,
    before: datetime,
    newest_first: bool,
    limit: int,
) -> Sequence[Task]:
    """The user's open tasks due in [from_, before): in a workspace they are a member of,
    assigned to them, or unassigned and created by them (the digest's rule)."""
    query = select(Task).where(
        Task.workspace_id.in_(visible_workspace_ids(user_id)),
        Task.deleted_at.is_(None),
        Task.status.in_(OPEN_STATUSES),
        Task.due_at.is_not(None),
        Task.due_at < before,
        or_(
            Task.assignee_id == user_id,
            (Task.assignee_id.is_(None)) & (Task.created_by == user_id),
        ),
    )
    if from_ is not None:
        query = query.where(Task.due_at >= from_)
    order = Task.due_at.desc() if newest_first else Task.due_at.asc()
    query = query.order_by(order, Task.id).limit(limit)
    return (await session.scalars(query)).all()


# --- the queue ------------------------------------------------------------------------------


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    channels: Sequence[str],
    limit: int,
    lease_until: datetime,
    token: uuid.UUID,
) -> Sequence[tuple[NotificationDelivery, Notification]]:
    """Take up to `limit` due deliveries of these channels, each leased until `lease_until`
    and counted as an attempt.

    On PostgreSQL, rows another sender is claiming are skipped (SKIP LOCKED); a claim whose
    sender died is due again when its lease runs out.
    """
    query = (
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(
            NotificationDelivery.status.in_(WAITING),
            NotificationDelivery.channel.in_(channels),
            NotificationDelivery.next_attempt_at <= now,
            or_(
                NotificationDelivery.lease_until.is_(None),
                NotificationDelivery.lease_until <= now,
            ),
        )
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(limit)
        .with_for_update(of=NotificationDelivery, skip_locked=True)
    )
    rows = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    for delivery, _ in rows:
        delivery.lease_until = lease_until
        delivery.lease_token = token
        delivery.attempts += 1
    await session.flush()
    return rows


async def lock_delivery(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[NotificationDelivery, Notification] | None:
    query = (
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.id == delivery_id)
        .with_for_update(of=NotificationDelivery)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def unread_for_update(
    session: AsyncSession, *, user_id: uuid.UUID, limit: int
) -> Sequence[Notification]:
    """The user's unread notifications, oldest first, locked to be marked read."""
    query = (
        select(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
        .with_for_update()
    )
    return (await session.scalars(query)).all()
