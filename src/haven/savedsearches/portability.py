"""How saved searches travel in a workspace export (haven.portability): each with its owner,
by email like a membership, so it stays private to the same person on the other side.
The section is new in export format version 4 (an older document has none)."""

from __future__ import annotations

from haven.events.outbox import EventList
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.savedsearches import events
from haven.savedsearches.models import SavedSearch


def saved_searches_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(SavedSearch(**row), actor=IMPORT_ACTOR) for row in rows]


register_section(
    Section(
        "saved_searches",
        "saved_searches",
        order_by=("user_id", "created_at", "id"),
        emails_of=("user_id",),
        events=saved_searches_created,
        since=4,
    )
)
