"""Bearer tokens from a configured OpenID Connect issuer (Keycloak, Authentik, Clerk, …).

A valid token stands for the local account linked to its (issuer, subject); the first one
links or creates that account. The issuer's signing keys (JWKS) are fetched over HTTPS, kept
for ten minutes, and fetched again early when a token names a key we do not know (key rotation),
but not more often than every 30 seconds, so made-up key ids cannot turn Haven into a
flood of requests to the issuer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeGuard

import httpx
import jwt
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import events as account_events
from haven.accounts import flows, repository, users
from haven.accounts.models import Identity, User
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.errors import Conflict, HavenError, Unauthorized
from haven.core.ids import new_id
from haven.core.timezones import is_time_zone
from haven.db.session import Database
from haven.events.outbox import record
from haven.settings import Settings

log = structlog.get_logger("haven.accounts.oidc")

ALGORITHMS = frozenset({"RS256", "ES256"})
JWKS_TTL = timedelta(minutes=10)
MIN_REFETCH_INTERVAL = timedelta(seconds=30)
HTTP_TIMEOUT_SECONDS = 5.0
# Clock skew tolerated between Haven and the issuer for exp/nbf.
LEEWAY = timedelta(seconds=30)
_REJECTED = "the token is not valid for this server"


class JwksUnavailable(Exception):
    """The issuer's keys could not be fetched or read."""


@dataclass
class JwksCache:
    """The issuer's usable signing keys by key id, and when they were fetched."""

    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    jwks_uri: str | None = None
    fetched_at: datetime | None = None  # the last successful fetch
    attempted_at: datetime | None = None  # the last try, successful or not
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def is_fresh(self, now: datetime) -> bool:
        return self.fetched_at is not None and now - self.fetched_at < JWKS_TTL

    def may_refetch(self, now: datetime) -> bool:
        return self.attempted_at is None or now - self.attempted_at >= MIN_REFETCH_INTERVAL


@dataclass(frozen=True, slots=True)
class OidcIssuer:
    """The configured issuer whose tokens Haven accepts, and what checking them needs."""

    url: str
    audience: str | None
    jwks_url: str | None  # None: found through the issuer's discovery document
    keys: JwksCache
    # A first sign-in commits the new account in a short transaction of its own.
    database: Database

    @classmethod
    def from_settings(
        cls, settings: Settings, *, keys: JwksCache, database: Database
    ) -> OidcIssuer | None:
        """The issuer the settings name, or None when OIDC sign-in is off."""
        if not settings.oidc_issuer:
            return None
        return cls(
            url=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            keys=keys,
            database=database,
        )


async def authenticate(session: AsyncSession, *, token: str, issuer: OidcIssuer) -> Principal:
    """The local user an OIDC token stands for; Unauthorized for any problem with it.

    `session` serves the lookups; a first sign-in creates the account in its own short
    write transaction.
    """
    try:
        claims = await verify_token(token, issuer=issuer)
    except JwksUnavailable as exc:
        log.warning("oidc_jwks_unavailable", issuer=issuer.url, error=str(exc))
        raise Unauthorized(_REJECTED) from exc
    subject = claims["sub"]
    user = await repository.get_identity_user(session, issuer=issuer.url, subject=subject)
    if user is None:
        user = await _first_sign_in(issuer, subject=subject, claims=claims)
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    return Principal(user_id=user.id, method="oidc")


