"""Who is asking: a user, in person or through a key, or an integration or job acting for one.

Every principal carries the authority of one user: that user's memberships and roles bound
what it may do, so no way in can skip a tenancy check. What differs is who acts, which
events record as `haven_actor` (EVENTS.md): the user themself (`users/<id>`), an integration
connection syncing for its owner (`integrations/<id>`), or Haven itself (`system/<name>`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

AuthMethod = Literal["jwt", "api_key", "oidc", "internal"]
"""How the principal was established; "internal": made inside Haven, not from a bearer."""

_SYSTEM_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class IntegrationAgent:
    """An integration connection (GitHub, Jira, CalDAV, …) acting for the user who set it up."""

    connection_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"integrations/{self.connection_id}"


@dataclass(frozen=True, slots=True)
class SystemAgent:
    """Haven itself, e.g. the scheduler moving a recurring task on for its owner."""

    name: str

    def __post_init__(self) -> None:
        if not _SYSTEM_NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a system actor name (e.g. 'scheduler')")

    @property
    def actor(self) -> str:
        return f"system/{self.name}"


Agent = IntegrationAgent | SystemAgent


@dataclass(frozen=True, slots=True)
class Principal:
    # Whose authority: every role and workspace check is made for this user.
    user_id: uuid.UUID
    method: AuthMethod
    # None: every scope (the user in person, or a job acting for them); else what was granted.
    scopes: frozenset[str] | None = None
    api_key_id: uuid.UUID | None = None
    # Who acts when it is not the user: set exactly for "internal" principals.
    agent: Agent | None = None

    def __post_init__(self) -> None:
        if (self.agent is not None) != (self.method == "internal"):
            raise ValueError("an integration or system principal is 'internal', and only it")

    @classmethod
    def for_integration(
        cls, connection_id: uuid.UUID, *, owner_id: uuid.UUID, scopes: Iterable[str]
    ) -> Principal:
        """An integration connection, with the scopes its owner granted it."""
        return cls(
            user_id=owner_id,
            method="internal",
            scopes=frozenset(scopes),
            agent=IntegrationAgent(connection_id),
        )

    @classmethod
    def for_system(cls, name: str, *, on_behalf_of: uuid.UUID) -> Principal:
        """Haven's own job `name`, doing for a user what that user could do."""
        return cls(user_id=on_behalf_of, method="internal", agent=SystemAgent(name))

    @property
    def actor(self) -> str:
        """Who did it, as events record it (`haven_actor`)."""
        return self.agent.actor if self.agent is not None else f"users/{self.user_id}"

    @property
    def is_person(self) -> bool:
        """The user themself, signed in: not an API key, an integration or a job."""
        return self.method in ("jwt", "oidc")

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes
