"""Standard Webhooks signatures: `whsec_` secrets and the three `webhook-*` headers.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the
secret's bytes, sent as `v1,<base64>`; while a rotated-out secret is still valid, one
signature per secret, separated by spaces, so a receiver with either secret verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES: Final = 32  # the spec asks for 24 to 64


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
