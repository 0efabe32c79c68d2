"""REST for notifications: the caller's inbox and preferences, and support's queue."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from haven.accounts.deps import CurrentPrincipal
from haven.core.http import json_response, ok_responses
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    after_instant_and_id,
    cut_page,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.notifications import service
from haven.notifications.schemas import (
    Channel,
    DeliveryStatus,
    NotificationPreferences,
    NotificationQueueItem,
    NotificationsRead,
    NotificationWithDeliveries,
    PreferencesUpdate,
    delivery_to_dict,
    notification_to_dict,
)

router = APIRouter(tags=["notifications"])


@router.get(
    "/notifications",
    summary="The caller's notifications, newest first, with each channel's delivery",
    response_class=Response,
    responses=ok_responses(Page[NotificationWithDeliveries]),
)
async def list_notifications(
    session: ReadSession,
    principal: CurrentPrincipal,
    unread: Annotated[bool | None, Query(description="true: only unread; false: only read")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    found = await service.list_notifications(
        session,
        principal=principal,
        unread=unread,
        after=after_instant_and_id("notifications", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        found, limit=limit, kind="notifications", key=lambda n: [n.created_at.isoformat(), n.id]
    )
    deliveries = await service.deliveries_of(session, page)
    items = [
        {
            **notification_to_dict(n),
            "deliveries": [delivery_to_dict(d) for d in deliveries[n.id]],
        }
        for n in page
    ]
    return json_response(page_body(items, next_cursor))


@router.post(
    "/notifications/read-all",
    summary="Mark the caller's unread notifications read (up to 500 a call; `more` says so)",
    response_model=NotificationsRead,
)
async def mark_all_read(session: WriteSession, principal: CurrentPrincipal) -> dict[str, Any]:
    marked, more = await service.mark_all_read(session, principal=principal)
    return {"marked": marked, "more": more}


@router.post(
    "/notifications/{notification_id}/read",
    summary="Mark a notification read (again: no change)",
    response_class=Response,
    responses=ok_responses(NotificationWithDeliveries),
)
async def mark_read(
    notification_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    notification = await service.mark_read(
        session, principal=principal, notification_id=notification_id
    )
    deliveries = await service.deliveries_of(session, [notification])
    body = {
        **notification_to_dict(notification),
        "deliveries": [delivery_to_dict(d) for d in deliveries[notification.id]],
    }
    return json_response(body)


@router.get(
    "/notification-preferences",
    summary="The caller's notification channels and quiet hours",
    response_model=NotificationPreferences,
)
async def get_preferences(session: ReadSession, principal: CurrentPrincipal) -> dict[str, Any]:
    return await service.get_preferences(session, principal=principal)


@router.patch(
    "/notification-preferences",
    summary="Change the caller's notification channels or quiet hours",
    response_model=NotificationPreferences,
)
async def update_preferences(
    data: PreferencesUpdate, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await service.update_preferences(session, principal=principal, data=data)


@router.get(
    "/admin/notifications",
    summary="Every notification delivery, newest first (superusers, for support)",
    response_class=Response,
    responses=ok_responses(Page[NotificationQueueItem]),
)
async def list_queue(
    session: ReadSession,
    principal: CurrentPrincipal,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    user_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    found = await service.list_queue(
        session,
        principal=principal,
        status=status,
        channel=channel,
        user_id=user_id,
        after=after_instant_and_id("notification-queue", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        found,
        limit=limit,
        kind="notification-queue",
        key=lambda row: [row[0].created_at.isoformat(), row[0].id],
    )
    items = [{**delivery_to_dict(d), "notification": notification_to_dict(n)} for d, n in page]
    return json_response(page_body(items, next_cursor))
