"""The one source of "now". Tests replace it with a frozen or stepping clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return _now()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Install a clock (a callable returning an aware datetime); None restores the real one."""
    global _now
    _now = now if now is not None else (lambda: datetime.now(UTC))
