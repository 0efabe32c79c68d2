"""The channels a delivery goes out through, and the one registry that dispatches to them.

A sender is `async (delivery, notification, context) -> None`: it returns when the channel
took the message, and raises RetryableSendError (try again later) or PermanentSendError
(give up); any other exception counts as retryable. The sender loop (jobs.py) claims a
delivery, calls the sender of its channel outside any transaction, and records the outcome.

- "email": here, over SMTP (mail.py), rendered from the templates (rendering.py).
- "push": the Web Push sender (notifications/push.py, `send_push`) registers here when it
  lands; until then no push delivery is made (consumers.py makes deliveries only for the
  channels in SENDERS, and "in_app").
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

from haven.notifications import mail
from haven.notifications.digest import due_text
from haven.notifications.mail import PermanentSendError, RetryableSendError, SmtpServer
from haven.notifications.rendering import render_mail
from haven.settings import Settings

EMAIL: Final = "email"
PUSH: Final = "push"
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
class SendContext:
    """What every sender may need from the configuration."""

    smtp: SmtpServer | None
    mail_from: str
    smtp_timeout_seconds: float
    data_dir: Path

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


# Channel -> its sender. "push" joins when notifications/push.py lands.
SENDERS: Final[dict[str, Sender]] = {EMAIL: send_email}
