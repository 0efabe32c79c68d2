"""Identifiers: UUIDv7 for everything Haven creates, UUIDv5 where an id must be derivable."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7 (RFC 9562)."""
    return uuid.UUID(int=uuid6.uuid7().int)


def derived_id(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """A UUIDv5: the same inputs always give the same id, so a retried step cannot duplicate."""
    return uuid.uuid5(namespace, name)
