"""Notifications by e-mail, against a real SMTP server: what arrives, once, when."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from haven.accounts import users
from haven.db.session import Database
from haven.events.models import Event
from haven.events.reading import read_session
from haven.notifications.jobs import send_due_once
from haven.settings import Settings
from tests.events.helpers import eventually, fast
from tests.factories import Account, make_task
from tests.integration.notifications.helpers import (
    MAIL_FROM,
    Inbox,
    consume,
    deliveries,
    digest_requested,
    emit,
    mail_settings,
    notifications,
    notifying_worker,
    reminder_due,
    sender_for,
    smtp_server,
    text_and_html,
)
from tests.support import advance, freeze_clock


async def event_types(database: Database) -> list[str]:
    async with read_session(database) as session:
        query = select(Event.type).where(Event.type.like("haven.notification%"))
        return sorted((await session.scalars(query)).all())


async def test_a_due_reminder_arrives_as_one_mail_through_the_real_worker(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
) -> None:
    task = await make_task(client, alice, title="Water the <ferns> & herbs", due="2026-12-10")
    await emit(database, reminder_due(task, user_id=alice.id))

    with_mail = fast(mail_settings(settings, inbox))
    async with notifying_worker(database, with_mail):

        async def mailed() -> bool:
            return len(inbox.messages) >= 1

        await eventually(mailed)
        await asyncio.sleep(0.5)  # time for a second copy, if there were one

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.envelopes == [("haven@haven.test", ["alice@example.com"])]
    assert message["To"] == "alice@example.com"
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == "Reminder: Water the <ferns> & herbs"
    (notification,) = await notifications(database)
    assert message["Message-ID"] == f"<{notification.id}.email@haven.test>"
    text, html = text_and_html(message)
    assert "Water the <ferns> & herbs" in text
    assert "Due: 2026-12-10" in text
    assert "Water the &lt;ferns&gt; &amp; herbs" in html  # escaped in HTML
    assert "<ferns>" not in html
    email_delivery, in_app = await deliveries(database)
    assert (email_delivery.channel, email_delivery.status, email_delivery.attempts) == (
        "email",
        "sent",
        1,
    )
    assert (in_app.channel, in_app.status) == ("in_app", "sent")
    assert await event_types(database) == [
        "haven.notification.requested",
        "haven.notification.sent",
    ]


async def test_an_event_handled_again_makes_no_second_notification_nor_mail(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
) -> None:
    task = await make_task(client, alice, title="Renew the passport")
    envelope = await emit(database, reminder_due(task, user_id=alice.id))
    policy, context = sender_for(mail_settings(settings, inbox))

    assert await consume(database, envelope) is not None
    assert await send_due_once(database, policy, context) == 1
    # Redelivered (a replay forgets the consumer's marks): the same event id again.
    assert await consume(database, envelope) is None
    assert await send_due_once(database, policy, context) == 0

    assert len(await notifications(database)) == 1
    assert len(await deliveries(database, "email")) == 1
    assert len(inbox.messages) == 1


async def test_the_digest_lists_the_users_overdue_today_and_upcoming_tasks(
    client: httpx.AsyncClient,
    alice: Account,
    bob: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
) -> None:
    # Alice is in Europe/Berlin; her digest is for 2026-12-10.
    await make_task(client, alice, title="Overdue: file taxes", due="2026-12-08")
    await make_task(client, alice, title="Today: call the plumber", due="2026-12-10")
    # 23:30 in Berlin on the 10th is 22:30 UTC: today for her.
    await make_task(client, alice, title="Today late: send slides", due="2026-12-10T22:30:00Z")
    await make_task(client, alice, title="Upcoming: dentist", due="2026-12-16")
    await make_task(client, alice, title="Too far: conference", due="2026-12-17")
    await make_task(client, alice, title="No due date")
    done = await make_task(client, alice, title="Done already", due="2026-12-10")
    assert (await client.post(f"/tasks/{done['id']}/complete", headers=alice.headers)).is_success
    # Assigned to someone else: theirs, not hers.
    shared = await client.post("/workspaces", json={"name": "Home"}, headers=alice.headers)
    workspace_id = shared.json()["id"]
    added = await client.post(
        f"/workspaces/{workspace_id}/members",
        json={"email": bob.email, "role": "member"},
        headers=alice.headers,
    )
    assert added.status_code == 201, added.text
    await make_task(
        client,
        alice,
        title="Bob's: mow the lawn",
        due="2026-12-10",
        workspace_id=workspace_id,
        assignee_id=bob.id,
    )
    await make_task(
        client, alice, title="Shared, unassigned", due="2026-12-11", workspace_id=workspace_id
    )

    envelope = await emit(database, digest_requested(alice.id, "2026-12-10", "Europe/Berlin"))
    notification = await consume(database, envelope)
    assert notification is not None
    policy, context = sender_for(mail_settings(settings, inbox))
    assert await send_due_once(database, policy, context) == 1

    (message,) = inbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Your day, 2026-12-10: 1 overdue, 2 due today, 2 coming up"
    text, html = text_and_html(message)
    sections = text.split("Overdue (1)")[1]
    overdue, rest = sections.split("Due today (2)")
    today, upcoming = rest.split("Coming up this week (2)")
    assert "Overdue: file taxes (due 2026-12-08)" in overdue
    assert "Today: call the plumber" in today
    assert "Today late: send slides (due 2026-12-10 23:30)" in today
    assert "Upcoming: dentist" in upcoming
    assert "Shared, unassigned" in upcoming
    for absent in ("Too far", "No due date", "Done already", "Bob's"):
        assert absent not in text
        assert absent not in html
    assert "<li>Today: call the plumber <span" in html

    # Bob's digest: the lawn is his (assigned to him), due that day.
    bob_envelope = await emit(database, digest_requested(bob.id, "2026-12-10", "America/New_York"))
    bob_digest = await consume(database, bob_envelope)
    assert bob_digest is not None
    assert [t["title"] for s in bob_digest.data["sections"] for t in s["tasks"]] == [
        "Bob's: mow the lawn"
    ]


async def test_an_empty_digest_is_skipped_unless_configured(
    alice: Account, database: Database, settings: Settings, inbox: Inbox
) -> None:
    policy, context = sender_for(mail_settings(settings, inbox))
    skipped = await emit(database, digest_requested(alice.id, "2026-12-10", "Europe/Berlin"))
    assert await consume(database, skipped) is None
    assert await notifications(database) == []

    wanted = await emit(database, digest_requested(alice.id, "2026-12-11", "Europe/Berlin"))
    assert await consume(database, wanted, send_empty_digest=True) is not None
    assert await send_due_once(database, policy, context) == 1
    (message,) = inbox.messages
    text, _ = text_and_html(message)
    assert "Nothing is due" in text


async def test_quiet_hours_hold_the_mail_until_they_end_but_not_the_in_app_notice(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
) -> None:
    quiet = {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
    response = await client.patch("/notification-preferences", json=quiet, headers=alice.headers)
    assert response.status_code == 200, response.text
    task = await make_task(client, alice, title="Take out the bins")
    # 22:30 in Berlin.
    now = freeze_clock(datetime(2026, 12, 10, 21, 30, tzinfo=UTC))
    envelope = await emit(database, reminder_due(task, user_id=alice.id))
    assert await consume(database, envelope) is not None
    policy, context = sender_for(mail_settings(settings, inbox))

    email_delivery, in_app = await deliveries(database)
    assert in_app.status == "sent"
    assert email_delivery.status == "queued"
    # 07:00 in Berlin the next morning.
    assert email_delivery.next_attempt_at == datetime(2026, 12, 11, 6, 0, tzinfo=UTC)
    assert await send_due_once(database, policy, context) == 0
    advance(now, hours=8, minutes=29)  # 06:59 in Berlin
    assert await send_due_once(database, policy, context) == 0
    assert inbox.messages == []
    advance(now, minutes=1)
    assert await send_due_once(database, policy, context) == 1
    assert len(inbox.messages) == 1


async def test_without_an_smtp_server_the_mail_fails_with_the_reason(
    client: httpx.AsyncClient, alice: Account, database: Database, settings: Settings
) -> None:
    task = await make_task(client, alice, title="Pay rent")
    await consume(database, await emit(database, reminder_due(task, user_id=alice.id)))
    policy, context = sender_for(mail_settings(settings, None))

    assert await send_due_once(database, policy, context) == 1

    (delivery,) = await deliveries(database, "email")
    assert delivery.status == "failed"
    assert delivery.last_error is not None
    assert "HAVEN_SMTP_URL" in delivery.last_error
    assert "haven.notification.failed" in await event_types(database)


async def test_a_server_that_is_away_is_retried_then_given_up(
    client: httpx.AsyncClient, alice: Account, database: Database, settings: Settings
) -> None:
    task = await make_task(client, alice, title="Book flights")
    await consume(database, await emit(database, reminder_due(task, user_id=alice.id)))
    with smtp_server() as closed:
        url = closed.url  # a port nobody listens on once this server stops
    away = mail_settings(settings, None, smtp_url=url, notification_max_attempts=2)
    policy, context = sender_for(away)

    assert await send_due_once(database, policy, context) == 1
    (delivery,) = await deliveries(database, "email")
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert delivery.last_error is not None
    assert "RetryableSendError" in delivery.last_error

    assert await send_due_once(database, policy, context) == 1
    (delivery,) = await deliveries(database, "email")
    assert (delivery.status, delivery.attempts) == ("failed", 2)


async def test_a_template_in_the_data_folder_replaces_havens(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
    tmp_path: Path,
) -> None:
    overrides = tmp_path / "templates" / "notifications"
    overrides.mkdir(parents=True)
    (overrides / "reminder.subject.txt").write_text("Psst: {{ task.title }}\n")
    (overrides / "reminder.html").write_text("<p>Our own: {{ task.title }}</p>\n")
    task = await make_task(client, alice, title="<b>Bold</b> move")
    await consume(database, await emit(database, reminder_due(task, user_id=alice.id)))
    policy, context = sender_for(mail_settings(settings, inbox, data_dir=tmp_path))

    assert await send_due_once(database, policy, context) == 1

    (message,) = inbox.messages
    assert message["Subject"] == "Psst: <b>Bold</b> move"
    text, html = text_and_html(message)
    assert html.strip() == "<p>Our own: &lt;b&gt;Bold&lt;/b&gt; move</p>"
    assert "This is your reminder for:" in text  # not overridden: Haven's own


async def test_no_mail_goes_to_a_user_deactivated_meanwhile(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    settings: Settings,
    inbox: Inbox,
) -> None:
    task = await make_task(client, alice, title="Cancel the newspaper")
    envelope = await emit(database, reminder_due(task, user_id=alice.id))
    await consume(database, envelope)
    async with database.sessions() as session, session.begin():
        await users.deactivate_user(session, user_id=uuid.UUID(alice.id), actor="system/admin")
    policy, context = sender_for(mail_settings(settings, inbox))

    assert await send_due_once(database, policy, context) == 1

    (delivery,) = await deliveries(database, "email")
    assert delivery.status == "failed"
    assert delivery.last_error is not None
    assert "deactivated" in delivery.last_error
    assert inbox.messages == []
    # And a reminder due after the deactivation makes no notification at all.
    later = await emit(database, reminder_due(task, user_id=alice.id))
    assert await consume(database, later) is None
