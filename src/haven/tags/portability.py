"""How a workspace's tags travel in a workspace export (haven.portability)."""

from __future__ import annotations

from haven.events.outbox import EventList
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.tags import events
from haven.tags.models import Tag


def tags_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(Tag(**row), actor=IMPORT_ACTOR) for row in rows]


register_section(Section("tags", "tags", events=tags_created))
