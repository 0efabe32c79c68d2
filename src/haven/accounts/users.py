"""Users: creating and deactivating accounts, and the caller's own profile."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Subquery
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import events as account_events
from haven.accounts import repository
from haven.accounts.active_users import active_users
from haven.accounts.authz import Scope, require_person, require_scope
from haven.accounts.models import DEFAULT_DIGEST_TIME, User
from haven.accounts.principal import Principal
from haven.accounts.schemas import ProfileUpdate, user_read
from haven.core.clock import utcnow
from haven.core.concurrency import ensure_version
from haven.core.emails import normalize_email
from haven.core.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from haven.core.ids import new_id
from haven.core.security import hash_password_off_loop, verify_password_off_loop
from haven.core.timezones import is_time_zone
from haven.events.outbox import record
from haven.scheduler import digests

_GONE = "this account no longer exists or is disabled"


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str | None,
    name: str,
    timezone: str,
    is_superuser: bool = False,
) -> User:
    """A new, active user (without a workspace: `flows.sign_up` adds the personal one).

    `password` None makes an account that can only sign in through an external provider.
    """
    email = normalize_email(email)
    if not is_time_zone(timezone):
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone", loc=["body", "timezone"])
    # Hash before the first statement: on SQLite that statement takes the write lock, and
    # argon2 is slow on purpose.
    password_hash = await hash_password_off_loop(password) if password is not None else None
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
        digest_enabled=True,
        digest_time=DEFAULT_DIGEST_TIME,
        digest_next_at=digests.next_slot(
            zone=timezone, at=digests.parse_time(DEFAULT_DIGEST_TIME), after=now, not_before=None
        ),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # registered concurrently with the same email
        raise Conflict("an account with this email already exists") from exc
    record(session, account_events.user_registered(user))
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this email, however it is spelled (see core.emails)."""
    return await repository.get_user_by_email(session, normalize_email(email))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await repository.get_user(session, user_id)


def user_directory() -> Subquery:
    """What other modules may join about users: id, email, name, timezone, is_active."""
    return repository.user_directory()


async def deactivate_user(session: AsyncSession, *, user_id: uuid.UUID, actor: str) -> User:
    """Stop an account: every token and key of it is refused from the next request on.

    Sessions are revoked too, so re-activating the account does not bring them back.
    """
    user = await repository.get_user_for_update(session, user_id)
    if user is None:
        raise Unauthorized(_GONE)
    now = utcnow()
    # Before the commit as well as after it: no request of this process may remember the
    # user as active from now on (see active_users).
    active_users.forget(user.id, now=now)
    if not user.is_active:
        return user
    before = account_events.user_snapshot(user)
    user.is_active = False
    user.updated_at = now
    await repository.revoke_user_refresh_tokens(session, user_id=user.id, now=now)
    await session.flush()
    record(session, account_events.user_deactivated(user, before=before, actor=actor))
    return user


# --- the caller's own profile ---------------------------------------------------------------


async def get_me(session: AsyncSession, *, principal: Principal) -> User:
    require_scope(principal, Scope.ACCOUNT_READ)
    user = await repository.get_user(session, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(_GONE)
    return user


async def update_me(
    session: AsyncSession,
    *,
    principal: Principal,
    data: ProfileUpdate,
    if_match: int | None = None,
) -> User:
    """Change the caller's profile; a password change signs out every session."""
    require_scope(principal, Scope.ACCOUNT_WRITE)
    user = await repository.get_user_for_update(session, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(_GONE)
    ensure_version(
        "profile",
        current_version=user.version,
        if_match=if_match,
        current=lambda: user_read(user).model_dump(),
    )
    before = account_events.user_snapshot(user)
    changes = _apply_profile_changes(user, data)
    password_changed = await _change_password(session, principal=principal, user=user, data=data)
    if not changes and not password_changed:
        return user
    user.updated_at = utcnow()
    await session.flush()
    if changes.keys() & {"timezone", "digest_enabled", "digest_time"}:
        await digests.reschedule(session, user, now=user.updated_at)
    record(
        session,
        account_events.user_updated(
            user, before=before, password_changed=password_changed, actor=principal.actor
        ),
    )
    return user


def _apply_profile_changes(user: User, data: ProfileUpdate) -> dict[str, tuple[Any, Any]]:
    """Set name, time zone and digest as sent; the changes, as (before, after) per field."""
    changes: dict[str, tuple[Any, Any]] = {}
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] != user.name:
        changes["name"] = (user.name, fields["name"])
        user.name = fields["name"]
    if "timezone" in fields and fields["timezone"] != user.timezone:
        changes["timezone"] = (user.timezone, fields["timezone"])
        user.timezone = fields["timezone"]
    for name in ("digest_enabled", "digest_time"):
        if name in fields and fields[name] != getattr(user, name):
            changes[name] = (getattr(user, name), fields[name])
            setattr(user, name, fields[name])
    return changes


async def _change_password(
    session: AsyncSession, *, principal: Principal, user: User, data: ProfileUpdate
) -> bool:
    """Set the new password if one was sent (with the right current one); True if changed."""
    if data.current_password is None or data.new_password is None:
        return False
    require_person(principal, "the password is changed from a signed-in session, not an API key")
    if not await verify_password_off_loop(data.current_password, user.password_hash):
        raise Forbidden("the current password is wrong")
    user.password_hash = await hash_password_off_loop(data.new_password)
    await repository.revoke_user_refresh_tokens(session, user_id=user.id, now=utcnow())
    return True
