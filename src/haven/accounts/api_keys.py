"""API keys: ``hvn_<prefix>_<secret>``, stored as the prefix and a SHA-256 of the whole key.

The prefix finds the row (and lets a user recognise a key); the hash proves the secret. A
key acts for its user with only the scopes it was given.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import events as account_events
from haven.accounts import repository
from haven.accounts.authz import Scope, require_person
from haven.accounts.models import ApiKey
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import NotFound, Unauthorized, ValidationFailed
from haven.core.ids import new_id
from haven.core.security import hash_secret, new_secret, secrets_match
from haven.events.outbox import record

KEY_PREFIX = "hvn_"
PREFIX_LENGTH = 12
# Lower-case letters and digits: no "_" (it separates the parts) and nothing to mistype.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# A key's last use is written at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)
_INVALID = "the API key is not valid"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: `token` is shown to the user once; only `secret_hash` is kept."""

    prefix: str
    token: str
    secret_hash: str


def generate_key() -> NewKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    token = f"{KEY_PREFIX}{prefix}_{new_secret(32)}"
    return NewKey(prefix=prefix, token=token, secret_hash=hash_secret(token))


def parse_prefix(token: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not token.startswith(KEY_PREFIX):
        return None
    prefix, separator, secret = token[len(KEY_PREFIX) :].partition("_")
    if (
        not separator
        or not secret
        or len(prefix) != PREFIX_LENGTH
        or any(char not in _PREFIX_ALPHABET for char in prefix)
    ):
        return None
    return prefix


async def authenticate(session: AsyncSession, *, token: str) -> Principal:
    """The principal an API key acts as; Unauthorized for anything but a live key."""
    prefix = parse_prefix(token)
    if prefix is None:
        raise Unauthorized(_INVALID)
    key = await repository.get_api_key_by_prefix(session, prefix)
    if key is None or not secrets_match(hash_secret(token), key.secret_hash):
        raise Unauthorized(_INVALID)
    now = utcnow()
    if key.revoked_at is not None:
        raise Unauthorized("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("the API key has expired")
    if not await repository.is_user_active(session, key.user_id):
        raise Unauthorized(_INVALID)
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        await repository.touch_api_key(
            session, key_id=key.id, now=now, stale_before=now - LAST_USED_RESOLUTION
        )
    return Principal(
        user_id=key.user_id, method="api_key", scopes=frozenset(key.scopes), api_key_id=key.id
    )


# Keys are managed by a signed-in person, so a leaked key cannot mint or keep others.
_PERSON_ONLY = "API keys are managed from a signed-in session, not with an API key"


async def create_key(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    scopes: Sequence[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """A new key for the caller and its full token (which is not stored)."""
    require_person(principal, _PERSON_ONLY)
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", loc=["body", "expires_at"])
    made = generate_key()
    key = ApiKey(
        id=new_id(),
        user_id=principal.user_id,
        name=name,
        prefix=made.prefix,
        secret_hash=made.secret_hash,
        # Kept in the catalog's order, once each, whatever order the client sent.
        scopes=[scope.value for scope in Scope if scope in set(scopes)],
        created_at=now,
        last_used_at=None,
        expires_at=expires_at,
        revoked_at=None,
    )
    session.add(key)
    record(session, account_events.api_key_created(key, actor=principal.actor))
    return key, made.token


async def list_keys(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> Sequence[ApiKey]:
    require_person(principal, _PERSON_ONLY)
    return await repository.list_api_keys(
        session, user_id=principal.user_id, after=after, limit=limit
    )


async def revoke_key(session: AsyncSession, *, principal: Principal, key_id: uuid.UUID) -> None:
    require_person(principal, _PERSON_ONLY)
    key = await repository.get_live_api_key(session, key_id=key_id, user_id=principal.user_id)
    if key is None:
        raise NotFound("API key not found")
    before = account_events.api_key_snapshot(key)
    key.revoked_at = utcnow()
    record(session, account_events.api_key_revoked(key, before=before, actor=principal.actor))
