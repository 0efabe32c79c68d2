"""Authorization: scopes and roles, and the checks that need no database.

Services call these (never routers), so every way in — REST, WebSocket, GraphQL, MCP, the
worker — gets the same answer. The checks that read memberships are in
`haven.workspaces.access`, which builds on `require_rank`.
"""

from __future__ import annotations

import enum

from haven.accounts.principal import Principal
from haven.core.errors import Forbidden


class Scope(enum.StrEnum):
    """What an API key (or an integration) may do; a signed-in person may do all of it."""

    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    WORKSPACES_READ = "workspaces:read"
    WORKSPACES_WRITE = "workspaces:write"
    ACCOUNT_READ = "account:read"
    ACCOUNT_WRITE = "account:write"


class Role(enum.StrEnum):
    """A member's role in a workspace, from least to most trusted."""

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def require_scope(principal: Principal, scope: Scope) -> None:
    """403 unless the principal was granted `scope`."""
    if not principal.has_scope(scope):
        holder = "API key" if principal.method == "api_key" else "integration"
        raise Forbidden(f"this {holder} lacks the {scope.value!r} scope")


def require_person(principal: Principal, refusal: str) -> None:
    """403 (with `refusal` as the detail) unless the user is asking in person.

    For what a leaked key must not be able to do: mint more keys, change the password.
    """
    if not principal.is_person:
        raise Forbidden(refusal)


def require_rank(role: Role, *, at_least: Role) -> None:
    """403 unless `role` is `at_least` or above."""
    if not role.at_least(at_least):
        raise Forbidden(f"your role {role.value!r} cannot do this; it needs {at_least.value!r}")
