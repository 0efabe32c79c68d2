"""Notification tests: a real SMTP server (aiosmtpd) on a free local port, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.notifications.helpers import Inbox, smtp_server


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server
