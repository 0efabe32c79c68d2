"""The events of saved searches, built in one place (docs/events.md lists each one's `data`).

A saved search is private to its owner, so its events belong to the account, not to the
workspace (`workspace_id` None, source `/`): they never reach the workspace's webhooks or
the other members' change feeds.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.savedsearches.models import SavedSearch
from haven.savedsearches.schemas import saved_search_to_dict


class SavedSearchChanged(TypedDict):
    saved_search: State
    # Each field that moved, as [old, new]; not on `created`.
    changes: NotRequired[Changes]


def snapshot(search: SavedSearch) -> State:
    """The saved search as the API shows it now: take one before changing it."""
    return saved_search_to_dict(search)


def _about(type_: str, search: SavedSearch, actor: str, before: State | None) -> DomainEvent:
    data: SavedSearchChanged = {"saved_search": saved_search_to_dict(search)}
    if before is not None:
        data["changes"] = changes_between(before, data["saved_search"])
    return DomainEvent(
        type=type_,
        subject=f"saved-searches/{search.id}",
        actor=actor,
        workspace_id=None,
        version=search.version,
        data=data,
    )


def created(search: SavedSearch, *, actor: str) -> DomainEvent:
    return _about(catalog.SAVED_SEARCH_CREATED, search, actor, None)


def updated(search: SavedSearch, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.SAVED_SEARCH_UPDATED, search, actor, before)


def deleted(search: SavedSearch, *, actor: str) -> DomainEvent:
    """A saved search's last event: its state as it was (`changes` empty)."""
    return _about(catalog.SAVED_SEARCH_DELETED, search, actor, saved_search_to_dict(search))
