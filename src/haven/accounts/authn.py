"""Authentication without HTTP: a bearer string in, a `Principal` out.

REST's dependency calls `authenticate`, and so will the WebSocket, GraphQL and MCP ways in:
whatever carries the token, the same checks decide who is asking. A bearer is an access JWT
that Haven signed, an API key (`hvn_…`), or a token from the configured OIDC issuer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import api_keys, oidc, repository
from haven.accounts.active_users import active_users
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Unauthorized
from haven.core.security import decode_access_token

# Past this many remembered access tokens the memory is emptied: it only saves work.
MAX_VERIFIED_TOKENS = 50_000


@dataclass(slots=True)
class VerifiedAccessTokens:
    """Access tokens whose signature and claims were checked, each until it expires.

    Checking a JWT (HMAC, claims, base64 and JSON) costs more than the rest of a cached read;
    a client sends the same token for its whole lifetime (15 minutes). Only tokens that
    passed are remembered, with their expiry, so a token is refused from the second it
    expires, exactly as a fresh check would (both read the system clock, as PyJWT does).
    """

    max_tokens: int = MAX_VERIFIED_TOKENS
    _user_and_expiry: dict[str, tuple[uuid.UUID, float]] = field(default_factory=dict)

    def user_of(self, token: str, *, secret: str) -> uuid.UUID | None:
        """The user a valid, unexpired access token signed with `secret` stands for."""
        found = self._user_and_expiry.get(token)
        if found is not None:
            user_id, expires_at = found
            if time.time() < expires_at:
                return user_id
            del self._user_and_expiry[token]
            return None
        claims = decode_access_token(token, secret=secret)
        if claims is None:
            return None
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            expires_at = float(claims["exp"])
        except (ValueError, TypeError) as exc:
            raise Unauthorized("the access token is not valid") from exc
        if len(self._user_and_expiry) >= self.max_tokens:
            self._user_and_expiry.clear()
        self._user_and_expiry[token] = (user_id, expires_at)
        return user_id


@dataclass(frozen=True, slots=True)
class Verifiers:
    """What bearer strings are checked against: Haven's signing key, and the OIDC issuer."""

    secret_key: str
    oidc_issuer: oidc.OidcIssuer | None = None  # None: OIDC sign-in is off
    # Per verifier, so a token is only ever trusted for the key that signed it.
    access_tokens: VerifiedAccessTokens = field(default_factory=VerifiedAccessTokens)


async def authenticate(
    session: AsyncSession,
    bearer: str,
    *,
    verifiers: Verifiers,
    for_write: bool = True,
    check_in_transaction: Callable[[uuid.UUID], None] | None = None,
) -> Principal:
    """Who `bearer` stands for; Unauthorized for anything but a live credential of an active user.

    A write always looks the account up, so nothing is changed on behalf of a user who is no
    longer active. A read (`for_write=False`) of a recently seen user's access token costs no
    query: such a user may go on reading for up to `ACTIVE_USER_TTL` after a deactivation made
    by another process. A write whose transaction will look the account up itself, before it
    commits (`require_active_in`), passes `check_in_transaction`: an access token's user is
    then handed to it instead of being looked up here, on another connection.
    """
    if not bearer:
        raise Unauthorized("send Authorization: Bearer <token>")
    if bearer.startswith(api_keys.KEY_PREFIX):
        return await api_keys.authenticate(session, token=bearer)
    user_id = verifiers.access_tokens.user_of(bearer, secret=verifiers.secret_key)
    if user_id is not None:
        known = _known_user(user_id, for_write=for_write, check_in_transaction=check_in_transaction)
        if known is None:
            await require_active_in(session, user_id)
        return Principal(user_id=user_id, method="jwt")
    if verifiers.oidc_issuer is not None:
        return await oidc.authenticate(session, token=bearer, issuer=verifiers.oidc_issuer)
    raise Unauthorized("the access token is invalid or has expired")


# --- the active-user rule -------------------------------------------------------------------

_INACTIVE = "this account no longer exists or is disabled"
# session.info key: the users a session's transaction read from the users table as active.
_CONFIRMED = "haven.active_users_confirmed"


def confirm_active(session: AsyncSession, principal: Principal, *, active: bool | None) -> None:
    """Apply what `session` just read of the caller's users row (`active`; None: no row).

    Unauthorized for a user who is gone or deactivated. Queries that serve a request anyway
    (the workspace access check) read the row alongside, which spares the transaction its own
    look-up in `require_active_in`. Jobs inside Haven ("internal") are not refused here.
    """
    if principal.method == "internal":
        return
    _confirm(session, principal.user_id, active=active)


async def require_active_in(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Unauthorized unless the user is active, as `session`'s transaction sees the users table.

    Costs no query when that transaction already read the row (`confirm_active`).
    """
    confirmed: set[uuid.UUID] | None = session.info.get(_CONFIRMED)
    if confirmed is not None and user_id in confirmed:
        return
    _confirm(session, user_id, active=await repository.is_user_active(session, user_id))


def _confirm(session: AsyncSession, user_id: uuid.UUID, *, active: bool | None) -> None:
    if not active:
        raise Unauthorized(_INACTIVE)
    confirmed: set[uuid.UUID] | None = session.info.get(_CONFIRMED)
    if confirmed is None:
        confirmed = session.info[_CONFIRMED] = set()
    confirmed.add(user_id)
    active_users.remember(user_id, now=utcnow())


def principal_without_database(
    bearer: str,
    *,
    verifiers: Verifiers,
    for_write: bool,
    check_in_transaction: Callable[[uuid.UUID], None] | None = None,
) -> Principal | None:
    """What `authenticate` answers when it needs no query, else None (then call it).

    That is an access token of a user a read may trust from memory, or one a write's
    transaction will look up (`check_in_transaction`). The caller opens no session for it.
    """
    if not bearer or bearer.startswith(api_keys.KEY_PREFIX):
        return None
    user_id = verifiers.access_tokens.user_of(bearer, secret=verifiers.secret_key)
    if user_id is None:
        return None
    known = _known_user(user_id, for_write=for_write, check_in_transaction=check_in_transaction)
    return None if known is None else Principal(user_id=known, method="jwt")


def _known_user(
    user_id: uuid.UUID,
    *,
    for_write: bool,
    check_in_transaction: Callable[[uuid.UUID], None] | None,
) -> uuid.UUID | None:
    """An access token outlives a deactivation (see active_users): `user_id` when the account
    needs no look-up now (a read of a recently seen user, or a write whose transaction looks
    it up), else None."""
    if for_write:
        if check_in_transaction is None:
            return None
        check_in_transaction(user_id)
        return user_id
    return user_id if active_users.is_known_active(user_id, now=utcnow()) else None
