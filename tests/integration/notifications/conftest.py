"""Notification tests: a real SMTP server (aiosmtpd) on a free local port, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.notifications.helpers import Inbox, smtp_server

# The push tests' fixtures (a local push service; /devices taking its http endpoints), for
# the push channel's tests here: pytest finds a fixture imported into a conftest.
from tests.integration.push.conftest import allow_private, push_service  # noqa: F401


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server
