"""`haven worker` killed between claiming a mail and the server taking it: after the lease
runs out, its successor sends the mail, and exactly one copy arrives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from haven.db.session import Database
from haven.settings import Settings
from tests.events.helpers import ROOT, eventually
from tests.factories import Account, make_task
from tests.integration.notifications.helpers import (
    MAIL_FROM,
    Inbox,
    deliveries,
    emit,
    notifications,
    reminder_due,
)
from tests.support import TEST_SECRET_KEY

LEASE_SECONDS = 2.0


class Worker:
    """`haven worker` (the real one: every built-in consumer and job) on the test database."""

    def __init__(self, settings: Settings, inbox: Inbox, log: Path) -> None:
        self.env = {
            **os.environ,
            "HAVEN_DATABASE_URL": settings.effective_database_url,
            "HAVEN_DATA_DIR": str(settings.data_dir),
            "HAVEN_SECRET_KEY": TEST_SECRET_KEY,
            "HAVEN_LOG_LEVEL": "WARNING",
            "HAVEN_SMTP_URL": inbox.url,
            "HAVEN_MAIL_FROM": MAIL_FROM,
            "HAVEN_NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
            "HAVEN_NOTIFICATION_POLL_SECONDS": "0.05",
            "HAVEN_RELAY_POLL_SECONDS": "0.05",
            "HAVEN_CONSUMER_POLL_SECONDS": "0.05",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "haven", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def kill(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        return await asyncio.to_thread(self.process.wait, 60)

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 60)

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)


@pytest.fixture
def worker(settings: Settings, inbox: Inbox, tmp_path: Path) -> Iterator[Worker]:
    process = Worker(settings, inbox, tmp_path / "worker.log")
    yield process
    process.kill_if_running()


async def test_a_sender_killed_mid_send_leaves_exactly_one_mail_after_restart(
    client: httpx.AsyncClient,
    alice: Account,
    database: Database,
    inbox: Inbox,
    worker: Worker,
) -> None:
    task = await make_task(client, alice, title="Feed the cat")
    await emit(database, reminder_due(task, user_id=alice.id))
    inbox.hold.set()  # the server keeps the first DATA waiting: the mail is not taken yet

    worker.start()
    # The worker relayed and consumed the event, claimed the delivery and is sending it.
    assert await asyncio.to_thread(inbox.held.wait, 60), worker.log.read_text()
    assert await worker.kill() == -signal.SIGKILL
    inbox.hold.clear()  # the held DATA is refused to a sender that is gone: no mail kept
    (claimed,) = await deliveries(database, "email")
    assert (claimed.status, claimed.attempts) == ("queued", 1)
    assert claimed.lease_until is not None
    assert inbox.messages == []

    worker.start()

    async def mailed() -> bool:
        return len(inbox.messages) >= 1

    await eventually(mailed, within=60)
    await asyncio.sleep(LEASE_SECONDS + 1)  # a lease's time for a second copy to show
    assert await worker.stop() == 0, worker.log.read_text()

    assert len(inbox.messages) == 1
    (notification,) = await notifications(database)
    assert inbox.messages[0]["Message-ID"] == f"<{notification.id}.email@haven.test>"
    (sent,) = await deliveries(database, "email")
    assert (sent.status, sent.attempts, sent.lease_until) == ("sent", 2, None)
