"""Who is asking: the authenticated principal, its scopes, and workspace roles."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Literal

from haven.core.errors import Forbidden

AuthMethod = Literal["jwt", "api_key", "oidc"]


class Scope(enum.StrEnum):
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    WORKSPACES_READ = "workspaces:read"
    WORKSPACES_WRITE = "workspaces:write"
    ACCOUNT_READ = "account:read"
    ACCOUNT_WRITE = "account:write"


class Role(enum.StrEnum):
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


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    method: AuthMethod
    # None: every scope (a signed-in person); a set: what an API key was granted.
    scopes: frozenset[str] | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        return f"users/{self.user_id}"

    def can(self, scope: Scope) -> bool:
        return self.scopes is None or scope.value in self.scopes

    def require(self, scope: Scope) -> None:
        if not self.can(scope):
            raise Forbidden(f"this API key lacks the {scope.value!r} scope")
