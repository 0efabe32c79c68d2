"""The export's sections come from the modules that own the tables, all of them, in FK order."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

from haven.db.registry import metadata
from haven.portability import Section, register_section, registered_sections


def _workspace_tables() -> set[str]:
    """Tables whose rows belong to a workspace: a workspace_id, or a link to such a row."""
    owned = {"workspaces"} | {table.name for table in metadata.tables.values() if _own(table)}
    grew = True
    while grew:
        linked = {
            table.name
            for table in metadata.tables.values()
            if any(
                foreign_key.column.table.name in owned - {"workspaces"}
                for column in table.columns
                for foreign_key in column.foreign_keys
            )
        }
        grew = not linked <= owned
        owned |= linked
    return owned


def _own(table: Table) -> bool:
    return "workspace_id" in table.c


def test_every_table_of_a_workspace_travels_in_the_export() -> None:
    # A module that adds workspace data without registering a section would lose it on
    # export: this names the table.
    exported = {section.table_name for section in registered_sections()}

    assert exported == _workspace_tables()


def test_the_workspace_comes_first_and_every_table_after_the_tables_it_points_at() -> None:
    sections = registered_sections()
    position = {section.table_name: index for index, section in enumerate(sections)}

    assert sections[0].root
    assert [section.key for section in sections if section.root] == ["workspace"]
    for section in sections:
        for column in section.table.columns:
            for foreign_key in column.foreign_keys:
                target = foreign_key.column.table.name
                if target in position and target != section.table_name:
                    assert position[target] < position[section.table_name], (section.key, target)


def test_a_section_key_belongs_to_one_module() -> None:
    tasks = next(section for section in registered_sections() if section.key == "tasks")

    assert register_section(tasks) is tasks  # a module imported twice registers the same
    with pytest.raises(ValueError, match="registered twice"):
        register_section(Section("tasks", "projects"))
