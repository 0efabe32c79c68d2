"""The sender loop: claim due deliveries, send each through its channel, record the outcome.

Started by the worker (`run_notifications(database, settings, stop_event)`). Each round:

1. claim: one short transaction takes up to `notification_batch_size` due deliveries
   (PostgreSQL: FOR UPDATE SKIP LOCKED, so several workers share the queue), counts an
   attempt on each and leases it (`lease_until`, `lease_token`);
2. send: outside any transaction, through the channel's sender (channels.SENDERS);
3. record: one transaction per delivery, only if its lease is still this round's: sent, or
   retrying after a backoff (base * 2^(attempts-1), at most max), or failed (a permanent
   error, or the last attempt), with the haven.notification.sent / .failed event.

Crashes. A sender that dies after its claim and before the mail went out leaves the
delivery leased: when the lease runs out it is claimed again and sent, once. A sender that
dies after the SMTP server accepted the mail and before step 3 committed sends it again
after the lease: SMTP has no way to ask "did you take this one?", so that window (between
the server's "250 OK" and a one-row commit) can give a second copy. The copy carries the
same Message-ID (per notification and channel), which mail clients and many servers use to
drop or thread duplicates.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
import structlog

from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events.outbox import record
from haven.notifications import events as notification_events
from haven.notifications import repository
from haven.notifications.channels import (
    SENDERS,
    DeliveryView,
    NotificationView,
    PermanentSendError,
    PushContext,
    SendContext,
)
from haven.notifications.push import new_push_client
from haven.notifications.push_keys import PushKeysUnreadable, load_vapid_keys
from haven.settings import Settings

log = structlog.get_logger("haven.notifications")

ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class SendPolicy:
    batch_size: int = 20
    poll_seconds: float = 1.0
    lease_seconds: float = 120.0
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> SendPolicy:
        return cls(
            batch_size=settings.notification_batch_size,
            poll_seconds=settings.notification_poll_seconds,
            lease_seconds=settings.notification_lease_seconds,
            retry_base_seconds=settings.notification_retry_base_seconds,
            retry_max_seconds=settings.notification_retry_max_seconds,
            max_attempts=settings.notification_max_attempts,
        )

    def retry_delay(self, attempts: int) -> float:
        delay = self.retry_base_seconds * 2.0 ** max(0, attempts - 1)
        return float(min(self.retry_max_seconds, delay))


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery: DeliveryView
    notification: NotificationView
    token: uuid.UUID
    # Claimed once more than the attempts allow (its senders kept dying): failed unsent.
    exhausted: bool


async def run_notifications(
    database: Database, settings: Settings, stop_event: asyncio.Event
) -> None:
    """Send until `stop_event` is set; the round in flight finishes first."""
    policy = SendPolicy.from_settings(settings)
    async with new_push_client(timeout_seconds=settings.push_timeout_seconds) as client:
        context = replace(
            SendContext.from_settings(settings),
            push=await open_push(database, settings, client),
        )
        await _send_until_stopped(database, policy, context, stop_event)


async def open_push(
    database: Database, settings: Settings, client: httpx.AsyncClient
) -> PushContext | None:
    """The push channel's context, with Haven's VAPID keys (made on first use). Keys that
    cannot be read (another HAVEN_SECRET_KEY sealed them) leave push off, said in the log;
    push deliveries then wait and are retried, and the other channels go on."""
    try:
        keys = await load_vapid_keys(
            database, secret_key=settings.resolved_secret_key(), subject=settings.push_subject
        )
    except PushKeysUnreadable as exc:
        log.error("web push is off: the VAPID keys cannot be read", error=str(exc))
        return None
    return PushContext(
        database=database,
        keys=keys,
        client=client,
        allow_private=settings.push_allow_private_targets,
        timeout_seconds=settings.push_timeout_seconds,
    )


async def _send_until_stopped(
    database: Database, policy: SendPolicy, context: SendContext, stop_event: asyncio.Event
) -> None:
    while not stop_event.is_set():
        try:
            handled = await send_due_once(database, policy, context)
        except Exception:
            log.exception("notification round failed")
            handled = 0
        if handled < policy.batch_size:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), policy.poll_seconds)


async def send_due_once(database: Database, policy: SendPolicy, context: SendContext) -> int:
    """One round: claim, send, record. How many deliveries it handled."""
    claimed = await claim(database, policy)
    for item in claimed:
        error: Exception | None = None
        if item.exhausted:
            error = PermanentSendError(
                f"gave up after {item.delivery.attempts - 1} attempts (the sender stopped)"
            )
        else:
            error = await send(item, context)
        await record_outcome(database, item, error, policy)
    return len(claimed)


async def claim(database: Database, policy: SendPolicy) -> list[Claimed]:
    now = utcnow()
    token = uuid.uuid4()
    async with database.sessions() as session, session.begin():
        rows = await repository.claim_due(
            session,
            now=now,
            channels=sorted(SENDERS),
            limit=policy.batch_size,
            lease_until=now + timedelta(seconds=policy.lease_seconds),
            token=token,
        )
        claimed = []
        for delivery, notification in rows:
            user = await repository.recipient(session, notification.user_id)
            claimed.append(
                Claimed(
                    delivery=DeliveryView(
                        id=delivery.id,
                        channel=delivery.channel,
                        target=delivery.target,
                        attempts=delivery.attempts,
                    ),
                    notification=NotificationView(
                        id=notification.id,
                        kind=notification.kind,
                        title=notification.title,
                        body=notification.body,
                        data=dict(notification.data),
                        user_id=notification.user_id,
                        email=str(user["email"]) if user else "",
                        name=str(user["name"]) if user else "",
                        timezone=str(user["timezone"]) if user else "UTC",
                        active=bool(user and user["is_active"]),
                    ),
                    token=token,
                    exhausted=delivery.attempts > policy.max_attempts,
                )
            )
        return claimed


async def send(item: Claimed, context: SendContext) -> Exception | None:
    """Send one delivery; the error it ended with (None: the channel took it)."""
    if not item.notification.active:
        return PermanentSendError("the user was deactivated")
    sender = SENDERS.get(item.delivery.channel)
    if sender is None:
        return PermanentSendError(f"no sender for the {item.delivery.channel!r} channel")
    try:
        await sender(item.delivery, item.notification, context)
    except Exception as exc:
        return exc
    return None


async def record_outcome(
    database: Database, item: Claimed, error: Exception | None, policy: SendPolicy
) -> None:
    """Write what the attempt found, unless the lease was lost meanwhile (another sender
    took the delivery over: its outcome is the one that counts)."""
    now = utcnow()
    async with database.sessions() as session, session.begin():
        found = await repository.lock_delivery(session, item.delivery.id)
        if found is None:
            return  # deleted with its user
        delivery, notification = found
        if delivery.lease_token != item.token or delivery.status not in repository.WAITING:
            return
        delivery.lease_token = None
        delivery.lease_until = None
        if error is None:
            delivery.status, delivery.sent_at, delivery.next_attempt_at = repository.SENT, now, None
            delivery.last_error = None
            await session.flush()
            record(session, notification_events.sent(notification, delivery))
            log.info("notification sent", delivery_id=str(delivery.id), channel=delivery.channel)
            return
        delivery.last_error = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
        if isinstance(error, PermanentSendError) or delivery.attempts >= policy.max_attempts:
            delivery.status, delivery.next_attempt_at = repository.FAILED, None
            await session.flush()
            record(session, notification_events.failed(notification, delivery))
            log.warning(
                "notification failed",
                delivery_id=str(delivery.id),
                channel=delivery.channel,
                error=delivery.last_error,
            )
            return
        delivery.status = repository.RETRYING
        delivery.next_attempt_at = now + timedelta(seconds=policy.retry_delay(delivery.attempts))
        log.info(
            "notification retrying",
            delivery_id=str(delivery.id),
            attempts=delivery.attempts,
            error=delivery.last_error,
        )
