"""The events of notifications, built in one place (docs/events.md lists each one's `data`).

They are the user's, not a workspace's: source "/", never sent to a workspace's webhooks.
`haven.notification.requested` is the in-app channel: the realtime layer shows the
notification live to its user when `in_app` is among its `channels`.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.catalog import DIGEST_REQUESTED, REMINDER_DUE
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.notifications.models import Notification, NotificationDelivery
from haven.notifications.schemas import delivery_to_dict, notification_to_dict

ACTOR = "system/notifications"
# What the notifications consumer turns into notifications (the scheduler emits them).
CONSUMED = frozenset({REMINDER_DUE, DIGEST_REQUESTED})
__all__ = ["CONSUMED", "DIGEST_REQUESTED", "REMINDER_DUE"]


class NotificationChanged(TypedDict):
    notification: State
    # requested: the channels it goes out on ("email", "push", "in_app").
    channels: NotRequired[list[str]]
    # sent, failed: the channel's delivery, as it is now.
    delivery: NotRequired[State]
    changes: NotRequired[Changes]


class PreferencesChanged(TypedDict):
    preferences: State
    changes: Changes


def _about(
    type_: str, notification: Notification, actor: str, data: NotificationChanged
) -> DomainEvent:
    return DomainEvent(
        type=type_,
        subject=f"notifications/{notification.id}",
        actor=actor,
        workspace_id=None,
        version=None,
        data=data,
    )


def requested(notification: Notification, *, channels: list[str]) -> DomainEvent:
    data: NotificationChanged = {
        "notification": notification_to_dict(notification),
        "channels": channels,
    }
    return _about(catalog.NOTIFICATION_REQUESTED, notification, ACTOR, data)


def sent(notification: Notification, delivery: NotificationDelivery) -> DomainEvent:
    data: NotificationChanged = {
        "notification": notification_to_dict(notification),
        "delivery": delivery_to_dict(delivery),
    }
    return _about(catalog.NOTIFICATION_SENT, notification, ACTOR, data)


def failed(notification: Notification, delivery: NotificationDelivery) -> DomainEvent:
    data: NotificationChanged = {
        "notification": notification_to_dict(notification),
        "delivery": delivery_to_dict(delivery),
    }
    return _about(catalog.NOTIFICATION_FAILED, notification, ACTOR, data)


def read(notification: Notification, *, before: State, actor: str) -> DomainEvent:
    after = notification_to_dict(notification)
    data: NotificationChanged = {"notification": after, "changes": changes_between(before, after)}
    return _about(catalog.NOTIFICATION_READ, notification, actor, data)


def preferences_updated(
    user_id: object, *, preferences: State, before: State, actor: str
) -> DomainEvent:
    data: PreferencesChanged = {
        "preferences": preferences,
        "changes": changes_between(before, preferences),
    }
    return DomainEvent(
        type=catalog.NOTIFICATION_PREFERENCES_UPDATED,
        subject=f"users/{user_id}/notification-preferences",
        actor=actor,
        workspace_id=None,
        version=None,
        data=data,
    )
