"""The channels a delivery goes out through, and the one registry that dispatches to them.

A sender is `async (delivery, notification, context) -> None`: it returns when the channel
took the message, and raises RetryableSendError (try again later) or PermanentSendError
(give up); any other exception counts as retryable. The sender loop (jobs.py) claims a
delivery, calls the sender of its channel outside any transaction, and records the outcome.

- "email": here, over SMTP (mail.py), rendered from the templates (rendering.py).
- "push": Web Push (notifications/push.py), one delivery per browser subscription of the
  user (the device id is the delivery's target); a subscription its push service says is
  gone is deleted and its delivery failed. Needs `SendContext.push` (the VAPID keys and an
  HTTP client), which the sender loop opens.
- "in_app": sent when made: its signal is the haven.notification.requested event,
  written in the same transaction (the realtime layer pushes it); it has no sender.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from haven.accounts import devices
from haven.db.session import Database
from haven.notifications import mail
from haven.notifications.digest import due_text
from haven.notifications.mail import PermanentSendError, RetryableSendError, SmtpServer
from haven.notifications.push import send_push
from haven.notifications.push_keys import VapidKeys
from haven.notifications.rendering import render_mail
from haven.settings import Settings

EMAIL: Final = "email"
PUSH: Final = "push"
# A day: a reminder a browser receives a day late is still worth showing (then it expires).
PUSH_TTL_SECONDS: Final = 24 * 3600
IN_APP: Final = "in_app"
CHANNELS: Final = (EMAIL, PUSH, IN_APP)

__all__ = [
    "CHANNELS",
    "SENDERS",
    "PermanentSendError",
    "RetryableSendError",
    "SendContext",
    "Sender",
]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A claimed delivery, as a sender sees it."""

    id: uuid.UUID
    channel: str
    target: str
    attempts: int


@dataclass(frozen=True, slots=True)
class NotificationView:
    """The notification being delivered, and to whom."""

    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    user_id: uuid.UUID
    email: str
    name: str
    timezone: str
    # False: the user was deactivated (or removed) since the notification was made.
    active: bool = True


@dataclass(frozen=True, slots=True)
class PushContext:
    """What the push sender needs: the database (the subscription, a gone one's removal),
    Haven's VAPID keys, an HTTP client and the settings for the push services."""

    database: Database
    keys: VapidKeys
    client: httpx.AsyncClient
    allow_private: bool
    timeout_seconds: float
    # How long a push service keeps a message for a browser that is offline.
    ttl_seconds: int = PUSH_TTL_SECONDS


@dataclass(frozen=True, slots=True)
class SendContext:
    """What every sender may need from the configuration."""

    smtp: SmtpServer | None
    mail_from: str
    smtp_timeout_seconds: float
    data_dir: Path
    push: PushContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SendContext:
        return cls(
            smtp=mail.parse_smtp_url(settings.smtp_url) if settings.smtp_url else None,
            mail_from=settings.mail_from,
            smtp_timeout_seconds=settings.smtp_timeout_seconds,
            data_dir=settings.data_dir,
        )


Sender = Callable[[DeliveryView, NotificationView, SendContext], Awaitable[None]]


def mail_context(notification: NotificationView) -> dict[str, Any]:
    """The variables a mail template gets (docs/notifications.md lists them)."""
    zone = ZoneInfo(notification.timezone)
    user = {"id": str(notification.user_id), "email": notification.email, "name": notification.name}
    context: dict[str, Any] = {
        "user": user,
        "title": notification.title,
        "body": notification.body,
        **notification.data,
    }
    if notification.kind == "reminder":
        task = dict(notification.data.get("task") or {})
        task["due_text"] = due_text(task.get("due"), zone)
        context["task"] = task
        context["late"] = bool(notification.data.get("late"))
    return context


def email_message_id(notification: NotificationView, delivery: DeliveryView, mail_from: str) -> str:
    """The same for every attempt of one delivery: a second copy is recognisably one."""
    return mail.message_id(f"{notification.id}.{delivery.channel}", mail_from=mail_from)


async def send_email(
    delivery: DeliveryView, notification: NotificationView, context: SendContext
) -> None:
    if context.smtp is None:
        raise PermanentSendError("no SMTP server is configured (set HAVEN_SMTP_URL)")
    if "@" not in notification.email:
        raise PermanentSendError("the user has no e-mail address")
    try:
        rendered = render_mail(
            notification.kind, mail_context(notification), data_dir=context.data_dir
        )
    except Exception as exc:  # a broken override template: the operator can fix it
        raise RetryableSendError(
            f"the {notification.kind} mail could not be rendered: {exc}"
        ) from exc
    message = mail.build_message(
        mail_from=context.mail_from,
        to=notification.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=email_message_id(notification, delivery, context.mail_from),
        headers={"X-Haven-Notification": str(notification.id)},
    )
    await mail.send(message, server=context.smtp, timeout_seconds=context.smtp_timeout_seconds)


def push_payload(notification: NotificationView) -> dict[str, Any]:
    """What the browser's service worker shows: small (a push message holds ~4 KB)."""
    task = notification.data.get("task")
    url = f"/inbox?task={task['id']}" if isinstance(task, dict) and task.get("id") else "/inbox"
    return {
        "title": notification.title[:200],
        "body": notification.body[:500],
        "url": url,
        "notification_id": str(notification.id),
    }


async def send_web_push(
    delivery: DeliveryView, notification: NotificationView, context: SendContext
) -> None:
    push = context.push
    if push is None:
        raise RetryableSendError("Web Push is not ready in this worker yet")
    try:
        device_id = uuid.UUID(delivery.target)
    except ValueError as exc:
        raise PermanentSendError(f"not a device: {delivery.target!r}") from exc
    async with push.database.sessions() as session:
        subscription = await devices.push_subscription(session, device_id)
    if subscription is None:
        raise PermanentSendError("the browser's subscription was removed")
    outcome = await send_push(
        subscription,
        push_payload(notification),
        keys=push.keys,
        ttl=push.ttl_seconds,
        urgency="high" if notification.kind == "reminder" else "normal",
        topic=None,
        client=push.client,
        allow_private=push.allow_private,
        timeout_seconds=push.timeout_seconds,
    )
    if outcome.result == "sent":
        return
    if outcome.result == "gone":
        async with push.database.sessions() as session, session.begin():
            await devices.remove_gone_subscription(session, device_id)
        raise PermanentSendError(f"the push service says the subscription is gone: {outcome}")
    if outcome.result == "retryable":
        raise RetryableSendError(outcome.reason or f"push service answered {outcome.status_code}")
    raise PermanentSendError(outcome.reason or f"push service answered {outcome.status_code}")


# Channel -> its sender.
SENDERS: Final[dict[str, Sender]] = {EMAIL: send_email, PUSH: send_web_push}
