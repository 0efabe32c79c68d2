"""The notifications API's shapes, and how a row becomes one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from haven.notifications.models import Notification, NotificationDelivery, NotificationPreference
from haven.notifications.quiet_hours import parse_hhmm

Channel = Literal["email", "push", "in_app"]
DeliveryStatus = Literal["queued", "retrying", "sent", "failed"]


class NotificationDeliveryOut(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    channel: Channel
    target: str = Field(description="which of the channel's targets ('' when it has one)")
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="when it may go (quiet hours, retry)")
    lease_until: datetime | None = Field(description="claimed by a sender until then")
    created_at: datetime
    sent_at: datetime | None


class NotificationOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str = Field(description="reminder | digest")
    title: str
    body: str
    data: dict[str, Any] = Field(description="the task (reminder) or the sections (digest)")
    created_at: datetime
    read_at: datetime | None


class NotificationWithDeliveries(NotificationOut):
    deliveries: list[NotificationDeliveryOut]


class NotificationsRead(BaseModel):
    marked: int = Field(description="how many were marked read now")
    more: bool = Field(description="unread ones are left: call again")


class NotificationQueueItem(NotificationDeliveryOut):
    """A delivery as support sees it: with whose notification it is."""

    notification: NotificationOut


class NotificationPreferences(BaseModel):
    email: bool
    push: bool
    in_app: bool
    quiet_hours_start: str | None = Field(description="HH:MM in the user's time zone")
    quiet_hours_end: str | None = Field(description="HH:MM in the user's time zone")


class PreferencesUpdate(BaseModel):
    """Only what is sent changes. Quiet hours are set (or cleared with nulls) together."""

    model_config = ConfigDict(extra="forbid")

    email: bool | None = None
    push: bool | None = None
    in_app: bool | None = None
    quiet_hours_start: str | None = Field(None, max_length=5)
    quiet_hours_end: str | None = Field(None, max_length=5)

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hhmm(value)
        return value

    @field_validator("email", "push", "in_app", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("a channel is true or false")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> PreferencesUpdate:
        given = {"quiet_hours_start", "quiet_hours_end"} & self.model_fields_set
        if len(given) == 1:
            raise ValueError("quiet_hours_start and quiet_hours_end are set together")
        if given and (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet hours need both a start and an end, or neither")
        return self


DEFAULT_PREFERENCES: dict[str, Any] = {
    "email": True,
    "push": True,
    "in_app": True,
    "quiet_hours_start": None,
    "quiet_hours_end": None,
}


def preferences_to_dict(preferences: NotificationPreference | None) -> dict[str, Any]:
    if preferences is None:
        return dict(DEFAULT_PREFERENCES)
    return {
        "email": preferences.email,
        "push": preferences.push,
        "in_app": preferences.in_app,
        "quiet_hours_start": preferences.quiet_hours_start,
        "quiet_hours_end": preferences.quiet_hours_end,
    }


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "user_id": notification.user_id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
    }


def delivery_to_dict(delivery: NotificationDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "notification_id": delivery.notification_id,
        "channel": delivery.channel,
        "target": delivery.target,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at,
        "lease_until": delivery.lease_until,
        "created_at": delivery.created_at,
        "sent_at": delivery.sent_at,
    }
