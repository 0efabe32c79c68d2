"""Failed-login limits: an in-memory sliding window per client IP and per account.

The limiter lives in the process (``app.state.login_limiter``). With several API replicas
each one counts on its own, so an attacker gets at most ``replicas x`` the configured
failures per window; that is still a hard ceiling on guessing, and needs no shared store.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI

from haven.core.clock import utcnow
from haven.core.emails import normalize_email
from haven.core.errors import TooManyRequests, Unauthorized
from haven.settings import Settings

# Past this many tracked keys the oldest are forgotten, so spraying many emails cannot
# grow memory without bound.
DEFAULT_MAX_KEYS = 100_000


class SlidingWindow:
    """Timestamps of hits per key, forgotten once they are older than the window."""

    def __init__(self, *, window: timedelta, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[datetime]] = {}

    def count(self, key: str, *, now: datetime) -> int:
        hits = self._prune(key, now=now)
        return len(hits) if hits is not None else 0

    def retry_after(self, key: str, *, limit: int, now: datetime) -> float | None:
        """Seconds until the key has fewer than `limit` hits in the window, or None if it has."""
        hits = self._prune(key, now=now)
        if hits is None or len(hits) < limit:
            return None
        # Hits are in time order: once the one at index len-limit leaves the window,
        # limit-1 remain, and one more attempt fits.
        frees_at = hits[len(hits) - limit] + self.window
        return max((frees_at - now).total_seconds(), 0.0)

    def add(self, key: str, *, now: datetime) -> None:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._make_room(now=now)
            hits = self._hits[key] = deque()
        hits.append(now)

    def discard(self, key: str, *, at: datetime) -> None:
        """Take back one hit recorded at `at` (an attempt that turned out not to count)."""
        hits = self._hits.get(key)
        if hits is None:
            return
        try:
            hits.remove(at)
        except ValueError:
            return
        if not hits:
            del self._hits[key]

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)

    def reset(self) -> None:
        self._hits.clear()

    def __len__(self) -> int:
        return len(self._hits)

    def _prune(self, key: str, *, now: datetime) -> deque[datetime] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def _make_room(self, *, now: datetime) -> None:
        for key in list(self._hits):
            self._prune(key, now=now)
        while len(self._hits) >= self.max_keys:
            del self._hits[next(iter(self._hits))]


class LoginLimiter:
    """Counts failed sign-ins per client IP and per account; over either limit → 429."""

    def __init__(
        self,
        *,
        per_account: int,
        per_ip: int,
        window_seconds: int,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.per_account = per_account
        self.per_ip = per_ip
        self._failures = SlidingWindow(window=timedelta(seconds=window_seconds), max_keys=max_keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        return cls(
            per_account=settings.login_failures_per_account,
            per_ip=settings.login_failures_per_ip,
            window_seconds=settings.login_failure_window_seconds,
        )

    @contextmanager
    def attempt(self, *, ip: str, account: str) -> Iterator[None]:
        """Guard one sign-in: 429 when over a limit, else count it unless it succeeds.

        The attempt is counted as a failure *before* the password is checked and taken
        back on success, so concurrent guesses cannot all slip in under the limit while
        the (slow) password hashes are being compared.
        """
        now = utcnow()
        limits = (
            (f"ip:{ip}", self.per_ip),
            # The sign-in looks the account up by this same normal form: any spelling
            # that reaches the account spends its one budget.
            (f"account:{normalize_email(account)}", self.per_account),
        )
        waits = [
            wait
            for key, limit in limits
            if (wait := self._failures.retry_after(key, limit=limit, now=now)) is not None
        ]
        if waits:
            raise TooManyRequests(
                "too many failed sign-in attempts; try again later",
                retry_after=math.ceil(max(waits)),
            )
        for key, _ in limits:
            self._failures.add(key, now=now)
        try:
            yield
        except Unauthorized:
            raise  # a wrong password: the failure stays counted
        except BaseException:
            for key, _ in limits:
                self._failures.discard(key, at=now)
            raise
        ip_key, account_key = (key for key, _ in limits)
        self._failures.discard(ip_key, at=now)
        # The owner of the account proved who they are: their earlier typos stop counting.
        self._failures.clear(account_key)

    def reset(self) -> None:
        """Forget every failure (tests; an operator after a false alarm)."""
        self._failures.reset()


def login_limiter(app: FastAPI) -> LoginLimiter:
    """The app's limiter, created on first use from the app's settings."""
    limiter: LoginLimiter | None = getattr(app.state, "login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter.from_settings(app.state.settings)
        app.state.login_limiter = limiter
    return limiter
