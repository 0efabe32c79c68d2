"""Creates that a client may retry: the client picks the id, and a repeat finds the first."""

from __future__ import annotations

import uuid

from haven.core.errors import Conflict


class IdTaken(Conflict):
    """A create named an id that belongs to something the caller did not make."""

    def __init__(self) -> None:
        super().__init__("that id is already taken; choose another")


def ensure_own_retry(
    *, created_by: uuid.UUID | None, caller_id: uuid.UUID, caller_can_see: bool
) -> None:
    """Accept a create naming an existing id only as the same user's retry.

    A retry is the same user creating the same id again, while they can still see what
    they made; anything else is a clash of ids (409), and says nothing about the other
    resource, not even whether the caller could have read it.
    """
    if created_by is None or created_by != caller_id or not caller_can_see:
        raise IdTaken()
