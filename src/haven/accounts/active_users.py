"""A short memory of the users known to be active, so most requests cost no extra query.

An access token is self-contained: without a look at the users table, a deleted or
deactivated user's token would keep working until it expires (15 minutes). Looking costs a
query per request, so for reads a user seen active is remembered for `ACTIVE_USER_TTL`: that is
how long a deactivation made by another process (another API replica, the CLI) may take to stop
their reads. Writes always look the account up (`authn.authenticate`). A
deactivation in this process forgets the user at once, and keeps them out of this memory for
one more TTL, so that a request which read the row before the deactivation committed cannot
put them back.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

ACTIVE_USER_TTL = timedelta(seconds=5)
# Past this many remembered users the memory is emptied: it only saves queries.
MAX_REMEMBERED = 100_000


class RecentlyActiveUsers:
    def __init__(self, *, ttl: timedelta = ACTIVE_USER_TTL, max_users: int = MAX_REMEMBERED):
        self.ttl = ttl
        self.max_users = max_users
        self._seen_at: dict[uuid.UUID, datetime] = {}
        self._barred_until: dict[uuid.UUID, datetime] = {}

    def is_known_active(self, user_id: uuid.UUID, *, now: datetime) -> bool:
        seen_at = self._seen_at.get(user_id)
        return seen_at is not None and now - seen_at < self.ttl

    def remember(self, user_id: uuid.UUID, *, now: datetime) -> None:
        """Note that the users table showed `user_id` active at `now`."""
        barred_until = self._barred_until.get(user_id)
        if barred_until is not None:
            if now < barred_until:
                return
            del self._barred_until[user_id]
        if len(self._seen_at) >= self.max_users:
            self._seen_at.clear()
        self._seen_at[user_id] = now

    def forget(self, user_id: uuid.UUID, *, now: datetime) -> None:
        """The user was just deactivated or deleted: check the table on their next request."""
        self._seen_at.pop(user_id, None)
        if len(self._barred_until) >= self.max_users:
            self._barred_until = {u: t for u, t in self._barred_until.items() if t > now}
        self._barred_until[user_id] = now + self.ttl

    def reset(self) -> None:
        self._seen_at.clear()
        self._barred_until.clear()


active_users = RecentlyActiveUsers()
"""The process's memory (a deactivation anywhere in the process must reach it)."""
