"""How a workspace's projects travel in a workspace export (haven.portability)."""

from __future__ import annotations

from haven.events.outbox import EventList
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.projects import events
from haven.projects.models import Project
from haven.projects.ordering import renumbered


def positions_if_missing(rows: list[Row]) -> list[Row]:
    """Projects from an export made before they had a position (format < 3): in the order
    they were created, GAP apart, as migration 0010 placed the projects it found."""
    if all("position" in row for row in rows):
        return rows
    ordered = sorted(rows, key=lambda row: (row["created_at"], row["id"]))
    for row, position in zip(ordered, renumbered(len(ordered)), strict=True):
        row["position"] = position
    return rows


def projects_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(Project(**row), actor=IMPORT_ACTOR) for row in rows]


register_section(
    Section(
        "projects",
        "projects",
        events=projects_created,
        column_since={"position": 3},
        arrange=positions_if_missing,
    )
)