async def verify_token(token: str, *, issuer: OidcIssuer) -> dict[str, Any]:
    """The claims of a token signed by the issuer for us and valid now, else Unauthorized."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(_REJECTED) from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise Unauthorized(_REJECTED)
    kid = header.get("kid")
    key = await _signing_key(issuer, kid if isinstance(kid, str) else None)
    required = ["exp", "iss", "sub"] + (["aud"] if issuer.audience else [])
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=sorted(ALGORITHMS),
            audience=issuer.audience,
            issuer=issuer.url,
            options={
                "require": required,
                "verify_aud": issuer.audience is not None,
                # Checked below against Haven's clock, which tests can move.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(_REJECTED) from exc
    check_lifetime(claims, now=utcnow())
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise Unauthorized(_REJECTED)
    return claims


def check_lifetime(claims: dict[str, Any], *, now: datetime) -> None:
    timestamp = now.timestamp()
    leeway = LEEWAY.total_seconds()
    expires = claims.get("exp")
    if not _is_number(expires) or timestamp >= expires + leeway:
        raise Unauthorized("the token has expired")
    not_before = claims.get("nbf")
    if not_before is not None and (not _is_number(not_before) or timestamp < not_before - leeway):
        raise Unauthorized("the token is not valid yet")


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def _signing_key(issuer: OidcIssuer, kid: str | None) -> jwt.PyJWK:
    now = utcnow()
    cache = issuer.keys
    # _refresh waits for a fetch already under way, and fetches at most every
    # MIN_REFETCH_INTERVAL however many requests ask.
    if not cache.is_fresh(now):
        await _refresh(issuer, now=now)
    key = _pick(cache, kid)
    if key is None:  # a key we have not seen: the issuer may have rotated its keys
        await _refresh(issuer, now=now)
        key = _pick(cache, kid)
    if key is None:
        raise Unauthorized(_REJECTED)
    return key


def _pick(cache: JwksCache, kid: str | None) -> jwt.PyJWK | None:
    if kid is not None:
        return cache.keys.get(kid)
    # A token without a key id is usable only when the issuer has a single key.
    return next(iter(cache.keys.values())) if len(cache.keys) == 1 else None


async def _refresh(issuer: OidcIssuer, *, now: datetime) -> None:
    cache = issuer.keys
    async with cache.lock:
        if not cache.may_refetch(now):
            return  # another request fetched (or tried) while this one waited for the lock
        cache.attempted_at = now
        try:
            jwks_uri = cache.jwks_uri or await _jwks_uri(issuer)
            cache.keys = await _fetch_keys(jwks_uri)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if not cache.keys:
                raise JwksUnavailable(f"{type(exc).__name__}: {exc}") from exc
            # Keep serving the keys we have while the issuer is unreachable.
            log.warning("oidc_jwks_refresh_failed", error=f"{type(exc).__name__}: {exc}")
            return
        cache.jwks_uri = jwks_uri
        cache.fetched_at = now


async def _jwks_uri(issuer: OidcIssuer) -> str:
    if issuer.jwks_url:
        return issuer.jwks_url
    url = issuer.url.rstrip("/") + "/.well-known/openid-configuration"
    document = await _get_json(url)
    if document.get("issuer") != issuer.url:
        raise ValueError(f"the discovery document at {url} names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ValueError(f"the discovery document at {url} has no jwks_uri")
    return jwks_uri


async def _fetch_keys(jwks_uri: str) -> dict[str, jwt.PyJWK]:
    document = await _get_json(jwks_uri)
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError(f"{jwks_uri} is not a JWK set")
    keys: dict[str, jwt.PyJWK] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or curve we do not accept; others may still be usable
        if key.algorithm_name in ALGORITHMS:
            keys[str(entry.get("kid", f"#{index}"))] = key
    if not keys:
        raise ValueError(f"{jwks_uri} has no RS256 or ES256 signing key")
    return keys


async def _get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


async def _first_sign_in(issuer: OidcIssuer, *, subject: str, claims: dict[str, Any]) -> User:
    """Link or create the local account, committed at once (the request may only read)."""
    email = claims.get("email")
    name = claims.get("name")
    zone = claims.get("zoneinfo")
    for attempt in range(2):
        try:
            async with issuer.database.sessions() as session, session.begin():
                return await sign_in_external(
                    session,
                    issuer=issuer.url,
                    subject=subject,
                    email=email if isinstance(email, str) and len(email) <= 320 else None,
                    email_verified=_email_verified(claims),
                    name=name[:200] if isinstance(name, str) else "",
                    timezone=zone if isinstance(zone, str) else None,
                )
        except (IntegrityError, Conflict) as exc:
            # A concurrent first sign-in of the same identity won; the retry finds it.
            if attempt:
                raise Unauthorized(_REJECTED) from exc
        except Unauthorized:
            raise
        except HavenError as exc:
            raise Unauthorized(exc.detail) from exc
    raise Unauthorized(_REJECTED)


def _email_verified(claims: dict[str, Any]) -> bool | None:
    """The email_verified claim: None when absent (some issuers send "true" as a string)."""
    if "email_verified" not in claims:
        return None
    value = claims["email_verified"]
    return value is True or (isinstance(value, str) and value.lower() == "true")


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
    user = await users.find_user_by_email(session, email)
    if user is None:
        zone = timezone if timezone and is_time_zone(timezone) else "UTC"
        user = await flows.sign_up(session, email=email, password=None, name=name, timezone=zone)
    elif email_verified is not True:
        raise Unauthorized(
            "an account with this email exists; the provider must verify the email to link it"
        )
    identity = Identity(
        id=new_id(), user_id=user.id, issuer=issuer, subject=subject, created_at=utcnow()
    )
    session.add(identity)
    await session.flush()
    record(session, account_events.identity_linked(user, identity))
    return user
