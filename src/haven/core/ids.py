"""Identifiers: UUIDv7 for everything Haven creates, UUIDv5 where an id must be derivable."""

from __future__ import annotations

import os
import time
import uuid

_last_millisecond = 0
# The 76 bits below the timestamp and version that are not the variant: 74 random ones.
_RANDOM_BITS = (0xFFF << 64) | ((1 << 62) - 1)
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Each id takes a millisecond of its own, a later one than the last id's (as the uuid6
    package does), so the ids this process makes sort in the order it made them. Written
    out rather than taken from uuid6, which builds each UUID twice: a request makes a few
    (its request id, a new row's, its event's), and the package's took several microseconds.
    """
    global _last_millisecond
    millisecond = time.time_ns() // 1_000_000
    if millisecond <= _last_millisecond:
        millisecond = _last_millisecond + 1
    _last_millisecond = millisecond
    random = int.from_bytes(os.urandom(10)) & _RANDOM_BITS
    return uuid.UUID(
        int=(millisecond & 0xFFFF_FFFF_FFFF) << 80 | _VERSION_7 | _VARIANT_RFC | random
    )


def derived_id(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """A UUIDv5: the same inputs always give the same id, so a retried step cannot duplicate."""
    return uuid.uuid5(namespace, name)
