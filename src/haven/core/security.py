"""Passwords (argon2), access tokens (JWT) and opaque secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

import anyio.to_thread
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from haven.core.clock import utcnow

JWT_ALGORITHM = "HS256"
ACCESS_AUDIENCE = "haven-api"

PasswordCost = Literal["standard", "minimal"]
"""How hard new password hashes are to compute.

"standard" is argon2id with pwdlib's recommended parameters (64 MiB, 3 passes). "minimal"
(8 KiB, 1 pass) is for test suites only, where thousands of sign-ups would otherwise spend
their time hashing: it offers no protection against offline guessing. A hash records its
own parameters, so either setting verifies hashes made under the other.
"""


@dataclass(frozen=True)
class _Passwords:
    hasher: PasswordHash

    @cached_property
    def dummy_hash(self) -> str:
        """Verified against for an unknown email, so that answer takes as long as a real one."""
        return self.hasher.hash("haven-timing-equaliser")


_COSTS: dict[PasswordCost, _Passwords] = {
    "standard": _Passwords(PasswordHash.recommended()),
    "minimal": _Passwords(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))),
}
_cost: PasswordCost = "standard"


def use_password_cost(cost: PasswordCost) -> None:
    """Hash new passwords at this cost from now on (the process-wide setting)."""
    global _cost
    _cost = cost


def password_cost() -> PasswordCost:
    return _cost


def hash_password(password: str) -> str:
    return _COSTS[_cost].hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    passwords = _COSTS[_cost]
    if password_hash is None:
        passwords.hasher.verify(password, passwords.dummy_hash)
        return False
    return passwords.hasher.verify(password, password_hash)


async def hash_password_off_loop(password: str) -> str:
    """hash_password on a worker thread: argon2 is slow on purpose, the event loop is not."""
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """verify_password on a worker thread (see hash_password_off_loop)."""
    return await anyio.to_thread.run_sync(verify_password, password, password_hash)


def issue_access_token(*, user_id: uuid.UUID, secret: str, ttl: timedelta) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + ttl
    claims = {
        "sub": str(user_id),
        "aud": ACCESS_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires


def decode_access_token(token: str, *, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, or None."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=ACCESS_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
            leeway=0,
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return claims


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """SHA-256 hex: secrets are random and long, so a fast hash is the right one."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
