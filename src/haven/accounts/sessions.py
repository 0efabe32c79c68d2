"""Sign-in sessions: registration and password sign-in, access tokens, refresh rotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import flows, repository, users
from haven.accounts.models import RefreshToken, User
from haven.core.clock import utcnow
from haven.core.errors import Unauthorized
from haven.core.ids import new_id
from haven.core.security import (
    hash_secret,
    issue_access_token,
    new_secret,
    verify_password_off_loop,
)

log = structlog.get_logger("haven.accounts.sessions")

WRONG_CREDENTIALS = "wrong email or password"


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
    """A new account, signed in."""
    user = await flows.sign_up(
        session, email=email, password=password, name=name, timezone=timezone
    )
    return start_session(session, user=user, tokens=tokens)


async def check_password(session: AsyncSession, *, email: str, password: str) -> User:
    """The active user with this email and password, else Unauthorized (same for both cases).

    Needs only a read session: keep the (slow) hash comparison out of write transactions.
    """
    user = await users.find_user_by_email(session, email)
    usable = user is not None and user.is_active
    password_hash = user.password_hash if user is not None and usable else None
    # An unknown email is checked against a dummy hash, so both failures take as long.
    if not await verify_password_off_loop(password, password_hash) or user is None or not usable:
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
