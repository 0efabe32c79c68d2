"""Who may do what in a workspace: the role checks every module's services make.

Not being a member answers 404, exactly like a workspace that does not exist (never reveal
that it does); a member whose role is too low gets 403.

A check made in a write transaction holds the membership it read (a shared row lock on
PostgreSQL, until commit): the role that allowed a write is the committed one when it was
read, and it cannot be lowered, nor the member removed, until the write commits; a role
change or a removal waits for the writes in flight. (SQLite runs one write at a time.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import BindParameter, ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import authn
from haven.accounts.authz import Role, require_rank
from haven.accounts.principal import Principal
from haven.core.concurrency import ensure_version
from haven.core.errors import NotFound
from haven.workspaces import repository
from haven.workspaces.models import Workspace
from haven.workspaces.schemas import workspace_read


async def require_role(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    at_least: Role,
    what: str = "workspace",
) -> Role:
    """The caller's role in the workspace; 404 if not a member (never reveal), 403 if too low.

    In a write transaction the membership stays locked until commit (see the module's doc).
    """
    role_name = await repository.get_role(
        session,
        workspace_id=workspace_id,
        user_id=principal.user_id,
        keep=repository.writing(session),
    )
    return check_role(role_name, at_least=at_least, what=what)


def check_role(role_name: str | None, *, at_least: Role, what: str = "workspace") -> Role:
    """require_role, for a role read by another query (`caller_access_columns`)."""
    if role_name is None:
        raise NotFound(f"{what} not found")
    role = Role(role_name)
    require_rank(role, at_least=at_least)
    return role


def caller_access_columns(
    workspace_id: ColumnElement[uuid.UUID], *, keep: bool = False, keep_workspace: bool = False
) -> tuple[ColumnElement[str | None], ColumnElement[bool | None]]:
    """Columns that add the caller's access check to a query of a workspace's object: the
    caller's role there (for `check_role`) and whether they are active (for
    `authn.confirm_active`). The caller's id is bound as `user_id`.

    A write passes `keep`: the membership is locked (shared, until commit) by the query, before
    the query locks its own row, so the role is the committed one even when the query waited
    for that row, and it holds until the write commits. `keep_workspace` locks the workspace
    row too (shared, first), for a write that its deletion does not otherwise meet (restoring
    from the trash): the deletion waits for it, or it sees the workspace gone.
    """
    return repository.caller_access_columns(workspace_id, keep=keep, keep_workspace=keep_workspace)


async def role_in(
    session: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, keep: bool = False
) -> Role | None:
    """A user's role in a live workspace; None when they are not a member.

    `keep` is for giving the user something there (assigning a task): removing them waits
    until that commits, and then unassigns it with the rest, or the caller sees them gone.
    """
    role_name = await repository.get_role(
        session, workspace_id=workspace_id, user_id=user_id, keep=keep
    )
    return Role(role_name) if role_name else None


def visible_workspace_ids(
    user_id: uuid.UUID | BindParameter[uuid.UUID],
) -> Select[tuple[uuid.UUID]]:
    """A subquery of the workspaces a user may read, for one-round-trip list queries."""
    return repository.member_workspace_ids(user_id)


@dataclass(frozen=True, slots=True)
class WorkspaceAccess:
    workspace_id: uuid.UUID
    role: Role
    timezone: str  # the caller's own zone, the default for what they create


async def require_access(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    at_least: Role,
    what: str = "workspace",
) -> WorkspaceAccess:
    """require_role for a workspace (None: the caller's personal one), in one query.

    The query reads the caller's users row too (`authn.confirm_active`): a write's
    transaction needs no look-up of its own. In a write transaction the membership stays
    locked until commit (see the module's doc).
    """
    row = await repository.get_access(
        session,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        keep=repository.writing(session),
    )
    if row is None:
        if workspace_id is None:
            raise NotFound("you have no personal workspace; pass workspace_id")
        raise NotFound(f"{what} not found")
    found_id, role_name, timezone, active = row
    authn.confirm_active(session, principal, active=active)
    role = Role(role_name)
    require_rank(role, at_least=at_least)
    access_hints.remember(
        principal.user_id, workspace_id, AccessHint(workspace_id=found_id, timezone=timezone)
    )
    return WorkspaceAccess(workspace_id=found_id, role=role, timezone=timezone)


# --- access checked inside a write's own statement ------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessHint:
    """What `require_access` last found for a caller and a workspace: its id (the caller's
    personal one, when none was named) and the caller's time zone."""

    workspace_id: uuid.UUID
    timezone: str


class AccessHints:
    """The process's memory of `AccessHint`s, by (user, workspace named or None).

    Only a hint: a statement that relies on one checks it again (`access_guard`), so a stale
    hint (a role lowered, a zone changed, by any process) costs the long way, never a wrong
    answer. Bounded: past `max_entries` it is emptied, which only costs look-ups.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._hints: dict[tuple[uuid.UUID, uuid.UUID | None], AccessHint] = {}

    def get(self, user_id: uuid.UUID, workspace_id: uuid.UUID | None) -> AccessHint | None:
        return self._hints.get((user_id, workspace_id))

    def remember(
        self, user_id: uuid.UUID, workspace_id: uuid.UUID | None, hint: AccessHint
    ) -> None:
        if len(self._hints) >= self.max_entries:
            self._hints.clear()
        self._hints[(user_id, workspace_id)] = hint

    def forget(self, user_id: uuid.UUID, workspace_id: uuid.UUID | None) -> None:
        self._hints.pop((user_id, workspace_id), None)

    def reset(self) -> None:
        self._hints.clear()


access_hints = AccessHints()


def access_guard(*, at_least: Role, personal: bool) -> Select[tuple[uuid.UUID]]:
    """`require_access` as one part of a write's statement (PostgreSQL: a CTE the write selects
    from), for a caller with an `AccessHint`: a row only where the hint still holds and the
    caller's role is `at_least` or above. Bind `guard_parameters`."""
    roles = frozenset(role.value for role in Role if role.at_least(at_least))
    return repository.access_guard(roles=roles, personal=personal)


def guard_parameters(principal: Principal, hint: AccessHint) -> dict[str, object]:
    return {
        "user_id": principal.user_id,
        "workspace_id": hint.workspace_id,
        "caller_zone": hint.timezone,
    }


async def lock_for_change(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    at_least: Role,
    if_match: int | None = None,
) -> tuple[Workspace, Role]:
    """Lock the workspace, then check the caller's role (and the If-Match) under the lock.

    Changes to a workspace or its members start here, so two of them cannot both pass a
    check (e.g. "another owner remains") that only one of them may.
    """
    workspace = await repository.lock_workspace(session, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    role = await require_role(
        session, principal=principal, workspace_id=workspace_id, at_least=at_least
    )
    ensure_version(
        "workspace",
        current_version=workspace.version,
        if_match=if_match,
        current=lambda: workspace_read(workspace, role).model_dump(),
    )
    return workspace, role
