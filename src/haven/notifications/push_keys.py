"""The VAPID key pair Haven signs its Web Push requests with (RFC 8292).

A browser subscribes with this public key (PushManager.subscribe's applicationServerKey),
and its push service then accepts only requests signed by the matching private key. So
every worker and replica must sign with the same pair, and the pair must outlive restarts:
it is one row of `push_keys`, made by whichever process needs it first. Two processes
starting at once may both make a pair; the primary key lets one insert win, and the other
reads the winner's row.

The private key is sealed at rest (core/encryption.py: AES-256-GCM under a key derived from
HAVEN_SECRET_KEY). Rotating the pair is deleting the row (docs/push.md, "Web Push").
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from haven.core.clock import utcnow
from haven.core.encryption import CannotOpen, SecretBox
from haven.db.base import Base
from haven.db.session import Database

KEY_NAME: Final = "vapid"
PURPOSE: Final = b"haven web push vapid private key"


class PushKey(Base):
    """A key pair Haven signs push requests with; the row named `vapid` is the one in use."""

    __tablename__ = "push_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The uncompressed P-256 point, base64url without padding: what browsers are given.
    public_key: Mapped[str] = mapped_column(String(100))
    # The 32-byte private scalar, sealed (bound to the row's name).
    private_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PushKeysUnreadable(RuntimeError):
    """The stored private key does not open: HAVEN_SECRET_KEY is not the one that sealed it."""


@dataclass(frozen=True, slots=True)
class VapidKeys:
    """The application server's identity in Web Push: its key pair and a contact.

    `subject` is the JWT's `sub` (RFC 8292 §2.1): a mailto: or https: address the push
    service's operator can reach Haven's operator at.
    """

    private_key: ec.EllipticCurvePrivateKey
    public_key: str
    subject: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _box(secret_key: str) -> SecretBox:
    return SecretBox.derive(secret_key, purpose=PURPOSE)


def _new_row(box: SecretBox) -> PushKey:
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return PushKey(
        name=KEY_NAME,
        public_key=b64url(public_point(key)),
        private_key=box.seal(scalar, context=KEY_NAME.encode()),
        created_at=utcnow(),
    )


def _open(row: PushKey, box: SecretBox, subject: str) -> VapidKeys:
    try:
        scalar = box.open(row.private_key, context=row.name.encode())
    except CannotOpen as exc:
        raise PushKeysUnreadable(
            "the stored VAPID private key does not open with this HAVEN_SECRET_KEY; put the "
            "key back, or rotate the VAPID keys (docs/push.md)"
        ) from exc
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    if b64url(public_point(key)) != row.public_key:
        raise PushKeysUnreadable("the stored VAPID public key does not match its private key")
    return VapidKeys(private_key=key, public_key=row.public_key, subject=subject)


async def _stored(database: Database) -> PushKey | None:
    async with database.sessions() as session:
        return await session.get(PushKey, KEY_NAME)


async def load_vapid_keys(database: Database, *, secret_key: str, subject: str) -> VapidKeys:
    """The pair in use, made and stored now if there is none yet.

    Its own transactions: the pair must be committed before any browser sees its public
    key, whatever the caller's transaction does after.
    """
    box = _box(secret_key)
    row = await _stored(database)
    if row is None:
        row = _new_row(box)
        try:
            async with database.sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:  # another process stored its pair first: every one uses that
            row = await _stored(database)
            if row is None:  # deleted (a rotation) between that insert and this read
                raise PushKeysUnreadable("the VAPID keys were deleted while being made") from None
    return _open(row, box, subject)


async def public_key(database: Database, *, secret_key: str) -> str:
    """The public key browsers subscribe with (made now if there is none yet)."""
    return (await load_vapid_keys(database, secret_key=secret_key, subject="")).public_key
