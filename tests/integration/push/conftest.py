"""The Web Push tests' fixtures (defined in support.py, shared with the notifications tests)."""

from tests.integration.push.support import (  # noqa: F401 - fixtures, found by name
    allow_private,
    http,
    push_service,
    vapid,
)
