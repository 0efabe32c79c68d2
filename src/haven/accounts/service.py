"""Accounts rules: authorization helpers used by every module, and the account flows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import structlog
from sqlalchemy import BindParameter, Select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import repository
from haven.accounts.models import Device, Identity, Membership, RefreshToken, User, Workspace
from haven.accounts.principal import Principal, Role
from haven.accounts.schemas import (
    DeviceCreate,
    MemberCreate,
    ProfileUpdate,
    WorkspaceCreate,
)
from haven.core.clock import utcnow
from haven.core.emails import normalize_email
from haven.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unauthorized,
    ValidationFailed,
)
from haven.core.ids import new_id
from haven.core.security import (
    hash_password,
    hash_secret,
    issue_access_token,
    new_secret,
    verify_password,
)
from haven.core.timezones import is_time_zone
from haven.events import catalog
from haven.events.outbox import record_event

log = structlog.get_logger("haven.accounts")

DEFAULT_DIGEST: dict[str, Any] = {"enabled": False, "hour": 8}
WRONG_CREDENTIALS = "wrong email or password"


# --- authorization helpers (used by every module) ------------------------------------------


async def require_role(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    at_least: Role,
    what: str = "workspace",
) -> Role:
    """The caller's role in the workspace; 404 if not a member (never reveal), 403 if too low."""
    role_name = await repository.get_role(
        session, workspace_id=workspace_id, user_id=principal.user_id
    )
    if role_name is None:
        raise NotFound(f"{what} not found")
    role = Role(role_name)
    _ensure_at_least(role, at_least)
    return role


