"""What the notification tests share: a real SMTP server (aiosmtpd) and the events the
scheduler will emit, made here as it will make them."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from sqlalchemy import select

from haven.core.http import dump_json
from haven.db.session import Database
from haven.events.outbox import DomainEvent, record, to_cloudevent
from haven.events.reading import read_session
from haven.events.worker import Worker
from haven.notifications.channels import SendContext
from haven.notifications.consumers import NOTIFICATIONS_CONSUMER, handle_event
from haven.notifications.jobs import SendPolicy, run_notifications
from haven.notifications.models import Notification, NotificationDelivery
from haven.settings import Settings

MAIL_FROM = "Haven <haven@haven.test>"


@dataclass
class Inbox:
    """An SMTP server's handler that keeps every message it accepted.

    `hold`: each DATA waits until it is cleared, then is refused (451) and kept nowhere,
    as when the sender dies before its mail was taken.
    """

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold.is_set():
            self.held.set()
            # A thread's flag (the test's loop clears it), polled from the server's loop.
            while self.hold.is_set():  # noqa: ASYNC110 - not an asyncio.Event: another thread's
                await asyncio.sleep(0.02)
            return "451 4.3.0 try again later"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        inbox.hold.clear()
        controller.stop()


def mail_settings(settings: Settings, inbox: Inbox | None, **changes: object) -> Settings:
    values: dict[str, object] = {
        "smtp_url": inbox.url if inbox else None,
        "mail_from": MAIL_FROM,
        "notification_poll_seconds": 0.05,
        "notification_retry_base_seconds": 0.0,
        "notification_lease_seconds": 2.0,
    }
    values.update(changes)
    return settings.model_copy(update=values)


def sender_for(settings: Settings) -> tuple[SendPolicy, SendContext]:
    return SendPolicy.from_settings(settings), SendContext.from_settings(settings)


def reminder_due(task: Mapping[str, Any], *, user_id: str, late: bool = False) -> DomainEvent:
    """haven.reminder.due as the scheduler emits it (the contract in docs/events.md)."""
    reminder_id = str(uuid.uuid4())
    return DomainEvent(
        type="haven.reminder.due",
        subject=f"tasks/{task['id']}",
        actor="system/scheduler",
        workspace_id=uuid.UUID(str(task["workspace_id"])),
        version=None,
        data={
            "reminder": {
                "id": reminder_id,
                "task_id": task["id"],
                "at": None,
                "offset_minutes": 30,
                "fire_at": "2026-12-10T08:30:00Z",
                "fired_at": "2026-12-10T08:30:00Z",
            },
            "task": {
                "id": task["id"],
                "title": task["title"],
                "due": task["due"],
                "project_id": task["project_id"],
                "workspace_id": task["workspace_id"],
            },
            "user_id": user_id,
            "late": late,
        },
    )


def digest_requested(user_id: str, local_date: str, timezone: str) -> DomainEvent:
    return DomainEvent(
        type="haven.digest.requested",
        subject=f"users/{user_id}",
        actor="system/scheduler",
        workspace_id=None,
        version=None,
        data={"user_id": user_id, "local_date": local_date, "timezone": timezone},
    )


async def emit(database: Database, event: DomainEvent) -> dict[str, Any]:
    """Record the event through the outbox; its CloudEvents envelope (as JSON)."""
    async with database.sessions() as session, session.begin():
        row = record(session, event)
        await session.flush()
        envelope = to_cloudevent(row)
    loaded: dict[str, Any] = orjson.loads(dump_json(envelope))
    return loaded


async def consume(
    database: Database, envelope: Mapping[str, Any], *, send_empty_digest: bool = False
) -> Notification | None:
    """The consumer's handler on one event, in a transaction of its own."""
    async with database.sessions() as session, session.begin():
        return await handle_event(session, envelope, send_empty_digest=send_empty_digest)


async def notifications(database: Database) -> list[Notification]:
    async with read_session(database) as session:
        return list((await session.scalars(select(Notification))).all())


async def deliveries(database: Database, channel: str | None = None) -> list[NotificationDelivery]:
    async with read_session(database) as session:
        query = select(NotificationDelivery).order_by(NotificationDelivery.channel)
        if channel is not None:
            query = query.where(NotificationDelivery.channel == channel)
        return list((await session.scalars(query)).all())


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, "a text part"
    assert html is not None, "an HTML part"
    return str(text.get_content()), str(html.get_content())


@asynccontextmanager
async def notifying_worker(database: Database, settings: Settings) -> AsyncIterator[Worker]:
    """The real worker with the notifications consumer and sender (and nothing else)."""
    worker = Worker(
        database, settings, consumers=[NOTIFICATIONS_CONSUMER], jobs=[run_notifications]
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, timeout=30)
