"""The scheduler inside `haven serve`: a reminder set a moment ahead reaches a consumer of
haven.reminder.due once, on time, through the outbox, relay and bus."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from haven.app import create_app
from haven.db.session import Database
from haven.events.consumers import Consumer, registry
from haven.settings import Settings
from tests.events.helpers import eventually, fast
from tests.factories import make_task, register


async def test_a_reminder_set_a_moment_ahead_reaches_its_consumer_once(
    database: Database, settings: Settings
) -> None:
    seen: list[Mapping[str, Any]] = []
    received: list[datetime] = []

    async def handle(session: AsyncSession, envelope: Mapping[str, Any]) -> None:
        seen.append(envelope)
        received.append(datetime.now(UTC))

    registry.register(Consumer("reminder-recorder", handle, frozenset({"haven.reminder.due"})))
    try:
        app = create_app(
            fast(settings, serve_worker=True, scheduler_poll_seconds=0.1), database=database
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
                ada = await register(c, email="ada@example.com", timezone="Europe/London")
                fire_at = datetime.now(UTC) + timedelta(seconds=1.5)
                task = await make_task(
                    c, ada, title="Tea", due=(fire_at + timedelta(minutes=5)).isoformat()
                )
                response = await c.post(
                    f"/tasks/{task['id']}/reminders",
                    json={"at": fire_at.isoformat()},
                    headers=ada.headers,
                )
                assert response.status_code == 201, response.text

                async def arrived() -> bool:
                    return len(seen) >= 1

                await eventually(arrived, within=30)
                [envelope] = seen
                assert envelope["data"]["task"]["id"] == task["id"]
                assert envelope["data"]["user_id"] == ada.id
                assert envelope["data"]["late"] is False
                assert received[0] >= fire_at
    finally:
        registry.unregister("reminder-recorder")