async def role_in(
    session: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> Role | None:
    role_name = await repository.get_role(session, workspace_id=workspace_id, user_id=user_id)
    return Role(role_name) if role_name else None


def visible_workspace_ids(
    user_id: uuid.UUID | BindParameter[uuid.UUID],
) -> Select[tuple[uuid.UUID]]:
    """A subquery of the workspaces a user may read, for one-round-trip list queries."""
    return repository.member_workspace_ids(user_id)


def _ensure_at_least(role: Role, at_least: Role) -> None:
    if not role.at_least(at_least):
        raise Forbidden(f"your role {role.value!r} cannot do this; it needs {at_least.value!r}")


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
    """require_role for a workspace (None: the caller's personal one), in one query."""
    row = await repository.get_access(session, user_id=principal.user_id, workspace_id=workspace_id)
    if row is None:
        if workspace_id is None:
            raise NotFound("you have no personal workspace; pass workspace_id")
        raise NotFound(f"{what} not found")
    found_id, role_name, timezone = row
    role = Role(role_name)
    _ensure_at_least(role, at_least)
    return WorkspaceAccess(workspace_id=found_id, role=role, timezone=timezone)


# --- users ----------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str | None,
    name: str,
    timezone: str,
    is_superuser: bool = False,
) -> User:
    """A new user with their personal workspace (registration, the CLI, first OIDC sign-in).

    `password` None makes an account that can only sign in through an external provider.
    """
    email = normalize_email(email)
    if not is_time_zone(timezone):
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone", loc=["body", "timezone"])
    # Hash before the first statement: on SQLite that statement takes the write lock, and
    # argon2 is slow on purpose.
    password_hash = await _hash_password(password) if password is not None else None
    if await repository.email_taken(session, email):
        raise Conflict("an account with this email already exists")
    now = utcnow()
    user = User(
        id=new_id(),
        email=email,
        name=name,
        password_hash=password_hash,
        timezone=timezone,
        is_active=True,
        is_superuser=is_superuser,
        digest=dict(DEFAULT_DIGEST),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # registered concurrently with the same email
        raise Conflict("an account with this email already exists") from exc
    record_event(
        session,
        type=catalog.USER_REGISTERED,
        subject=f"users/{user.id}",
        actor=f"users/{user.id}",
        workspace_id=None,
        data={"user": describe_user(user)},
        version=user.version,
    )
    label = name or email.split("@", 1)[0]
    await _create_workspace(
        session,
        owner_id=user.id,
        workspace_id=new_id(),
        name=f"{label}'s workspace"[:200],
        is_personal=True,
    )
    return user


def describe_user(user: User) -> dict[str, Any]:
    """A user as events show them: never the password hash."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "timezone": user.timezone,
        "digest": digest_of(user),
        "created_at": user.created_at,
    }


def digest_of(user: User) -> dict[str, Any]:
    return {**DEFAULT_DIGEST, **(user.digest or {})}


async def _hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def _verify_password(password: str, password_hash: str | None) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password, password_hash)


async def get_me(session: AsyncSession, *, principal: Principal) -> User:
    user = await repository.get_user(session, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("this account no longer exists or is disabled")
    return user


async def update_me(
    session: AsyncSession,
    *,
    principal: Principal,
    data: ProfileUpdate,
    if_match: int | None = None,
) -> User:
    """Change the caller's profile; a password change signs out every session."""
    user = await repository.get_user_for_update(session, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("this account no longer exists or is disabled")
    if if_match is not None and if_match != user.version:
        raise PreconditionFailed(
            "your profile changed since you read it",
            body={"current": _profile_body(user)},
        )
    changes: dict[str, tuple[Any, Any]] = {}
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] != user.name:
        changes["name"] = (user.name, fields["name"])
        user.name = fields["name"]
    if "timezone" in fields and fields["timezone"] != user.timezone:
        changes["timezone"] = (user.timezone, fields["timezone"])
        user.timezone = fields["timezone"]
    if data.digest is not None:
        before = digest_of(user)
        after = {**before, **data.digest.model_dump(exclude_unset=True)}
        if after != before:
            changes["digest"] = (before, after)
            user.digest = after
    password_changed = False
    if data.current_password is not None and data.new_password is not None:
        if principal.method == "api_key":
            raise Forbidden("the password is changed from a signed-in session, not an API key")
        if not await _verify_password(data.current_password, user.password_hash):
            raise Forbidden("the current password is wrong")
        user.password_hash = await _hash_password(data.new_password)
        await repository.revoke_user_refresh_tokens(session, user_id=user.id, now=utcnow())
        password_changed = True
    if not changes and not password_changed:
        return user
    user.updated_at = utcnow()
    await session.flush()
    record_event(
        session,
        type=catalog.USER_UPDATED,
        subject=f"users/{user.id}",
        actor=principal.actor,
        workspace_id=None,
        data={"user": describe_user(user), "password_changed": password_changed},
        version=user.version,
        changes=changes,
    )
    return user


def _profile_body(user: User) -> dict[str, Any]:
    return {**describe_user(user), "version": user.version}


# --- sessions: access and refresh tokens ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """How tokens are signed and how long they live (from the app's settings)."""

    secret_key: str
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True, slots=True)
class IssuedSession:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


async def register(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str,
    timezone: str,
    tokens: TokenPolicy,
) -> IssuedSession:
    user = await create_user(session, email=email, password=password, name=name, timezone=timezone)
    return start_session(session, user=user, tokens=tokens)


async def check_password(session: AsyncSession, *, email: str, password: str) -> User:
    """The active user with this email and password, else Unauthorized (same for both cases).

    Needs only a read session: keep the (slow) hash comparison out of write transactions.
    """
    user = await repository.get_user_by_email(session, normalize_email(email))
    usable = user is not None and user.is_active
    password_hash = user.password_hash if user is not None and usable else None
    # An unknown email is checked against a dummy hash, so both failures take as long.
    if not await _verify_password(password, password_hash) or user is None or not usable:
        raise Unauthorized(WRONG_CREDENTIALS)
    return user


def start_session(session: AsyncSession, *, user: User, tokens: TokenPolicy) -> IssuedSession:
    """A new sign-in: an access token and the first refresh token of a new family."""
    return _issue(session, user=user, family_id=new_id(), tokens=tokens)


