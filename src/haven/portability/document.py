"""Reading a document (no database): is it a complete, self-consistent export we can import?"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from haven.core.emails import normalize_email
from haven.portability.errors import InvalidExport
from haven.portability.exporting import FORMAT, FORMAT_VERSION
from haven.portability.registry import Row, Section, registered_sections, root_section
from haven.portability.values import load_value

USER_FIELDS: Final = ("id", "email", "name")


@dataclass(slots=True)
class ParsedExport:
    """A validated export: rows as Python values, each section arranged by its module."""

    workspace: Row
    # Exported user id -> email (lower-case).
    user_emails: dict[uuid.UUID, str]
    sections: dict[str, list[Row]]

    @property
    def workspace_id(self) -> uuid.UUID:
        workspace_id: uuid.UUID = self.workspace["id"]
        return workspace_id


def parse_export(document: object) -> ParsedExport:
    """Check that a decoded JSON value is a complete, self-consistent export of this version."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidExport(f"not a Haven workspace export (expected format {FORMAT!r})")
    version = document.get("version")
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= FORMAT_VERSION
    ):
        raise InvalidExport(
            f"export format version {version!r} is not supported (this Haven reads "
            f"versions 1 to {FORMAT_VERSION})"
        )
    root = root_section()
    workspace = _parse_row(root, document.get(root.key), root.key, user_emails={}, version=version)
    user_emails = _parse_users(document.get("users"))
    sections = {
        section.key: [
            _parse_row(
                section, raw, f"{section.key}[{index}]", user_emails=user_emails, version=version
            )
            for index, raw in enumerate(_list_of(document, section, version))
        ]
        for section in registered_sections()
        if not section.root
    }
    parsed = ParsedExport(workspace=workspace, user_emails=user_emails, sections=sections)
    _check_references(parsed)
    for section in registered_sections():
        if section.arrange is not None and not section.root:
            parsed.sections[section.key] = section.arrange(parsed.sections[section.key])
    return parsed


def _list_of(document: Mapping[str, Any], section: Section, version: int) -> list[Any]:
    """A section's raw rows; none for a section newer than the document's version."""
    key = section.key
    if section.since > version:
        if key in document:
            raise InvalidExport(f"{key!r} is not part of export format version {version}")
        return []
    value = document.get(key)
    if not isinstance(value, list):
        raise InvalidExport(f"{key!r} must be a list")
    return value


def _parse_row(
    section: Section,
    raw: object,
    where: str,
    *,
    user_emails: dict[uuid.UUID, str],
    version: int,
) -> Row:
    """One row as column values; the emails written beside user columns go to user_emails.
    Columns newer than the document's version are left out (the section's `arrange` fills
    them in)."""
    if not isinstance(raw, dict):
        raise InvalidExport(f"{where}: expected an object")
    columns = [
        column
        for column in section.columns()
        if section.column_since.get(column.name, 1) <= version
    ]
    email_fields = section.email_fields()
    expected = {column.name for column in columns} | set(email_fields.values())
    if missing := sorted(expected - raw.keys()):
        raise InvalidExport(f"{where}: missing {', '.join(missing)}")
    if unknown := sorted(raw.keys() - expected):
        raise InvalidExport(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    row = {
        column.name: load_value(column, raw[column.name], f"{where}.{column.name}")
        for column in columns
    }
    for column, email_field in email_fields.items():
        user_id, email = row[column], raw[email_field]
        if not isinstance(user_id, uuid.UUID):
            continue
        if not isinstance(email, str):
            raise InvalidExport(f"{where}.{email_field}: must be a string")
        user_emails.setdefault(user_id, normalize_email(email))
    return row


def _parse_users(raw: object) -> dict[uuid.UUID, str]:
    if not isinstance(raw, list):
        raise InvalidExport("'users' must be a list")
    emails: dict[uuid.UUID, str] = {}
    for index, user in enumerate(raw):
        where = f"users[{index}]"
        if not isinstance(user, dict) or set(user) != set(USER_FIELDS):
            raise InvalidExport(f"{where}: expected an object with {', '.join(USER_FIELDS)}")
        email = user["email"]
        if not isinstance(email, str) or not isinstance(user["id"], str):
            raise InvalidExport(f"{where}: id and email must be strings")
        try:
            user_id = uuid.UUID(user["id"])
        except ValueError as exc:
            raise InvalidExport(f"{where}.id: {user['id']!r} is not a UUID") from exc
        emails[user_id] = normalize_email(email)
    return emails


def _check_references(parsed: ParsedExport) -> None:
    """Every row belongs to the workspace and points only at rows in the document."""
    root = root_section()
    sections = [section for section in registered_sections() if not section.root]
    ids_by_table: dict[str, set[Any]] = {root.table_name: {parsed.workspace_id}}
    for section in sections:
        rows = parsed.sections[section.key]
        keys = [column.name for column in section.table.primary_key.columns]
        if len({tuple(row[key] for key in keys) for row in rows}) != len(rows):
            raise InvalidExport(f"{section.key}: the same id appears twice")
        if keys == ["id"]:
            ids_by_table[section.table_name] = {row["id"] for row in rows}

    for section in sections:
        table = section.table
        targets = [
            (column.name, foreign_key.column.table.name)
            for column in table.columns
            for foreign_key in column.foreign_keys
            if foreign_key.column.table.name != "users"
        ]
        for index, row in enumerate(parsed.sections[section.key]):
            where = f"{section.key}[{index}]"
            if "workspace_id" in table.c and row["workspace_id"] != parsed.workspace_id:
                raise InvalidExport(f"{where}: belongs to another workspace")
            for name, target in targets:
                value = row[name]
                if value is not None and value not in ids_by_table.get(target, ()):
                    raise InvalidExport(f"{where}.{name}: {value} is not in the document")
