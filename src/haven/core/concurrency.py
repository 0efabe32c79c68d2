"""Optimistic concurrency: a write that names the version it read (If-Match) or fails."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from haven.core.errors import PreconditionFailed


def ensure_version(
    what: str,
    *,
    current_version: int,
    if_match: int | None,
    current: Callable[[], Mapping[str, Any]],
) -> None:
    """412 with the current resource when the client's If-Match names another version.

    `if_match` None means the client sent no If-Match (or `*`): the write goes ahead.
    `current` builds the resource's API body; it is called only on a mismatch.
    """
    if if_match is None or if_match == current_version:
        return
    raise PreconditionFailed(
        f"the {what} is at version {current_version}, not {if_match}; reload and retry",
        body={"current": dict(current())},
    )
