"""Standard Webhooks signatures: `whsec_` secrets and the three `webhook-*` headers.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the
secret's bytes, sent as `v1,<base64>`; while a rotated-out secret is still valid, one
signature per secret, separated by spaces, so a receiver with either secret verifies.

Secrets are stored sealed (`SigningSecrets`): AES-GCM under a key derived from
HAVEN_SECRET_KEY, bound to their endpoint's id. Only the 32 key bytes are sealed; opening
gives back the `whsec_` form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

from haven.core.encryption import CannotOpen, SecretBox

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES: Final = 32  # the spec asks for 24 to 64
# The HKDF purpose of the key that seals signing secrets at rest.
SEALING_PURPOSE: Final = b"haven/webhooks/signing-secrets/v1"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret (its base64 part, decoded)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of a message."""
    content = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_use: Sequence[str], *, message_id: str, sent_at: datetime, body: bytes
) -> dict[str, str]:
    """The webhook-id, webhook-timestamp and webhook-signature headers of one attempt."""
    timestamp = int(sent_at.timestamp())
    signatures = " ".join(
        signature(secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets_in_use
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


class SecretUnreadable(Exception):
    """A stored secret that does not open with this server's key (HAVEN_SECRET_KEY changed,
    or the row was altered): rotating the webhook's secret replaces it."""


@dataclass(frozen=True, slots=True)
class SigningSecrets:
    """Seals signing secrets for storage and opens them to sign a delivery."""

    box: SecretBox

    def seal(self, secret: str, *, endpoint_id: uuid.UUID) -> str:
        try:
            key = secret_key(secret)
        except ValueError:  # binascii.Error: not base64
            key = b""
        if not key or SECRET_PREFIX + base64.b64encode(key).decode() != secret:
            raise ValueError("not a whsec_ secret in its canonical form")
        return self.box.seal(key, context=endpoint_id.bytes)

    def open(self, sealed: str, *, endpoint_id: uuid.UUID) -> str:
        try:
            key = self.box.open(sealed, context=endpoint_id.bytes)
        except CannotOpen as exc:
            raise SecretUnreadable(
                f"the signing secret of webhook {endpoint_id} does not open with this "
                "server's HAVEN_SECRET_KEY; rotate the webhook's secret"
            ) from exc
        return SECRET_PREFIX + base64.b64encode(key).decode()


@lru_cache(maxsize=4)
def signing_secrets(application_key: str) -> SigningSecrets:
    """The sealer for this application secret (Settings.resolved_secret_key())."""
    return SigningSecrets(SecretBox.derive(application_key, purpose=SEALING_PURPOSE))
