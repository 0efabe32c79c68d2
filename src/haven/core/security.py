"""Passwords (argon2), access tokens (JWT) and opaque secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash

from haven.core.clock import utcnow

_passwords = PasswordHash.recommended()
# Verifying against this keeps a login for an unknown email as slow as a real one.
_DUMMY_HASH = _passwords.hash("haven-timing-equaliser")
JWT_ALGORITHM = "HS256"
ACCESS_AUDIENCE = "haven-api"


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    return _passwords.verify(password, password_hash)


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
