"""The memory of recently seen active users: short, and forgetful on deactivation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from haven.accounts.active_users import RecentlyActiveUsers

TTL = timedelta(seconds=30)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = uuid.uuid4()


def test_a_user_is_remembered_for_one_ttl() -> None:
    memory = RecentlyActiveUsers(ttl=TTL)

    memory.remember(ALICE, now=T0)

    assert memory.is_known_active(ALICE, now=T0 + TTL - timedelta(microseconds=1))
    assert not memory.is_known_active(ALICE, now=T0 + TTL)
    assert not memory.is_known_active(uuid.uuid4(), now=T0)


def test_forgetting_takes_effect_at_once() -> None:
    memory = RecentlyActiveUsers(ttl=TTL)
    memory.remember(ALICE, now=T0)

    memory.forget(ALICE, now=T0 + timedelta(seconds=1))

    assert not memory.is_known_active(ALICE, now=T0 + timedelta(seconds=1))


def test_a_forgotten_user_is_not_remembered_again_for_one_ttl() -> None:
    """A request that read the row before the deactivation committed cannot undo it."""
    memory = RecentlyActiveUsers(ttl=TTL)
    memory.forget(ALICE, now=T0)

    memory.remember(ALICE, now=T0 + timedelta(seconds=5))
    assert not memory.is_known_active(ALICE, now=T0 + timedelta(seconds=5))

    memory.remember(ALICE, now=T0 + TTL)
    assert memory.is_known_active(ALICE, now=T0 + TTL)


def test_the_memory_is_bounded() -> None:
    memory = RecentlyActiveUsers(ttl=TTL, max_users=3)
    users = [uuid.uuid4() for _ in range(4)]

    for user in users:
        memory.remember(user, now=T0)

    assert sum(memory.is_known_active(user, now=T0) for user in users) <= 3
    assert memory.is_known_active(users[-1], now=T0)
