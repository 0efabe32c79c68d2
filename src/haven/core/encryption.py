"""Values Haven must read back but keeps encrypted at rest (AES-256-GCM).

The root is the one application secret (`Settings.secret_key`, `HAVEN_SECRET_KEY`, the key
that also signs access tokens). HKDF-SHA256 derives a separate 256-bit key per purpose from
it, so the key that encrypts one kind of value never signs or encrypts another.

A sealed value is `v1.` and the url-safe base64 (unpadded) of a random 12-byte nonce and the
ciphertext with its 16-byte tag. `context` (say, the row's id) is authenticated but not
stored: a sealed value copied to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT: Final = "v1."
NONCE_BYTES: Final = 12


class CannotOpen(ValueError):
    """A sealed value that does not open: another key sealed it, or it was altered."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SecretBox:
    """Seals and opens values under one purpose's key."""

    _aead: AESGCM

    @classmethod
    def derive(cls, secret_key: str, *, purpose: bytes) -> SecretBox:
        if not secret_key:
            raise ValueError("an empty secret key cannot encrypt anything")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            secret_key.encode()
        )
        return cls(AESGCM(key))

    def seal(self, plaintext: bytes, *, context: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + _b64encode(nonce + self._aead.encrypt(nonce, plaintext, context))

    def open(self, sealed: str, *, context: bytes) -> bytes:
        if not sealed.startswith(FORMAT):
            raise CannotOpen("not a sealed value")
        try:
            raw = _b64decode(sealed.removeprefix(FORMAT))
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise CannotOpen("sealed under another key, or altered") from exc
