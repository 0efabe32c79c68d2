"""The whole way inside `haven serve`: a reminder set a moment ahead is fired by the real
scheduler, relayed, turned into a notification and mailed, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings
from tests.events.helpers import eventually, fast
from tests.factories import make_task, register
from tests.integration.notifications.helpers import Inbox, mail_settings, text_and_html


async def test_a_reminder_fired_by_the_scheduler_arrives_as_one_mail(
    database: Database, settings: Settings, inbox: Inbox
) -> None:
    serving = fast(mail_settings(settings, inbox), serve_worker=True, scheduler_poll_seconds=0.1)
    app = create_app(serving, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as client:
            ada = await register(client, email="ada@example.com", timezone="Europe/London")
            fire_at = datetime.now(UTC) + timedelta(seconds=1.5)
            task = await make_task(
                client, ada, title="Tea with Charles", due="2026-12-24T16:00:00Z"
            )
            response = await client.post(
                f"/tasks/{task['id']}/reminders",
                json={"at": fire_at.isoformat()},
                headers=ada.headers,
            )
            assert response.status_code == 201, response.text

            async def mailed() -> bool:
                return len(inbox.messages) >= 1

            await eventually(mailed, within=30)
            await asyncio.sleep(1.0)  # time for a second copy, if there were one

            listed = await client.get("/notifications", headers=ada.headers)
    (message,) = inbox.messages
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reminder: Tea with Charles"
    text, _ = text_and_html(message)
    assert "Due: 2026-12-24 16:00" in text  # 16:00 in London
    (notification,) = listed.json()["items"]
    assert notification["data"]["task"]["id"] == task["id"]
    assert {d["channel"]: d["status"] for d in notification["deliveries"]} == {
        "email": "sent",
        "in_app": "sent",
    }
