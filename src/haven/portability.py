"""Move one workspace between Haven databases as a single lossless JSON document.

``export_workspace`` reads every row that belongs to a workspace — the workspace itself,
its memberships, projects, tags, tasks (deleted ones and series fields included), task
tags, dependencies, reminders, time logs and events — and writes each row with every
column of its table: UUIDs as strings, instants as RFC 3339 UTC, rows ordered by id.

``import_workspace`` recreates the workspace with the same ids. Users are not part of a
workspace: every user the rows mention is listed by email, and each is matched to an
existing user of the target database by that email. A user who is not there loses their
membership and time logs, and their name is cleared from created_by / assignee fields.

The columns come from the table metadata, so a new column is exported without touching
this file; a document from another format version is refused rather than guessed at.
Event positions are left out: a position numbers an event in one database's change feed,
and the target's relay numbers the imported events in its own.

This is a whole-schema tool (backup, restore, moving between SQLite and PostgreSQL), so its
queries live here rather than in each module's repository. Neither function commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    TypeDecorator,
    Uuid,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.emails import normalize_email
from haven.core.errors import Conflict, HavenError, NotFound
from haven.db.registry import metadata

FORMAT: Final = "haven.workspace-export"
FORMAT_VERSION: Final = 1
OWNER_ROLE: Final = "owner"
# Keeps IN (...) lists well under every driver's bound-parameter limit.
_CHUNK: Final = 500


class InvalidExport(HavenError):
    """The document is not a Haven workspace export this version can read."""

    status = 422
    title = "Not a Haven workspace export"
    type_slug = "invalid-export"


class WorkspaceExists(Conflict):
    """The workspace (or some of its rows) is already in the target database."""


@dataclass(frozen=True, slots=True)
class _Section:
    """One list of rows in the document, read from one table."""

    key: str
    table_name: str
    order_by: tuple[str, ...] = ("id",)
    omit: frozenset[str] = frozenset()

    @property
    def table(self) -> Table:
        return metadata.tables[self.table_name]

    def columns(self) -> list[Column[Any]]:
        return [column for column in self.table.columns if column.name not in self.omit]


_WORKSPACE: Final = _Section("workspace", "workspaces")
_MEMBERSHIPS: Final = _Section("memberships", "memberships", ("user_id",))
# In foreign-key order: a table comes after every table it points at.
_SECTIONS: Final = (
    _Section("projects", "projects"),
    _Section("tags", "tags"),
    _Section("tasks", "tasks"),
    _Section("task_tags", "task_tags", ("task_id", "tag_id")),
    _Section("dependencies", "task_dependencies", ("task_id", "depends_on_id")),
    _Section("reminders", "reminders"),
    _Section("time_logs", "time_logs"),
    _Section("events", "events", omit=frozenset({"position"})),
)
_USER_FIELDS: Final = ("id", "email", "name")


# --- values -------------------------------------------------------------------------------


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dump_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return _rfc3339(value)
    return value


def _load_value(column: Column[Any], value: object, where: str) -> object:
    """A document value as the Python value of its column, or InvalidExport."""
    if value is None:
        if not column.nullable:
            raise InvalidExport(f"{where}: must not be null")
        return None
    kind = column.type
    if isinstance(kind, TypeDecorator):  # e.g. UTCDateTime: validate as what it stores
        kind = kind.impl_instance
    if isinstance(kind, Uuid):
        if not isinstance(value, str):
            raise InvalidExport(f"{where}: expected a UUID string")
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise InvalidExport(f"{where}: {value!r} is not a UUID") from exc
    if isinstance(kind, DateTime):
        return _load_instant(value, where)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise InvalidExport(f"{where}: expected true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidExport(f"{where}: expected an integer")
        return value
    if isinstance(kind, String):
        if not isinstance(value, str):
            raise InvalidExport(f"{where}: expected a string")
        if kind.length is not None and len(value) > kind.length:
            raise InvalidExport(f"{where}: longer than {kind.length} characters")
        return value
    if isinstance(kind, JSON):
        if not isinstance(value, dict | list):
            raise InvalidExport(f"{where}: expected an object or a list")
        return value
    raise InvalidExport(f"{where}: this version cannot read a {kind!r} column")


def _load_instant(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidExport(f"{where}: expected an RFC 3339 instant")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidExport(f"{where}: {value!r} is not an RFC 3339 instant") from exc
    if instant.tzinfo is None:
        raise InvalidExport(f"{where}: {value!r} has no UTC offset")
    return instant.astimezone(UTC)


def _user_columns(table: Table) -> list[str]:
    """The columns of a table that name a user."""
    return [
        column.name
        for column in table.columns
        if any(fk.target_fullname == "users.id" for fk in column.foreign_keys)
    ]


def _chunks(values: Sequence[uuid.UUID]) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# --- export -------------------------------------------------------------------------------


async def export_workspace(session: AsyncSession, *, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Every row of one workspace as a JSON-ready document (see the module docstring).

    Run it in one transaction (REPEATABLE READ on PostgreSQL) for a consistent snapshot.
    """
    workspaces = _WORKSPACE.table
    found = await session.execute(select(workspaces).where(workspaces.c.id == workspace_id))
    workspace = found.mappings().first()
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")

    memberships = await _membership_rows(session, workspace_id=workspace_id)
    sections = {
        section.key: await _section_rows(session, section, workspace_id=workspace_id)
        for section in _SECTIONS
    }
    referenced = _referenced_user_ids(
        [(_WORKSPACE, [dict(workspace)]), (_MEMBERSHIPS, memberships)]
        + [(section, sections[section.key]) for section in _SECTIONS]
    )
    users = await _users_by_id(session, sorted(referenced, key=str))

    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": _rfc3339(utcnow()),
        "workspace": _dump_row(_WORKSPACE, workspace),
        "users": [
            {"id": str(user_id), "email": email, "name": name}
            for user_id, (email, name) in sorted(users.items(), key=lambda item: str(item[0]))
        ],
        "memberships": [
            {**_dump_row(_MEMBERSHIPS, row), "user_email": users[row["user_id"]][0]}
            for row in memberships
        ],
    }
    for section in _SECTIONS:
        document[section.key] = [_dump_row(section, row) for row in sections[section.key]]
    return document