def _issue(
    session: AsyncSession, *, user: User, family_id: uuid.UUID, tokens: TokenPolicy
) -> IssuedSession:
    now = utcnow()
    refresh_token = new_secret(32)
    session.add(
        RefreshToken(
            id=new_id(),
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_secret(refresh_token),
            issued_at=now,
            expires_at=now + tokens.refresh_ttl,
            used_at=None,
            revoked_at=None,
        )
    )
    access_token, _ = issue_access_token(
        user_id=user.id, secret=tokens.secret_key, ttl=tokens.access_ttl
    )
    return IssuedSession(
        user=user,
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=int(tokens.access_ttl.total_seconds()),
    )


async def refresh_session(
    session: AsyncSession, *, refresh_token: str, tokens: TokenPolicy
) -> IssuedSession | None:
    """Rotate a refresh token; None when it cannot be used (the caller answers 401).

    Replaying a spent token means it leaked (or a client misbehaves): every token of its
    family is revoked, so whoever holds the newest one is signed out too. The revocation is
    a change to commit even though the answer is an error, hence None instead of raising.
    """
    now = utcnow()
    stored = await repository.get_refresh_token_by_hash(session, hash_secret(refresh_token))
    if stored is None or stored.revoked_at is not None:
        return None
    if stored.used_at is not None:
        await _revoke_replayed_family(session, stored, now=now)
        return None
    if stored.expires_at <= now:
        return None
    if not await repository.mark_refresh_token_used(session, token_id=stored.id, now=now):
        # Spent by a concurrent refresh between our read and our write: a replay as well.
        await _revoke_replayed_family(session, stored, now=now)
        return None
    user = await repository.get_user(session, stored.user_id)
    if user is None or not user.is_active:
        return None
    return _issue(session, user=user, family_id=stored.family_id, tokens=tokens)


async def _revoke_replayed_family(
    session: AsyncSession, stored: RefreshToken, *, now: datetime
) -> None:
    revoked = await repository.revoke_refresh_family(session, family_id=stored.family_id, now=now)
    log.warning(
        "refresh_token_replayed",
        user_id=str(stored.user_id),
        family_id=str(stored.family_id),
        revoked=revoked,
    )


async def logout(session: AsyncSession, *, refresh_token: str) -> None:
    """Revoke the session the refresh token belongs to; an unknown token is a no-op."""
    stored = await repository.get_refresh_token_by_hash(session, hash_secret(refresh_token))
    if stored is not None:
        await repository.revoke_refresh_family(session, family_id=stored.family_id, now=utcnow())


# --- OIDC sign-in ---------------------------------------------------------------------------


async def sign_in_external(
    session: AsyncSession,
    *,
    issuer: str,
    subject: str,
    email: str | None,
    email_verified: bool | None,
    name: str,
    timezone: str | None,
) -> User:
    """The local user of an external identity, linked or created on first sign-in.

    An existing local account is linked only when the provider vouches for the email
    (email_verified true); otherwise anyone able to set that email at the provider could
    take the account over.
    """
    user = await repository.get_identity_user(session, issuer=issuer, subject=subject)
    if user is not None:
        return user
    if not email:
        raise Unauthorized("the token carries no email to create an account with")
    if email_verified is False:
        raise Unauthorized("the provider has not verified this email")
    email = normalize_email(email)
    user = await repository.get_user_by_email(session, email)
    if user is None:
        zone = timezone if timezone and is_time_zone(timezone) else "UTC"
        user = await create_user(session, email=email, password=None, name=name, timezone=zone)
    elif email_verified is not True:
        raise Unauthorized(
            "an account with this email exists; the provider must verify the email to link it"
        )
    identity = Identity(
        id=new_id(), user_id=user.id, issuer=issuer, subject=subject, created_at=utcnow()
    )
    session.add(identity)
    await session.flush()
    record_event(
        session,
        type=catalog.USER_IDENTITY_LINKED,
        subject=f"users/{user.id}",
        actor=f"users/{user.id}",
        workspace_id=None,
        data={"identity": {"id": identity.id, "issuer": issuer, "subject": subject}},
    )
    return user


