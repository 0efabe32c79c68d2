"""The events of tags, built in one place (docs/events.md lists each one's `data`)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.tags.models import Tag
from haven.tags.schemas import tag_to_dict


class TagChanged(TypedDict):
    tag: State
    # Each field that moved, as [old, new]; not on `created`.
    changes: NotRequired[Changes]


def snapshot(tag: Tag) -> State:
    """The tag as the API shows it now: take one before changing a tag."""
    return tag_to_dict(tag)


def _about(type_: str, tag: Tag, actor: str, before: State | None) -> DomainEvent:
    data: TagChanged = {"tag": tag_to_dict(tag)}
    if before is not None:
        data["changes"] = changes_between(before, data["tag"])
    return DomainEvent(
        type=type_,
        subject=f"tags/{tag.id}",
        actor=actor,
        workspace_id=tag.workspace_id,
        version=tag.version,
        data=data,
    )


def created(tag: Tag, *, actor: str) -> DomainEvent:
    return _about(catalog.TAG_CREATED, tag, actor, None)


def updated(tag: Tag, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.TAG_UPDATED, tag, actor, before)


def deleted(tag: Tag, *, actor: str) -> DomainEvent:
    """A tag's last event: its state as it was (`changes` empty)."""
    return _about(catalog.TAG_DELETED, tag, actor, tag_to_dict(tag))