def _dump_row(section: _Section, row: Mapping[Any, Any]) -> dict[str, Any]:
    return {column.name: _dump_value(row[column.name]) for column in section.columns()}


def _sorted(section: _Section, rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    # By the canonical string form: the same order on every database.
    return sorted(
        (dict(row) for row in rows),
        key=lambda row: tuple(str(row[name]) for name in section.order_by),
    )


async def _membership_rows(
    session: AsyncSession, *, workspace_id: uuid.UUID
) -> list[dict[str, Any]]:
    table = _MEMBERSHIPS.table
    result = await session.execute(select(table).where(table.c.workspace_id == workspace_id))
    return _sorted(_MEMBERSHIPS, result.mappings())


async def _section_rows(
    session: AsyncSession, section: _Section, *, workspace_id: uuid.UUID
) -> list[dict[str, Any]]:
    table = section.table
    if "workspace_id" in table.c:
        condition = table.c.workspace_id == workspace_id
    else:
        tasks = metadata.tables["tasks"]
        task_ids = select(tasks.c.id).where(tasks.c.workspace_id == workspace_id)
        condition = table.c.task_id.in_(task_ids)
    result = await session.execute(select(table).where(condition))
    return _sorted(section, result.mappings())


def _referenced_user_ids(
    groups: Iterable[tuple[_Section, Sequence[Mapping[str, Any]]]],
) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for section, rows in groups:
        names = _user_columns(section.table)
        for row in rows:
            found.update(row[name] for name in names if row[name] is not None)
    return found


async def _users_by_id(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    users = metadata.tables["users"]
    found: dict[uuid.UUID, tuple[str, str]] = {}
    for chunk in _chunks(user_ids):
        query = select(users.c.id, users.c.email, users.c.name).where(users.c.id.in_(chunk))
        for user_id, email, name in (await session.execute(query)).all():
            found[user_id] = (email, name)
    return found


# --- reading a document (no database) -----------------------------------------------------


@dataclass(slots=True)
class ParsedExport:
    """A validated export: rows as Python values, tasks ordered parents first."""

    workspace: dict[str, Any]
    # Exported user id -> email (lower-case).
    user_emails: dict[uuid.UUID, str]
    memberships: list[dict[str, Any]]
    sections: dict[str, list[dict[str, Any]]]

    @property
    def workspace_id(self) -> uuid.UUID:
        workspace_id: uuid.UUID = self.workspace["id"]
        return workspace_id


def parse_export(document: object) -> ParsedExport:
    """Check that a decoded JSON value is a complete, self-consistent export of this version."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidExport(f"not a Haven workspace export (expected format {FORMAT!r})")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise InvalidExport(
            f"export format version {version!r} is not supported (this Haven reads "
            f"version {FORMAT_VERSION})"
        )
    workspace = _parse_row(_WORKSPACE, document.get("workspace"), "workspace")
    user_emails = _parse_users(document.get("users"))
    memberships = [
        _parse_row(_MEMBERSHIPS, raw, f"memberships[{index}]", extra=("user_email",))
        for index, raw in enumerate(_list_of(document, "memberships"))
    ]
    for membership in memberships:
        email = membership.pop("user_email")
        if not isinstance(email, str):
            raise InvalidExport("memberships: user_email must be a string")
        user_emails.setdefault(membership["user_id"], normalize_email(email))
    sections = {
        section.key: [
            _parse_row(section, raw, f"{section.key}[{index}]")
            for index, raw in enumerate(_list_of(document, section.key))
        ]
        for section in _SECTIONS
    }
    parsed = ParsedExport(
        workspace=workspace, user_emails=user_emails, memberships=memberships, sections=sections
    )
    _check_references(parsed)
    parsed.sections["tasks"] = _parents_first(parsed.sections["tasks"])
    return parsed


def _list_of(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key)
    if not isinstance(value, list):
        raise InvalidExport(f"{key!r} must be a list")
    return value


def _parse_row(
    section: _Section, raw: object, where: str, *, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidExport(f"{where}: expected an object")
    columns = section.columns()
    expected = {column.name for column in columns} | set(extra)
    if missing := sorted(expected - raw.keys()):
        raise InvalidExport(f"{where}: missing {', '.join(missing)}")
    if unknown := sorted(raw.keys() - expected):
        raise InvalidExport(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    row = {
        column.name: _load_value(column, raw[column.name], f"{where}.{column.name}")
        for column in columns
    }
    row.update({name: raw[name] for name in extra})
    return row


def _parse_users(raw: object) -> dict[uuid.UUID, str]:
    if not isinstance(raw, list):
        raise InvalidExport("'users' must be a list")
    emails: dict[uuid.UUID, str] = {}
    for index, user in enumerate(raw):
        where = f"users[{index}]"
        if not isinstance(user, dict) or set(user) != set(_USER_FIELDS):
            raise InvalidExport(f"{where}: expected an object with {', '.join(_USER_FIELDS)}")
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
    ids_by_table: dict[str, set[Any]] = {"workspaces": {parsed.workspace_id}}
    for section in _SECTIONS:
        rows = parsed.sections[section.key]
        keys = [column.name for column in section.table.primary_key.columns]
        seen = {tuple(row[key] for key in keys) for row in rows}
        if len(seen) != len(rows):
            raise InvalidExport(f"{section.key}: the same id appears twice")
        if keys == ["id"]:
            ids_by_table[section.table_name] = {row["id"] for row in rows}
    if len({row["user_id"] for row in parsed.memberships}) != len(parsed.memberships):
        raise InvalidExport("memberships: the same user appears twice")

    groups = [(_MEMBERSHIPS, parsed.memberships)] + [
        (section, parsed.sections[section.key]) for section in _SECTIONS
    ]
    for section, rows in groups:
        table = section.table
        targets = [
            (column.name, fk.column.table.name)
            for column in table.columns
            for fk in column.foreign_keys
            if fk.column.table.name != "users"
        ]
        for index, row in enumerate(rows):
            where = f"{section.key}[{index}]"
            if "workspace_id" in table.c and row["workspace_id"] != parsed.workspace_id:
                raise InvalidExport(f"{where}: belongs to another workspace")
            for name, target in targets:
                value = row[name]
                if value is not None and value not in ids_by_table.get(target, ()):
                    raise InvalidExport(f"{where}.{name}: {value} is not in the document")


def _parents_first(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks ordered so that each comes after its parent (stable by id within a depth)."""
    parents = {task["id"]: task["parent_id"] for task in tasks}
    depths: dict[uuid.UUID, int] = {}

    def depth(task_id: uuid.UUID) -> int:
        chain: list[uuid.UUID] = []
        current: uuid.UUID | None = task_id
        while current is not None and current not in depths:
            if current in chain:
                raise InvalidExport(f"tasks: task {current} is its own ancestor")
            chain.append(current)
            current = parents[current]
        level = depths[current] if current is not None else -1
        for item in reversed(chain):
            level += 1
            depths[item] = level
        return depths[task_id]

    return sorted(tasks, key=lambda task: (depth(task["id"]), str(task["id"])))


# --- import -------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportReport:
    workspace_id: uuid.UUID
    workspace_name: str
    # Rows written per document section.
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


async def import_workspace(
    session: AsyncSession, *, document: object, owner_email: str | None = None
) -> ImportReport:
    """Recreate an exported workspace with the same ids, in the caller's transaction.

    Raises InvalidExport for a document this version cannot read, WorkspaceExists when the
    workspace or any of its rows is already here, NotFound for an unknown owner email.
    """
    parsed = parse_export(document)
    workspace_id = parsed.workspace_id
    await _ensure_new(session, parsed)
    report = ImportReport(workspace_id=workspace_id, workspace_name=parsed.workspace["name"])

    user_map = await _match_users(session, parsed.user_emails)
    missing = sorted(
        {email for user_id, email in parsed.user_emails.items() if user_id not in user_map}
    )
    for email in missing:
        report.warnings.append(
            f"no user {email} here: their membership and time logs are skipped, "
            "and tasks they created or were assigned lose that link"
        )
    owner_id: uuid.UUID | None = None
    if owner_email is not None:
        owner_email = normalize_email(owner_email)
        found = await _match_users(session, {uuid.uuid4(): owner_email})
        if not found:
            raise NotFound(f"no user with the email {owner_email}; create the account first")
        owner_id = next(iter(found.values()))

    workspace = _remap_users(_WORKSPACE, [parsed.workspace], user_map)[0]
    memberships = _remap_users(_MEMBERSHIPS, parsed.memberships, user_map)
    if owner_id is not None:
        _make_owner(memberships, workspace_id=workspace_id, user_id=owner_id)
    if not any(row["role"] == OWNER_ROLE for row in memberships):
        report.warnings.append("the workspace has no owner here; import again with --owner EMAIL")
    await _keep_one_personal_workspace(session, workspace, report)

    rows = {
        section.key: _remap_users(section, parsed.sections[section.key], user_map)
        for section in _SECTIONS
    }
    rows["time_logs"] = await _without_clashing_timers(session, rows["time_logs"], report)

    plan = [(_WORKSPACE, [workspace]), (_MEMBERSHIPS, memberships)] + [
        (section, rows[section.key]) for section in _SECTIONS
    ]
    try:
        for section, section_rows in plan:
            if section_rows:
                await session.execute(insert(section.table), section_rows)
            if section is not _WORKSPACE:
                report.counts[section.key] = len(section_rows)
        await session.flush()
    except IntegrityError as exc:
        raise WorkspaceExists(
            f"the import clashes with rows already in this database: {exc.orig}"
        ) from exc
    return report


async def _ensure_new(session: AsyncSession, parsed: ParsedExport) -> None:
    workspaces = _WORKSPACE.table
    if await _existing_ids(session, workspaces, [parsed.workspace_id]):
        raise WorkspaceExists(
            f"workspace {parsed.workspace_id} already exists in this database; "
            "delete it first or import into another database"
        )
    for section in _SECTIONS:
        if "id" not in section.table.c:
            continue
        ids = [row["id"] for row in parsed.sections[section.key]]
        clashes = await _existing_ids(session, section.table, ids)
        if clashes:
            raise WorkspaceExists(
                f"{len(clashes)} of the {section.key} ids already exist in this database "
                f"(e.g. {min(clashes, key=str)}); was the workspace imported before?"
            )


async def _existing_ids(
    session: AsyncSession, table: Table, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in _chunks(ids):
        result = await session.execute(select(table.c.id).where(table.c.id.in_(chunk)))
        found.update(result.scalars())
    return found


async def _match_users(
    session: AsyncSession, emails: Mapping[uuid.UUID, str]
) -> dict[uuid.UUID, uuid.UUID]:
    """Exported user id -> the id of the user with the same email here."""
    users = metadata.tables["users"]
    wanted = sorted(set(emails.values()))
    here: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(users.c.email, users.c.id).where(users.c.email.in_(chunk))
        for email, user_id in (await session.execute(query)).all():
            here[email] = user_id
    return {old: here[email] for old, email in emails.items() if email in here}


def _remap_users(
    section: _Section, rows: Sequence[Mapping[str, Any]], user_map: Mapping[uuid.UUID, uuid.UUID]
) -> list[dict[str, Any]]:
    """Rows with user ids of this database: a missing user's link is cleared, or the row
    dropped when it cannot exist without one (a membership, a time log)."""
    table = section.table
    names = _user_columns(table)
    kept: list[dict[str, Any]] = []
    for row in rows:
        copy = dict(row)
        for name in names:
            if copy[name] is None:
                continue
            mapped = user_map.get(copy[name])
            if mapped is None and not table.c[name].nullable:
                break
            copy[name] = mapped
        else:
            kept.append(copy)
    return kept


def _make_owner(
    memberships: list[dict[str, Any]], *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    for row in memberships:
        if row["user_id"] == user_id:
            row["role"] = OWNER_ROLE
            return
    now = utcnow()
    memberships.append(
        {
            "workspace_id": workspace_id,
            "user_id": user_id,
            "role": OWNER_ROLE,
            "created_at": now,
            "updated_at": now,
        }
    )


async def _keep_one_personal_workspace(
    session: AsyncSession, workspace: dict[str, Any], report: ImportReport
) -> None:
    """A user has one personal workspace: an imported one becomes shared if that would clash."""
    if not workspace["is_personal"]:
        return
    creator = workspace["created_by"]
    if creator is None:
        workspace["is_personal"] = False
        report.warnings.append(
            "the workspace was someone's personal workspace; their account is not here, "
            "so it is imported as a shared workspace"
        )
        return
    workspaces = _WORKSPACE.table
    query = (
        select(workspaces.c.id)
        .where(
            workspaces.c.created_by == creator,
            workspaces.c.is_personal.is_(True),
            workspaces.c.deleted_at.is_(None),
        )
        .limit(1)
    )
    if await session.scalar(query) is not None:
        workspace["is_personal"] = False
        report.warnings.append(
            "its creator already has a personal workspace here, so it is imported as shared"
        )


async def _without_clashing_timers(
    session: AsyncSession, logs: list[dict[str, Any]], report: ImportReport
) -> list[dict[str, Any]]:
    """Drop an imported running timer whose user already runs one here (one per user)."""
    running = [log for log in logs if log["stopped_at"] is None]
    if not running:
        return logs
    time_logs = metadata.tables["time_logs"]
    query = select(time_logs.c.user_id).where(
        time_logs.c.stopped_at.is_(None),
        time_logs.c.user_id.in_([log["user_id"] for log in running]),
    )
    busy = set((await session.execute(query)).scalars())
    if not busy:
        return logs
    report.warnings.append(
        f"{sum(1 for log in running if log['user_id'] in busy)} running timer(s) skipped: "
        "their users already have a timer running here"
    )
    return [log for log in logs if log["stopped_at"] is not None or log["user_id"] not in busy]
