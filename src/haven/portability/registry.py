"""The sections of a workspace export, each registered by the module that owns its table.

A module with tables that belong to a workspace says how they travel in its own
``haven/<module>/portability.py``: one ``register_section(Section(...))`` per table, with the
module's import rules as hooks (tasks come parents first; a running timer must not clash).
The registry finds those files itself, so a new module (calendars, habits, webhooks) plugs in
without editing a central list, and orders the sections by foreign key: a table comes after
every table it points at, on export and on import.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

import haven
from haven.db.registry import metadata
from haven.events.outbox import EventList

Row = dict[str, Any]


@dataclass(slots=True)
class ImportReport:
    workspace_id: uuid.UUID
    workspace_name: str
    # Rows written per document section.
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What an import hook may need: the transaction, the workspace, who asked, the report."""

    session: AsyncSession
    workspace_id: uuid.UUID
    # The user --owner named, already found in this database.
    owner_id: uuid.UUID | None
    report: ImportReport
    # This server's secret key (Settings.resolved_secret_key()), for what is stored
    # encrypted under it, such as webhook signing secrets.
    secret_key: str


# Reorders a section's parsed rows (before any database work), or raises InvalidExport.
Arrange = Callable[[list[Row]], list[Row]]
# Adjusts the rows about to be inserted to this database's state; may add report warnings.
Prepare = Callable[[ImportContext, list[Row]], Awaitable[list[Row]]]
# The events that say the imported rows were made (`*.created`, one per object, parents
# first), built by the owning module's event builders; None for rows that are part of
# another object's state (a task's tags and dependencies are in its `task.created`).
Describe = Callable[[ImportContext, list[Row]], EventList]

# Who an import's events name as their actor: Haven itself, run by an operator.
IMPORT_ACTOR: Final = "system/import"


@dataclass(frozen=True, slots=True)
class Section:
    """One table in the document: every column of every row of the workspace."""

    key: str
    table_name: str
    order_by: tuple[str, ...] = ("id",)
    omit: frozenset[str] = frozenset()
    # Rows belong to the workspace through this column, pointing at a table that has a
    # workspace_id (task_tags.task_id -> tasks); None: the table has its own workspace_id.
    via: str | None = None
    # User columns written with the user's email beside them (user_id -> user_email).
    emails_of: tuple[str, ...] = ()
    # The workspace row itself: the document holds it as one object, not a list.
    root: bool = False
    arrange: Arrange | None = None
    prepare: Prepare | None = None
    events: Describe | None = None
    # The export format version that first carried this section: a document of an earlier
    # version has no such section, and imports as if it were empty.
    since: int = 1
    # Columns added to the section later, with the version that first carried each: a
    # document of an earlier version has no such field, and `arrange` fills it in.
    column_since: Mapping[str, int] = field(default_factory=dict)

    @property
    def table(self) -> Table:
        return metadata.tables[self.table_name]

    def columns(self) -> list[Column[Any]]:
        return [column for column in self.table.columns if column.name not in self.omit]

    def email_fields(self) -> dict[str, str]:
        """User column -> the name of the email field written beside it."""
        return {name: name.removesuffix("_id") + "_email" for name in self.emails_of}


_registered: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    """Add a section to every export and import (a module calls this once, at import)."""
    known = _registered.get(section.key)
    if known is not None and known != section:
        raise ValueError(f"the export section {section.key!r} is registered twice")
    _registered[section.key] = section
    return section


def registered_sections() -> list[Section]:
    """Every section, the workspace root first, then in foreign-key order."""
    _discover()
    order = {table.name: index for index, table in enumerate(metadata.sorted_tables)}
    return sorted(
        _registered.values(),
        key=lambda section: (not section.root, order[section.table_name], section.key),
    )


def root_section() -> Section:
    roots = [section for section in registered_sections() if section.root]
    if len(roots) != 1:
        raise RuntimeError(f"exactly one root export section is needed, found {len(roots)}")
    return roots[0]


@cache
def _discover() -> None:
    """Import haven/<module>/portability.py of every module that has tables (models.py)."""
    for module in pkgutil.iter_modules(haven.__path__):
        folder = Path(getattr(module.module_finder, "path", "")) / module.name
        if (folder / "models.py").exists() and (folder / "portability.py").exists():
            importlib.import_module(f"haven.{module.name}.portability")