# --- workspaces -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """A workspace as one member sees it."""

    workspace: Workspace
    role: Role


async def list_workspaces(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> list[WorkspaceView]:
    rows = await repository.list_user_workspaces(
        session, user_id=principal.user_id, after=after, limit=limit
    )
    return [WorkspaceView(workspace=row[0], role=Role(row[1])) for row in rows]


async def create_workspace(
    session: AsyncSession, *, principal: Principal, data: WorkspaceCreate
) -> WorkspaceView:
    """A shared workspace owned by the caller. Repeating a create with the same id is safe."""
    if data.id is not None:
        existing = await repository.get_workspace(session, data.id)
        if existing is not None:
            mine = await repository.get_workspace_with_role(
                session, workspace_id=data.id, user_id=principal.user_id
            )
            if mine is not None and existing.created_by == principal.user_id:
                return WorkspaceView(workspace=mine[0], role=Role(mine[1]))
            raise Conflict("a workspace with this id already exists")
    workspace = await _create_workspace(
        session,
        owner_id=principal.user_id,
        workspace_id=data.id or new_id(),
        name=data.name,
        is_personal=False,
    )
    return WorkspaceView(workspace=workspace, role=Role.OWNER)


async def _create_workspace(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    workspace_id: uuid.UUID,
    name: str,
    is_personal: bool,
) -> Workspace:
    now = utcnow()
    workspace = Workspace(
        id=workspace_id,
        name=name,
        is_personal=is_personal,
        created_by=owner_id,
        deleted_at=None,
        created_at=now,
        updated_at=now,
    )
    membership = Membership(
        workspace_id=workspace_id,
        user_id=owner_id,
        role=Role.OWNER.value,
        created_at=now,
        updated_at=now,
    )
    session.add(workspace)
    # Without relationship() the unit of work does not order inserts by foreign key.
    await session.flush()
    session.add(membership)
    await session.flush()
    actor = f"users/{owner_id}"
    record_event(
        session,
        type=catalog.WORKSPACE_CREATED,
        subject=f"workspaces/{workspace.id}",
        actor=actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
    )
    _record_member_event(session, catalog.MEMBER_ADDED, membership, actor=actor)
    return workspace


def describe_workspace(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "is_personal": workspace.is_personal,
        "created_by": workspace.created_by,
        "created_at": workspace.created_at,
        "deleted_at": workspace.deleted_at,
        "version": workspace.version,
    }


async def get_workspace(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID
) -> WorkspaceView:
    found = await repository.get_workspace_with_role(
        session, workspace_id=workspace_id, user_id=principal.user_id
    )
    if found is None:
        raise NotFound("workspace not found")
    return WorkspaceView(workspace=found[0], role=Role(found[1]))


async def rename_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    name: str | None,
    if_match: int | None = None,
) -> WorkspaceView:
    """Admins and owners rename; `if_match` is the version the client last read."""
    workspace, role = await _lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.ADMIN,
        if_match=if_match,
    )
    if name is None or name == workspace.name:
        return WorkspaceView(workspace=workspace, role=role)
    before = workspace.name
    workspace.name = name
    workspace.updated_at = utcnow()
    await session.flush()
    record_event(
        session,
        type=catalog.WORKSPACE_UPDATED,
        subject=f"workspaces/{workspace.id}",
        actor=principal.actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
        changes={"name": (before, name)},
    )
    return WorkspaceView(workspace=workspace, role=role)


