"""Writing a parsed export into this database: same ids, users matched by email, one pass."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.emails import normalize_email
from haven.core.errors import NotFound
from haven.db.registry import metadata
from haven.events.outbox import EventList, record_all
from haven.portability.document import ParsedExport, parse_export
from haven.portability.errors import WorkspaceExists
from haven.portability.registry import (
    ImportContext,
    ImportReport,
    Row,
    Section,
    registered_sections,
    root_section,
)
from haven.portability.values import chunks, user_columns


async def import_workspace(
    session: AsyncSession, *, document: object, secret_key: str, owner_email: str | None = None
) -> ImportReport:
    """Recreate an exported workspace with the same ids, in the caller's transaction.

    `secret_key` is this server's (Settings.resolved_secret_key()): what an import stores
    encrypted, it encrypts under that key.

    Raises InvalidExport for a document this version cannot read, WorkspaceExists when the
    workspace or any of its rows is already here, NotFound for an unknown owner email.
    """
    parsed = parse_export(document)
    await _ensure_new(session, parsed)
    report = ImportReport(workspace_id=parsed.workspace_id, workspace_name=parsed.workspace["name"])
    user_map = await _match_users(session, parsed.user_emails)
    missing = sorted(
        {email for user_id, email in parsed.user_emails.items() if user_id not in user_map}
    )
    for email in missing:
        report.warnings.append(
            f"no user {email} here: their membership and time logs are skipped, "
            "and tasks they created or were assigned lose that link"
        )
    context = ImportContext(
        session=session,
        workspace_id=parsed.workspace_id,
        owner_id=await _owner_id(session, owner_email),
        report=report,
        secret_key=secret_key,
    )

    plan: list[tuple[Section, list[Row]]] = []
    for section in registered_sections():
        rows = [parsed.workspace] if section.root else parsed.sections[section.key]
        rows = _remap_users(section, rows, user_map)
        if section.prepare is not None:
            rows = await section.prepare(context, rows)
        plan.append((section, rows))
    try:
        for section, rows in plan:
            if rows:
                await session.execute(insert(section.table), rows)
            if not section.root:
                report.counts[section.key] = len(rows)
        await session.flush()
    except IntegrityError as exc:
        raise WorkspaceExists(
            f"the import clashes with rows already in this database: {exc.orig}"
        ) from exc
    await record_all(session, _creation_events(context, plan))
    return report


def _creation_events(
    context: ImportContext, plan: Sequence[tuple[Section, list[Row]]]
) -> EventList:
    """Each imported object's `*.created` event (after the history the document brought),
    in the order the sections were written: the workspace, its members, projects and tags,
    then tasks parents first, then what hangs on tasks. A consumer that replays them in
    order never meets an object before what it belongs to."""
    return [
        event
        for section, rows in plan
        if section.events is not None and rows
        for event in section.events(context, rows)
    ]


async def _owner_id(session: AsyncSession, owner_email: str | None) -> uuid.UUID | None:
    """The user --owner names, who must exist here."""
    if owner_email is None:
        return None
    owner_email = normalize_email(owner_email)
    found = await _match_users(session, {uuid.uuid4(): owner_email})
    if not found:
        raise NotFound(f"no user with the email {owner_email}; create the account first")
    return next(iter(found.values()))


async def _ensure_new(session: AsyncSession, parsed: ParsedExport) -> None:
    if await _existing_ids(session, root_section().table, [parsed.workspace_id]):
        raise WorkspaceExists(
            f"workspace {parsed.workspace_id} already exists in this database; "
            "delete it first or import into another database"
        )
    for section in registered_sections():
        if section.root or "id" not in section.table.c:
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
    for chunk in chunks(ids):
        result = await session.execute(select(table.c.id).where(table.c.id.in_(chunk)))
        found.update(result.scalars())
    return found


async def _match_users(
    session: AsyncSession, emails: Mapping[uuid.UUID, str]
) -> dict[uuid.UUID, uuid.UUID]:
    """Exported user id -> the id of the user with the same email here."""
    users = metadata.tables["users"]
    here: dict[str, uuid.UUID] = {}
    for chunk in chunks(sorted(set(emails.values()))):
        query = select(users.c.email, users.c.id).where(users.c.email.in_(chunk))
        for email, user_id in (await session.execute(query)).all():
            here[email] = user_id
    return {old: here[email] for old, email in emails.items() if email in here}


def _remap_users(
    section: Section, rows: Sequence[Row], user_map: Mapping[uuid.UUID, uuid.UUID]
) -> list[Row]:
    """Rows with user ids of this database: a missing user's link is cleared, or the row
    dropped when it cannot exist without one (a membership, a time log)."""
    table = section.table
    names = user_columns(table)
    kept: list[Row] = []
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
