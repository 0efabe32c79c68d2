"""How a workspace's projects travel in a workspace export (haven.portability)."""

from __future__ import annotations

from haven.events.outbox import EventList
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.projects import events
from haven.projects.models import Project


def projects_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(Project(**row), actor=IMPORT_ACTOR) for row in rows]


register_section(Section("projects", "projects", events=projects_created))
