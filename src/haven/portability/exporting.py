"""Reading one workspace, every registered section of it, into a JSON-ready document."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.errors import NotFound
from haven.db.registry import metadata
from haven.portability.registry import Row, Section, registered_sections, root_section
from haven.portability.values import chunks, dump_value, rfc3339, user_columns

FORMAT: Final = "haven.workspace-export"
# 2: webhooks and their deliveries (an import reads version 1 as having none).
# 3: projects' `position` (an import of an earlier version orders them by creation).
# 4: saved searches (an import of an earlier version has none).
FORMAT_VERSION: Final = 4


async def export_workspace(session: AsyncSession, *, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Every row of one workspace as a JSON-ready document (see the package docstring).

    Run it in one transaction (REPEATABLE READ on PostgreSQL) for a consistent snapshot.
    """
    root = root_section()
    found = await session.execute(select(root.table).where(root.table.c.id == workspace_id))
    workspace = found.mappings().first()
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")

    sections = [section for section in registered_sections() if not section.root]
    rows = {
        section.key: await _section_rows(session, section, workspace_id=workspace_id)
        for section in sections
    }
    referenced = _referenced_user_ids(
        [(root, [dict(workspace)])] + [(section, rows[section.key]) for section in sections]
    )
    users = await _users_by_id(session, sorted(referenced, key=str))

    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": rfc3339(utcnow()),
        root.key: _dump_row(root, workspace, users),
        "users": [
            {"id": str(user_id), "email": email, "name": name}
            for user_id, (email, name) in sorted(users.items(), key=lambda item: str(item[0]))
        ],
    }
    for section in sections:
        document[section.key] = [_dump_row(section, row, users) for row in rows[section.key]]
    return document


def _dump_row(
    section: Section, row: Mapping[Any, Any], users: Mapping[uuid.UUID, tuple[str, str]]
) -> Row:
    dumped = {column.name: dump_value(row[column.name]) for column in section.columns()}
    for column, email_field in section.email_fields().items():
        user_id = row[column]
        dumped[email_field] = users[user_id][0] if user_id is not None else None
    return dumped


async def _section_rows(
    session: AsyncSession, section: Section, *, workspace_id: uuid.UUID
) -> list[Row]:
    result = await session.execute(
        select(section.table).where(_in_workspace(section, workspace_id))
    )
    # By the canonical string form: the same order on every database.
    return sorted(
        (dict(row) for row in result.mappings()),
        key=lambda row: tuple(str(row[name]) for name in section.order_by),
    )


def _in_workspace(section: Section, workspace_id: uuid.UUID) -> ColumnElement[bool]:
    table = section.table
    if section.via is None:
        return table.c.workspace_id == workspace_id
    link = table.c[section.via]
    (foreign_key,) = link.foreign_keys
    owner = foreign_key.column.table
    return link.in_(select(foreign_key.column).where(owner.c.workspace_id == workspace_id))


def _referenced_user_ids(groups: Iterable[tuple[Section, Sequence[Row]]]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for section, rows in groups:
        names = user_columns(section.table)
        for row in rows:
            found.update(row[name] for name in names if row[name] is not None)
    return found


async def _users_by_id(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    users = metadata.tables["users"]
    found: dict[uuid.UUID, tuple[str, str]] = {}
    for chunk in chunks(user_ids):
        query = select(users.c.id, users.c.email, users.c.name).where(users.c.id.in_(chunk))
        for user_id, email, name in (await session.execute(query)).all():
            found[user_id] = (email, name)
    return found