async def delete_workspace(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    """Only an owner deletes (softly); a personal workspace stays."""
    workspace, _ = await _lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.OWNER,
        if_match=if_match,
    )
    if workspace.is_personal:
        raise Conflict("a personal workspace cannot be deleted")
    now = utcnow()
    workspace.deleted_at = now
    workspace.updated_at = now
    await session.flush()
    record_event(
        session,
        type=catalog.WORKSPACE_DELETED,
        subject=f"workspaces/{workspace.id}",
        actor=principal.actor,
        workspace_id=workspace.id,
        data={"workspace": describe_workspace(workspace)},
        version=workspace.version,
    )


async def _lock_for_change(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    at_least: Role,
    if_match: int | None = None,
) -> tuple[Workspace, Role]:
    """Lock the workspace, then check the caller's role (and the If-Match) under the lock."""
    workspace = await repository.lock_workspace(session, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    role = await require_role(
        session, principal=principal, workspace_id=workspace_id, at_least=at_least
    )
    if if_match is not None and if_match != workspace.version:
        raise PreconditionFailed(
            "the workspace changed since you read it",
            body={"current": workspace_body(workspace, role)},
        )
    return workspace, role


def workspace_body(workspace: Workspace, role: Role) -> dict[str, Any]:
    """The workspace as the API shows it (the 412 body carries it)."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "is_personal": workspace.is_personal,
        "role": role.value,
        "created_at": workspace.created_at,
        "version": workspace.version,
    }


# --- members --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


async def list_members(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[MemberView]:
    await require_role(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.VIEWER
    )
    rows = await repository.list_members(
        session, workspace_id=workspace_id, after=after, limit=limit
    )
    return [_member_view(row) for row in rows]


def _member_view(row: Row[uuid.UUID, str, str, str, datetime]) -> MemberView:
    user_id, email, name, role, joined_at = row
    return MemberView(user_id=user_id, email=email, name=name, role=Role(role), joined_at=joined_at)


async def add_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, data: MemberCreate
) -> MemberView:
    """Admins add members; only an owner may add another owner."""
    _, caller_role = await _lock_for_change(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.ADMIN
    )
    if data.role is Role.OWNER and caller_role is not Role.OWNER:
        raise Forbidden("only an owner can add an owner")
    user = await repository.get_user_by_email(session, normalize_email(data.email))
    if user is None:
        raise NotFound("no Haven user with that email")
    if await repository.get_membership(session, workspace_id=workspace_id, user_id=user.id):
        raise Conflict("this user is already a member of the workspace")
    now = utcnow()
    membership = Membership(
        workspace_id=workspace_id,
        user_id=user.id,
        role=data.role.value,
        created_at=now,
        updated_at=now,
    )
    session.add(membership)
    await session.flush()
    _record_member_event(session, catalog.MEMBER_ADDED, membership, actor=principal.actor)
    return MemberView(
        user_id=user.id, email=user.email, name=user.name, role=data.role, joined_at=now
    )


async def change_member_role(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
) -> MemberView:
    """Admins change roles; granting or taking away owner needs an owner; one owner remains."""
    _, caller_role = await _lock_for_change(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.ADMIN
    )
    membership = await repository.get_membership(
        session, workspace_id=workspace_id, user_id=user_id
    )
    if membership is None:
        raise NotFound("member not found")
    current = Role(membership.role)
    if Role.OWNER in (current, role) and caller_role is not Role.OWNER:
        raise Forbidden("only an owner can grant or take away the owner role")
    if current is not role:
        if current is Role.OWNER:
            await _keep_an_owner(session, workspace_id=workspace_id)
        membership.role = role.value
        membership.updated_at = utcnow()
        await session.flush()
        _record_member_event(
            session,
            catalog.MEMBER_ROLE_CHANGED,
            membership,
            actor=principal.actor,
            changes={"role": (current.value, role.value)},
        )
    user = await repository.get_user(session, user_id)
    assert user is not None  # the membership's foreign key guarantees it
    return MemberView(
        user_id=user_id,
        email=user.email,
        name=user.name,
        role=role,
        joined_at=membership.created_at,
    )


async def remove_member(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Admins remove members, anyone may leave; owners go only by an owner, never the last."""
    leaving = user_id == principal.user_id
    _, caller_role = await _lock_for_change(
        session,
        principal=principal,
        workspace_id=workspace_id,
        at_least=Role.VIEWER if leaving else Role.ADMIN,
    )
    membership = await repository.get_membership(
        session, workspace_id=workspace_id, user_id=user_id
    )
    if membership is None:
        raise NotFound("member not found")
    if membership.role == Role.OWNER.value:
        if caller_role is not Role.OWNER:
            raise Forbidden("only an owner can remove an owner")
        await _keep_an_owner(session, workspace_id=workspace_id)
    await session.delete(membership)
    await session.flush()
    _record_member_event(session, catalog.MEMBER_REMOVED, membership, actor=principal.actor)


async def _keep_an_owner(session: AsyncSession, *, workspace_id: uuid.UUID) -> None:
    """Call before an owner stops being one (the workspace row is locked)."""
    if await repository.count_owners(session, workspace_id=workspace_id) <= 1:
        raise Conflict("a workspace needs an owner; make someone else owner first")


def _record_member_event(
    session: AsyncSession,
    type: str,
    membership: Membership,
    *,
    actor: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    record_event(
        session,
        type=type,
        subject=f"workspaces/{membership.workspace_id}/members/{membership.user_id}",
        actor=actor,
        workspace_id=membership.workspace_id,
        data={
            "member": {
                "workspace_id": membership.workspace_id,
                "user_id": membership.user_id,
                "role": membership.role,
                "joined_at": membership.created_at,
            }
        },
        changes=changes,
    )


# --- devices --------------------------------------------------------------------------------


async def list_devices(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> Sequence[Device]:
    return await repository.list_devices(
        session, user_id=principal.user_id, after=after, limit=limit
    )


async def register_device(
    session: AsyncSession, *, principal: Principal, data: DeviceCreate
) -> tuple[Device, bool]:
    """The caller's device for this push token, and whether it is new.

    A push token reaches one app install: registering it again updates that device, and
    when another account registers it the device moves there (else the previous account's
    notifications would keep arriving on someone else's phone).
    """
    now = utcnow()
    token_hash = hash_secret(data.push_token)
    device = await repository.get_device_by_push_token_hash(session, token_hash)
    if device is not None and device.user_id == principal.user_id:
        device.name = data.name
        device.platform = data.platform
        device.push_token = data.push_token
        device.last_seen_at = now
        await session.flush()
        _record_device_event(session, catalog.DEVICE_REGISTERED, device, actor=principal.actor)
        return device, False
    if device is not None:
        await session.delete(device)
        await session.flush()
        _record_device_event(session, catalog.DEVICE_REMOVED, device, actor=principal.actor)
    device = Device(
        id=new_id(),
        user_id=principal.user_id,
        name=data.name,
        platform=data.platform,
        push_token=data.push_token,
        push_token_hash=token_hash,
        created_at=now,
        last_seen_at=now,
    )
    session.add(device)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same token registered concurrently
        raise Conflict("this push token is being registered right now; retry") from exc
    _record_device_event(session, catalog.DEVICE_REGISTERED, device, actor=principal.actor)
    return device, True


async def remove_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID
) -> None:
    device = await repository.get_user_device(
        session, device_id=device_id, user_id=principal.user_id
    )
    if device is None:
        raise NotFound("device not found")
    await session.delete(device)
    await session.flush()
    _record_device_event(session, catalog.DEVICE_REMOVED, device, actor=principal.actor)


def _record_device_event(session: AsyncSession, type: str, device: Device, *, actor: str) -> None:
    record_event(
        session,
        type=type,
        subject=f"devices/{device.id}",
        actor=actor,
        workspace_id=None,
        # Never the push token: it would let anyone reading events message the device.
        data={
            "device": {
                "id": device.id,
                "user_id": device.user_id,
                "name": device.name,
                "platform": device.platform,
            }
        },
    )
